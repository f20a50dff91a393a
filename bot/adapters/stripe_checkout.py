"""`HostedCheckout` on Stripe Checkout: the card goes to Stripe's page, not us.

Setup mode saves a card; payment mode (PAYMENT_MODE=charge, the payment known) takes the
agreed amount and saves the card for next time.

A completed page is traced back to its user through its Customer's metadata
(`stripe_customers`), re-read from Stripe, never taken from the webhook's payload.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import stripe

from bot.adapters import stripe_customers
from bot.adapters.stripe_charges import charge_metadata
from bot.adapters.stripe_gateway import MAX_NETWORK_RETRIES, TIMEOUT_SECONDS, stripe_client
from bot.charging import minor_units
from bot.errors import PaymentUnavailable
from bot.models import Charge, ChatUser, CheckoutLink, CheckoutOutcome, PaymentRecord

if TYPE_CHECKING:
    from stripe.checkout import Session as CheckoutSession
    from stripe.params.checkout import (
        SessionCreateParams,
        SessionCreateParamsPaymentIntentData,
        SessionRetrieveParams,
    )

log = logging.getLogger(__name__)

PAGE_LIFETIME_SECONDS = 30 * 60
"""Stripe's shortest allowed Checkout lifetime: a bearer link should not live long."""
_STATUSES = {"open", "complete", "expired"}


class StripeCheckout:
    """Opens, expires and reads Stripe Checkout Sessions (mode `setup`, cards only)."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None = None,
        timeout_seconds: float = TIMEOUT_SECONDS,
        max_network_retries: int = MAX_NETWORK_RETRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = stripe_client(
            api_key,
            api_base,
            timeout_seconds=timeout_seconds,
            max_network_retries=max_network_retries,
        )
        self._clock = clock

    def open(
        self,
        *,
        user: ChatUser,
        customer_id: str | None,
        reference: str,
        return_url: str,
        idempotency_key: str,
        charge: Charge | None = None,
    ) -> CheckoutLink:
        paying = (charge, user) if charge is not None else None
        try:
            customer = customer_id or stripe_customers.find_or_create(self._client, user)
            try:
                page = self._page(customer, reference, return_url, idempotency_key, paying)
            except stripe.InvalidRequestError as exc:
                if customer_id is None or not stripe_customers.is_gone(exc):
                    raise
                # The remembered Customer was deleted at Stripe: use the person's current one.
                customer = stripe_customers.find_or_create(self._client, user)
                page = self._page(
                    customer,
                    reference,
                    return_url,
                    f"{idempotency_key}-{customer}",
                    paying,
                )
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        if not page.url:
            raise PaymentUnavailable("stripe returned a checkout session without a url")
        return CheckoutLink(checkout_id=page.id, customer_id=customer, url=page.url)

    def _page(
        self,
        customer: str,
        reference: str,
        return_url: str,
        idempotency_key: str,
        paying: tuple[Charge, ChatUser] | None,
    ) -> CheckoutSession:
        params: SessionCreateParams = {
            "mode": "setup" if paying is None else "payment",
            "customer": customer,
            # Cards only. Since API version 2026-09-30 Checkout takes this filter, not
            # `payment_method_types`; with it, setup mode needs no `currency`.
            "allowed_payment_method_types": ["card"],
            "client_reference_id": reference,
            # A minute's margin: Stripe refuses less than 30 minutes by its own clock.
            "expires_at": int(self._clock()) + PAGE_LIFETIME_SECONDS + 60,
            "success_url": return_url,
            "cancel_url": return_url,
        }
        if paying is not None:
            charge, user = paying
            params["line_items"] = [
                {
                    "price_data": {
                        "currency": charge.currency.lower(),
                        "unit_amount": minor_units(charge.amount, charge.currency),
                        "product_data": {"name": f"Invoice {charge.reference}"},
                    },
                    "quantity": 1,
                }
            ]
            intent: SessionCreateParamsPaymentIntentData = {
                "description": f"Invoice {charge.reference}",
                "metadata": charge_metadata(charge, user),
                # The card paid with is kept on the Customer, as a saved card is.
                "setup_future_usage": "off_session",
            }
            if charge.email:
                intent["receipt_email"] = charge.email
            params["payment_intent_data"] = intent
        return self._client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )

    def expire(self, checkout_id: str) -> None:
        try:
            self._client.v1.checkout.sessions.expire(checkout_id)
        except stripe.InvalidRequestError:
            pass  # already complete or expired: the link no longer works either way
        except stripe.StripeError as exc:
            log.warning("could not expire a checkout page: %s", type(exc).__name__)

    def outcome(self, checkout_id: str) -> CheckoutOutcome:
        params: SessionRetrieveParams = {"expand": ["setup_intent.payment_method", "customer"]}
        try:
            page = self._client.v1.checkout.sessions.retrieve(checkout_id, params=params)
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        status = page.status if page.status in _STATUSES else "open"
        return CheckoutOutcome(
            checkout_id=page.id,
            user=stripe_customers.owner(page.customer),
            reference=page.client_reference_id or "",
            status=status,  # type: ignore[arg-type]
            payment=_payment(page) if status == "complete" else None,
            intent_id=_intent_id(page.payment_intent),
        )


def _payment(page: CheckoutSession) -> PaymentRecord | None:
    intent = page.setup_intent
    method = intent.payment_method if isinstance(intent, stripe.SetupIntent) else None
    card = method.card if isinstance(method, stripe.PaymentMethod) else None
    if not isinstance(method, stripe.PaymentMethod) or card is None:
        return None
    return PaymentRecord(
        payment_method_id=method.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


def _intent_id(intent: object) -> str | None:
    if isinstance(intent, str):
        return intent or None
    return getattr(intent, "id", None)


def _unavailable(exc: stripe.StripeError) -> PaymentUnavailable:
    log.error("Stripe Checkout unavailable: %s http=%s", type(exc).__name__, exc.http_status)
    return PaymentUnavailable(f"stripe checkout: {type(exc).__name__}")
