"""Stripe's payment objects as the API renders them: PaymentIntent, Charge, Refund. Pure
functions of their inputs; the state lives in `payment_intents` and `refunds`.

Fields are those of stripe-python's `PaymentIntent`, `Charge` and `Refund` models at the
pinned API version; what this API does not emulate is null.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.stripe_api.cards import Decline
from emulator.stripe_api.exceptions import JSON
from emulator.stripe_api.objects import new_id


@dataclass(frozen=True)
class IntentRequest:
    """The validated parameters a PaymentIntent is made from."""

    amount: int
    currency: str
    customer: str | None
    payment_method: str | None
    metadata: Mapping[str, str]
    description: str | None = None
    receipt_email: str | None = None
    setup_future_usage: str | None = None
    capture_method: str = "automatic_async"
    automatic_payment_methods: JSON | None = None
    allowed_payment_method_types: Sequence[str] = ()


def payment_intent_object(intent_id: str, request: IntentRequest, *, created: int) -> JSON:
    """A new PaymentIntent: `requires_payment_method`, or `requires_confirmation` with one.

    Statuses, as Stripe documents them: requires_payment_method, requires_confirmation,
    requires_action, processing, requires_capture, canceled, succeeded.
    """
    status = (
        "requires_payment_method" if request.payment_method is None else "requires_confirmation"
    )
    return {
        "id": intent_id,
        "object": "payment_intent",
        "allowed_payment_method_types": list(request.allowed_payment_method_types) or None,
        "amount": request.amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": request.automatic_payment_methods,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": request.capture_method,
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": request.currency,
        "customer": request.customer,
        "customer_account": None,
        "description": request.description,
        "excluded_payment_method_types": None,
        "hooks": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": dict(request.metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_details": None,
        "payment_method": request.payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "payment_record": None,
        "presentment_details": None,
        "processing": None,
        "receipt_email": request.receipt_email,
        "review": None,
        "setup_future_usage": request.setup_future_usage,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def charge_object(
    charge_id: str,
    intent: Mapping[str, Any],
    payment_method: Mapping[str, Any],
    *,
    created: int,
    receipt_url: str | None,
    decline: Decline | None,
    authenticated: bool,
) -> JSON:
    """The Charge a confirmation makes: `succeeded` (captured at once, as the default
    `capture_method` does for cards) or `failed` with the decline's code and message."""
    paid = decline is None
    card = payment_method["card"]
    failure = (None, None) if decline is None else (decline.code, decline.message)
    return {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if paid else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "authorization_code": new_id("", 6) if paid else None,
        "balance_transaction": new_id("txn_", 24) if paid else None,
        "billing_details": payment_method["billing_details"],
        "calculated_statement_descriptor": None,
        "captured": paid,
        "created": created,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure[0],
        "failure_message": failure[1],
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": _outcome(decline),
        "paid": paid,
        "payment_intent": intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": {
            "card": _card_details(card, intent["amount"] if paid else None, authenticated),
            "type": "card",
        },
        "presentment_details": None,
        "radar_options": {},
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": receipt_url,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if paid else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }


def _outcome(decline: Decline | None) -> JSON:
    if decline is None:
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "declined_by_network",
        "reason": decline.decline_code or decline.code,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


def _card_details(card: Mapping[str, Any], authorized: int | None, authenticated: bool) -> JSON:
    three_d_secure = None
    if authenticated:
        three_d_secure = {
            "authentication_flow": "challenge",
            "electronic_commerce_indicator": "05",
            "exemption_indicator": None,
            "result": "authenticated",
            "result_reason": None,
            "transaction_id": str(uuid.uuid4()),
            "version": "2.2.0",
        }
    return {
        "amount_authorized": authorized,
        "authorization_code": None,
        "brand": card["brand"],
        "checks": dict(card["checks"]),
        "country": card["country"],
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "extended_authorization": {"status": "disabled"},
        "fingerprint": card["fingerprint"],
        "funding": card["funding"],
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": card["last4"],
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": card["brand"],
        "network_token": {"used": False},
        "network_transaction_id": new_id("", 15) if authorized is not None else None,
        "overcapture": {"maximum_amount_capturable": authorized or 0, "status": "unavailable"},
        "regulated_status": card["regulated_status"],
        "three_d_secure": three_d_secure,
        "wallet": None,
    }


def refund_object(
    refund_id: str,
    charge: Mapping[str, Any],
    *,
    amount: int,
    created: int,
    reason: str | None,
    metadata: Mapping[str, str],
) -> JSON:
    """A card Refund. It succeeds at once: Stripe's testing guide gives particular card
    numbers for a refund that stays pending or fails later; every other test card's refund
    succeeds."""
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn_", 24),
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "description": None,
        "destination_details": {
            "card": {
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "failure_reason": None,
        "instructions_email": None,
        "metadata": dict(metadata),
        "next_action": None,
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "pending_reason": None,
        "presentment_details": None,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
