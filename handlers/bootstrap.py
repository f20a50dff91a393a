"""The composition root: Settings in, the services and the surfaces over them out.

Adapters are imported where they are chosen, so a process loads only the ones
its settings name (and the Lambda cold start carries no unused SDK).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt import App

from bot.adapters.lazy import LazyCharger, LazyGateway, LazyHostedCheckout
from bot.charging import ChargePolicy
from bot.limits import Allowance, Limits, Rate
from bot.metrics import NO_METRICS, EmfMetrics, Metrics
from bot.models import Terms
from bot.ports import (
    DialogueEngine,
    EventLedger,
    HostedCheckout,
    PaymentCharger,
    PaymentGateway,
    RateLimiter,
    SessionStore,
)
from bot.rules import RuleEngine
from bot.service import ConversationService
from bot.settings import Settings, SettingsError
from handlers.audit import build_audit_log
from handlers.services import Services
from handlers.slack.app import build_slack_app

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from types_boto3_dynamodb import DynamoDBClient

    from handlers.teams.app import TeamsSurface


EXPECTED_DYNAMODB_ERRORS = frozenset({"ConditionalCheckFailedException"})
"""Answers the stores ask for (a lost race, a duplicate claim): not the provider failing."""


def count_dynamodb_failures(client: DynamoDBClient, metrics: Metrics) -> None:
    """Count each DynamoDB call that failed after botocore's retries (an error answer, the
    network) as `ProviderErrors`: the session store, the ledger and the limits alike."""

    def answered(http_response: AWSResponse, parsed: Mapping[str, object], **_: object) -> None:
        error = parsed.get("Error")
        code = error.get("Code") if isinstance(error, Mapping) else None
        if http_response.status_code >= 300 and code not in EXPECTED_DYNAMODB_ERRORS:
            metrics.count("ProviderErrors", dimension="dynamodb")

    def unreachable(**_: object) -> None:
        metrics.count("ProviderErrors", dimension="dynamodb")

    client.meta.events.register("after-call.dynamodb", answered)
    client.meta.events.register("after-call-error.dynamodb", unreachable)


def dynamodb_client(metrics: Metrics = NO_METRICS) -> DynamoDBClient:
    """The one DynamoDB client a process shares (botocore loads its model once), sized for a
    threaded server, retrying once, quickly: botocore's default backoff alone can outlast
    Slack's 3 s. Its failures count as `ProviderErrors`."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "dynamodb",
        config=Config(
            connect_timeout=1,
            read_timeout=2,
            retries={"mode": "standard", "total_max_attempts": 2},
            max_pool_connections=50,
        ),
    )
    count_dynamodb_failures(client, metrics)
    return client


def build_stores(
    settings: Settings, metrics: Metrics = NO_METRICS, *, client: DynamoDBClient | None = None
) -> tuple[SessionStore, EventLedger, RateLimiter]:
    """The session store, event ledger and limiter `SESSION_STORE` names (on DynamoDB,
    through `client`, or a client of their own)."""
    if settings.SESSION_STORE == "dynamodb":
        from bot.adapters.dynamodb_limits import DynamoRateLimiter
        from bot.adapters.dynamodb_store import DynamoEventLedger, DynamoSessionStore

        client = client or dynamodb_client(metrics)
        table = settings.SESSIONS_TABLE
        return (
            DynamoSessionStore(table, client=client),
            DynamoEventLedger(table, client=client),
            DynamoRateLimiter(table, client=client),
        )
    from bot.adapters.sqlite_store import SqliteEventLedger, SqliteRateLimiter, SqliteSessionStore

    path = settings.SQLITE_PATH
    return SqliteSessionStore(path), SqliteEventLedger(path), SqliteRateLimiter(path)


def build_engine(
    settings: Settings, rules: DialogueEngine, metrics: Metrics = NO_METRICS
) -> DialogueEngine:
    if settings.DIALOGUE_ENGINE == "bedrock":
        from bot.adapters.bedrock_engine import BedrockEngine

        assert settings.BEDROCK_MODEL_ID is not None  # Settings refuses bedrock without it
        return BedrockEngine(
            model_id=settings.BEDROCK_MODEL_ID,
            fallback=rules,
            guardrail_id=settings.BEDROCK_GUARDRAIL_ID,
            guardrail_version=settings.BEDROCK_GUARDRAIL_VERSION,
            metrics=metrics,
        )
    return rules


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


