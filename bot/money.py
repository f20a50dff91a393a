"""Amounts of money: which currencies we know, how many decimals each has, how they are shown.

`$1,250.00`, `€12.50`, `¥500`, `45.00 CHF`, `1.250 KWD`: what is shown is exactly
the amount that is kept, never rounded.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = [
    "ISO_CURRENCIES",
    "MAX_AMOUNT",
    "THREE_DECIMAL_CURRENCIES",
    "ZERO_DECIMAL_CURRENCIES",
    "decimal_places",
    "format_amount",
    "within_limits",
]

MAX_AMOUNT = Decimal("1e10")
"""Every amount is below this, whatever its currency."""

# Common ISO 4217 codes, none of which is an English word: a fixed list, so
# "the" or "for" can never become a currency (and "TRY" is left out on purpose).
ISO_CURRENCIES = frozenset(
    {"USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN"}
    | {"CZK", "HUF", "INR", "CNY", "HKD", "SGD", "MXN", "BRL", "ZAR", "ILS", "KRW", "AED"}
    | {"BHD", "JOD", "KWD", "OMR", "TND"}
)

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV"}
    | {"XAF", "XOF", "XPF"}
)
"""Currencies without minor units (Stripe's list): `¥500`, never `¥500.00`."""

THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
"""Currencies with three decimals (ISO 4217): `1.250 KWD`."""


def decimal_places(currency: str | None) -> int:
    """How many decimals an amount in `currency` may have; 2 when the currency is unknown."""
    code = currency.upper() if currency else None
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    return 3 if code in THREE_DECIMAL_CURRENCIES else 2


def within_limits(amount: Decimal, currency: str | None) -> bool:
    """Above zero, below `MAX_AMOUNT`, and no more decimals than `currency` has.

    Trailing zeros are no decimals: `¥500.00` is within limits, `¥500.50` is not.
    """
    if not amount.is_finite() or not (0 < amount < MAX_AMOUNT):
        return False
    return _decimals(amount) <= decimal_places(currency)


def _decimals(amount: Decimal, *, significant: bool = True) -> int:
    exponent = (amount.normalize() if significant else amount).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def format_amount(amount: Decimal, currency: str | None) -> str:
    """`amount` with thousands separators and its currency's symbol or ISO code.

    Shown with its currency's decimals, or with more when it has more: never rounded.

    Args:
        currency: an ISO 4217 code; None shows the bare number, since guessing a
            currency would show the user an amount they never typed.
    """
    code = currency.upper() if currency else None
    stored = _decimals(amount, significant=False) if amount.is_finite() else 0
    places = max(decimal_places(code), stored)
    number = f"{abs(amount):,.{places}f}"
    sign = "-" if amount < 0 else ""
    if code is None:
        return f"{sign}{number}"
    symbol = _SYMBOLS.get(code)
    if symbol is not None:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {code}"
