"""A Stripe-compatible test API: card PaymentMethods, Checkout in setup mode, webhooks.

The real `stripe` SDK talks to it unchanged::

    client = stripe.StripeClient("sk_test_anything", base_addresses={"api": url})

Emulated: `POST /v1/payment_methods` (`type=card`, form-encoded with Stripe's bracket
notation) and `GET /v1/payment_methods/{id}`; `POST /v1/customers`, `GET /v1/customers/{id}`
and `GET /v1/customers/search` (Stripe's query language: `email`, `name`, `phone`,
`metadata['key']`, `:` and `~`, AND or OR); `POST /v1/checkout/sessions` (`mode=setup`),
`GET /v1/checkout/sessions/{id}`, `POST /v1/checkout/sessions/{id}/expire` and
`GET /v1/setup_intents/{id}`, with `expand[]`; Bearer (or Basic) authentication with any
`sk_test_` key, or one exact key; Stripe's error envelope and HTTP statuses; a `Request-Id`
header on every response; `Idempotency-Key` replay on every POST; the "raw card data APIs"
gate (`StripeEmulator(raw_card_data=False)`); injected faults. The control endpoints are
listed on `create_app`.

Stripe-hosted card entry: a Checkout Session's `url` is this server's own page,
`GET /pay/{id}`, a card form that validates as `POST /v1/payment_methods` does (and works
whatever the raw card data gate says: that gate is for the API, not for Stripe's page). A
good card makes a PaymentMethod attached to the session's customer and a succeeded
SetupIntent, completes the session and redirects (303) to `success_url`. Completion and
expiry (by the API, a control endpoint, or `expires_at` passing, noticed on the next look)
are Events, `checkout.session.completed` and `checkout.session.expired`, POSTed to the
webhook endpoint signed as Stripe signs them (see `emulator.stripe_checkout`), after the
answer that caused them has been sent.

Test cards. Real Stripe accepts the numbers below when a PaymentMethod is created and only
declines them later, when a charge or a setup confirms the card. This emulator declines
them at creation, so that the card-entry path can meet every error without a charge flow:

    number             code            decline_code      param
    4000000000000002   card_declined   generic_decline   (none)
    4000000000000127   incorrect_cvc   incorrect_cvc     card[cvc]
    4000000000000069   expired_card    expired_card      card[exp_month]

Every other Luhn-valid number of a known brand and length is accepted, for example
4242424242424242 (visa), 5555555555554444 and 2223003122003222 (mastercard),
378282246310005 (amex), 6011111111111117 (discover), 3056930009020004 (diners),
3566002020360505 (jcb), 6200000000000005 (unionpay).

Card data: a full number and a CVC live only in the memory of the request that carries
them. The request log keeps the number masked to its last four digits and drops the CVC;
idempotency records keep a keyed digest of the parameters, never the parameters; stored
objects and the log have any other Luhn-valid 13-19 digit run masked too; Python logging
gets method, path, status and timing only.
"""

# What real Stripe answers, as far as public material shows. Checked: Stripe's "Declines"
# guide, stripe-ios and stripe-android test fixtures, stripe-python's requestor, and
# integrators' bug reports quoting live responses.
# * Card errors on /v1/payment_methods name the bracketed field. Stripe's guide shows
#   `"param": "card[number]"` for a bad number, and stripe-ios fixtures show
#   `"param": "card[exp_year]"` with "The payment method `card` requires the parameter:
#   card[exp_year]." for a missing field. The token and charge endpoints of Stripe.js v2
#   used bare names (`number`, `exp_month`, `exp_year`, `cvc`). We use `card[number]`,
#   `card[exp_month]`, `card[exp_year]`, `card[cvc]` throughout. Not confirmed one by one
#   for invalid_expiry_month, invalid_expiry_year and invalid_cvc on this endpoint, nor
#   whether a month already past in the current year is invalid_expiry_month (assumed).
# * Raw card data APIs not enabled: type invalid_request_error, no code, no param, and the
#   test-mode message in RAW_CARD_DATA_MESSAGE (live mode words it differently: "To
#   continue processing use Stripe.js, the Stripe mobile bindings, or Stripe Elements.
#   ..."). The HTTP status appeared in no report found; 400 is assumed. It matters: the SDK
#   raises InvalidRequestError for 400/404 and CardError for any 402, whatever the type.
# * The declining test cards carry a decline_code equal to the code (generic_decline for
#   card_declined). Reports disagree on expired_card's param (exp_month or exp_year).
# * Rate limits: 429, type invalid_request_error, code rate_limit; the SDK raises
#   RateLimitError for any 429. The message text is not confirmed.
# * `Stripe-Should-Retry`: stripe-python retries when it is "true", never when "false",
#   and otherwise on 409 and 5xx, up to max_network_retries, reusing the Idempotency-Key
#   it sends on every POST (a random one unless the caller gives one).
# * Idempotency: results are saved once the endpoint has begun executing (so a card error
#   is saved, and a corrected card under the same key meets idempotency_error); a request
#   that fails parameter validation saves nothing. Replays carry `Idempotent-Replayed:
#   true` and `Original-Request: req_...`.
# * Checkout Sessions: "Missing required param: success_url." (parameter_missing) for the
#   hosted page; "You can not pass `line_items` in `setup` mode."; `expires_at` 30 minutes
#   to 24 hours ahead ("The `expires_at` timestamp must be at least 30 minutes from Checkout
#   Session creation." / "... must be less than 24 hours ..."; no code seen in reports);
#   an unknown customer is 400 resource_missing, param customer; expiring a session that is
#   not open: "Only Checkout Sessions with a status in ["open"] can be expired. ...". In
#   setup mode `currency` is required unless the payment method types are given (Stripe's
#   API reference; the error wording is assumed). stripe 16 (API 2026-10-28) sends
#   `allowed_payment_method_types`; older integrations send `payment_method_types`: both
#   are read. The `param` of a missing object on retrieve is assumed to be the path
#   parameter's name (session, customer, intent), as for payment_method.
# * Search is eventually consistent on Stripe (new objects appear within about a minute);
#   here they appear at once. Invalid queries: 400, param query, wording assumed.

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextvars
import copy
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from emulator.stripe_checkout import (
    SESSION_EXPIRES_MAX,
    SESSION_EXPIRES_MIN,
    CardEntry,
    PageError,
    SearchQueryError,
    SessionRequest,
    WebhookDelivery,
    WebhookJob,
    WebhookSender,
    checked_webhook_url,
    checkout_session_object,
    complete_session,
    customer_object,
    event_object,
    expand_paths,
    expire_session,
    new_webhook_secret,
    page_error,
    parse_search_query,
    read_card_form,
    render_form,
    render_notice,
    search_page,
    sequence_param,
    setup_intent_object,
    success_redirect,
)

logger = logging.getLogger("emulator.stripe_api")  # the same name under `python -m`

JSON = dict[str, Any]

RAW_CARD_DATA_MESSAGE: Final = (
    "Sending credit card numbers directly to the Stripe API is generally unsafe. We suggest"
    " you use test tokens that map to the test card you are using, see"
    " https://stripe.com/docs/testing. To enable raw card data APIs in test mode, see"
    " https://support.stripe.com/questions/enabling-access-to-raw-card-data-apis."
)
NO_KEY_MESSAGE: Final = (
    "You did not provide an API key. You need to provide your API key in the Authorization"
    " header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See"
    " https://stripe.com/docs/api#authentication for details, or we can help at"
    " https://support.stripe.com/."
)
RATE_LIMIT_MESSAGE: Final = (
    "Request rate limit exceeded. Learn more about rate limits here"
    " https://stripe.com/docs/rate-limits."
)
CREATE_PAYMENT_METHOD: Final = "POST /v1/payment_methods"
CREATE_CUSTOMER: Final = "POST /v1/customers"
CREATE_CHECKOUT_SESSION: Final = "POST /v1/checkout/sessions"
_ID_ALPHABET: Final = string.ascii_letters + string.digits
_PAN_RUN = re.compile(r"\d(?:[ -]?\d){12,18}")


