"""`PaymentGateway` on Stripe: card details in, a `pm_…` PaymentMethod saved on a Customer.

Stripe's exceptions stop here; the core sees `CardRejected`,
`CardEntryUnavailable` or `PaymentUnavailable` only.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import stripe

from bot.adapters import stripe_customers
from bot.errors import CardEntryUnavailable, CardRejected, PaymentUnavailable
from bot.models import CardDetails, CardSetup, ChatUser, PaymentRecord, SetupOutcome

if TYPE_CHECKING:
    from stripe import RequestOptions
    from stripe.params import (
        PaymentMethodCreateParams,
        SetupIntentCreateParams,
        SetupIntentRetrieveParams,
    )

log = logging.getLogger(__name__)

# The whole modal submission must answer Slack within 3 s: one attempt of at
# most 1 s, one retry after Stripe's 0.25-0.5 s backoff, leaves room for the
# store writes and the DM on either side.
TIMEOUT_SECONDS = 1.0
MAX_NETWORK_RETRIES = 1
SAVE_BUDGET_SECONDS = 2.6
"""Stripe's share of the modal's 3 s for all of a card's requests (up to four for a person's
first card); the session writes and the answer's way back to Slack take the rest. A request
is sent only with at least half a timeout left, and retried only if a whole second attempt
still fits, so one slow request at the start costs what it did when a card was one request."""
RETRY_PAUSE_SECONDS = 0.5
"""stripe-python's longest wait before its first retry."""

RAW_CARD_DATA_HELP = (
    "Stripe refused a raw card number: this Stripe account does not have raw card data "
    "APIs enabled. Either ask Stripe to enable them "
    "(https://support.stripe.com/questions/enabling-access-to-raw-card-data-apis) "
    "or set CARD_ENTRY=hosted so cards are entered on Stripe's own page."
)
_CARD_FIELDS = {"number", "exp_month", "exp_year", "cvc"}
_CARD_PARAM = re.compile(r"(^|\[)card\]?(\[|$)")
_LAST_NAME = re.compile(r"([a-z_]+)\]?$")
_SETUP_ID = re.compile(r"^seti_[A-Za-z0-9]{1,250}$")


