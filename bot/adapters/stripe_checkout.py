"""`HostedCheckout` on Stripe Checkout in setup mode: the card goes to Stripe's page, not us.

Customers carry the Slack team and user ids as metadata (nothing else), so a
completed page can be traced back to its Slack user without trusting the
webhook's payload: we always re-read the session from Stripe.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import stripe

from bot.adapters.stripe_gateway import MAX_NETWORK_RETRIES, TIMEOUT_SECONDS, stripe_client
from bot.errors import PaymentUnavailable
from bot.models import CheckoutLink, CheckoutOutcome, PaymentRecord

log = logging.getLogger(__name__)

PAGE_LIFETIME_SECONDS = 30 * 60
"""Stripe's shortest allowed Checkout lifetime: a bearer link should not live long."""
_SLACK_ID = re.compile(r"^[A-Z0-9]{1,32}$")
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
        team_id: str,
        user_id: str,
        customer_id: str | None,
        reference: str,
        return_url: str,
        idempotency_key: str,
    ) -> CheckoutLink:
        try:
            customer = customer_id or self._customer(team_id, user_id)
            params: Any = {
                "mode": "setup",
                "customer": customer,
                "payment_method_types": ["card"],
                "client_reference_id": reference,
                # A minute's margin: Stripe refuses less than 30 minutes by its own clock.
                "expires_at": int(self._clock()) + PAGE_LIFETIME_SECONDS + 60,
                "success_url": return_url,
                "cancel_url": return_url,
            }
            page = self._client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        if not page.url:
            raise PaymentUnavailable("stripe returned a checkout session without a url")
        return CheckoutLink(checkout_id=page.id, customer_id=customer, url=page.url)

    def expire(self, checkout_id: str) -> None:
        try:
            self._client.v1.checkout.sessions.expire(checkout_id)
        except stripe.InvalidRequestError:
            pass  # already complete or expired: the link no longer works either way
        except stripe.StripeError as exc:
            log.warning("could not expire a checkout page: %s", type(exc).__name__)

    def outcome(self, checkout_id: str) -> CheckoutOutcome:
        params: Any = {"expand": ["setup_intent.payment_method", "customer"]}
        try:
            page = self._client.v1.checkout.sessions.retrieve(checkout_id, params=params)
        except stripe.StripeError as exc:
            raise _unavailable(exc) from None
        found = getattr(page.customer, "metadata", None)
        metadata = found.to_dict() if found is not None else {}
        status = page.status if page.status in _STATUSES else "open"
        return CheckoutOutcome(
            checkout_id=page.id,
            team_id=str(metadata.get("slack_team_id", "")),
            user_id=str(metadata.get("slack_user_id", "")),
            reference=page.client_reference_id or "",
            status=status,  # type: ignore[arg-type]
            payment=_payment(page) if status == "complete" else None,
        )

    def _customer(self, team_id: str, user_id: str) -> str:
        if not (_SLACK_ID.match(team_id) and _SLACK_ID.match(user_id)):
            raise PaymentUnavailable("unexpected Slack ids for a Stripe customer")
        query = f"metadata['slack_team_id']:'{team_id}' AND metadata['slack_user_id']:'{user_id}'"
        found = self._client.v1.customers.search(params={"query": query, "limit": 1})
        if found.data:
            return found.data[0].id
        created = self._client.v1.customers.create(
            params={"metadata": {"slack_team_id": team_id, "slack_user_id": user_id}},
            options={"idempotency_key": f"paybot-customer-{team_id}-{user_id}"},
        )
        return created.id


def _payment(page: Any) -> PaymentRecord | None:
    intent = page.setup_intent
    method = getattr(intent, "payment_method", None)
    card = getattr(method, "card", None)
    if method is None or card is None:
        return None
    return PaymentRecord(
        payment_method_id=method.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


def _unavailable(exc: stripe.StripeError) -> PaymentUnavailable:
    log.error("Stripe Checkout unavailable: %s http=%s", type(exc).__name__, exc.http_status)
    return PaymentUnavailable(f"stripe checkout: {type(exc).__name__}")
