"""How amounts are shown to people: `$1,250.00`, `€12.50`, `¥500`, `45.00 CHF`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["ZERO_DECIMAL_CURRENCIES", "format_amount"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV"}
    | {"XAF", "XOF", "XPF"}
)
"""Currencies without minor units (Stripe's list): `¥500`, never `¥500.00`."""


def format_amount(amount: Decimal, currency: str | None) -> str:
    """`amount` with thousands separators and its currency's symbol or ISO code.

    Args:
        currency: an ISO 4217 code; None shows the bare number, since guessing a
            currency would show the user an amount they never typed.
    """
    code = currency.upper() if currency else None
    places = Decimal(1) if code in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    number = f"{abs(amount).quantize(places, rounding=ROUND_HALF_UP):,}"
    sign = "-" if amount < 0 else ""
    if code is None:
        return f"{sign}{number}"
    symbol = _SYMBOLS.get(code)
    if symbol is not None:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {code}"
