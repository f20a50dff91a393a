"""A Stripe-compatible test API: card PaymentMethods, Stripe's errors, idempotency, faults.

The real `stripe` SDK talks to it unchanged::

    client = stripe.StripeClient("sk_test_anything", base_addresses={"api": url})

Emulated: `POST /v1/payment_methods` (`type=card`, form-encoded with Stripe's bracket
notation) and `GET /v1/payment_methods/{id}`; Bearer (or Basic) authentication with any
`sk_test_` key, or one exact key; Stripe's error envelope and HTTP statuses; a `Request-Id`
header on every response; `Idempotency-Key` replay; the "raw card data APIs" gate
(`StripeEmulator(raw_card_data=False)`); injected faults. The control endpoints are listed
on `create_app`.

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

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
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

from aiohttp import web
from aiohttp.typedefs import Handler

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


def _reject_unknown_params(params: Mapping[str, str]) -> None:
    for key in params:
        parts = re.findall(r"[^\[\]]+", key) or [key]
        if parts[0] not in _KNOWN_PARAMS:
            raise _unknown_param(parts[0])
        allowed = _KNOWN_PARAMS[parts[0]]
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


class StripeEmulator:
    """The emulated account's state; thread-safe (the app serves on its own thread).

    Args:
        raw_card_data: whether the account has raw card data APIs enabled; can be
            changed at runtime through the `raw_card_data` property.
        api_key: accept only this exact `sk_test_` key (default: any `sk_test_` key).
        clock: seconds since the epoch; decides which expiry dates are past.
    """

    def __init__(
        self,
        *,
        raw_card_data: bool = True,
        api_key: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if api_key is not None and not api_key.startswith("sk_test_"):
            raise ValueError("api_key must be a test-mode secret key (sk_test_...)")
        self._lock = threading.Lock()
        self._raw_card_data = raw_card_data
        self._api_key = api_key
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._payment_methods: dict[str, JSON] = {}
        self._saved: dict[tuple[str, str], _SavedResult] = {}
        self._requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()

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
    def payment_methods(self) -> list[JSON]:
        """Copies of every PaymentMethod created, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._payment_methods.values()))

    def payment_method(self, payment_method_id: str) -> JSON | None:
        """A copy of one PaymentMethod, or None."""
        with self._lock:
            return copy.deepcopy(self._payment_methods.get(payment_method_id))

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
        """Forget PaymentMethods, idempotent results, the request log and pending faults."""
        with self._lock:
            self._payment_methods.clear()
            self._saved.clear()
            self._requests.clear()
            self._faults.clear()

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
        digest = self._digest(params)
        with self._lock:
            if idempotency_key is not None:
                saved = self._saved.get((api_key, idempotency_key))
                if saved is not None:
                    return self._replay(saved, idempotency_key, digest, request_id)
            try:
                payment_method = self._new_payment_method(params)
            except ApiError as error:
                answer, keep = error.answer(request_id, self._clock()), error.saved
            else:
                self._payment_methods[payment_method["id"]] = payment_method
                answer, keep = Answer(200, copy.deepcopy(payment_method)), True
            if idempotency_key is not None and keep:
                saved = _SavedResult(CREATE_PAYMENT_METHOD, digest, answer, request_id)
                self._saved[(api_key, idempotency_key)] = saved
            return answer

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

    # -- internals (called with the lock held)

    def _replay(self, saved: _SavedResult, key: str, digest: str, request_id: str) -> Answer:
        if saved.endpoint != CREATE_PAYMENT_METHOD:
            error = _idempotency_error(
                "Keys for idempotent requests can only be used for the same endpoint they were"
                f" first used for ('{saved.endpoint}' vs '{CREATE_PAYMENT_METHOD}'). Try using"
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

    def _digest(self, params: Mapping[str, str]) -> str:
        canonical = json.dumps(sorted(params.items())).encode()
        return hmac.new(self._secret, canonical, hashlib.sha256).hexdigest()

    def _fingerprint(self, number: str) -> str:
        return hmac.new(self._secret, number.encode(), hashlib.sha256).hexdigest()[:16]

    def _new_payment_method(self, params: Mapping[str, str]) -> JSON:
        _reject_unknown_params(params)
        kind = params.get("type")
        if not kind:
            raise invalid_request(
                "Missing required param: type.", param="type", code="parameter_missing"
            )
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
        return {
            "id": new_id("pm_", 24),
            "object": "payment_method",
            "allow_redisplay": params.get("allow_redisplay", "unspecified"),
            "billing_details": _billing_details(params),
            "card": self._card(card, params),
            "created": int(self._clock()),
            "customer": None,
            "livemode": False,
            "metadata": {
                key: redact_pans(value) for key, value in _subkeys(params, "metadata").items()
            },
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
    params = dict(request.query)
    if request.method == "POST":
        form = await request.post()
        params.update((key, value) for key, value in form.items() if isinstance(value, str))
    return params


@web.middleware
async def _stripe_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request-Id on every answer; faults, auth, the request log and a safe 500 on /v1."""
    if not request.path.startswith("/v1/"):
        request_id = new_id("req_", 14)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers["Request-Id"] = request_id
            raise
        response.headers["Request-Id"] = request_id
        return response
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
        path=request.path,
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


async def _create_payment_method(request: web.Request) -> web.Response:
    call = request[_CALL]
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= 255:
        raise invalid_request("Idempotency keys must be between 1 and 255 characters long.")
    answer = request.app[EMULATOR].create_payment_method(
        call.params, api_key=call.api_key, idempotency_key=key, request_id=call.request_id
    )
    return _json_response(answer)


async def _retrieve_payment_method(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_payment_method(
        request.match_info["payment_method"], request_id=request[_CALL].request_id
    )
    return _json_response(answer)


async def _unrecognized(request: web.Request) -> web.Response:
    raise invalid_request(
        f"Unrecognized request URL ({request.method}: {request.path}). Please see"
        " https://stripe.com/docs or we can help at https://support.stripe.com/.",
        status=404,
    )


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


async def _control_settings(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    if request.method == "POST":
        body = await _json_object(request)
        enabled = None if body is None else body.get("raw_card_data")
        if not isinstance(enabled, bool) or set(body or {}) != {"raw_card_data"}:
            return _control_error('send {"raw_card_data": true|false}')
        emulator.raw_card_data = enabled
    return web.json_response({"raw_card_data": emulator.raw_card_data})


def create_app(emulator: StripeEmulator) -> web.Application:
    """The Stripe test API over `emulator`.

    Control endpoints (no API key, not recorded in the request log):
    `POST /_emulator/faults` (JSON: status, delay, count, code, should_retry, as `inject`),
    `DELETE /_emulator/faults`, `GET /_emulator/requests` (`{"data": [...]}`),
    `POST /_emulator/reset`, `GET|POST /_emulator/settings` (`{"raw_card_data": bool}`).
    """
    app = web.Application(middlewares=[_stripe_envelope])
    app[EMULATOR] = emulator
    routes: Iterable[web.RouteDef] = (
        web.post("/v1/payment_methods", _create_payment_method),
        web.get("/v1/payment_methods/{payment_method}", _retrieve_payment_method),
        web.route("*", "/v1/{tail:.*}", _unrecognized),
        web.post("/_emulator/faults", _control_inject),
        web.delete("/_emulator/faults", _control_clear_faults),
        web.get("/_emulator/requests", _control_requests),
        web.post("/_emulator/reset", _control_reset),
        web.get("/_emulator/settings", _control_settings),
        web.post("/_emulator/settings", _control_settings),
    )
    app.add_routes(routes)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m emulator.stripe_api --port 12111 [--raw-card-data-disabled]`."""
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emulator = StripeEmulator(raw_card_data=not args.raw_card_data_disabled, api_key=args.api_key)
    print(f"Stripe test API on http://127.0.0.1:{args.port}", flush=True)
    web.run_app(create_app(emulator), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
