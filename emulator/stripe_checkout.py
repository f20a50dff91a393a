"""Stripe Checkout in setup mode, the parts that stand alone: object shapes, customer search,
the hosted card page and webhook delivery.

`emulator.stripe_api` keeps the state and serves the API on top of these; nothing here knows
about it. Card data never passes through this module except `CardEntry`, which lives only as
long as the page request that parsed it.
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import re
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import stripe

logger = logging.getLogger("emulator.stripe_checkout")

JSON = dict[str, Any]

API_VERSION: Final[str] = stripe.api_version  # the version events say they were rendered in
SESSION_EXPIRES_MIN: Final = 30 * 60  # Stripe: expires_at 30 minutes ...
SESSION_EXPIRES_MAX: Final = 24 * 60 * 60  # ... to 24 hours after creation (the default)
STATIC: Final = Path(__file__).with_name("stripe_static")
_ALPHANUMERIC: Final = string.ascii_letters + string.digits


# ---------------------------------------------------------------- object shapes


@dataclass(frozen=True)
class SessionRequest:
    """The validated parameters of `POST /v1/checkout/sessions` in setup mode."""

    success_url: str
    expires_at: int
    customer: str | None = None
    customer_email: str | None = None
    currency: str | None = None
    payment_method_types: tuple[str, ...] = ()
    allowed_payment_method_types: tuple[str, ...] = ()
    client_reference_id: str | None = None
    cancel_url: str | None = None
    locale: str | None = None
    metadata: Mapping[str, str] | None = None
    setup_intent_metadata: Mapping[str, str] | None = None


def customer_object(
    customer_id: str,
    *,
    created: int,
    email: str | None,
    name: str | None,
    phone: str | None,
    description: str | None,
    metadata: Mapping[str, str],
) -> JSON:
    """A Customer as Stripe renders it."""
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": "".join(secrets.choice(string.ascii_uppercase) for _ in range(8)),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(metadata),
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def checkout_session_object(
    session_id: str, request: SessionRequest, *, url: str, created: int
) -> JSON:
    """An open Checkout Session in setup mode, as Stripe renders it on creation."""
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "allowed_payment_method_types": list(request.allowed_payment_method_types) or None,
        "amount_subtotal": None,
        "amount_total": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": request.cancel_url,
        "client_reference_id": request.client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": request.currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": request.customer,
        "customer_account": None,
        "customer_creation": None,
        "customer_details": None,
        "customer_email": request.customer_email,
        "discounts": None,
        "expires_at": request.expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": request.locale,
        "metadata": dict(request.metadata or {}),
        "mode": "setup",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": list(request.payment_method_types) or ["card"],
        "payment_status": "no_payment_required",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": request.success_url,
        "total_details": None,
        "ui_mode": "hosted_page",
        "url": url,
        "wallet_options": None,
    }


def setup_intent_object(
    intent_id: str,
    *,
    created: int,
    customer: str | None,
    payment_method: str,
    metadata: Mapping[str, str],
) -> JSON:
    """A SetupIntent that Checkout confirmed: `succeeded`, for off-session use."""
    return {
        "id": intent_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{intent_id}_secret_{_random(25)}",
        "created": created,
        "customer": customer,
        "description": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "succeeded",
        "usage": "off_session",
    }


def complete_session(
    session: JSON, *, setup_intent: str, email: str | None, name: str | None
) -> None:
    """Mark an open session complete: Stripe drops the page URL and records who saved a card."""
    session["status"] = "complete"
    session["setup_intent"] = setup_intent
    session["url"] = None
    session["customer_details"] = {
        "address": None,
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def expire_session(session: JSON) -> None:
    """Mark an open session expired."""
    session["status"] = "expired"
    session["url"] = None


def event_object(
    event_id: str,
    event_type: str,
    data_object: Mapping[str, Any],
    *,
    created: int,
    pending_webhooks: int,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> JSON:
    """A snapshot Event; `data.object` is a copy of the object as it is now."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": {"object": json.loads(json.dumps(data_object))},
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


# ---------------------------------------------------------------- search


class SearchQueryError(ValueError):
    """A search query this emulator cannot read; the message says where."""


