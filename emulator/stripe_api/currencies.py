"""Amounts and currencies as Stripe checks a charge's: minor units, minimums, maximums.

Stripe's "Minimum and maximum charge amounts" table (docs.stripe.com/currencies) gives the
minimums below; the amount is "a positive integer ... in the smallest currency unit"
holding "up to eight digits" (stripe-python's `PaymentIntentCreateParams.amount`). JPY is
zero-decimal. Other currencies (HUF's special rounding, three-decimal ones, those whose
minimum is a conversion of $0.50) are refused by name: not emulated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from emulator.stripe_api.cards import redact_pans
from emulator.stripe_api.exceptions import invalid_request, missing_param
from emulator.stripe_api.params import digits_or_none

MINIMUM_CHARGE: Final[Mapping[str, int]] = {
    "usd": 50,
    "aed": 200,
    "aud": 50,
    "bgn": 100,
    "brl": 50,
    "cad": 50,
    "chf": 50,
    "czk": 1500,
    "dkk": 250,
    "eur": 50,
    "gbp": 30,
    "hkd": 400,
    "inr": 50,
    "jpy": 50,
    "mxn": 1000,
    "myr": 200,
    "nok": 300,
    "nzd": 50,
    "pln": 200,
    "ron": 200,
    "sek": 300,
    "sgd": 50,
    "thb": 1000,
}
"""Lowercase currency -> the smallest charge, in its minor unit."""

ZERO_DECIMAL: Final = frozenset({"jpy"})
MAXIMUM_CHARGE: Final = 99_999_999
_SYMBOLS: Final[Mapping[str, str]] = {
    "usd": "$",
    "aud": "$",
    "cad": "$",
    "hkd": "$",
    "mxn": "$",
    "nzd": "$",
    "sgd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "inr": "₹",
}


def checked_currency(params: Mapping[str, str], name: str = "currency") -> str:
    """The currency, lowercased (Stripe takes any case and answers lowercase)."""
    value = params.get(name)
    if not value:
        raise missing_param(name)
    currency = value.strip().lower()
    if currency not in MINIMUM_CHARGE:
        raise invalid_request(
            f"Invalid currency: {redact_pans(value)}. This test API emulates these"
            f" currencies: {', '.join(MINIMUM_CHARGE)}.",
            param=name,
            code="parameter_invalid_string",
        )
    return currency


def checked_amount(params: Mapping[str, str], currency: str, name: str = "amount") -> int:
    """A charge amount in minor units, within Stripe's minimum and maximum.

    Stripe's words, as integrators quote them: "Amount must be at least $0.50 usd"
    (`amount_too_small`) and "Amount must be no more than $999,999.99" (`amount_too_large`);
    other currencies' wording follows the same pattern (assumed).
    """
    value = params.get(name)
    if value is None or value == "":
        raise missing_param(name)
    amount = digits_or_none(value)
    if amount is None:
        raise invalid_request(
            f"Invalid integer: {redact_pans(value)}",
            param=name,
            code="parameter_invalid_integer",
        )
    if amount < MINIMUM_CHARGE[currency]:
        shown = format_amount(MINIMUM_CHARGE[currency], currency)
        raise invalid_request(
            f"Amount must be at least {shown} {currency}", param=name, code="amount_too_small"
        )
    if amount > MAXIMUM_CHARGE:
        shown = format_amount(MAXIMUM_CHARGE, currency, grouped=True)
        raise invalid_request(
            f"Amount must be no more than {shown}", param=name, code="amount_too_large"
        )
    return amount


def format_amount(amount: int, currency: str, *, grouped: bool = False) -> str:
    """`$12.34`, `¥500`, `2.00` (no symbol known): minor units as people read them."""
    places = 0 if currency in ZERO_DECIMAL else 2
    number = f"{amount / 10**places:{',' if grouped else ''}.{places}f}"
    return _SYMBOLS.get(currency, "") + number
