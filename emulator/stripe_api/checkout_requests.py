"""The parameters of `POST /v1/checkout/sessions`, checked as Stripe checks them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from emulator.stripe_api.cards import redact_pans
from emulator.stripe_api.currencies import MINIMUM_CHARGE, checked_currency, format_amount
from emulator.stripe_api.exceptions import invalid_request, missing_param
from emulator.stripe_api.objects import SESSION_EXPIRES_MAX, SESSION_EXPIRES_MIN, SessionRequest
from emulator.stripe_api.params import (
    card_only,
    digits_or_none,
    metadata,
    not_emulated,
    text,
    url_param,
)

_LINE_ITEM: Final = re.compile(r"line_items\[(\d+)\]\[(.+)\]")
_LINE_ITEM_FIELDS: Final = frozenset(
    {
        "quantity",
        "price_data][currency",
        "price_data][unit_amount",
        "price_data][product_data][name",
    }
)
_PAYMENT_INTENT_DATA: Final = frozenset({"description", "receipt_email", "setup_future_usage"})


def session_request(params: Mapping[str, str], now: float) -> SessionRequest:
    """Checkout Session parameters checked as Stripe checks them, in setup or payment mode.

    Stripe's words, as integrators quote them: "Missing required param: success_url."
    (parameter_missing) for the hosted page; "You can not pass `line_items` in `setup`
    mode."; an unknown customer is 400 resource_missing, param customer. In setup mode
    `currency` is "Required ... when `allowed_payment_method_types` is not set"
    (stripe-python's docstring; `payment_method_types` before 2026-09-30); the error
    wording is assumed.
    """
    mode = params.get("mode")
    if not mode:
        raise missing_param("mode")
    if mode not in ("setup", "payment"):
        raise invalid_request(
            "Invalid mode: this test API emulates Checkout in `setup` and `payment` modes.",
            param="mode",
            code="parameter_invalid_string",
        )
    other = "payment_intent_data" if mode == "setup" else "setup_intent_data"
    for refused in ("line_items", other) if mode == "setup" else (other,):
        if any(key.startswith(refused) for key in params):
            raise invalid_request(f"You can not pass `{refused}` in `{mode}` mode.", param=refused)
    if params.get("ui_mode", "hosted_page") not in {"hosted", "hosted_page"}:
        raise invalid_request(
            "Invalid ui_mode: this test API emulates the Stripe-hosted page only.",
            param="ui_mode",
            code="parameter_invalid_string",
        )
    # stripe-python 16 (API 2026-10-28) sends `allowed_payment_method_types`; requests on an
    # API version before 2026-09-30 may send `payment_method_types` instead (the envelope
    # refuses each on the versions that do not know it: `params.PARAM_CHANGES`).
    types = card_only(params, "payment_method_types")
    allowed = card_only(params, "allowed_payment_method_types")
    currency = params.get("currency")
    if currency is not None and not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid_request(f"Invalid currency: {redact_pans(currency)}.", param="currency")
    amount_total = None
    if mode == "payment":
        currency, amount_total = _line_items_total(params, currency)
    elif currency is None and not types and not allowed:
        raise missing_param("currency")
    customer, customer_email = params.get("customer") or None, text(params, "customer_email")
    if customer is not None and customer_email is not None:
        raise invalid_request(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
        )
    return SessionRequest(
        success_url=url_param(params, "success_url", required=True) or "",
        cancel_url=url_param(params, "cancel_url"),
        expires_at=_expires_at(params.get("expires_at"), now),
        customer=customer,
        customer_email=customer_email,
        currency=currency,
        payment_method_types=tuple(types),
        allowed_payment_method_types=tuple(allowed),
        client_reference_id=text(params, "client_reference_id"),
        locale=params.get("locale") or None,
        metadata=metadata(params),
        setup_intent_metadata=metadata(params, "setup_intent_data[metadata]"),
        mode=mode,
        amount_total=amount_total,
        payment_intent_data=_payment_intent_data(params) if mode == "payment" else None,
    )


def _expires_at(value_text: str | None, now: float) -> int:
    """`expires_at` 30 minutes to 24 hours ahead, in Stripe's words (no code seen in reports)."""
    if value_text is None:
        return int(now) + SESSION_EXPIRES_MAX
    value = digits_or_none(value_text)
    if value is None:
        raise invalid_request(
            f"Invalid integer: {redact_pans(value_text)}",
            param="expires_at",
            code="parameter_invalid_integer",
        )
    if value < now + SESSION_EXPIRES_MIN:
        raise invalid_request(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session"
            " creation.",
            param="expires_at",
        )
    if value > now + SESSION_EXPIRES_MAX:
        raise invalid_request(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return value


def _line_items_total(params: Mapping[str, str], currency: str | None) -> tuple[str, int]:
    """(currency, amount_total) of payment mode's line items, each given as `price_data`
    (`currency`, `unit_amount`, `product_data[name]`) and `quantity`; a `price` or any other
    line item field is refused by name, not emulated.

    stripe-python's docstrings: `quantity` and `price_data[currency]` are required, and
    `product_data[name]`; the errors' wording for missing ones is Stripe's usual
    "Missing required param". That the total must reach the currency's minimum charge is
    Stripe's rule; its wording here is assumed.
    """
    items: dict[int, dict[str, str]] = {}
    for key, value in params.items():
        if not key.startswith("line_items"):
            continue
        match = _LINE_ITEM.fullmatch(key)
        if match is None or match.group(2) not in _LINE_ITEM_FIELDS:
            raise not_emulated(key)
        items.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if not items:
        raise missing_param("line_items")
    total, currencies = 0, set()
    for index, item in sorted(items.items()):
        prefix = f"line_items[{index}]"
        for field in sorted(_LINE_ITEM_FIELDS):
            if not item.get(field):
                raise missing_param(f"{prefix}[{field}]")
        name = f"{prefix}[price_data][currency]"
        currencies.add(checked_currency({name: item["price_data][currency"]}, name))
        unit_amount = digits_or_none(item["price_data][unit_amount"])
        quantity = digits_or_none(item["quantity"])
        if unit_amount is None or quantity is None or quantity < 1:
            bad = "quantity" if unit_amount is not None else "price_data][unit_amount"
            raise invalid_request(
                f"Invalid integer: {redact_pans(item[bad])}",
                param=f"{prefix}[{bad}]",
                code="parameter_invalid_integer",
            )
        total += unit_amount * quantity
    if len(currencies) > 1 or (currency is not None and currency not in currencies):
        raise invalid_request(
            "All line items and the session must use the same currency.", param="line_items"
        )
    (found,) = currencies
    if total < MINIMUM_CHARGE[found]:
        raise invalid_request(
            "The Checkout Session's total amount due must add up to at least"
            f" {format_amount(MINIMUM_CHARGE[found], found)} {found}",
            param="line_items",
            code="amount_too_small",
        )
    return found, total


def _payment_intent_data(params: Mapping[str, str]) -> dict[str, str]:
    """`payment_intent_data[...]` as flat PaymentIntent parameters: `metadata[...]`,
    `description`, `receipt_email`, `setup_future_usage`; anything else is not emulated."""
    prefix = "payment_intent_data["
    data: dict[str, str] = {}
    for key, value in params.items():
        if not key.startswith(prefix):
            continue
        inner = key[len(prefix) :].replace("]", "", 1)
        name = inner.partition("[")[0]
        if name != "metadata" and inner not in _PAYMENT_INTENT_DATA:
            raise not_emulated(key)
        data[inner] = value
    return data