@dataclass(frozen=True)
class SearchClause:
    """`field:'value'` (exact), `field~'value'` (substring), `-` in front negates."""

    field: str
    key: str | None  # the metadata key, for metadata['key']
    operator: str
    value: str
    negated: bool

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether `obj` satisfies this clause."""
        if self.key is not None:
            actual = (obj.get("metadata") or {}).get(self.key)
        else:
            actual = obj.get(self.field)
        if not isinstance(actual, str):
            found = False
        elif self.operator == "~":
            found = self.value.lower() in actual.lower()
        elif self.field == "email":
            found = actual.lower() == self.value.lower()
        else:
            found = actual == self.value
        return found != self.negated


@dataclass(frozen=True)
class SearchQuery:
    """Clauses joined by AND (all must match) or OR (any may)."""

    clauses: tuple[SearchClause, ...]
    any_of: bool = False

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether `obj` is a result of this query."""
        results = (clause.matches(obj) for clause in self.clauses)
        return any(results) if self.any_of else all(results)


_QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_CLAUSE = re.compile(
    rf"(?P<neg>-)?(?P<field>[a-z_]+)(?:\[(?P<key>{_QUOTED})\])?(?P<op>[:~])(?P<value>{_QUOTED})"
)
_JOINER = re.compile(r"\s+(AND|OR)\s+")
MAX_CLAUSES: Final = 10


def parse_search_query(text: str, fields: frozenset[str]) -> SearchQuery:
    """Read Stripe's search query language: `email:'a@b.c' AND metadata['k']:'v'`.

    Supported: string fields named in `fields` plus `metadata['key']`, the `:` (exact) and
    `~` (substring, 3 characters at least) operators, `-` negation, and clauses joined all
    by AND or all by OR. Raises SearchQueryError otherwise.
    """
    clauses: list[SearchClause] = []
    joiners: set[str] = set()
    position, text = 0, text.strip()
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise SearchQueryError(f"could not read a clause at character {position + 1}")
        clauses.append(_clause(match, fields))
        position = match.end()
        if position == len(text):
            break
        joiner = _JOINER.match(text, position)
        if joiner is None:
            raise SearchQueryError(f"expected AND or OR at character {position + 1}")
        joiners.add(joiner.group(1))
        position = joiner.end()
    if len(joiners) > 1:
        raise SearchQueryError("AND and OR cannot be combined in one query")
    if len(clauses) > MAX_CLAUSES:
        raise SearchQueryError(f"a query has at most {MAX_CLAUSES} clauses")
    return SearchQuery(tuple(clauses), any_of=joiners == {"OR"})


def _clause(match: re.Match[str], fields: frozenset[str]) -> SearchClause:
    field, key = match.group("field"), match.group("key")
    if (key is None) == (field == "metadata") or (key is None and field not in fields):
        raise SearchQueryError(f"`{field}` is not a field this search supports")
    value = _unquote(match.group("value"))
    if match.group("op") == "~" and len(value) < 3:
        raise SearchQueryError("a substring (~) search needs at least 3 characters")
    return SearchClause(
        field=field,
        key=None if key is None else _unquote(key),
        operator=match.group("op"),
        value=value,
        negated=match.group("neg") is not None,
    )


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


# ---------------------------------------------------------------- the hosted page


class PageError(Exception):
    """What the page says above the form; `field` is the input it concerns, if one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # "number", "expiry", "cvc", "name"


@dataclass(frozen=True, repr=False)
class CardEntry:
    """The card as typed on the page; lives only in the request that received it."""

    number: str
    exp_month: str
    exp_year: str
    cvc: str
    name: str


_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*")
_FIELD_OF_PARAM: Final = {
    "card[number]": "number",
    "card[exp_month]": "expiry",
    "card[exp_year]": "expiry",
    "card[cvc]": "cvc",
}


def read_card_form(form: Mapping[str, str]) -> CardEntry:
    """The page's fields, complete and in shape, or PageError for the first that is not."""
    name = form.get("name", "").strip()
    number = re.sub(r"[\s-]", "", form.get("number", ""))
    expiry = _EXPIRY.fullmatch(form.get("expiry", ""))
    cvc = form.get("cvc", "").strip()
    if not number:
        raise PageError("Your card number is incomplete.", "number")
    if expiry is None:
        raise PageError("Your card's expiration date is incomplete.", "expiry")
    if not cvc:
        raise PageError("Your card's security code is incomplete.", "cvc")
    if not name:
        raise PageError("Enter the name on the card.", "name")
    return CardEntry(number, expiry.group(1), expiry.group(2), cvc, name)