def build_charger(settings: Settings) -> PaymentCharger | None:
    """Stripe's PaymentIntents, when the deployment charges (PAYMENT_MODE=charge)."""
    if settings.PAYMENT_MODE != "charge":
        return None

    def stripe() -> PaymentCharger:
        from bot.adapters.stripe_charges import StripeCharges

        settings.require("STRIPE_SECRET_KEY")
        assert settings.STRIPE_SECRET_KEY is not None
        return StripeCharges(
            api_key=settings.STRIPE_SECRET_KEY.get_secret_value(),
            api_base=settings.STRIPE_API_BASE,
        )

    return LazyCharger(stripe)


def build_limits(settings: Settings) -> Limits:
    """The abuse limits `settings` ask for, each an hourly budget (README, "Operating paybot")."""

    def hourly(per_person: int, per_workspace: int) -> Allowance:
        return Allowance(Rate(per_person, 3600), Rate(per_workspace, 3600))

    return Limits(
        cards=hourly(
            settings.LIMIT_CARD_SUBMISSIONS_PER_HOUR,
            settings.LIMIT_WORKSPACE_CARD_SUBMISSIONS_PER_HOUR,
        ),
        pages=hourly(
            settings.LIMIT_CARD_PAGES_PER_HOUR, settings.LIMIT_WORKSPACE_CARD_PAGES_PER_HOUR
        ),
        # Turns are limited for what they cost: a model call. The rule engine's cost nothing.
        turns=hourly(settings.LIMIT_TURNS_PER_HOUR, settings.LIMIT_WORKSPACE_TURNS_PER_HOUR)
        if settings.DIALOGUE_ENGINE == "bedrock"
        else None,
        charges=hourly(settings.LIMIT_CHARGES_PER_HOUR, settings.LIMIT_WORKSPACE_CHARGES_PER_HOUR),
    )


def build_metrics(settings: Settings) -> Metrics:
    return EmfMetrics(settings.PAYBOT_STAGE) if settings.METRICS == "emf" else NO_METRICS


def build_services(settings: Settings, *, clock: Callable[[], float] = time.time) -> Services:
    metrics = build_metrics(settings)
    client = dynamodb_client(metrics) if settings.SESSION_STORE == "dynamodb" else None
    store, ledger, limiter = build_stores(settings, metrics, client=client)
    charging = settings.PAYMENT_MODE == "charge"
    rules = RuleEngine()
    conversation = ConversationService(
        store=store,
        engine=build_engine(settings, rules, metrics),
        quick_engine=rules,
        gateway=build_gateway(settings),
        hosted=build_hosted(settings),
        card_entry=settings.CARD_ENTRY,
        limiter=limiter,
        limits=build_limits(settings),
        terms=Terms(settings.TERMS_URL, settings.TERMS_VERSION) if settings.TERMS_URL else None,
        charger=build_charger(settings),
        charging=ChargePolicy(settings.max_amounts) if charging else None,
        audit=build_audit_log(settings, client) if charging else None,
        admins=settings.admins,
        metrics=metrics,
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
        metrics=metrics,
        agent_view=settings.SLACK_AGENT_VIEW,
    )


@dataclass(frozen=True)
class Wiring:
    """Everything an HTTP entry point serves: the services and the surfaces over them."""

    app: App | None
    """The Slack app; None in a Teams-only deployment (no Slack keys)."""
    services: Services
    teams: TeamsSurface | None = None
    """The Teams surface, when `TEAMS_APP_ID` is set."""


def build(settings: Settings) -> Wiring:
    """The production wiring for `settings`."""
    services = build_services(settings)
    teams = None
    if settings.TEAMS_APP_ID:
        from handlers.teams.app import TeamsSurface

        teams = TeamsSurface(settings, services)
    slack_keys = settings.SLACK_SIGNING_SECRET or settings.SLACK_BOT_TOKEN
    # Without any Slack key, Slack is off if Teams is on; with neither, Slack names its key.
    app = build_slack_app(settings, services) if slack_keys or teams is None else None
    return Wiring(app, services, teams)
