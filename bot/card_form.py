"""Validate the card modal's fields together, so every mistake is shown at once."""

from __future__ import annotations

from datetime import datetime

from bot.cards import Brand, parse_expiry, validate_cvc, validate_name, validate_number
from bot.errors import CardRejected, PaybotError
from bot.models import CardDetails

FIELDS = ("name", "number", "expiry", "cvc")
"""The modal's inputs, in order; also the block ids that inline errors are keyed by."""


class CardFormInvalid(PaybotError):
    """One or more fields are wrong; `errors` maps field name to a message for the user."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(f"invalid card form fields: {sorted(errors)}")
        self.errors = errors


def validate_card_form(
    *, name: str, number: str, expiry: str, cvc: str, now: datetime
) -> CardDetails:
    """Return the card if every field is valid, else raise `CardFormInvalid` with all errors."""
    errors: dict[str, str] = {}
    brand: Brand | None = None
    month = year = 0
    checked_name = pan = code = ""
    try:
        checked_name = validate_name(name)
    except CardRejected as exc:
        errors["name"] = exc.user_message
    try:
        pan, brand = validate_number(number)
    except CardRejected as exc:
        errors["number"] = exc.user_message
    try:
        month, year = parse_expiry(expiry, now=now)
    except CardRejected as exc:
        errors["expiry"] = exc.user_message
    try:
        # Without a known brand, accept either length; the number's error says why.
        code = validate_cvc(cvc, brand or _lenient_brand(cvc))
    except CardRejected as exc:
        errors["cvc"] = exc.user_message
    if errors:
        raise CardFormInvalid(errors)
    return CardDetails(number=pan, exp_month=month, exp_year=year, cvc=code, name=checked_name)


def _lenient_brand(cvc: str) -> Brand:
    """The brand whose code length the typed CVC has, counting its digits, not its blanks."""
    return Brand.AMEX if sum(c.isdecimal() for c in cvc) == 4 else Brand.VISA