def page_error(error: Mapping[str, Any]) -> PageError:
    """The page's words for a Stripe card error (the API's `error` object)."""
    param = error.get("param")
    field = _FIELD_OF_PARAM.get(param) if isinstance(param, str) else None
    return PageError(str(error.get("message") or "Your card was declined."), field)


def _template(name: str) -> string.Template:
    return string.Template((STATIC / name).read_text(encoding="utf-8"))


def render_form(
    session: Mapping[str, Any],
    *,
    business_name: str,
    customer_email: str | None,
    error: PageError | None = None,
    name: str = "",
) -> str:
    """The card form for an open session; after an error, only the name is filled back in."""
    invalid = ' aria-invalid="true" aria-describedby="checkout-error"'
    marks = {
        f"{field}_invalid": invalid if error is not None and error.field == field else ""
        for field in ("number", "expiry", "cvc", "name")
    }
    alert = (
        f'<p class="error" id="checkout-error" role="alert" data-testid="checkout-error">'
        f"{html.escape(error.message)}</p>"
        if error is not None
        else ""
    )
    form = _template("checkout_form.html").substitute(
        action=html.escape(f"/pay/{session['id']}"),
        error=alert,
        name=html.escape(name),
        cancel=_link(session.get("cancel_url"), "Cancel", "checkout-cancel"),
        **marks,
    )
    return _page(business_name, customer_email, "Save your card", form)


def render_notice(
    session: Mapping[str, Any] | None, *, business_name: str, customer_email: str | None
) -> str:
    """The page for a session that is not open (or does not exist)."""
    status = None if session is None else session.get("status")
    if status == "complete":
        title, text = "Card saved", "Your card has been saved. You can close this page."
        link = _link(session.get("success_url") if session else None, "Return", "checkout-return")
    elif status == "expired":
        title, text = "Session expired", "This checkout session has expired."
        link = _link(session.get("cancel_url") if session else None, "Return", "checkout-return")
    else:
        title, text, link = "Not found", "This checkout page does not exist.", ""
    notice = _template("checkout_notice.html").substitute(
        text=html.escape(text), link=link, status=html.escape(str(status or "missing"))
    )
    return _page(business_name, customer_email, title, notice)


def _link(url: Any, label: str, testid: str) -> str:
    if not isinstance(url, str) or not url:
        return ""
    return f'<a class="link" href="{html.escape(url)}" data-testid="{testid}">{label}</a>'


def _page(business_name: str, customer_email: str | None, title: str, content: str) -> str:
    who = f"for {html.escape(customer_email)}" if customer_email else ""
    return _template("checkout_page.html").substitute(
        title=html.escape(title),
        business=html.escape(business_name),
        customer=who,
        content=content,
        css=(STATIC / "checkout.css").read_text(encoding="utf-8"),
    )


def success_redirect(session: Mapping[str, Any]) -> str:
    """`success_url` with `{CHECKOUT_SESSION_ID}` replaced, as Stripe does."""
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", str(session["id"]))


# ---------------------------------------------------------------- webhooks


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver one event; `status` is None when the endpoint was unreachable."""

    event_id: str
    type: str
    url: str
    attempt: int
    status: int | None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the endpoint answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> JSON:
        """A JSON-ready copy."""
        return asdict(self)


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>" under secret>`.

    Made by the stripe SDK's own helper, so `stripe.Webhook.construct_event` accepts it.
    """
    header: str = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=timestamp
    )
    return header


def new_webhook_secret() -> str:
    """A fresh `whsec_` signing secret."""
    return "whsec_" + _random(32)


