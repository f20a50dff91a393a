"""Cards as Stripe sees them: brands, Luhn, masking, card errors and the test cards."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from emulator.stripe_api.exceptions import JSON, card_error

_PAN_RUN = re.compile(r"\d(?:[ -]?\d){12,18}")


@dataclass(frozen=True)
class Brand:
    """A card network as Stripe names it, with the lengths it issues."""

    name: str  # `card.brand`
    display: str  # `card.display_brand`
    lengths: frozenset[int]
    cvc_length: int


VISA = Brand("visa", "visa", frozenset({13, 16, 19}), 3)
MASTERCARD = Brand("mastercard", "mastercard", frozenset({16}), 3)
AMEX = Brand("amex", "american_express", frozenset({15}), 4)
DISCOVER = Brand("discover", "discover", frozenset({16, 19}), 3)
DINERS = Brand("diners", "diners_club", frozenset({14, 16, 19}), 3)
JCB = Brand("jcb", "jcb", frozenset({16, 17, 18, 19}), 3)
UNIONPAY = Brand("unionpay", "union_pay", frozenset({16, 17, 18, 19}), 3)

# (lowest prefix, highest prefix, brand): prefixes of one width each, first match wins.
_IIN_RANGES: Final[tuple[tuple[int, int, Brand], ...]] = (
    (4, 4, VISA),
    (51, 55, MASTERCARD),
    (2221, 2720, MASTERCARD),
    (34, 34, AMEX),
    (37, 37, AMEX),
    (6011, 6011, DISCOVER),
    (644, 649, DISCOVER),
    (65, 65, DISCOVER),
    (300, 305, DINERS),
    (36, 36, DINERS),
    (38, 39, DINERS),
    (3528, 3589, JCB),
    (62, 62, UNIONPAY),
    (81, 81, UNIONPAY),
)


def card_brand(number: str) -> Brand | None:
    """The brand a digit string's issuer prefix belongs to, or None."""
    for low, high, brand in _IIN_RANGES:
        width = len(str(low))
        if len(number) >= width and low <= int(number[:width]) <= high:
            return brand
    return None


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask_pan(number: str) -> str:
    """`****4242`: a card number reduced to its last four digits."""
    digits = "".join(char for char in number if char.isdigit())
    return "****" + digits[-4:]


def redact_pans(text: str) -> str:
    """Mask every Luhn-valid 13-19 digit run (spaces or dashes allowed) to its last four."""

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return mask_pan(digits) if luhn_valid(digits) else match.group()

    return _PAN_RUN.sub(mask, text)


@dataclass(frozen=True, repr=False)
class CardEntry:
    """A card as typed on the hosted page; lives only in the request that received it."""

    number: str
    exp_month: str
    exp_year: str
    cvc: str
    name: str


# ---------------------------------------------------------------- malformed cards

# Card errors on /v1/payment_methods name the bracketed field. Stripe's "Declines" guide
# shows `"param": "card[number]"` for a bad number, and stripe-ios fixtures show
# `"param": "card[exp_year]"` with "The payment method `card` requires the parameter:
# card[exp_year]." for a missing field. The token and charge endpoints of Stripe.js v2 used
# bare names (`number`, `exp_month`, `exp_year`, `cvc`), as confirmations' declines still
# do (see DECLINING_TEST_CARDS). We use `card[number]`, `card[exp_month]`, `card[exp_year]`,
# `card[cvc]` throughout. Not confirmed one by one for invalid_expiry_month,
# invalid_expiry_year and invalid_cvc on this endpoint, nor whether a month already past
# in the current year is invalid_expiry_month (assumed).
INCORRECT_NUMBER: Final = ("incorrect_number", "Your card number is incorrect.", "number")
INVALID_MONTH: Final = (
    "invalid_expiry_month",
    "Your card's expiration month is invalid.",
    "exp_month",
)
INVALID_YEAR: Final = ("invalid_expiry_year", "Your card's expiration year is invalid.", "exp_year")
INVALID_CVC: Final = ("invalid_cvc", "Your card's security code is invalid.", "cvc")


def checked_brand(number: str) -> Brand:
    """The brand of a well-formed number; a 402 `incorrect_number` otherwise."""
    brand = card_brand(number) if number.isdigit() else None
    if brand is None or len(number) not in brand.lengths or not luhn_valid(number):
        raise _malformed(INCORRECT_NUMBER)
    return brand


def checked_expiry(month_text: str, year_text: str, now_seconds: float) -> tuple[int, int]:
    """(month, four-digit year) of an expiry not yet past; a 402 card error otherwise."""
    now = datetime.fromtimestamp(now_seconds, UTC)
    month = _digits(month_text)
    if month is None or not 1 <= month <= 12:
        raise _malformed(INVALID_MONTH)
    year = _digits(year_text)
    if year is not None and year < 100 and len(year_text.strip()) <= 2:
        year += 2000
    if year is None or not now.year <= year <= now.year + 50:
        raise _malformed(INVALID_YEAR)
    if year == now.year and month < now.month:
        raise _malformed(INVALID_MONTH)
    return month, year


def checked_cvc(cvc: str | None, brand: Brand) -> None:
    """A 402 `invalid_cvc` unless the CVC is absent or has the brand's length in digits."""
    if cvc is not None and (not cvc.isdigit() or len(cvc) != brand.cvc_length):
        raise _malformed(INVALID_CVC)


