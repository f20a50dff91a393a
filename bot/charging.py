"""Charging a saved card (PAYMENT_MODE=charge): the policy, minor units, idempotency keys.

Pure: no provider here. The state machine decides when a charge may be made (only on
the person's press of Pay); the payment adapter makes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from bot.models import Charge, ChatUser
from bot.money import ISO_CURRENCIES, decimal_places

# One charge's ceiling per currency, about 10,000 US dollars in each (rounded to a plain
# figure): a sane default for a chat payment, which a deployment overrides with
# PAYMENT_MAX_AMOUNT.
_DEFAULT_MAX_AMOUNTS = {
    "USD": "10000", "EUR": "10000", "GBP": "8000", "CHF": "10000", "CAD": "14000",
    "AUD": "15000", "NZD": "17000", "SEK": "100000", "NOK": "100000", "DKK": "70000",
    "PLN": "40000", "CZK": "230000", "HUF": "3500000", "INR": "850000", "CNY": "70000",
    "HKD": "78000", "SGD": "13000", "MXN": "180000", "BRL": "55000", "ZAR": "180000",
    "ILS": "37000", "KRW": "14000000", "AED": "36000", "JPY": "1500000", "BHD": "3700",
    "JOD": "7000", "KWD": "3000", "OMR": "3800", "TND": "30000",
}  # fmt: skip
DEFAULT_MAX_AMOUNTS: Mapping[str, Decimal] = MappingProxyType(
    {code: Decimal(value) for code, value in _DEFAULT_MAX_AMOUNTS.items()}
)
assert set(DEFAULT_MAX_AMOUNTS) == ISO_CURRENCIES


@dataclass(frozen=True)
class ChargePolicy:
    """What a deployment that charges allows: one charge's ceiling per currency.

    A currency without a ceiling cannot be charged here.
    """

    max_amounts: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_MAX_AMOUNTS)

    def refusal(self, amount: Decimal, currency: str) -> str | None:
        """Why `amount` in `currency` may not be charged, or None when it may."""
        ceiling = self.max_amounts.get(currency)
        if ceiling is None:
            return "currency"
        return "amount" if amount > ceiling else None


def parse_max_amounts(text: str) -> dict[str, Decimal]:
    """`USD:5000,EUR:4500` as ceilings per currency; raises ValueError naming the bad part.

    Currencies not named keep their default ceiling.
    """
    found = dict(DEFAULT_MAX_AMOUNTS)
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        code, _, figure = part.partition(":")
        code = code.strip().upper()
        if code not in ISO_CURRENCIES:
            raise ValueError(f"{code or part!r} is not a currency paybot knows")
        try:
            ceiling = Decimal(figure.strip())
        except ArithmeticError:
            raise ValueError(f"{part!r} is not CURRENCY:AMOUNT") from None
        if not ceiling.is_finite() or ceiling <= 0:
            raise ValueError(f"{part!r}: the ceiling must be a positive amount")
        found[code] = ceiling
    return found


def minor_units(amount: Decimal, currency: str) -> int:
    """`amount` in its currency's smallest unit, as Stripe takes it: `45.00 USD` -> 4500,
    `¥500` -> 500, `1.250 KWD` -> 1250. Exact: amounts never have more decimals than
    their currency (`Slots`), so nothing is rounded."""
    scaled = amount.scaleb(decimal_places(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError("more decimals than the currency has")
    return int(scaled)


def major_units(amount: int, currency: str) -> Decimal:
    """An amount in its currency's smallest unit as the amount itself: 4500 USD -> 45.00."""
    return Decimal(amount).scaleb(-decimal_places(currency.upper()))


def idempotency_key(user: ChatUser, charge: Charge) -> str:
    """The provider's idempotency key for one charge: derived from the business operation
    (the person, the payment's reference, the offer's attempt and opaque key), never from a
    request id, a token or card data. A redelivered or double press of Pay, or a retried
    invocation, sends the same key, so the provider charges once."""
    return (
        f"paybot-charge-{user.surface}-{user.tenant_id}-{user.user_id}"
        f"-{charge.reference}-{charge.attempt}-{charge.key}"
    )
