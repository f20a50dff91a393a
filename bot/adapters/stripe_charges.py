"""`PaymentCharger` on Stripe: one PaymentIntent, created and confirmed in one request.

The charge is made on the card saved on the person's Customer (a SetupIntent made it
reusable), for the amount in the currency's minor units, under an idempotency key
derived from the payment (`charging.idempotency_key`). The intent's metadata names
the person and the offer, so its webhook and any re-read find their way back without
trusting a payload. Stripe's exceptions stop here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

import stripe

from bot.adapters import stripe_customers
from bot.adapters.stripe_gateway import (
    TIMEOUT_SECONDS,
    error_kind,
    stripe_client,
    unavailable,
)
from bot.charging import major_units, minor_units
from bot.errors import ChargeUnanswered, PaymentUnavailable, RefundRefused
from bot.models import Charge, ChargeResult, ChatUser, RefundResult

if TYPE_CHECKING:
    from stripe.params import (
        PaymentIntentCreateParams,
        PaymentIntentRetrieveParams,
        PaymentIntentSearchParams,
        RefundCreateParams,
    )

log = logging.getLogger(__name__)

CHARGE_KEY = "paybot_charge"
"""The offer a PaymentIntent answers (`Charge.key`), in its metadata."""
REFERENCE_KEY = "reference"
"""The payment's reference (an invoice number), in its metadata."""
CHARGE_TIMEOUT_SECONDS = 10.0
"""A charge runs after the button's ack (lazy work), so it may wait for the card network;
a first-time authorization can take seconds. One timeout, no automatic retry: the person
(or the webhook) settles it under the same idempotency key."""
_INTENT_ID = re.compile(r"^pi_[A-Za-z0-9_]{1,250}$")
_CHARGE_ID = re.compile(r"^ch_[A-Za-z0-9_]{1,250}$")
REFUNDED_BY_KEY = "paybot_refunded_by"
"""Who asked for a refund (`slack:T…:U…`), in the Refund's metadata."""
_DECLINED_STATUSES = frozenset({"requires_payment_method", "canceled"})


