"""Stripe's objects as the API renders them: Customer, PaymentMethod, Checkout Session,
SetupIntent, Event, Account. Pure functions of their inputs; the state lives in `models`.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import stripe

from emulator.stripe_api.exceptions import JSON

API_VERSION: Final[str] = stripe.api_version  # the version events say they were rendered in
SESSION_EXPIRES_MIN: Final = 30 * 60  # Stripe: expires_at 30 minutes ...
SESSION_EXPIRES_MAX: Final = 24 * 60 * 60  # ... to 24 hours after creation (the default)
_ID_ALPHABET: Final = string.ascii_letters + string.digits


def new_id(prefix: str, length: int) -> str:
    """`prefix` plus `length` random letters and digits, as Stripe ids look."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def payment_method_object(
    payment_method_id: str,
    card: JSON,
    *,
    created: int,
    billing_details: JSON,
    metadata: Mapping[str, str] | None = None,
    allow_redisplay: str,
    customer: str | None = None,
) -> JSON:
    """A card PaymentMethod as Stripe renders it."""
    return {
        "id": payment_method_id,
        "object": "payment_method",
        "allow_redisplay": allow_redisplay,
        "billing_details": billing_details,
        "card": card,
        "created": created,
        "customer": customer,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "radar_options": {},
        "type": "card",
    }


@dataclass(frozen=True)
class SessionRequest:
    """The validated parameters of `POST /v1/checkout/sessions`, setup or payment mode."""

    success_url: str
    expires_at: int
    mode: str = "setup"
    amount_total: int | None = None  # payment mode: what the line items add up to
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
    payment_intent_data: Mapping[str, str] | None = None  # payment mode, flattened params


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
    """An open Checkout Session, as Stripe renders it on creation."""
    payment = request.mode == "payment"
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "allowed_payment_method_types": list(request.allowed_payment_method_types) or None,
        "amount_subtotal": request.amount_total,
        "amount_total": request.amount_total,
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
        "mode": request.mode,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": list(request.payment_method_types) or ["card"],
        "payment_status": "unpaid" if payment else "no_payment_required",
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
        "total_details": (
            {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0} if payment else None
        ),
        "ui_mode": "hosted_page",
        "url": url,
        "wallet_options": None,
    }


def setup_intent_object(
    intent_id: str,
    *,
    created: int,
    customer: str | None,
    payment_method: str | None,
    metadata: Mapping[str, str],
    status: str = "succeeded",
    usage: str = "off_session",
    description: str | None = None,
    allowed_payment_method_types: Sequence[str] = (),
    automatic_payment_methods: JSON | None = None,
) -> JSON:
    """A SetupIntent as Stripe renders it (by default one that Checkout confirmed).

    Statuses, as Stripe documents them: requires_payment_method, requires_confirmation,
    requires_action, processing, canceled, succeeded. `payment_method_types` is the
    computed list: cards, the only kind this API emulates.
    """
    return {
        "id": intent_id,
        "object": "setup_intent",
        "allowed_payment_method_types": list(allowed_payment_method_types) or None,
        "application": None,
        "automatic_payment_methods": automatic_payment_methods,
        "cancellation_reason": None,
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "created": created,
        "customer": customer,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
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
        "status": status,
        "usage": usage,
    }


def redirect_next_action(url: str, return_url: str | None) -> JSON:
    """`next_action` of a card waiting for 3D Secure: a redirect when a `return_url` was
    given, else `use_stripe_sdk`, the step Stripe.js and the mobile SDKs take over."""
    if return_url is not None:
        return {
            "type": "redirect_to_url",
            "redirect_to_url": {"return_url": return_url, "url": url},
        }
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "source": new_id("src_", 24),
            "stripe_js": url,
            "type": "three_d_secure_redirect",
        },
    }


def account_object(
    account_id: str,
    *,
    created: int,
    business_name: str,
    email: str | None,
    country: str,
    default_currency: str,
) -> JSON:
    """The account the API key belongs to, as `GET /v1/account` renders a standard one."""
    return {
        "id": account_id,
        "object": "account",
        "business_profile": {
            "mcc": None,
            "name": business_name,
            "product_description": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": None,
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"},
        "country": country,
        "created": created,
        "default_currency": default_currency,
        "details_submitted": True,
        "email": email,
        "metadata": {},
        "payouts_enabled": True,
        "settings": {
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": None,
            },
            "dashboard": {"display_name": business_name, "timezone": "Etc/UTC"},
            "payments": {"statement_descriptor": None},
        },
        "type": "standard",
    }


def complete_session(
    session: JSON,
    *,
    setup_intent: str | None = None,
    payment_intent: str | None = None,
    email: str | None,
    name: str | None,
) -> None:
    """Mark an open session complete: Stripe drops the page URL and records who saved a
    card, or paid (then `payment_status` is `paid`)."""
    session["status"] = "complete"
    if setup_intent is not None:
        session["setup_intent"] = setup_intent
    if payment_intent is not None:
        session["payment_intent"] = payment_intent
        session["payment_status"] = "paid"
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


def success_redirect(session: Mapping[str, Any]) -> str:
    """`success_url` with `{CHECKOUT_SESSION_ID}` replaced, as Stripe does."""
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", str(session["id"]))


# ---------------------------------------------------------------- handlers


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
