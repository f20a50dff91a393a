"""`StripeEmulator`: the emulated account, what tests inspect and control, and the API
calls it answers (the HTTP layer is `responses`)."""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Final

from emulator.stripe_api.cards import redact_pans
from emulator.stripe_api.checkout import CheckoutModel
from emulator.stripe_api.exceptions import (
    JSON,
    NO_KEY_MESSAGE,
    Answer,
    ApiError,
    invalid_request,
    missing_param,
)
from emulator.stripe_api.objects import account_object, customer_object, new_id
from emulator.stripe_api.params import (
    digits_or_none,
    expand_paths,
    metadata,
    text,
)
from emulator.stripe_api.recorder import Fault, RecordedRequest
from emulator.stripe_api.refunds import RefundModel
from emulator.stripe_api.search import SearchQueryError, parse_search_query, search_page
from emulator.stripe_api.store import no_such
from emulator.stripe_api.webhooks import WebhookDelivery, WebhookJob, checked_webhook_url

CREATE_PAYMENT_METHOD: Final = "POST /v1/payment_methods"
CREATE_CUSTOMER: Final = "POST /v1/customers"
_CUSTOMER_SEARCH_FIELDS: Final = frozenset({"email", "name", "phone"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="Stripe"'}


class StripeEmulator(CheckoutModel, RefundModel):
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
        business_name: the account's name, shown on the hosted page and in `GET /v1/account`.
        account_email, account_country, default_currency: the rest of that Account.
        checkout_setup_intent_events: send the `setup_intent.*` Events of the SetupIntents
            Checkout makes, as real Stripe does (on by default; off for a test that wants
            Checkout's own events alone).
    """

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
    def account(self) -> JSON:
        """The account, as `GET /v1/account` renders it."""
        return account_object(
            self._account_id,
            created=self._account_created,
            business_name=self.business_name,
            email=self._account_email,
            country=self._account_country,
            default_currency=self._default_currency,
        )

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
        return self._requests.entries

    def inject(
        self,
        *,
        status: int | None = None,
        delay: float = 0.0,
        count: int = 1,
        code: str | None = None,
        should_retry: bool | None = True,
        path: str | None = None,
    ) -> None:
        """Make each of the next `count` API requests wait `delay` s, then fail with `status`.

        With `path`, only requests to that path (e.g. `/v1/setup_intents`) meet the fault;
        the others pass untouched.

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
        fault = Fault(status=status, delay=delay, code=code, should_retry=should_retry, path=path)
        self._faults.add(fault, count)

    @property
    def pending_faults(self) -> int:
        """How many upcoming requests a fault is still waiting for."""
        return self._faults.pending

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._faults.clear()

    def reset(self) -> None:
        """Forget every object, event, delivery, idempotent result, request and fault.

        The webhook endpoint and secret stay as they are.
        """
        with self._lock:
            self._forget()
        self._requests.clear()
        self._faults.clear()

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

    def release_webhooks(self, held: Iterable[WebhookJob]) -> None:
        """Send events that waited for their request's answer."""
        self._sender.release(held)

    # -- what the HTTP layer calls

    def now(self) -> float:
        """The emulator's clock."""
        return self._clock()

    def take_fault(self, path: str) -> Fault | None:
        """The fault for the request to `path` now arriving, if one is queued for it."""
        return self._faults.take(lambda fault: fault.path in (None, path))

    def record(self, entry: RecordedRequest) -> None:
        """Append to the request log."""
        self._requests.add(entry)

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
            return self._new_payment_method(params)

        return self._idempotent(
            CREATE_PAYMENT_METHOD, params, create, api_key, idempotency_key, request_id
        )

    def retrieve_payment_method(self, payment_method_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/payment_methods/{id}`."""
        return self._retrieve(
            self._payment_methods,
            "PaymentMethod",
            "payment_method",
            payment_method_id,
            expand_paths(params),
        )

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
        query_text = params.get("query")
        if query_text is None:
            raise missing_param("query")
        try:
            query = parse_search_query(query_text, _CUSTOMER_SEARCH_FIELDS)
        except SearchQueryError as exc:
            raise invalid_request(f"Invalid search query: {exc}.", param="query") from None
        limit = digits_or_none(params.get("limit", "10"))
        if limit is None or not 1 <= limit <= 100:
            raise invalid_request("Limit must be between 1 and 100.", param="limit")
        offset = digits_or_none(params.get("page", "0"))
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
        return self._retrieve(
            self._customers, "customer", "customer", customer_id, expand_paths(params)
        )

    def list_customer_payment_methods(self, customer_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/customers/{id}/payment_methods`: the cards attached to a customer (so
        reusable), newest first, `limit` (1-100) per page after `starting_after` or before
        `ending_before`."""
        limit = digits_or_none(params.get("limit", "10"))
        if limit is None or not 1 <= limit <= 100:
            raise invalid_request("Limit must be between 1 and 100.", param="limit")
        kind = params.get("type")
        paths = [path.removeprefix("data.") for path in expand_paths(params)]
        with self._lock:
            if customer_id not in self._customers:
                raise no_such("customer", customer_id, "customer", status=404)
            found = [
                payment_method
                for payment_method in reversed(self._payment_methods.values())
                if payment_method["customer"] == customer_id
                and kind in (None, payment_method["type"])
            ]
            ids = [payment_method["id"] for payment_method in found]
            for cursor in ("starting_after", "ending_before"):
                if params.get(cursor) and params[cursor] not in ids:
                    raise no_such("PaymentMethod", params[cursor], cursor, status=400)
            if params.get("ending_before"):
                found = found[: ids.index(params["ending_before"])]
                page, has_more = found[-limit:], len(found) > limit
            else:
                if params.get("starting_after"):
                    found = found[ids.index(params["starting_after"]) + 1 :]
                page, has_more = found[:limit], len(found) > limit
            data = [self._expanded(copy.deepcopy(item), paths) for item in page]
        url = f"/v1/customers/{customer_id}/payment_methods"
        return Answer(200, {"object": "list", "data": data, "has_more": has_more, "url": url})

    def retrieve_account(self, params: Mapping[str, str]) -> Answer:
        """`GET /v1/account`: the account the API key belongs to."""
        return Answer(200, self._expanded(self.account, expand_paths(params)))

    # -- internals (called with the lock held)

    def _new_customer(self, params: Mapping[str, str]) -> JSON:
        email = params.get("email")
        if email and not _EMAIL.fullmatch(email):
            raise invalid_request(
                f"Invalid email address: {redact_pans(email)}", param="email", code="email_invalid"
            )
        customer = customer_object(
            new_id("cus_", 14),
            created=int(self._clock()),
            email=text(params, "email"),
            name=text(params, "name"),
            phone=text(params, "phone"),
            description=text(params, "description"),
            metadata=metadata(params),
        )
        self._customers[customer["id"]] = customer
        return self._expanded(copy.deepcopy(customer), expand_paths(params))


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