def card_details(
    card: Mapping[str, str],
    address: Mapping[str, str],
    *,
    now: float,
    fingerprint: str,
) -> JSON:
    """A PaymentMethod's `card` hash for well-formed card parameters; 402 card errors for
    malformed ones. A declining test card is well formed: it declines at confirmation.

    `card` holds `number`, `exp_month`, `exp_year` and maybe `cvc`; the number and CVC go
    no further than this call: the answer keeps the last four digits only.
    """
    number = card["number"]
    brand = checked_brand(number)
    exp_month, exp_year = checked_expiry(card["exp_month"], card["exp_year"], now)
    cvc = card.get("cvc")
    checked_cvc(cvc, brand)
    return {
        "brand": brand.name,
        "checks": {
            "address_line1_check": "unchecked" if address.get("line1") else None,
            "address_postal_code_check": "unchecked" if address.get("postal_code") else None,
            "cvc_check": "unchecked" if cvc else None,
        },
        "country": "US",
        "display_brand": brand.display,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": fingerprint,
        "funding": "credit",
        "generated_from": None,
        "last4": number[-4:],
        "networks": {"available": [brand.name], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def _malformed(error: tuple[str, str, str]) -> Exception:
    code, message, field = error
    return card_error(code, message, f"card[{field}]")


def _digits(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


# ---------------------------------------------------------------- test cards

# Real Stripe accepts every test card below when a PaymentMethod is created; it declines
# (or asks for authentication) only when a SetupIntent or PaymentIntent confirms the card.
# The declining cards, as Stripe's testing guide lists them (error code, decline code):
# 4000000000000002 card_declined / generic_decline, 4000000000009995 card_declined /
# insufficient_funds, 4000000000000127 incorrect_cvc / none, 4000000000000069
# expired_card / none. They decline when a card is saved too: the guide sets them apart
# from 4000000000000341, "Decline after attaching", whose attaching "succeeds, but
# attempts to charge the customer fail" (stripe-node issue #695 reports 9995 declined when
# it was saved). Confirmation errors name bare fields: live PaymentIntent confirmations
# quoted in public code show `"param": "cvc"` for incorrect_cvc and `"param":
# "exp_month"` for expired_card, neither with a decline_code; the same is assumed for
# SetupIntents.
DECLINING_TEST_CARDS: Final[Mapping[str, tuple[str, str, str | None, str | None]]] = {
    "4000000000000002": ("card_declined", "Your card was declined.", None, "generic_decline"),
    "4000000000009995": (
        "card_declined",
        "Your card has insufficient funds.",
        None,
        "insufficient_funds",
    ),
    "4000000000000127": ("incorrect_cvc", "Your card's security code is incorrect.", "cvc", None),
    "4000000000000069": ("expired_card", "Your card has expired.", "exp_month", None),
}
"""number -> (code, message, param, decline_code) of the 402 a confirmation answers."""

DECLINING_AT_CHARGE: Final[Mapping[str, tuple[str, str, str | None, str | None]]] = {
    "4000000000000341": ("card_declined", "Your card was declined.", None, "generic_decline"),
}
"""Cards that are saved (a SetupIntent succeeds) and declined at every charge."""

# Stripe's 3D Secure test cards that make a setup wait for the cardholder's authentication.
THREE_D_SECURE_CARDS: Final[Mapping[str, str]] = {
    "4000002500003155": "authentication required to set up; off-session use afterwards works",
    "4000002760003184": "authentication required on every use, setups included",
    "4000000000003220": "3D Secure 2 authentication required",
}
_SET_UP_ONCE: Final = "4000002500003155"


@dataclass(frozen=True)
class Decline:
    """How a confirmation declines a test card; what the PaymentMethod keeps of the card."""

    code: str
    message: str
    param: str | None
    decline_code: str | None


AUTHENTICATE: Final = "authenticate"
"""The outcome of confirming a card that asks for 3D Secure."""

AUTHENTICATE_UNLESS_SET_UP: Final = "authenticate_unless_set_up"
"""A charge's outcome for 4000002500003155: 3D Secure on session; off session, success once
the card was set up (saved to a customer), else AUTHENTICATION_REQUIRED."""

AUTHENTICATION_REQUIRED: Final = Decline(
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
    None,
    "authentication_required",
)
"""An off-session charge of a card that asks for 3D Secure: the issuer's soft decline.

Stripe's guide to charging saved cards: such a charge fails with the code
`authentication_required` and the PaymentIntent returns to `requires_payment_method`;
the failed Charge's `failure_message` is worded so in live answers quoted publicly."""


def confirm_outcome(number: str) -> Decline | str | None:
    """What confirming this card does: a Decline, AUTHENTICATE, or None (it succeeds).

    Worked out when the PaymentMethod is made, so that the number itself is never kept.
    """
    if number in DECLINING_TEST_CARDS:
        return Decline(*DECLINING_TEST_CARDS[number])
    if number in THREE_D_SECURE_CARDS:
        return AUTHENTICATE
    return None


def charge_outcome(number: str) -> Decline | str | None:
    """What charging this card does: a Decline, AUTHENTICATE (3D Secure on every charge;
    AUTHENTICATION_REQUIRED off session), AUTHENTICATE_UNLESS_SET_UP, or None (paid).

    Stripe's testing guide: 4000002500003155 "requires authentication for one-time
    payments" but not for payments with a card set up earlier; 4000002760003184 "requires
    authentication on all transactions, regardless of how the card is set up";
    4000000000003220 is treated as the latter (assumed: the guide speaks of one-time
    payments only).
    """
    if number in DECLINING_TEST_CARDS:
        return Decline(*DECLINING_TEST_CARDS[number])
    if number in DECLINING_AT_CHARGE:
        return Decline(*DECLINING_AT_CHARGE[number])
    if number == _SET_UP_ONCE:
        return AUTHENTICATE_UNLESS_SET_UP
    if number in THREE_D_SECURE_CARDS:
        return AUTHENTICATE
    return None
