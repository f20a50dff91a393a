"""The composition root: Settings in, a wired Bolt app out. Defaults to production.

Adapters are imported where they are chosen, so a process loads only the ones
its settings name (and the Lambda cold start carries no unused SDK).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.logs import install_redaction
from bot.ports import DialogueEngine, EventLedger, HostedCheckout, PaymentGateway, SessionStore
from bot.rules import RuleEngine
from bot.service import ConversationService
from bot.settings import Settings, SettingsError
from handlers.listeners import register_listeners
from handlers.services import Services

if TYPE_CHECKING:
    from bot.models import CardDetails, CardSetup, CheckoutLink, CheckoutOutcome, SetupOutcome


def build_stores(settings: Settings) -> tuple[SessionStore, EventLedger]:
    if settings.SESSION_STORE == "dynamodb":
        import boto3
        from botocore.config import Config

        from bot.adapters.dynamodb_store import DynamoEventLedger, DynamoSessionStore

        # One client (botocore loads its model once), sized for a threaded server, and
        # retrying once, quickly: botocore's default backoff alone can outlast Slack's 3 s.
        client = boto3.client(
            "dynamodb",
            config=Config(
                connect_timeout=1,
                read_timeout=2,
                retries={"mode": "standard", "total_max_attempts": 2},
                max_pool_connections=50,
            ),
        )
        table = settings.SESSIONS_TABLE
        return DynamoSessionStore(table, client=client), DynamoEventLedger(table, client=client)
    from bot.adapters.sqlite_store import SqliteEventLedger, SqliteSessionStore

    return SqliteSessionStore(settings.SQLITE_PATH), SqliteEventLedger(settings.SQLITE_PATH)


def build_engine(settings: Settings, rules: DialogueEngine) -> DialogueEngine:
    if settings.DIALOGUE_ENGINE == "bedrock":
        from bot.adapters.bedrock_engine import BedrockEngine

        assert settings.BEDROCK_MODEL_ID is not None  # Settings refuses bedrock without it
        return BedrockEngine(
            model_id=settings.BEDROCK_MODEL_ID,
            fallback=rules,
            guardrail_id=settings.BEDROCK_GUARDRAIL_ID,
            guardrail_version=settings.BEDROCK_GUARDRAIL_VERSION,
        )
    return rules


class LazyGateway:
    """Builds the real gateway on first use, keeping Stripe's SDK out of the cold start."""

    def __init__(self, factory: Callable[[], PaymentGateway]) -> None:
        self._factory = factory
        self._gateway: PaymentGateway | None = None

    def _get(self) -> PaymentGateway:
        if self._gateway is None:
            self._gateway = self._factory()
        return self._gateway

    def save_card(
        self,
        card: CardDetails,
        *,
        team_id: str,
        user_id: str,
        customer_id: str | None,
        return_url: str,
        idempotency_key: str,
    ) -> CardSetup:
        return self._get().save_card(
            card,
            team_id=team_id,
            user_id=user_id,
            customer_id=customer_id,
            return_url=return_url,
            idempotency_key=idempotency_key,
        )

    def setup_outcome(self, setup_id: str) -> SetupOutcome:
        return self._get().setup_outcome(setup_id)


def build_gateway(settings: Settings) -> PaymentGateway:
    def stripe() -> PaymentGateway:
        from bot.adapters.stripe_gateway import StripeGateway

        settings.require("STRIPE_SECRET_KEY")
        assert settings.STRIPE_SECRET_KEY is not None
        return StripeGateway(
            api_key=settings.STRIPE_SECRET_KEY.get_secret_value(),
            api_base=settings.STRIPE_API_BASE,
        )

    return LazyGateway(stripe)