# ---------------------------------------------------------------- cards


@dataclass(frozen=True)
class Brand:
    """A card network as Stripe names it, with the lengths it issues."""

    name: str  # `card.brand`
    display: str  # `card.display_brand`
    lengths: frozenset[int]
    cvc_length: int


VISA = Brand("visa", "visa", frozenset({13, 16, 19}), 3)
MASTERCARD = Brand("mastercard", "mastercard", frozenset({16}), 3)
AMEX = Brand("amex", "american_express", frozenset({15}), 4)
DISCOVER = Brand("discover", "discover", frozenset({16, 19}), 3)
DINERS = Brand("diners", "diners_club", frozenset({14, 16, 19}), 3)
JCB = Brand("jcb", "jcb", frozenset({16, 17, 18, 19}), 3)
UNIONPAY = Brand("unionpay", "union_pay", frozenset({16, 17, 18, 19}), 3)

# (lowest prefix, highest prefix, brand): prefixes of one width each, first match wins.
_IIN_RANGES: Final[tuple[tuple[int, int, Brand], ...]] = (
    (4, 4, VISA),
    (51, 55, MASTERCARD),
    (2221, 2720, MASTERCARD),
    (34, 34, AMEX),
    (37, 37, AMEX),
    (6011, 6011, DISCOVER),
    (644, 649, DISCOVER),
    (65, 65, DISCOVER),
    (300, 305, DINERS),
    (36, 36, DINERS),
    (38, 39, DINERS),
    (3528, 3589, JCB),
    (62, 62, UNIONPAY),
    (81, 81, UNIONPAY),
)


def card_brand(number: str) -> Brand | None:
    """The brand a digit string's issuer prefix belongs to, or None."""
    for low, high, brand in _IIN_RANGES:
        width = len(str(low))
        if len(number) >= width and low <= int(number[:width]) <= high:
            return brand
    return None


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask_pan(number: str) -> str:
    """`****4242`: a card number reduced to its last four digits."""
    digits = "".join(char for char in number if char.isdigit())
    return "****" + digits[-4:]


def redact_pans(text: str) -> str:
    """Mask every Luhn-valid 13-19 digit run (spaces or dashes allowed) to its last four."""

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return mask_pan(digits) if luhn_valid(digits) else match.group()

    return _PAN_RUN.sub(mask, text)


# ---------------------------------------------------------------- errors and answers


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the API: status, JSON body, extra headers."""

    status: int
    body: JSON
    headers: Mapping[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A Stripe error answer; `saved` when idempotency keeps it (the endpoint had run)."""

    def __init__(
        self,
        status: int,
        error: JSON,
        *,
        headers: Mapping[str, str] | None = None,
        saved: bool = False,
    ) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error
        self.headers = dict(headers or {})
        self.saved = saved

    def answer(self, request_id: str, now: float) -> Answer:
        """The error envelope, with the `request_log_url` Stripe adds."""
        log_url = f"https://dashboard.stripe.com/test/logs/{request_id}?t={int(now)}"
        return Answer(
            self.status, {"error": {**self.error, "request_log_url": log_url}}, self.headers
        )


def _doc_url(code: str) -> str:
    return "https://stripe.com/docs/error-codes/" + code.replace("_", "-")


def card_error(
    code: str, message: str, param: str | None, decline_code: str | None = None
) -> ApiError:
    """HTTP 402 `card_error`; the SDK raises `stripe.CardError`."""
    error: JSON = {
        "type": "card_error",
        "code": code,
        "message": message,
        "doc_url": _doc_url(code),
    }
    if param is not None:
        error["param"] = param
    if decline_code is not None:
        error["decline_code"] = decline_code
    return ApiError(402, error, saved=True)


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> ApiError:
    """HTTP 400 (or `status`) `invalid_request_error`; the SDK raises InvalidRequestError."""
    error: JSON = {"type": "invalid_request_error", "message": message}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
        error["doc_url"] = _doc_url(code)
    return ApiError(status, error)


def _idempotency_error(message: str) -> ApiError:
    return ApiError(400, {"type": "idempotency_error", "message": message})


_INCORRECT_NUMBER = ("incorrect_number", "Your card number is incorrect.", "card[number]")
_INVALID_MONTH = (
    "invalid_expiry_month",
    "Your card's expiration month is invalid.",
    "card[exp_month]",
)
_INVALID_YEAR = ("invalid_expiry_year", "Your card's expiration year is invalid.", "card[exp_year]")
_INVALID_CVC = ("invalid_cvc", "Your card's security code is invalid.", "card[cvc]")

# Stripe's test cards that decline: (code, message, param, decline_code).
DECLINING_TEST_CARDS: Final[Mapping[str, tuple[str, str, str | None, str]]] = {
    "4000000000000002": ("card_declined", "Your card was declined.", None, "generic_decline"),
    "4000000000000127": (
        "incorrect_cvc",
        "Your card's security code is incorrect.",
        "card[cvc]",
        "incorrect_cvc",
    ),
    "4000000000000069": (
        "expired_card",
        "Your card has expired.",
        "card[exp_month]",
        "expired_card",
    ),
}


# ---------------------------------------------------------------- request parameters

_KNOWN_PARAMS: Final[Mapping[str, frozenset[str] | None]] = {
    "type": frozenset(),
    "allow_redisplay": frozenset(),
    "card": frozenset({"number", "exp_month", "exp_year", "cvc", "networks"}),
    "billing_details": frozenset({"name", "email", "phone", "address"}),
    "metadata": None,  # any key
    "expand": None,
}
_ADDRESS_FIELDS: Final = ("city", "country", "line1", "line2", "postal_code", "state")


