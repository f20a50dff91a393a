"""`PaymentGateway` on Stripe: card details in, a `pm_…` PaymentMethod out.

Stripe's exceptions stop here; the core sees `CardRejected`,
`CardEntryUnavailable` or `PaymentUnavailable` only.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import stripe
from stripe._base_address import BaseAddresses

from bot.errors import CardEntryUnavailable, CardRejected, PaymentUnavailable
from bot.models import CardDetails, PaymentRecord

log = logging.getLogger(__name__)

# The whole modal submission must answer Slack within 3 s: one attempt of at
# most 1 s, one retry after Stripe's 0.25-0.5 s backoff, leaves room for the
# store writes and the DM on either side.
TIMEOUT_SECONDS = 1.0
MAX_NETWORK_RETRIES = 1

RAW_CARD_DATA_HELP = (
    "Stripe refused a raw card number: this Stripe account does not have raw card data "
    "APIs enabled. Either ask Stripe to enable them "
    "(https://support.stripe.com/questions/enabling-access-to-raw-card-data-apis) "
    "or set CARD_ENTRY=hosted so cards are entered on Stripe's own page."
)
_CARD_FIELDS = {"number", "exp_month", "exp_year", "cvc"}


def stripe_client(
    api_key: str,
    api_base: str | None,
    *,
    timeout_seconds: float = TIMEOUT_SECONDS,
    max_network_retries: int = MAX_NETWORK_RETRIES,
) -> stripe.StripeClient:
    """A Stripe client for `api_base` (Stripe's own when None) within our time budget."""
    base: BaseAddresses = {"api": api_base.rstrip("/")} if api_base else {}
    return stripe.StripeClient(
        api_key,
        base_addresses=base,
        http_client=stripe.RequestsClient(timeout=timeout_seconds),
        max_network_retries=max_network_retries,
    )


def card_field(param: str | None) -> str:
    """Stripe's `param` (`card[cvc]` or `cvc`) as our field name; unknown -> `number`."""
    name = (param or "").removeprefix("card[").removesuffix("]")
    return name if name in _CARD_FIELDS else "number"


def is_raw_card_data_refusal(error: stripe.StripeError) -> bool:
    message = (error.user_message or str(error) or "").lower()
    return "raw card data" in message or "card numbers directly" in message


class StripeGateway:
    """Creates a card PaymentMethod with an idempotency key that never derives from card data."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None = None,
        timeout_seconds: float = TIMEOUT_SECONDS,
        max_network_retries: int = MAX_NETWORK_RETRIES,
    ) -> None:
        self._client = stripe_client(
            api_key,
            api_base,
            timeout_seconds=timeout_seconds,
            max_network_retries=max_network_retries,
        )
        self._warned = threading.Event()

    def tokenize(self, card: CardDetails, *, idempotency_key: str) -> PaymentRecord:
        params: Any = {
            "type": "card",
            "card": {
                "number": card.number,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "cvc": card.cvc,
            },
            "billing_details": {"name": card.name},
        }
        try:
            method = self._client.v1.payment_methods.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            if is_raw_card_data_refusal(exc):  # the HTTP status of this refusal is undocumented
                raise self._invalid_request(exc) from None
            raise CardRejected(card_field(exc.param), _user_message(exc)) from None
        except stripe.InvalidRequestError as exc:
            raise self._invalid_request(exc) from None
        except stripe.StripeError as exc:
            log.error("Stripe unavailable: %s (request %s)", _kind(exc), exc.request_id)
            raise PaymentUnavailable(f"stripe: {_kind(exc)}") from None
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

    def _invalid_request(self, exc: stripe.StripeError) -> Exception:
        if is_raw_card_data_refusal(exc):
            if not self._warned.is_set():
                self._warned.set()
                log.error(RAW_CARD_DATA_HELP)
            return CardEntryUnavailable("stripe refused raw card data")
        param = getattr(exc, "param", None)
        if isinstance(param, str) and param.startswith("card"):
            return CardRejected(card_field(param), _user_message(exc))
        log.error("Stripe rejected our request: %s (request %s)", _kind(exc), exc.request_id)
        return PaymentUnavailable(f"stripe: {_kind(exc)}")


def _kind(exc: stripe.StripeError) -> str:
    """Error class and code only: Stripe's messages are safe, but we log no more than needed."""
    return f"{type(exc).__name__} {exc.code or ''} http={exc.http_status}".strip()


def _user_message(exc: stripe.StripeError) -> str:
    return (
        exc.user_message or "The card was declined. Please check the details or use another card."
    )
