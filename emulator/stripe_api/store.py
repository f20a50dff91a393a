"""The emulated account's state and what every endpoint shares: idempotent runs, retrieval
with `expand`, Events, and PaymentMethods made from card parameters."""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from emulator.control import Faults, RequestLog
from emulator.stripe_api.cards import (
    Decline,
    card_details,
    charge_outcome,
    confirm_outcome,
    redact_pans,
)
from emulator.stripe_api.exceptions import (
    JSON,
    RAW_CARD_DATA_MESSAGE,
    Answer,
    ApiError,
    invalid_request,
    missing_param,
)
from emulator.stripe_api.objects import event_object, new_id, payment_method_object
from emulator.stripe_api.params import metadata, subkeys
from emulator.stripe_api.recorder import Fault, Idempotency, RecordedRequest
from emulator.stripe_api.webhooks import (
    HELD_WEBHOOKS,
    WebhookDelivery,
    WebhookSender,
    checked_webhook_url,
    new_webhook_secret,
)

_EXPANDABLE: Final = frozenset(
    {"charge", "customer", "latest_charge", "payment_intent", "payment_method", "setup_intent"}
)
_ADDRESS_FIELDS: Final = ("city", "country", "line1", "line2", "postal_code", "state")


class Store:
    """Objects, events and deliveries behind one lock; the models build on it."""

    def __init__(
        self,
        *,
        raw_card_data: bool = True,
        api_key: str | None = None,
        clock: Callable[[], float] = time.time,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_retry_delay: float = 0.5,
        business_name: str = "Test business",
        account_email: str | None = "owner@example.com",
        account_country: str = "US",
        default_currency: str = "usd",
        checkout_setup_intent_events: bool = True,
    ) -> None:
        if api_key is not None and not api_key.startswith("sk_test_"):
            raise ValueError("api_key must be a test-mode secret key (sk_test_...)")
        self._lock = threading.Lock()
        self._raw_card_data = raw_card_data
        self._api_key = api_key
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._payment_methods: dict[str, JSON] = {}
        self._customers: dict[str, JSON] = {}
        self._sessions: dict[str, JSON] = {}
        self._setup_metadata: dict[str, dict[str, str]] = {}  # session id -> SetupIntent's
        self._setup_intents: dict[str, JSON] = {}
        self._payment_intents: dict[str, JSON] = {}
        self._charges: dict[str, JSON] = {}
        self._refunds: dict[str, JSON] = {}
        self._events: dict[str, JSON] = {}
        self._deliveries: list[WebhookDelivery] = []
        self._idempotency = Idempotency(self._secret)
        self._requests: RequestLog[RecordedRequest] = RequestLog()
        self._faults: Faults[Fault] = Faults()
        self._webhook_url = None if webhook_url is None else checked_webhook_url(webhook_url)
        self._webhook_secret = webhook_secret or new_webhook_secret()
        self._sender = WebhookSender(
            self._record_delivery, clock=clock, retry_delay=webhook_retry_delay
        )
        self.business_name = business_name
        self._account_id = new_id("acct_", 16)
        self._account_email = account_email
        self._account_country = account_country
        self._default_currency = default_currency
        self._checkout_setup_intent_events = checkout_setup_intent_events
        self._account_created = int(clock())
        # What the cards behind PaymentMethods do when set up and when charged (never the
        # cards), the PaymentMethods used without being attached (single-use, as on Stripe),
        # and per SetupIntent or PaymentIntent: where it returns after 3D Secure, and this
        # server's address.
        self._outcomes: dict[str, Decline | str | None] = {}
        self._charge_outcomes: dict[str, Decline | str | None] = {}
        self._consumed: set[str] = set()
        self._return_urls: dict[str, str] = {}
        self._base_urls: dict[str, str] = {}
        self._checkout_intents: dict[str, str] = {}  # SetupIntent id -> its session's id
        self._session_intents: dict[str, str] = {}  # session id -> its intent's id
        self._checkout_payments: dict[str, str] = {}  # PaymentIntent id -> its session's id
        self._payment_data: dict[str, dict[str, str]] = {}  # session id -> payment_intent_data

    def _forget(self) -> None:
        """Drop every object, event, delivery and saved result (lock held)."""
        for store in (
            self._payment_methods,
            self._customers,
            self._sessions,
            self._setup_metadata,
            self._setup_intents,
            self._payment_intents,
            self._charges,
            self._refunds,
            self._events,
            self._outcomes,
            self._charge_outcomes,
            self._return_urls,
            self._base_urls,
            self._checkout_intents,
            self._session_intents,
            self._checkout_payments,
            self._payment_data,
        ):
            store.clear()
        self._consumed.clear()
        self._idempotency.clear()
        self._deliveries.clear()

    # -- idempotent runs

    def _idempotent(
        self,
        endpoint: str,
        params: Mapping[str, str],
        create: Callable[[], JSON],
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """Run `create` under the lock, or replay what an earlier request with the key got."""
        digest = self._idempotency.digest(params)
        with self._lock:
            if idempotency_key is not None:
                replayed = self._idempotency.replay(
                    api_key,
                    idempotency_key,
                    endpoint=endpoint,
                    digest=digest,
                    request_id=request_id,
                    now=self._clock(),
                )
                if replayed is not None:
                    return replayed
            try:
                answer, keep = Answer(200, copy.deepcopy(create())), True
            except ApiError as error:
                answer, keep = error.answer(request_id, self._clock()), error.saved
            if idempotency_key is not None and keep:
                self._idempotency.save(
                    api_key,
                    idempotency_key,
                    endpoint=endpoint,
                    digest=digest,
                    answer=answer,
                    request_id=request_id,
                )
            return answer

    # -- retrieval

    def _retrieve(
        self, store: Mapping[str, JSON], label: str, param: str, object_id: str, paths: list[str]
    ) -> Answer:
        """A stored object with `paths` expanded; 404 resource_missing naming `param`.

        The `param` of a missing object is assumed to be the path parameter's name
        (session, customer, intent), as Stripe names `payment_method` for PaymentMethods.
        """
        with self._lock:
            found = store.get(object_id)
            if found is not None:
                return Answer(200, self._expanded(copy.deepcopy(found), paths))
        raise no_such(label, object_id, param, status=404)

    def _expanded(self, obj: JSON, paths: Iterable[str]) -> JSON:
        """`obj` (a copy) with each dotted path's ids replaced by copies of their objects."""
        for path in paths:
            target: Any = obj
            for field_name in path.split("."):
                if not isinstance(target, dict):
                    break
                if field_name not in _EXPANDABLE or field_name not in target:
                    raise invalid_request(f"This property cannot be expanded ({path}).")
                value = target[field_name]
                if isinstance(value, str):
                    found = self._object_by_id(value)
                    value = target[field_name] = value if found is None else copy.deepcopy(found)
                target = value
        return obj

    def _object_by_id(self, object_id: str) -> JSON | None:
        for store in (
            self._customers,
            self._setup_intents,
            self._payment_methods,
            self._payment_intents,
            self._charges,
            self._refunds,
        ):
            if object_id in store:
                return store[object_id]
        return None

    # -- events

    def _emit(
        self,
        event_type: str,
        obj: JSON,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        event = event_object(
            new_id("evt_", 24),
            event_type,
            obj,
            created=int(self._clock()),
            pending_webhooks=0 if self._webhook_url is None else 1,
            request_id=request_id,
            idempotency_key=None if idempotency_key is None else redact_pans(idempotency_key),
        )
        self._events[event["id"]] = event
        if self._webhook_url is not None:
            self._dispatch(event)

    def _dispatch(self, event: JSON) -> None:
        """Send now, or after the answer when an HTTP request is being served."""
        assert self._webhook_url is not None
        job = self._sender.hold(self._webhook_url, self._webhook_secret, event)
        held = HELD_WEBHOOKS.get()
        if held is None:
            self._sender.release([job])
        else:
            held.append(job)

    def _record_delivery(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)

    # -- PaymentMethods from card parameters

    def _year(self) -> int:
        return datetime.fromtimestamp(self._clock(), UTC).year

    def _fingerprint(self, number: str) -> str:
        return hmac.new(self._secret, number.encode(), hashlib.sha256).hexdigest()[:16]

    def _new_payment_method(self, params: Mapping[str, str]) -> JSON:
        """A card PaymentMethod from `type`, `card[...]` and `billing_details[...]`.

        Stored; a declining or 3D Secure test card is accepted here, as Stripe accepts it:
        what it does when set up and when charged is noted beside the PaymentMethod, not
        the number.
        """
        kind = params.get("type")
        if not kind:
            raise missing_param("type")
        if kind != "card":
            raise invalid_request(
                "Invalid type: this test API emulates `card` only.",
                param="type",
                code="parameter_invalid_string",
            )
        card = subkeys(params, "card")
        # The "raw card data APIs" gate: see RAW_CARD_DATA_MESSAGE.
        if "number" in card and not self._raw_card_data:
            raise invalid_request(RAW_CARD_DATA_MESSAGE)
        for name in ("number", "exp_month", "exp_year"):
            if not card.get(name, "").strip():
                raise invalid_request(
                    f"The payment method `card` requires the parameter: card[{name}].",
                    param=f"card[{name}]",
                    code="parameter_missing",
                )
        return self._card_payment_method(
            card,
            address=subkeys(params, "billing_details[address]"),
            billing=billing_details(params),
            metadata=metadata(params),
            allow_redisplay=params.get("allow_redisplay", "unspecified"),
        )

    def _card_payment_method(
        self,
        card: Mapping[str, str],
        *,
        address: Mapping[str, str],
        billing: JSON,
        metadata: Mapping[str, str] | None = None,
        allow_redisplay: str,
    ) -> JSON:
        """Store a PaymentMethod for checked card fields (`number`, `exp_month`, ...)."""
        number = card["number"]
        details = card_details(
            card, address, now=self._clock(), fingerprint=self._fingerprint(number)
        )
        payment_method = payment_method_object(
            new_id("pm_", 24),
            details,
            created=int(self._clock()),
            billing_details=billing,
            metadata=metadata,
            allow_redisplay=allow_redisplay,
        )
        self._payment_methods[payment_method["id"]] = payment_method
        self._outcomes[payment_method["id"]] = confirm_outcome(number)
        self._charge_outcomes[payment_method["id"]] = charge_outcome(number)
        return payment_method


def billing_details(params: Mapping[str, str], prefix: str = "billing_details") -> JSON:
    """A PaymentMethod's `billing_details`, card-like digit runs masked."""
    details = subkeys(params, prefix)
    address = subkeys(params, f"{prefix}[address]")

    def value(source: Mapping[str, str], name: str) -> str | None:
        text = source.get(name)
        return redact_pans(text) if text else None

    return {
        "address": {name: value(address, name) for name in _ADDRESS_FIELDS},
        "email": value(details, "email"),
        "name": value(details, "name"),
        "phone": value(details, "phone"),
        "tax_id": None,
    }


def no_such(label: str, object_id: str, param: str, *, status: int) -> ApiError:
    return invalid_request(
        f"No such {label}: '{redact_pans(object_id)}'",
        param=param,
        code="resource_missing",
        status=status,
    )