_CUSTOMER_PARAMS: Final[Mapping[str, frozenset[str] | None]] = {
    "email": frozenset(),
    "name": frozenset(),
    "phone": frozenset(),
    "description": frozenset(),
    "metadata": None,
    "expand": None,
}
_SEARCH_PARAMS: Final[Mapping[str, frozenset[str] | None]] = {
    "query": frozenset(),
    "limit": frozenset(),
    "page": frozenset(),
    "expand": None,
}
_CHECKOUT_PARAMS: Final[Mapping[str, frozenset[str] | None]] = {
    "mode": frozenset(),
    "customer": frozenset(),
    "customer_email": frozenset(),
    "currency": frozenset(),
    "payment_method_types": None,
    "allowed_payment_method_types": None,
    "client_reference_id": frozenset(),
    "expires_at": frozenset(),
    "success_url": frozenset(),
    "cancel_url": frozenset(),
    "locale": frozenset(),
    "ui_mode": frozenset(),
    "metadata": None,
    "setup_intent_data": frozenset({"metadata", "description"}),
    "line_items": None,  # known to Stripe; refused in setup mode with its own message
    "expand": None,
}
_EXPAND_ONLY: Final[Mapping[str, frozenset[str] | None]] = {"expand": None}
_CUSTOMER_SEARCH_FIELDS: Final = frozenset({"email", "name", "phone"})
_EXPANDABLE: Final = frozenset({"customer", "payment_method", "setup_intent"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _reject_unknown_params(
    params: Mapping[str, str], known: Mapping[str, frozenset[str] | None] = _KNOWN_PARAMS
) -> None:
    for key in params:
        parts = re.findall(r"[^\[\]]+", key) or [key]
        if parts[0] not in known:
            raise _unknown_param(parts[0])
        allowed = known[parts[0]]
        if allowed is not None and len(parts) > 1 and parts[1] not in allowed:
            raise _unknown_param(f"{parts[0]}[{parts[1]}]")


def _unknown_param(name: str) -> ApiError:
    return invalid_request(
        f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
    )


def _subkeys(params: Mapping[str, str], prefix: str) -> dict[str, str]:
    """`{"k": v}` for every `prefix[k]` parameter."""
    start = prefix + "["
    return {
        key[len(start) : -1]: value
        for key, value in params.items()
        if key.startswith(start) and key.endswith("]") and "[" not in key[len(start) : -1]
    }


def _digits_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def _missing_param(name: str) -> ApiError:
    return invalid_request(f"Missing required param: {name}.", param=name, code="parameter_missing")


def _metadata(params: Mapping[str, str], prefix: str = "metadata") -> dict[str, str]:
    """`prefix[key]` values, card-like digit runs masked; an empty value sets nothing."""
    return {key: redact_pans(value) for key, value in _subkeys(params, prefix).items() if value}


def _text(params: Mapping[str, str], name: str) -> str | None:
    """A free-text parameter, card-like digit runs masked; empty is None."""
    value = params.get(name)
    return redact_pans(value) if value else None


def _loggable_params(params: Mapping[str, str]) -> dict[str, str]:
    """What the request log may keep: number masked, CVC dropped, stray PANs masked."""
    kept: dict[str, str] = {}
    for key, value in params.items():
        if key == "cvc" or key.endswith("[cvc]"):
            continue
        if key == "number" or key.endswith("[number]"):
            kept[redact_pans(key)] = mask_pan(value)
        else:
            kept[redact_pans(key)] = redact_pans(value)
    return kept


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class RecordedRequest:
    """One API call as the request log keeps it; never a full card number or a CVC."""

    request_id: str
    method: str
    path: str
    status: int
    duration_ms: float
    idempotency_key: str | None
    params: dict[str, str]  # card[number] masked to last four, card[cvc] removed
    replayed: bool = False
    fault: str | None = None  # e.g. "status=500", "delay=0.3s"

    def to_json(self) -> JSON:
        """A JSON-ready copy."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Fault:
    """What happens to one upcoming API request: a delay, then maybe an error status."""

    status: int | None = None
    delay: float = 0.0
    code: str | None = None
    should_retry: bool | None = True  # the Stripe-Should-Retry header; None omits it

    def describe(self) -> str:
        """`delay=0.3s status=500`, for the request log."""
        parts = [f"delay={self.delay:g}s"] if self.delay else []
        return " ".join([*parts, f"status={self.status}"] if self.status else parts)

    def answer(self, request_id: str, now: float) -> Answer:
        """Stripe's error answer for this fault's status."""
        assert self.status is not None
        if self.status == 429:
            code = self.code or "rate_limit"
            error: JSON = {
                "type": "invalid_request_error",
                "code": code,
                "message": RATE_LIMIT_MESSAGE,
                "doc_url": _doc_url(code),
            }
        elif self.status >= 500:
            error = {"type": "api_error", "message": "An unknown error occurred"}
        else:
            error = {"type": "invalid_request_error", "message": f"Injected HTTP {self.status}."}
        if self.code is not None:
            error["code"] = self.code
        headers = (
            {} if self.should_retry is None else {"Stripe-Should-Retry": _bool(self.should_retry)}
        )
        return ApiError(self.status, error, headers=headers).answer(request_id, now)


@dataclass(frozen=True)
class _SavedResult:
    endpoint: str
    params_digest: str
    answer: Answer
    request_id: str


def _bool(value: bool) -> str:
    return "true" if value else "false"


def new_id(prefix: str, length: int) -> str:
    """`prefix` plus `length` random letters and digits, as Stripe ids look."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


# Set by the HTTP layer for the request being served: events emitted meanwhile wait in it
# until the answer has been sent.
_HELD_WEBHOOKS: Final[contextvars.ContextVar[list[WebhookJob] | None]] = contextvars.ContextVar(
    "stripe_held_webhooks", default=None
)


class StripeEmulator:
    """The emulated account's state; thread-safe (the app serves on its own thread).

    Args:
        raw_card_data: whether the account has raw card data APIs enabled; can be
            changed at runtime through the `raw_card_data` property.
        api_key: accept only this exact `sk_test_` key (default: any `sk_test_` key).
        clock: seconds since the epoch; decides which expiry dates are past, when Checkout
            Sessions expire, and the timestamps of events and signatures.
        webhook_url: where events are POSTed (http(s) on a loopback address); None sends
            none (they are still kept in `events`). Settable at runtime.
        webhook_secret: the `whsec_` secret events are signed with; a fresh one if None.
        webhook_retry_delay: seconds before the second of three delivery attempts (doubling).
        business_name: the account's name, shown on the hosted page.
    """

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
        self._events: dict[str, JSON] = {}
        self._deliveries: list[WebhookDelivery] = []
        self._saved: dict[tuple[str, str], _SavedResult] = {}
        self._requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()
        self._webhook_url = None if webhook_url is None else checked_webhook_url(webhook_url)
        self._webhook_secret = webhook_secret or new_webhook_secret()
        self._sender = WebhookSender(
            self._record_delivery, clock=clock, retry_delay=webhook_retry_delay
        )
        self.business_name = business_name

    # -- inspection and control (any thread)

    @property
    def raw_card_data(self) -> bool:
        """Whether `POST /v1/payment_methods` accepts card numbers."""
        with self._lock:
            return self._raw_card_data

    @raw_card_data.setter
    def raw_card_data(self, enabled: bool) -> None:
        with self._lock:
            self._raw_card_data = enabled

    @property
    def webhook_url(self) -> str | None:
        """Where events are POSTed; None: nowhere."""
        with self._lock:
            return self._webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        checked = None if url is None else checked_webhook_url(url)
        with self._lock:
            self._webhook_url = checked

    @property
    def webhook_secret(self) -> str:
        """The secret in every `Stripe-Signature`."""
        with self._lock:
            return self._webhook_secret

    @webhook_secret.setter
    def webhook_secret(self, secret: str) -> None:
        if not secret.strip():
            raise ValueError("webhook_secret must not be empty")
        with self._lock:
            self._webhook_secret = secret

    @property
    def payment_methods(self) -> list[JSON]:
        """Copies of every PaymentMethod created, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._payment_methods.values()))

    def payment_method(self, payment_method_id: str) -> JSON | None:
        """A copy of one PaymentMethod, or None."""
        with self._lock:
            return copy.deepcopy(self._payment_methods.get(payment_method_id))

    @property
    def customers(self) -> list[JSON]:
        """Copies of every Customer, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._customers.values()))

    @property
    def checkout_sessions(self) -> list[JSON]:
        """Copies of every Checkout Session, oldest first (expiring those past `expires_at`)."""
        with self._lock:
            return [copy.deepcopy(self._refresh(session)) for session in self._sessions.values()]

    def checkout_session(self, session_id: str) -> JSON | None:
        """A copy of one Checkout Session, or None."""
        with self._lock:
            session = self._sessions.get(session_id)
            return None if session is None else copy.deepcopy(self._refresh(session))

    @property
    def setup_intents(self) -> list[JSON]:
        """Copies of every SetupIntent, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._setup_intents.values()))

    @property
    def events(self) -> list[JSON]:
        """Copies of every Event, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._events.values()))

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every delivery attempt (event id, type, url, attempt, status), oldest first."""
        with self._lock:
            return list(self._deliveries)

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Wait until every event sent so far has had its attempts; False on timeout."""
        return self._sender.wait_idle(timeout)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every `/v1` request served, oldest first (control endpoints are not recorded)."""
        with self._lock:
            return list(self._requests)

    def inject(
        self,
        *,
        status: int | None = None,
        delay: float = 0.0,
        count: int = 1,
        code: str | None = None,
        should_retry: bool | None = True,
    ) -> None:
        """Make each of the next `count` API requests wait `delay` s, then fail with `status`.

        Injected failures happen in front of the API: nothing is created and no idempotent
        result is saved, so by default the answer carries `Stripe-Should-Retry: true`
        (`should_retry=False` sends "false", None sends no header). 429 answers with
        Stripe's rate-limit error, 5xx with `api_error`. Faults queue up in order.
        """
        if status is None and delay <= 0:
            raise ValueError("a fault needs a status, a delay, or both")
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if delay < 0 or count < 1:
            raise ValueError("delay must be >= 0 and count >= 1")
        fault = Fault(status=status, delay=delay, code=code, should_retry=should_retry)
        with self._lock:
            self._faults.extend([fault] * count)

    @property
    def pending_faults(self) -> int:
        """How many upcoming requests a fault is still waiting for."""
        with self._lock:
            return len(self._faults)

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget every object, event, delivery, idempotent result, request and fault.

        The webhook endpoint and secret stay as they are.
        """
        with self._lock:
            for store in (
                self._payment_methods,
                self._customers,
                self._sessions,
                self._setup_metadata,
                self._setup_intents,
                self._events,
                self._saved,
            ):
                store.clear()
            self._deliveries.clear()
            self._requests.clear()
            self._faults.clear()

    # -- Checkout, as the hosted page and the tests drive it (any thread)

    def complete_checkout(
        self,
        session_id: str,
        number: str = "4242424242424242",
        *,
        exp_month: int = 12,
        exp_year: int | None = None,
        cvc: str = "123",
        name: str = "Jenny Rosen",
    ) -> JSON:
        """Save a card on an open session, as its hosted page does; the completed session.

        `exp_year` defaults to next year. Raises ApiError: 402 card errors as
        `POST /v1/payment_methods` gives them, 404 for an unknown session, 400 for one
        that is not open.
        """
        year = exp_year if exp_year is not None else self._year() + 1
        return self.complete_from_page(
            session_id, CardEntry(number, str(exp_month), str(year), cvc, name)
        )

    def complete_from_page(self, session_id: str, entry: CardEntry) -> JSON:
        """`complete_checkout` for a card as the page read it."""
        card = {
            "number": entry.number,
            "exp_month": entry.exp_month,
            "exp_year": entry.exp_year,
            "cvc": entry.cvc,
        }
        with self._lock:
            session = self._open_session(session_id)
            customer = self._customers.get(session["customer"] or "")
            payment_method = self._payment_method_object(
                self._card(card, {}),
                billing_details={**_billing_details({}), "name": redact_pans(entry.name)},
                customer=session["customer"],
                allow_redisplay="limited",
            )
            self._payment_methods[payment_method["id"]] = payment_method
            intent = setup_intent_object(
                new_id("seti_", 24),
                created=int(self._clock()),
                customer=session["customer"],
                payment_method=payment_method["id"],
                metadata=self._setup_metadata.get(session_id, {}),
            )
            self._setup_intents[intent["id"]] = intent
            email = customer["email"] if customer else session["customer_email"]
            name = redact_pans(entry.name)
            complete_session(session, setup_intent=intent["id"], email=email, name=name)
            self._emit("checkout.session.completed", session)
            return copy.deepcopy(session)

    def expire_checkout(self, session_id: str) -> JSON:
        """Expire an open session, as `POST /v1/checkout/sessions/{id}/expire` does."""
        with self._lock:
            return self._expire(session_id, request_id=None, idempotency_key=None)

    def redeliver(self, event_id: str) -> None:
        """Send an event again, unchanged, to the webhook endpoint configured now.

        Raises KeyError for an unknown event, ValueError when no endpoint is configured.
        """
        with self._lock:
            event = self._events.get(event_id)
            if event is None:
                raise KeyError(event_id)
            if self._webhook_url is None:
                raise ValueError("no webhook endpoint is configured")
            self._dispatch(event)

    def page_view(self, session_id: str) -> tuple[JSON | None, str | None]:
        """A session (copy, or None) and its customer's email, for rendering its page."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None, None
            self._refresh(session)
            customer = self._customers.get(session["customer"] or "")
            email = customer["email"] if customer else session["customer_email"]
            return copy.deepcopy(session), email

    def release_webhooks(self, held: Iterable[WebhookJob]) -> None:
        """Send events that waited for their request's answer."""
        self._sender.release(held)

    # -- what the HTTP layer calls

    def now(self) -> float:
        """The emulator's clock."""
        return self._clock()

    def take_fault(self) -> Fault | None:
        """The fault for the request now arriving, if one is queued."""
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def record(self, entry: RecordedRequest) -> None:
        """Append to the request log."""
        with self._lock:
            self._requests.append(entry)

    def authenticate(self, authorization: str | None) -> str:
        """The API key an `Authorization` header presents; raises ApiError(401) otherwise."""
        key = _presented_key(authorization)
        if not key:
            raise ApiError(
                401,
                {"type": "invalid_request_error", "message": NO_KEY_MESSAGE},
                headers=_CHALLENGE,
            )
        expected = self._api_key
        if not key.startswith("sk_test_") or (
            expected is not None and not hmac.compare_digest(key.encode(), expected.encode())
        ):
            message = f"Invalid API Key provided: {mask_api_key(key)}"
            raise ApiError(
                401, {"type": "invalid_request_error", "message": message}, headers=_CHALLENGE
            )
        return key

    def create_payment_method(
        self,
        params: Mapping[str, str],
        *,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/payment_methods`, with idempotent replay."""

        def create() -> JSON:
            payment_method = self._new_payment_method(params)
            self._payment_methods[payment_method["id"]] = payment_method
            return payment_method

        return self._idempotent(
            CREATE_PAYMENT_METHOD, params, create, api_key, idempotency_key, request_id
        )

    def retrieve_payment_method(self, payment_method_id: str, *, request_id: str) -> Answer:
        """`GET /v1/payment_methods/{id}`."""
        with self._lock:
            found = self._payment_methods.get(payment_method_id)
            if found is not None:
                return Answer(200, copy.deepcopy(found))
        missing = invalid_request(
            f"No such PaymentMethod: '{payment_method_id}'",
            param="payment_method",
            code="resource_missing",
            status=404,
        )
        return missing.answer(request_id, self._clock())

    def create_customer(
        self,
        params: Mapping[str, str],
        *,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/customers`, with idempotent replay."""
        return self._idempotent(
            CREATE_CUSTOMER,
            params,
            lambda: self._new_customer(params),
            api_key,
            idempotency_key,
            request_id,
        )

    def search_customers(self, params: Mapping[str, str]) -> Answer:
        """`GET /v1/customers/search`: newest first, `limit` (1-100) per page."""
        _reject_unknown_params(params, _SEARCH_PARAMS)
        text = params.get("query")
        if text is None:
            raise _missing_param("query")
        try:
            query = parse_search_query(text, _CUSTOMER_SEARCH_FIELDS)
        except SearchQueryError as exc:
            raise invalid_request(f"Invalid search query: {exc}.", param="query") from None
        limit = _digits_or_none(params.get("limit", "10"))
        if limit is None or not 1 <= limit <= 100:
            raise invalid_request("Limit must be between 1 and 100.", param="limit")
        offset = _digits_or_none(params.get("page", "0"))
        if offset is None:
            raise invalid_request("Invalid page: not a page of this search.", param="page")
        paths = expand_paths(params)
        with self._lock:
            found = [
                self._expanded(copy.deepcopy(customer), paths)
                for customer in reversed(self._customers.values())
                if query.matches(customer)
            ]
        page = search_page(found, url="/v1/customers/search", limit=limit, offset=offset)
        return Answer(200, page)

    def retrieve_customer(self, customer_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/customers/{id}`."""
        return self._retrieve(self._customers, "customer", "customer", customer_id, params)

    def create_checkout_session(
        self,
        params: Mapping[str, str],
        *,
        base_url: str,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/checkout/sessions` (setup mode); `url` is `{base_url}/pay/{id}`."""
        return self._idempotent(
            CREATE_CHECKOUT_SESSION,
            params,
            lambda: self._new_checkout_session(params, base_url),
            api_key,
            idempotency_key,
            request_id,
        )

    def retrieve_checkout_session(self, session_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/checkout/sessions/{id}`."""
        with self._lock:
            if session_id in self._sessions:
                self._refresh(self._sessions[session_id])
        return self._retrieve(self._sessions, "checkout.session", "session", session_id, params)

    def expire_checkout_session(
        self,
        session_id: str,
        params: Mapping[str, str],
        *,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/checkout/sessions/{id}/expire`, with idempotent replay."""

        def expire() -> JSON:
            _reject_unknown_params(params, _EXPAND_ONLY)
            expired = self._expire(
                session_id, request_id=request_id, idempotency_key=idempotency_key
            )
            return self._expanded(expired, expand_paths(params))

        endpoint = f"POST /v1/checkout/sessions/{session_id}/expire"
        return self._idempotent(endpoint, params, expire, api_key, idempotency_key, request_id)

    def retrieve_setup_intent(self, intent_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/setup_intents/{id}`."""
        return self._retrieve(self._setup_intents, "setupintent", "intent", intent_id, params)

    # -- internals (called with the lock held)

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
        digest = self._digest(params)
        with self._lock:
            if idempotency_key is not None:
                saved = self._saved.get((api_key, idempotency_key))
                if saved is not None:
                    return self._replay(saved, endpoint, idempotency_key, digest, request_id)
            try:
                answer, keep = Answer(200, copy.deepcopy(create())), True
            except ApiError as error:
                answer, keep = error.answer(request_id, self._clock()), error.saved
            if idempotency_key is not None and keep:
                saved = _SavedResult(endpoint, digest, answer, request_id)
                self._saved[(api_key, idempotency_key)] = saved
            return answer

    def _replay(
        self, saved: _SavedResult, endpoint: str, key: str, digest: str, request_id: str
    ) -> Answer:
        if saved.endpoint != endpoint:
            error = _idempotency_error(
                "Keys for idempotent requests can only be used for the same endpoint they were"
                f" first used for ('{saved.endpoint}' vs '{endpoint}'). Try using"
                f" a key other than '{key}' if you meant to execute a different request."
            )
            return error.answer(request_id, self._clock())
        if not hmac.compare_digest(saved.params_digest, digest):
            error = _idempotency_error(
                "Keys for idempotent requests can only be used with the same parameters they"
                f" were first used with. Try using a key other than '{key}' if you meant to"
                " execute a different request."
            )
            return error.answer(request_id, self._clock())
        headers = {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
        return Answer(saved.answer.status, copy.deepcopy(saved.answer.body), headers)

    def _retrieve(
        self,
        store: Mapping[str, JSON],
        label: str,
        param: str,
        object_id: str,
        params: Mapping[str, str],
    ) -> Answer:
        _reject_unknown_params(params, _EXPAND_ONLY)
        with self._lock:
            found = store.get(object_id)
            if found is not None:
                return Answer(200, self._expanded(copy.deepcopy(found), expand_paths(params)))
        raise invalid_request(
            f"No such {label}: '{redact_pans(object_id)}'",
            param=param,
            code="resource_missing",
            status=404,
        )

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
        for store in (self._customers, self._setup_intents, self._payment_methods):
            if object_id in store:
                return store[object_id]
        return None

    def _refresh(self, session: JSON) -> JSON:
        """Expire an open session whose `expires_at` has passed (Stripe's own timer)."""
        if session["status"] == "open" and self._clock() >= session["expires_at"]:
            expire_session(session)
            self._emit("checkout.session.expired", session)
        return session

    def _session(self, session_id: str) -> JSON:
        """A stored session, brought up to date; ApiError(404) if there is none."""
        session = self._sessions.get(session_id)
        if session is None:
            raise invalid_request(
                f"No such checkout.session: '{redact_pans(session_id)}'",
                param="session",
                code="resource_missing",
                status=404,
            )
        return self._refresh(session)

    def _open_session(self, session_id: str) -> JSON:
        session = self._session(session_id)
        if session["status"] != "open":
            raise invalid_request(
                f"This Checkout Session is no longer open: its status is `{session['status']}`."
            )
        return session

    def _expire(
        self, session_id: str, *, request_id: str | None, idempotency_key: str | None
    ) -> JSON:
        session = self._session(session_id)
        if session["status"] != "open":
            raise invalid_request(
                'Only Checkout Sessions with a status in ["open"] can be expired. This'
                f" Checkout Session has a status of `{session['status']}`."
            )
        expire_session(session)
        self._emit(
            "checkout.session.expired",
            session,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        return copy.deepcopy(session)

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
        held = _HELD_WEBHOOKS.get()
        if held is None:
            self._sender.release([job])
        else:
            held.append(job)

    def _record_delivery(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)

    def _year(self) -> int:
        return datetime.fromtimestamp(self._clock(), UTC).year

    def _digest(self, params: Mapping[str, str]) -> str:
        canonical = json.dumps(sorted(params.items())).encode()
        return hmac.new(self._secret, canonical, hashlib.sha256).hexdigest()

    def _fingerprint(self, number: str) -> str:
        return hmac.new(self._secret, number.encode(), hashlib.sha256).hexdigest()[:16]

    def _new_customer(self, params: Mapping[str, str]) -> JSON:
        _reject_unknown_params(params, _CUSTOMER_PARAMS)
        email = params.get("email")
        if email and not _EMAIL.fullmatch(email):
            raise invalid_request(
                f"Invalid email address: {redact_pans(email)}", param="email", code="email_invalid"
            )
        customer = customer_object(
            new_id("cus_", 14),
            created=int(self._clock()),
            email=_text(params, "email"),
            name=_text(params, "name"),
            phone=_text(params, "phone"),
            description=_text(params, "description"),
            metadata=_metadata(params),
        )
        self._customers[customer["id"]] = customer
        return self._expanded(copy.deepcopy(customer), expand_paths(params))

    def _new_checkout_session(self, params: Mapping[str, str], base_url: str) -> JSON:
        request = _session_request(params, self._clock())
        if request.customer is not None and request.customer not in self._customers:
            raise invalid_request(
                f"No such customer: '{redact_pans(request.customer)}'",
                param="customer",
                code="resource_missing",
            )
        session_id = new_id("cs_test_", 58)
        session = checkout_session_object(
            session_id, request, url=f"{base_url}/pay/{session_id}", created=int(self._clock())
        )
        self._sessions[session_id] = session
        self._setup_metadata[session_id] = dict(request.setup_intent_metadata or {})
        return self._expanded(copy.deepcopy(session), expand_paths(params))

    def _new_payment_method(self, params: Mapping[str, str]) -> JSON:
        _reject_unknown_params(params)
        kind = params.get("type")
        if not kind:
            raise _missing_param("type")
        if kind != "card":
            raise invalid_request(
                "Invalid type: this test API emulates `card` only.",
                param="type",
                code="parameter_invalid_string",
            )
        card = _subkeys(params, "card")
        if "number" in card and not self._raw_card_data:
            raise invalid_request(RAW_CARD_DATA_MESSAGE)
        for name in ("number", "exp_month", "exp_year"):
            if not card.get(name, "").strip():
                raise invalid_request(
                    f"The payment method `card` requires the parameter: card[{name}].",
                    param=f"card[{name}]",
                    code="parameter_missing",
                )
        return self._payment_method_object(
            self._card(card, params),
            billing_details=_billing_details(params),
            metadata=_metadata(params),
            allow_redisplay=params.get("allow_redisplay", "unspecified"),
        )

    def _payment_method_object(
        self,
        card: JSON,
        *,
        billing_details: JSON,
        metadata: Mapping[str, str] | None = None,
        allow_redisplay: str,
        customer: str | None = None,
    ) -> JSON:
        return {
            "id": new_id("pm_", 24),
            "object": "payment_method",
            "allow_redisplay": allow_redisplay,
            "billing_details": billing_details,
            "card": card,
            "created": int(self._clock()),
            "customer": customer,
            "livemode": False,
            "metadata": dict(metadata or {}),
            "radar_options": {},
            "type": "card",
        }

    def _card(self, card: Mapping[str, str], params: Mapping[str, str]) -> JSON:
        number = card["number"]
        brand = _checked_brand(number)
        exp_month, exp_year = _checked_expiry(card["exp_month"], card["exp_year"], self._clock())
        cvc = card.get("cvc")
        if cvc is not None and (not cvc.isdigit() or len(cvc) != brand.cvc_length):
            raise card_error(*_INVALID_CVC)
        if number in DECLINING_TEST_CARDS:
            raise card_error(*DECLINING_TEST_CARDS[number])
        address = _subkeys(params, "billing_details[address]")
        return {
            "brand": brand.name,
            "checks": {
                "address_line1_check": "unchecked" if address.get("line1") else None,
                "address_postal_code_check": "unchecked" if address.get("postal_code") else None,
                "cvc_check": "unchecked" if cvc else None,
            },
            "country": "US",
            "display_brand": brand.display,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": self._fingerprint(number),
            "funding": "credit",
            "generated_from": None,
            "last4": number[-4:],
            "networks": {"available": [brand.name], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        }


_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="Stripe"'}


def _presented_key(authorization: str | None) -> str | None:
    """The key from `Bearer <key>` or `Basic base64(<key>:)`, as Stripe accepts both."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


def mask_api_key(key: str) -> str:
    """`sk_test_********************wxyz`, as Stripe shows a rejected key."""
    prefix = match.group() if (match := re.match(r"[a-z]{2,4}_(?:test|live)_", key)) else ""
    rest = key[len(prefix) :]
    tail = rest[-4:] if len(rest) >= 12 else ""
    return prefix + "*" * (len(rest) - len(tail)) + tail


def _checked_brand(number: str) -> Brand:
    brand = card_brand(number) if number.isdigit() else None
    if brand is None or len(number) not in brand.lengths or not luhn_valid(number):
        raise card_error(*_INCORRECT_NUMBER)
    return brand


def _checked_expiry(month_text: str, year_text: str, now_seconds: float) -> tuple[int, int]:
    now = datetime.fromtimestamp(now_seconds, UTC)
    month = _digits_or_none(month_text)
    if month is None or not 1 <= month <= 12:
        raise card_error(*_INVALID_MONTH)
    year = _digits_or_none(year_text)
    if year is not None and year < 100 and len(year_text.strip()) <= 2:
        year += 2000
    if year is None or not now.year <= year <= now.year + 50:
        raise card_error(*_INVALID_YEAR)
    if year == now.year and month < now.month:
        raise card_error(*_INVALID_MONTH)
    return month, year


def _billing_details(params: Mapping[str, str]) -> JSON:
    details = _subkeys(params, "billing_details")
    address = _subkeys(params, "billing_details[address]")

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


def _session_request(params: Mapping[str, str], now: float) -> SessionRequest:
    """Checkout Session parameters checked as Stripe checks them, setup mode only."""
    _reject_unknown_params(params, _CHECKOUT_PARAMS)
    mode = params.get("mode")
    if not mode:
        raise _missing_param("mode")
    if mode != "setup":
        raise invalid_request(
            "Invalid mode: this test API emulates Checkout in `setup` mode only.",
            param="mode",
            code="parameter_invalid_string",
        )
    if any(key.startswith("line_items") for key in params):
        raise invalid_request("You can not pass `line_items` in `setup` mode.", param="line_items")
    if params.get("ui_mode", "hosted_page") not in {"hosted", "hosted_page"}:
        raise invalid_request(
            "Invalid ui_mode: this test API emulates the Stripe-hosted page only.",
            param="ui_mode",
            code="parameter_invalid_string",
        )
    types = _card_only(params, "payment_method_types")
    allowed = _card_only(params, "allowed_payment_method_types")
    currency = params.get("currency")
    if currency is not None and not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid_request(f"Invalid currency: {redact_pans(currency)}.", param="currency")
    if currency is None and not types and not allowed:
        raise _missing_param("currency")
    customer, customer_email = params.get("customer") or None, _text(params, "customer_email")
    if customer is not None and customer_email is not None:
        raise invalid_request(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
        )
    return SessionRequest(
        success_url=_url_param(params, "success_url", required=True) or "",
        cancel_url=_url_param(params, "cancel_url"),
        expires_at=_expires_at(params.get("expires_at"), now),
        customer=customer,
        customer_email=customer_email,
        currency=currency,
        payment_method_types=tuple(types),
        allowed_payment_method_types=tuple(allowed),
        client_reference_id=_text(params, "client_reference_id"),
        locale=params.get("locale") or None,
        metadata=_metadata(params),
        setup_intent_metadata=_metadata(params, "setup_intent_data[metadata]"),
    )


def _card_only(params: Mapping[str, str], name: str) -> list[str]:
    values = sequence_param(params, name)
    for index, value in enumerate(values):
        if value != "card":
            raise invalid_request(
                f"Invalid {name}[{index}]: this test API emulates `card` only.",
                param=f"{name}[{index}]",
                code="parameter_invalid_string",
            )
    return values


def _url_param(params: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    url = params.get(name)
    if not url:
        if required:
            raise _missing_param(name)
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise invalid_request("Not a valid URL", param=name, code="url_invalid")
    return url


def _expires_at(text: str | None, now: float) -> int:
    if text is None:
        return int(now) + SESSION_EXPIRES_MAX
    value = _digits_or_none(text)
    if value is None:
        raise invalid_request(
            f"Invalid integer: {redact_pans(text)}",
            param="expires_at",
            code="parameter_invalid_integer",
        )
    if value < now + SESSION_EXPIRES_MIN:
        raise invalid_request(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session"
            " creation.",
            param="expires_at",
        )
    if value > now + SESSION_EXPIRES_MAX:
        raise invalid_request(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return value


# ---------------------------------------------------------------- HTTP


@dataclass
class _Call:
    request_id: str
    params: dict[str, str]
    api_key: str = ""


EMULATOR: Final = web.AppKey("stripe_emulator", StripeEmulator)
_CALL: Final = web.RequestKey("stripe_call", _Call)


def _json_response(answer: Answer) -> web.Response:
    return web.Response(
        status=answer.status,
        text=json.dumps(answer.body, indent=2),
        content_type="application/json",
        headers=answer.headers,
    )


async def _read_params(request: web.Request) -> dict[str, str]:
    pairs = list(request.query.items())
    if request.method == "POST":
        form = await request.post()
        pairs += [(key, value) for key, value in form.items() if isinstance(value, str)]
    return _numbered(pairs)


def _numbered(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters as a dict; repeated `name[]` keys become `name[0]`, `name[1]`, ..."""
    params: dict[str, str] = {}
    counts: dict[str, int] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            index = counts.get(key, 0)
            counts[key] = index + 1
            key = f"{key[:-2]}[{index}]"
        params[key] = value
    return params


@web.middleware
async def _stripe_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request-Id on every answer; faults, auth, the request log and a safe 500 on /v1.

    Events the request caused are sent once its answer is out, as Stripe's are: a page's
    redirect never waits for the webhook endpoint.
    """
    held: list[WebhookJob] = []
    token = _HELD_WEBHOOKS.set(held)
    try:
        if request.path.startswith("/v1/"):
            response = await _api_envelope(request, handler)
        else:
            response = await _other_envelope(request, handler)
    except BaseException:
        request.app[EMULATOR].release_webhooks(held)
        raise
    finally:
        _HELD_WEBHOOKS.reset(token)
    if held:
        try:
            await response.prepare(request)
            await response.write_eof()
        finally:
            request.app[EMULATOR].release_webhooks(held)
    return response


async def _other_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = new_id("req_", 14)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["Request-Id"] = request_id
        raise
    response.headers["Request-Id"] = request_id
    if request.path.startswith("/pay/"):
        logger.info("%s %s -> %d", request.method, redact_pans(request.path), response.status)
    return response


async def _api_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    emulator = request.app[EMULATOR]
    started = time.perf_counter()
    call = _Call(new_id("req_", 14), await _read_params(request))
    request[_CALL] = call
    fault = emulator.take_fault()
    response = await _answer_api_call(request, handler, emulator, fault)
    response.headers["Request-Id"] = call.request_id
    if "Stripe-Version" in request.headers:
        response.headers["Stripe-Version"] = request.headers["Stripe-Version"]
    key = request.headers.get("Idempotency-Key")
    if key is not None and request.method == "POST":
        response.headers["Idempotency-Key"] = key
    entry = RecordedRequest(
        request_id=call.request_id,
        method=request.method,
        path=redact_pans(request.path),
        status=response.status,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        idempotency_key=None if key is None else redact_pans(key),
        params=_loggable_params(call.params),
        replayed=response.headers.get("Idempotent-Replayed") == "true",
        fault=fault.describe() if fault else None,
    )
    emulator.record(entry)
    logger.info(
        "%s %s -> %d in %.1f ms%s",
        entry.method,
        entry.path,
        entry.status,
        entry.duration_ms,
        " (replayed)" if entry.replayed else "",
    )
    return response


async def _answer_api_call(
    request: web.Request, handler: Handler, emulator: StripeEmulator, fault: Fault | None
) -> web.StreamResponse:
    call = request[_CALL]
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status is not None:
            return _json_response(fault.answer(call.request_id, emulator.now()))
    try:
        call.api_key = emulator.authenticate(request.headers.get("Authorization"))
        return await handler(request)
    except ApiError as error:
        return _json_response(error.answer(call.request_id, emulator.now()))
    except Exception as exc:  # an emulator bug; the message could quote a parameter
        logger.error(
            "unexpected %s answering %s %s", type(exc).__name__, request.method, request.path
        )
        failure = ApiError(
            500,
            {"type": "api_error", "message": "An unknown error occurred"},
            headers={"Stripe-Should-Retry": "false"},
        )
        return _json_response(failure.answer(call.request_id, emulator.now()))


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= 255:
        raise invalid_request("Idempotency keys must be between 1 and 255 characters long.")
    return key


async def _create_payment_method(request: web.Request) -> web.Response:
    call = request[_CALL]
    answer = request.app[EMULATOR].create_payment_method(
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return _json_response(answer)


async def _retrieve_payment_method(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_payment_method(
        request.match_info["payment_method"], request_id=request[_CALL].request_id
    )
    return _json_response(answer)


async def _create_customer(request: web.Request) -> web.Response:
    call = request[_CALL]
    answer = request.app[EMULATOR].create_customer(
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return _json_response(answer)


async def _search_customers(request: web.Request) -> web.Response:
    return _json_response(request.app[EMULATOR].search_customers(request[_CALL].params))


async def _retrieve_customer(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_customer(
        request.match_info["customer"], request[_CALL].params
    )
    return _json_response(answer)


async def _create_checkout_session(request: web.Request) -> web.Response:
    call = request[_CALL]
    answer = request.app[EMULATOR].create_checkout_session(
        call.params,
        base_url=f"{request.scheme}://{request.host}",
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return _json_response(answer)


async def _retrieve_checkout_session(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_checkout_session(
        request.match_info["session"], request[_CALL].params
    )
    return _json_response(answer)


async def _expire_checkout_session(request: web.Request) -> web.Response:
    call = request[_CALL]
    answer = request.app[EMULATOR].expire_checkout_session(
        request.match_info["session"],
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return _json_response(answer)


async def _retrieve_setup_intent(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_setup_intent(
        request.match_info["intent"], request[_CALL].params
    )
    return _json_response(answer)


async def _unrecognized(request: web.Request) -> web.Response:
    raise invalid_request(
        f"Unrecognized request URL ({request.method}: {request.path}). Please see"
        " https://stripe.com/docs or we can help at https://support.stripe.com/.",
        status=404,
    )


# ---------------------------------------------------------------- the hosted page

_PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html", headers=_PAGE_HEADERS)


def _notice(emulator: StripeEmulator, session: JSON | None, email: str | None) -> web.Response:
    text = render_notice(session, business_name=emulator.business_name, customer_email=email)
    return _html(text, 404 if session is None else 200)


async def _checkout_page(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    session, email = emulator.page_view(request.match_info["session"])
    if session is None or session["status"] != "open":
        return _notice(emulator, session, email)
    return _html(render_form(session, business_name=emulator.business_name, customer_email=email))


async def _submit_checkout_page(request: web.Request) -> web.Response:
    """The form's POST: a card error re-renders the form, success redirects (303)."""
    emulator = request.app[EMULATOR]
    session_id = request.match_info["session"]
    form = {key: value for key, value in (await request.post()).items() if isinstance(value, str)}
    try:
        completed = emulator.complete_from_page(session_id, read_card_form(form))
    except (PageError, ApiError) as failure:
        session, email = emulator.page_view(session_id)
        if session is None or session["status"] != "open":
            return _notice(emulator, session, email)
        error = failure if isinstance(failure, PageError) else page_error(failure.error)
        page = render_form(
            session,
            business_name=emulator.business_name,
            customer_email=email,
            error=error,
            name=form.get("name", ""),
        )
        return _html(page)
    return web.Response(status=303, headers={"Location": success_redirect(completed)})


# ---------------------------------------------------------------- control endpoints


def _control_error(message: str) -> web.Response:
    body = {"error": {"type": "invalid_request_error", "message": message}}
    return web.json_response(body, status=400)


async def _json_object(request: web.Request) -> JSON | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _fault_kwargs(body: Mapping[str, Any]) -> JSON:
    """`inject` keyword arguments from a control request's JSON, type-checked."""
    expected: dict[str, tuple[type, ...]] = {
        "status": (int, type(None)),
        "delay": (int, float),
        "count": (int,),
        "code": (str, type(None)),
        "should_retry": (bool, type(None)),
    }
    unknown = set(body) - set(expected)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    for name, value in body.items():
        bad_bool = isinstance(value, bool) and name != "should_retry"
        if bad_bool or not isinstance(value, expected[name]):
            raise ValueError(f"{name} has the wrong type")
    return dict(body)


async def _control_inject(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _control_error("send a JSON object")
    emulator = request.app[EMULATOR]
    try:
        emulator.inject(**_fault_kwargs(body))
    except ValueError as exc:
        return _control_error(str(exc))
    return web.json_response({"pending_faults": emulator.pending_faults})


async def _control_clear_faults(request: web.Request) -> web.Response:
    request.app[EMULATOR].clear_faults()
    return web.json_response({"pending_faults": 0})


async def _control_requests(request: web.Request) -> web.Response:
    entries = [entry.to_json() for entry in request.app[EMULATOR].requests]
    return web.json_response({"data": entries})


async def _control_reset(request: web.Request) -> web.Response:
    request.app[EMULATOR].reset()
    return web.json_response({"reset": True})


_SETTINGS: Final[Mapping[str, tuple[type, ...]]] = {
    "raw_card_data": (bool,),
    "webhook_url": (str, type(None)),
    "webhook_secret": (str,),
}


async def _control_settings(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    if request.method == "POST":
        body = await _json_object(request)
        usage = "send any of raw_card_data (bool), webhook_url (str|null), webhook_secret (str)"
        if not body or any(
            name not in _SETTINGS or not isinstance(value, _SETTINGS[name])
            for name, value in body.items()
        ):
            return _control_error(usage)
        try:
            if "webhook_url" in body:
                emulator.webhook_url = body["webhook_url"]
            if "webhook_secret" in body:
                emulator.webhook_secret = body["webhook_secret"]
        except ValueError as exc:
            return _control_error(str(exc))
        if "raw_card_data" in body:
            emulator.raw_card_data = body["raw_card_data"]
    return web.json_response(
        {
            "raw_card_data": emulator.raw_card_data,
            "webhook_url": emulator.webhook_url,
            "webhook_secret": emulator.webhook_secret,
        }
    )


def _api_error_response(error: ApiError) -> web.Response:
    return web.json_response({"error": error.error}, status=error.status)


_CARD_FIELDS: Final[Mapping[str, type]] = {
    "number": str,
    "exp_month": int,
    "exp_year": int,
    "cvc": str,
    "name": str,
}


def _card_kwargs(body: Mapping[str, Any]) -> JSON:
    """`complete_checkout` keyword arguments from JSON; errors name fields, never values."""
    unknown = set(body) - set(_CARD_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    for name, value in body.items():
        if isinstance(value, bool) or not isinstance(value, _CARD_FIELDS[name]):
            raise ValueError(f"{name} must be a {_CARD_FIELDS[name].__name__}")
    return dict(body)


async def _control_complete_checkout(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _control_error("send a JSON object: number, exp_month, exp_year, cvc, name")
    try:
        kwargs = _card_kwargs(body)
    except ValueError as exc:
        return _control_error(str(exc))
    try:
        session = request.app[EMULATOR].complete_checkout(request.match_info["session"], **kwargs)
    except ApiError as error:
        return _api_error_response(error)
    return web.json_response(session)


async def _control_expire_checkout(request: web.Request) -> web.Response:
    try:
        session = request.app[EMULATOR].expire_checkout(request.match_info["session"])
    except ApiError as error:
        return _api_error_response(error)
    return web.json_response(session)


async def _control_redeliver(request: web.Request) -> web.Response:
    event_id = request.match_info["event"]
    try:
        request.app[EMULATOR].redeliver(event_id)
    except KeyError:
        body = {"error": {"type": "invalid_request_error", "message": f"No such event: {event_id}"}}
        return web.json_response(body, status=404)
    except ValueError as exc:
        return _control_error(str(exc))
    return web.json_response({"redelivered": event_id})


async def _control_events(request: web.Request) -> web.Response:
    return web.json_response({"data": request.app[EMULATOR].events})


async def _control_webhook_deliveries(request: web.Request) -> web.Response:
    deliveries = request.app[EMULATOR].webhook_deliveries
    return web.json_response({"data": [delivery.to_json() for delivery in deliveries]})


def create_app(emulator: StripeEmulator) -> web.Application:
    """The Stripe test API over `emulator`.

    The hosted card page: `GET|POST /pay/{session}`.

    Control endpoints (no API key, not recorded in the request log):
    `POST /_emulator/faults` (JSON: status, delay, count, code, should_retry, as `inject`),
    `DELETE /_emulator/faults`, `GET /_emulator/requests` (`{"data": [...]}`),
    `POST /_emulator/reset`, `GET|POST /_emulator/settings` (any of `{"raw_card_data":
    bool, "webhook_url": str|null, "webhook_secret": str}`; GET shows all three),
    `POST /_emulator/checkout/{session}/complete` (JSON: number, exp_month, exp_year, cvc,
    name, as `complete_checkout`; answers the session, or Stripe's error with its status),
    `POST /_emulator/checkout/{session}/expire`, `GET /_emulator/events`,
    `POST /_emulator/events/{event}/redeliver`, `GET /_emulator/webhook_deliveries`.
    """
    app = web.Application(middlewares=[_stripe_envelope])
    app[EMULATOR] = emulator
    routes: Iterable[web.RouteDef] = (
        web.post("/v1/payment_methods", _create_payment_method),
        web.get("/v1/payment_methods/{payment_method}", _retrieve_payment_method),
        web.post("/v1/customers", _create_customer),
        web.get("/v1/customers/search", _search_customers),
        web.get("/v1/customers/{customer}", _retrieve_customer),
        web.post("/v1/checkout/sessions", _create_checkout_session),
        web.get("/v1/checkout/sessions/{session}", _retrieve_checkout_session),
        web.post("/v1/checkout/sessions/{session}/expire", _expire_checkout_session),
        web.get("/v1/setup_intents/{intent}", _retrieve_setup_intent),
        web.route("*", "/v1/{tail:.*}", _unrecognized),
        web.get("/pay/{session}", _checkout_page),
        web.post("/pay/{session}", _submit_checkout_page),
        web.post("/_emulator/faults", _control_inject),
        web.delete("/_emulator/faults", _control_clear_faults),
        web.get("/_emulator/requests", _control_requests),
        web.post("/_emulator/reset", _control_reset),
        web.get("/_emulator/settings", _control_settings),
        web.post("/_emulator/settings", _control_settings),
        web.post("/_emulator/checkout/{session}/complete", _control_complete_checkout),
        web.post("/_emulator/checkout/{session}/expire", _control_expire_checkout),
        web.get("/_emulator/events", _control_events),
        web.post("/_emulator/events/{event}/redeliver", _control_redeliver),
        web.get("/_emulator/webhook_deliveries", _control_webhook_deliveries),
    )
    app.add_routes(routes)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m emulator.stripe_api --port 12111 [--webhook-url URL] [--webhook-secret S]`."""
    parser = argparse.ArgumentParser(prog="python -m emulator.stripe_api", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--port", type=int, default=12111, help="port on 127.0.0.1 (default 12111)")
    parser.add_argument(
        "--raw-card-data-disabled",
        action="store_true",
        help="answer card numbers as an account without raw card data APIs does",
    )
    parser.add_argument(
        "--api-key", help="accept only this sk_test_ key (default: any sk_test_ key)"
    )
    parser.add_argument(
        "--webhook-url", help="POST events here (http(s) on a loopback address; default: none)"
    )
    parser.add_argument(
        "--webhook-secret", help="sign events with this whsec_ secret (default: a fresh one)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        emulator = StripeEmulator(
            raw_card_data=not args.raw_card_data_disabled,
            api_key=args.api_key,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(f"Stripe test API on http://127.0.0.1:{args.port}", flush=True)
    if emulator.webhook_url is not None:
        print(f"Webhooks to {emulator.webhook_url}", flush=True)
    print(f"Webhook signing secret: {emulator.webhook_secret}", flush=True)
    web.run_app(create_app(emulator), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