def stripe_client(
    api_key: str,
    api_base: str | None,
    *,
    timeout_seconds: float = TIMEOUT_SECONDS,
    max_network_retries: int = MAX_NETWORK_RETRIES,
) -> stripe.StripeClient:
    """A Stripe client for `api_base` (Stripe's own when None) within our time budget."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base.rstrip("/")} if api_base else {},
        http_client=stripe.RequestsClient(timeout=timeout_seconds),
        max_network_retries=max_network_retries,
    )


def card_field(param: str | None) -> str:
    """Stripe's `param` (`card[cvc]`, `payment_method_data[card][cvc]` or `cvc`) as our
    field name; unknown -> `number`."""
    found = _LAST_NAME.search(param or "")
    name = found.group(1) if found else ""
    return name if name in _CARD_FIELDS else "number"


def is_raw_card_data_refusal(error: stripe.StripeError) -> bool:
    message = (error.user_message or str(error) or "").lower()
    return "raw card data" in message or "card numbers directly" in message


class StripeGateway:
    """Saves a card as Stripe means it: a SetupIntent, confirmed with the card, on a Customer.

    Two requests, each under its own idempotency key derived from the attempt's key
    (never from card data): the PaymentMethod, then the SetupIntent that attaches it
    to the user's Customer once the issuer has checked it. Stripe declines a card at
    that confirmation, not when the PaymentMethod is created, and an unattached
    PaymentMethod is single-use, so a card counts as saved only when the SetupIntent
    has `succeeded`.
    """

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None = None,
        timeout_seconds: float = TIMEOUT_SECONDS,
        max_network_retries: int = MAX_NETWORK_RETRIES,
        budget_seconds: float = SAVE_BUDGET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = stripe_client(
            api_key,
            api_base,
            timeout_seconds=timeout_seconds,
            max_network_retries=max_network_retries,
        )
        self._timeout = timeout_seconds
        self._retries = max_network_retries
        self._budget = budget_seconds
        self._clock = clock
        self._warned = threading.Event()

    def save_card(
        self,
        card: CardDetails,
        *,
        user: ChatUser,
        customer_id: str | None,
        return_url: str,
        idempotency_key: str,
    ) -> CardSetup:
        ends = self._clock() + self._budget
        try:
            customer = customer_id or stripe_customers.find_or_create(
                self._client, user, options=lambda: self._within(ends)
            )
            method = self._client.v1.payment_methods.create(
                params=_method_params(card), options=self._within(ends, f"{idempotency_key}-pm")
            )
            try:
                intent = self._confirm(customer, method.id, return_url, ends, idempotency_key)
            except stripe.InvalidRequestError as exc:
                if customer_id is None or not stripe_customers.is_gone(exc):
                    raise
                # The Customer this session remembered was deleted at Stripe: the person's
                # current one (found or made afresh) takes the card instead.
                customer = stripe_customers.find_or_create(
                    self._client, user, options=lambda: self._within(ends)
                )
                intent = self._confirm(
                    customer, method.id, return_url, ends, f"{idempotency_key}-{customer}"
                )
        except stripe.CardError as exc:
            if is_raw_card_data_refusal(exc):  # the HTTP status of this refusal is undocumented
                raise self._invalid_request(exc) from None
            raise CardRejected(
                card_field(exc.param), _user_message(exc), code=_decline_code(exc)
            ) from None
        except stripe.InvalidRequestError as exc:
            raise self._invalid_request(exc) from None
        except stripe.StripeError as exc:
            raise unavailable(exc) from None
        return _setup(intent, customer, method)

    def _confirm(
        self, customer: str, method: str, return_url: str, ends: float, key: str
    ) -> stripe.SetupIntent:
        """The SetupIntent that attaches `method` to `customer` once the issuer agrees."""
        return self._client.v1.setup_intents.create(
            params=_intent_params(customer, method, return_url),
            options=self._within(ends, f"{key}-si"),
        )

    def _within(self, ends: float, idempotency_key: str | None = None) -> RequestOptions:
        """Options for the next request, retrying only if a retry still fits before `ends`."""
        left = ends - self._clock()
        if left < self._timeout / 2:
            log.error("Stripe took the card's whole time budget; not sending more")
            raise PaymentUnavailable("stripe: out of time within the card's budget")
        fits = left >= 2 * self._timeout + RETRY_PAUSE_SECONDS  # 2.5 s with the defaults
        options: RequestOptions = {"max_network_retries": self._retries if fits else 0}
        if idempotency_key is not None:
            options["idempotency_key"] = idempotency_key
        return options

    def setup_outcome(self, setup_id: str) -> SetupOutcome:
        if not _SETUP_ID.match(setup_id):
            raise PaymentUnavailable("not a SetupIntent id")
        params: SetupIntentRetrieveParams = {"expand": ["payment_method", "customer"]}
        try:
            intent = self._client.v1.setup_intents.retrieve(setup_id, params=params)
        except stripe.StripeError as exc:
            raise unavailable(exc) from None
        status: Literal["succeeded", "failed", "pending"] = "pending"
        payment = None
        message = ""
        if intent.status == "succeeded":
            status = "succeeded"
            method = intent.payment_method
            payment = _record(method) if isinstance(method, stripe.PaymentMethod) else None
        elif intent.status in ("requires_payment_method", "canceled"):
            status = "failed"
            error = intent.last_setup_error
            message = (error.message if error else None) or ""
        owner = stripe_customers.owner(intent.customer)
        return SetupOutcome(setup_id, owner, status, payment, message)

    def _invalid_request(self, exc: stripe.StripeError) -> Exception:
        if is_raw_card_data_refusal(exc):
            if not self._warned.is_set():
                self._warned.set()
                log.error(RAW_CARD_DATA_HELP)
            return CardEntryUnavailable("stripe refused raw card data")
        param = getattr(exc, "param", None)
        if isinstance(param, str) and _CARD_PARAM.search(param):
            return CardRejected(card_field(param), _user_message(exc), code=_decline_code(exc))
        log.error("Stripe rejected our request: %s (request %s)", error_kind(exc), exc.request_id)
        return PaymentUnavailable(f"stripe: {error_kind(exc)}")


def _method_params(card: CardDetails) -> PaymentMethodCreateParams:
    return {
        "type": "card",
        "card": {
            "number": card.number,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "cvc": card.cvc,
        },
        "billing_details": {"name": card.name},
    }


def _intent_params(customer: str, method: str, return_url: str) -> SetupIntentCreateParams:
    params: SetupIntentCreateParams = {
        "customer": customer,
        "payment_method": method,
        "confirm": True,
        "usage": "off_session",
        # Cards only: no other kind of payment method could be confirmed from a modal.
        "allowed_payment_method_types": ["card"],
    }
    if return_url:
        # Where the bank's confirmation page (3-D Secure) sends the cardholder back;
        # without it Stripe answers with a `use_stripe_sdk` step we could not offer.
        params["return_url"] = return_url
    return params


def _setup(intent: stripe.SetupIntent, customer: str, method: stripe.PaymentMethod) -> CardSetup:
    if intent.status == "succeeded":
        return CardSetup(intent.id, customer, payment=_record(method))
    action = intent.next_action
    redirect = action.redirect_to_url if action is not None else None
    if intent.status == "requires_action" and redirect is not None and redirect.url:
        return CardSetup(intent.id, customer, authenticate_url=redirect.url)
    log.error("Stripe SetupIntent in an unexpected state: %s", intent.status)
    raise PaymentUnavailable(f"stripe: setup intent {intent.status}")


def _record(method: stripe.PaymentMethod) -> PaymentRecord:
    details = method.card
    if details is None:
        raise PaymentUnavailable("stripe returned a payment method without card details")
    return PaymentRecord(
        payment_method_id=method.id,
        brand=details.brand,
        last4=details.last4,
        exp_month=details.exp_month,
        exp_year=details.exp_year,
    )


def unavailable(exc: stripe.StripeError) -> PaymentUnavailable:
    """Stripe could not be reached or failed us: logged by kind (never by content)."""
    log.error("Stripe unavailable: %s (request %s)", error_kind(exc), exc.request_id)
    return PaymentUnavailable(f"stripe: {error_kind(exc)}")


def error_kind(exc: stripe.StripeError) -> str:
    """Error class and code only: Stripe's messages are safe, but we log no more than needed."""
    return f"{type(exc).__name__} {exc.code or ''} http={exc.http_status}".strip()


def _user_message(exc: stripe.StripeError) -> str:
    return (
        exc.user_message or "The card was declined. Please check the details or use another card."
    )


def _decline_code(exc: stripe.StripeError) -> str | None:
    """Stripe's decline code for a declined card (`error.decline_code`), else its error code."""
    error = exc.error
    return (error.decline_code if error is not None else None) or exc.code