class LazyHostedCheckout:
    """The Stripe Checkout adapter, built on first use like `LazyGateway`."""

    def __init__(self, factory: Callable[[], HostedCheckout]) -> None:
        self._factory = factory
        self._hosted: HostedCheckout | None = None

    def _get(self) -> HostedCheckout:
        if self._hosted is None:
            self._hosted = self._factory()
        return self._hosted

    def open(self, **request: Any) -> CheckoutLink:
        return self._get().open(**request)

    def expire(self, checkout_id: str) -> None:
        self._get().expire(checkout_id)

    def outcome(self, checkout_id: str) -> CheckoutOutcome:
        return self._get().outcome(checkout_id)


def build_hosted(settings: Settings) -> HostedCheckout | None:
    """Stripe's hosted card page, when webhooks can confirm it (STRIPE_WEBHOOK_SECRET)."""
    if settings.STRIPE_WEBHOOK_SECRET is None:
        if settings.CARD_ENTRY == "hosted":  # never fall back to taking card numbers
            raise SettingsError("STRIPE_WEBHOOK_SECRET is required when CARD_ENTRY=hosted")
        return None

    def stripe() -> HostedCheckout:
        from bot.adapters.stripe_checkout import StripeCheckout

        settings.require("STRIPE_SECRET_KEY")
        assert settings.STRIPE_SECRET_KEY is not None
        return StripeCheckout(
            api_key=settings.STRIPE_SECRET_KEY.get_secret_value(),
            api_base=settings.STRIPE_API_BASE,
        )

    return LazyHostedCheckout(stripe)


def build_services(settings: Settings, *, clock: Callable[[], float] = time.time) -> Services:
    store, ledger = build_stores(settings)
    rules = RuleEngine()
    conversation = ConversationService(
        store=store,
        engine=build_engine(settings, rules),
        quick_engine=rules,
        gateway=build_gateway(settings),
        hosted=build_hosted(settings),
        card_entry=settings.CARD_ENTRY,
        ttl_seconds=settings.SESSION_TTL_SECONDS,
        clock=clock,
    )
    secret = settings.STRIPE_WEBHOOK_SECRET
    signing = settings.SLACK_SIGNING_SECRET
    return Services(
        conversation=conversation,
        ledger=ledger,
        webhook_secret=secret.get_secret_value() if secret else None,
        public_url=settings.PUBLIC_URL,
        signing_secret=signing.get_secret_value() if signing else "",
    )


def build_client(settings: Settings) -> WebClient:
    settings.require("SLACK_BOT_TOKEN")
    assert settings.SLACK_BOT_TOKEN is not None
    # Most calls happen inside Slack's 3 s ack: no waiting on `ratelimited`
    # there (Retry-After is whole seconds); the failure is logged instead.
    # Lazy listeners wait: see `handlers.render.patient`.
    return WebClient(
        token=settings.SLACK_BOT_TOKEN.get_secret_value(),
        base_url=settings.SLACK_API_URL,
        timeout=2,
    )


def build_app(settings: Settings, services: Services | None = None) -> App:
    """The Bolt app with every listener registered."""
    install_redaction()  # before Bolt or any SDK can log a request body
    settings.require("SLACK_SIGNING_SECRET")
    assert settings.SLACK_SIGNING_SECRET is not None
    app = App(
        # Bolt gives its own loggers the level of the logger it is handed; this one is
        # kept at WARNING by `configure_logging`, so request bodies are never logged.
        logger=logging.getLogger("slack_bolt"),
        name="paybot",  # without a name Bolt inspects the call stack, slowly, to make one
        client=build_client(settings),
        signing_secret=settings.SLACK_SIGNING_SECRET.get_secret_value(),
        process_before_response=True,
        token_verification_enabled=False,
        # Lazy work (model turns) runs here when served over HTTP; Bolt's default of 5
        # threads queues a burst of DMs behind each other.
        listener_executor=ThreadPoolExecutor(max_workers=32),
    )
    register_listeners(app, services or build_services(settings))
    return app


@dataclass(frozen=True)
class Wiring:
    """Everything an HTTP entry point serves: the Bolt app and the services behind it."""

    app: App
    services: Services


def build(settings: Settings) -> Wiring:
    """The production wiring for `settings`."""
    services = build_services(settings)
    return Wiring(build_app(settings, services), services)