def checked_webhook_url(url: str) -> str:
    """`url` if it is http(s) on a loopback address; ValueError otherwise."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in {"http", "https"} or not loopback:
        raise ValueError("webhook_url must be an http(s) URL on a loopback address")
    return url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Stripe counts a redirect as a failed delivery; so do we."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True, eq=False)
class WebhookJob:
    """One event on its way to one endpoint, as `WebhookSender.hold` took it."""

    url: str
    secret: str
    event_id: str
    event_type: str
    payload: str


class WebhookSender:
    """POSTs signed events from a background thread, in order, up to `attempts` times each.

    Args:
        record: called with every attempt, from the sending thread.
        clock: seconds since the epoch, for the signature's timestamp.
        attempts: tries per event while the endpoint answers other than 2xx.
        retry_delay: seconds before the second try; it doubles for each try after.
    """

    def __init__(
        self,
        record: Callable[[WebhookDelivery], None],
        *,
        clock: Callable[[], float] = time.time,
        attempts: int = 3,
        retry_delay: float = 0.5,
        timeout: float = 5.0,
    ) -> None:
        self._record = record
        self._clock = clock
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)
        self._jobs: deque[WebhookJob] = deque()
        self._unfinished = 0
        self._working = False
        self._changed = threading.Condition()

    def send(self, url: str, secret: str, event: Mapping[str, Any]) -> None:
        """Queue `event` for `url`; returns at once."""
        self.release([self.hold(url, secret, event)])

    def hold(self, url: str, secret: str, event: Mapping[str, Any]) -> WebhookJob:
        """Take `event` for `url` without sending it yet; `wait_idle` waits for it already."""
        payload = json.dumps(event, indent=2)
        with self._changed:
            self._unfinished += 1
        return WebhookJob(url, secret, str(event["id"]), str(event["type"]), payload)

    def release(self, jobs: Iterable[WebhookJob]) -> None:
        """Queue held jobs, in order; returns at once."""
        with self._changed:
            self._jobs.extend(jobs)
            if self._jobs and not self._working:
                self._working = True
                threading.Thread(target=self._work, name="stripe-webhooks", daemon=True).start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued event has had all its attempts; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._unfinished == 0, timeout)

    def _work(self) -> None:
        while True:
            with self._changed:
                if not self._jobs:
                    self._working = False
                    return
                job = self._jobs.popleft()
            try:
                self._deliver(job)
            finally:
                with self._changed:
                    self._unfinished -= 1
                    self._changed.notify_all()

    def _deliver(self, job: WebhookJob) -> None:
        for attempt in range(1, self._attempts + 1):
            delivery = self._attempt(job, attempt)
            logger.info(
                "webhook %s %s to %s -> %s (attempt %d)",
                job.event_type,
                job.event_id,
                job.url,
                delivery.status if delivery.status is not None else delivery.error,
                attempt,
            )
            self._record(delivery)
            if delivery.succeeded:
                return
            if attempt < self._attempts:
                time.sleep(self._retry_delay * 2 ** (attempt - 1))

    def _attempt(self, job: WebhookJob, attempt: int) -> WebhookDelivery:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(job.payload, job.secret, int(self._clock())),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        request = urllib.request.Request(  # noqa: S310 - checked_webhook_url: http(s) loopback
            job.url, data=job.payload.encode(), headers=headers, method="POST"
        )
        status: int | None = None
        error: str | None = None
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                status = int(answer.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            error = type(getattr(exc, "reason", exc)).__name__
        return WebhookDelivery(job.event_id, job.event_type, job.url, attempt, status, error)


def sequence_param(params: Mapping[str, str], name: str) -> list[str]:
    """The values of `name[0]`, `name[1]`, ... in index order."""
    pattern = re.compile(re.escape(name) + r"\[(\d+)\]")
    indexed = [
        (int(match.group(1)), value)
        for key, value in params.items()
        if (match := pattern.fullmatch(key))
    ]
    return [value for _, value in sorted(indexed)]


def expand_paths(params: Mapping[str, str]) -> list[str]:
    """The `expand[...]` parameter: dotted paths such as `setup_intent.payment_method`."""
    return sequence_param(params, "expand")


def search_page(results: Sequence[JSON], *, url: str, limit: int, offset: int) -> JSON:
    """Stripe's `search_result` list for one page of `results`."""
    page = list(results[offset : offset + limit])
    has_more = offset + limit < len(results)
    return {
        "object": "search_result",
        "data": page,
        "has_more": has_more,
        "next_page": str(offset + limit) if has_more else None,
        "url": url,
    }