class StripeCharges:
    """Charges a saved card with a PaymentIntent (`confirm=true`), as Stripe documents for
    charging a customer's saved payment method while they are present (on-session)."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None = None,
        timeout_seconds: float = CHARGE_TIMEOUT_SECONDS,
    ) -> None:
        self._client = stripe_client(
            api_key, api_base, timeout_seconds=timeout_seconds, max_network_retries=0
        )
        self._reader = stripe_client(api_key, api_base, timeout_seconds=TIMEOUT_SECONDS)

    def charge(
        self,
        charge: Charge,
        *,
        user: ChatUser,
        customer_id: str,
        return_url: str,
        idempotency_key: str,
    ) -> ChargeResult:
        params = _intent_params(charge, user, customer_id, return_url)
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as exc:
            return _declined(exc, charge, user)
        except (stripe.APIConnectionError, stripe.APIError) as exc:
            # No answer, or Stripe's own failure: the charge may have been made.
            log.error("Stripe charge unanswered: %s (request %s)", error_kind(exc), exc.request_id)
            raise ChargeUnanswered(f"stripe: {error_kind(exc)}") from None
        except stripe.StripeError as exc:
            log.error("Stripe refused the charge: %s (request %s)", error_kind(exc), exc.request_id)
            raise PaymentUnavailable(f"stripe: {error_kind(exc)}") from None
        return _result(intent)

    def charge_outcome(self, intent_id: str) -> ChargeResult:
        if not _INTENT_ID.match(intent_id):
            raise PaymentUnavailable("not a PaymentIntent id")
        params: PaymentIntentRetrieveParams = {"expand": ["latest_charge"]}
        try:
            intent = self._reader.v1.payment_intents.retrieve(intent_id, params=params)
        except stripe.StripeError as exc:
            raise unavailable(exc) from None
        return _result(intent)

    def paid_for(self, reference: str, *, user: ChatUser) -> list[ChargeResult]:
        # A reference holds letters, digits and -/_ only (REFERENCE_PATTERN): plain to quote.
        query = f"metadata['{REFERENCE_KEY}']:'{reference}' AND status:'succeeded'"
        if user.surface == "slack":
            query += f" AND metadata['{stripe_customers.SLACK_TEAM_KEY}']:'{user.tenant_id}'"
        params: PaymentIntentSearchParams = {"query": query, "limit": 10}
        try:
            found = self._reader.v1.payment_intents.search(params=params)
        except stripe.StripeError as exc:
            raise unavailable(exc) from None
        # Search answers without expansions: each match is read whole (and its owner checked).
        matches = [self.charge_outcome(intent.id) for intent in found.data]
        return [m for m in matches if m.user is not None and m.user.scope == user.scope]

    def paid_by(self, user: ChatUser, *, limit: int) -> list[ChargeResult]:
        # ChatUser ids hold no quote or backslash (CHAT_ID_PATTERN): plain to quote.
        query = f"metadata['{stripe_customers.USER_KEY}']:'{user}' AND status:'succeeded'"
        params: PaymentIntentSearchParams = {"query": query, "limit": limit}
        try:
            found = self._reader.v1.payment_intents.search(params=params)
        except stripe.StripeError as exc:
            raise unavailable(exc) from None
        # One request: the search's own fields (no card details), the time it was made.
        listed = [replace(_listed(intent), paid_at=intent.created) for intent in found.data]
        return sorted(listed, key=lambda paid: paid.paid_at or 0, reverse=True)

    def refund(
        self,
        intent_id: str,
        *,
        amount: Decimal | None,
        currency: str,
        by: ChatUser,
        idempotency_key: str,
    ) -> RefundResult:
        params: RefundCreateParams = {
            "payment_intent": intent_id,
            "metadata": {REFUNDED_BY_KEY: str(by)},
        }
        if amount is not None:
            params["amount"] = minor_units(amount, currency)
        try:
            refund = self._reader.v1.refunds.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError as exc:
            reason = getattr(exc.error, "message", None) or "Stripe refused the refund."
            log.warning("Stripe refused a refund: %s", error_kind(exc))
            raise RefundRefused(f"stripe: {error_kind(exc)}", user_message=reason) from None
        except stripe.StripeError as exc:
            raise unavailable(exc) from None
        status = refund.status or "pending"
        return RefundResult(
            refund_id=refund.id,
            intent_id=intent_id,
            status="succeeded"
            if status == "succeeded"
            else "failed"
            if status in ("failed", "canceled")
            else "pending",
            amount=major_units(refund.amount, refund.currency),
            currency=refund.currency.upper(),
        )

    def refunded_charge(self, charge_id: str) -> ChargeResult:
        if not _CHARGE_ID.match(charge_id):
            raise PaymentUnavailable("not a Charge id")
        try:
            charge = self._reader.v1.charges.retrieve(charge_id)
        except stripe.StripeError as exc:
            raise unavailable(exc) from None
        intent = charge.payment_intent
        intent_id = intent if isinstance(intent, str) else intent.id if intent else ""
        return self.charge_outcome(intent_id)


def charge_metadata(charge: Charge, user: ChatUser) -> dict[str, str]:
    """What a PaymentIntent says about its payment: the person's ids, the offer, the
    reference; never card data."""
    return {
        **stripe_customers.metadata(user),
        CHARGE_KEY: charge.key,
        REFERENCE_KEY: charge.reference,
    }


def _intent_params(
    charge: Charge, user: ChatUser, customer_id: str, return_url: str
) -> PaymentIntentCreateParams:
    if charge.card is None:
        raise PaymentUnavailable("a charge without a saved card is taken on Stripe's page")
    params: PaymentIntentCreateParams = {
        "amount": minor_units(charge.amount, charge.currency),
        "currency": charge.currency.lower(),
        "customer": customer_id,
        "payment_method": charge.card.payment_method_id,
        "confirm": True,
        # Cards only: a saved card is the only payment method paybot offers.
        "allowed_payment_method_types": ["card"],
        "description": f"Invoice {charge.reference}",
        "metadata": charge_metadata(charge, user),
        # The receipt's details (receipt_url, the card's brand and last four) come in the
        # same answer: no second request on the happy path.
        "expand": ["latest_charge"],
    }
    if return_url:
        # Where the bank's check (3-D Secure) sends the cardholder back; without it Stripe
        # answers with a `use_stripe_sdk` step a chat cannot offer.
        params["return_url"] = return_url
    if charge.email:
        params["receipt_email"] = charge.email
    return params


def _listed(intent: stripe.PaymentIntent) -> ChargeResult:
    """What a PaymentIntent says without its Charge: whose, which offer, how much, for what."""
    metadata = intent.metadata.to_dict() if intent.metadata is not None else {}
    key = metadata.get(CHARGE_KEY)
    return ChargeResult(
        intent_id=intent.id,
        user=stripe_customers.owner(intent),
        key=str(key) if key else None,
        status="succeeded" if intent.status == "succeeded" else "pending",
        amount=major_units(intent.amount, intent.currency),
        currency=intent.currency.upper(),
        reference=str(metadata.get(REFERENCE_KEY) or "") or None,
    )


def _result(intent: stripe.PaymentIntent) -> ChargeResult:
    pending = replace(_listed(intent), status="pending")
    if intent.status == "succeeded":
        charge = intent.latest_charge
        if not isinstance(charge, stripe.Charge):
            raise PaymentUnavailable("stripe returned a payment without its charge")
        details = charge.payment_method_details
        card = details.card if details is not None else None
        return replace(
            pending,
            status="succeeded",
            brand=card.brand if card else None,
            last4=card.last4 if card else None,
            paid_at=charge.created,
            receipt_url=charge.receipt_url,
            refunded=major_units(charge.amount_refunded, intent.currency),
        )
    if intent.status == "requires_action":
        action = intent.next_action
        redirect = action.redirect_to_url if action is not None else None
        if redirect is not None and redirect.url:
            return replace(pending, status="requires_action", authenticate_url=redirect.url)
        log.error("Stripe asked for an action a chat cannot offer: %s", action and action.type)
        raise PaymentUnavailable("stripe: payment intent needs an unsupported action")
    if intent.status in _DECLINED_STATUSES:
        error = intent.last_payment_error
        # Stripe leaves out an error's fields that do not apply (no `decline_code` for a
        # failed bank check), so each is read as possibly absent.
        code = getattr(error, "decline_code", None) or getattr(error, "code", None)
        return replace(
            pending,
            status="declined",
            message=getattr(error, "message", None) or "",
            code=code or intent.status,
        )
    return pending


def _declined(exc: stripe.CardError, charge: Charge, user: ChatUser) -> ChargeResult:
    """A decline at confirmation: Stripe answers 402 with the PaymentIntent in the error."""
    error = exc.error
    intent = getattr(error, "payment_intent", None)
    code = getattr(error, "decline_code", None) or exc.code
    log.info("charge declined: %s", code)
    return ChargeResult(
        intent_id=intent.id if intent is not None else "",
        user=user,
        key=charge.key,
        status="declined",
        amount=charge.amount,
        currency=charge.currency,
        reference=charge.reference,
        message=exc.user_message or "",
        code=code,
    )
