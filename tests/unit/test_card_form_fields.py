"""The card form checks every field at once; a security code is judged by the brand of
the number, or by its own length when the number has no brand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bot.card_form import CardFormInvalid, validate_card_form
from bot.cards import Brand, parse_expiry, validate_cvc, validate_name, validate_number
from bot.errors import CardRejected

NOW = datetime(2026, 12, 4, tzinfo=UTC)
GOOD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123"}
NO_BRAND = "9999 9999 9999 9999"


def errors_for(**fields: str) -> dict[str, str]:
    with pytest.raises(CardFormInvalid) as invalid:
        validate_card_form(**{**GOOD, **fields}, now=NOW)
    return invalid.value.errors


@pytest.mark.parametrize("cvc", ["123", "1234", " 1234 ", "12 34", "1\u200b234", "1 2 3"])
def test_without_a_brand_a_three_or_four_digit_code_is_not_faulted(cvc: str) -> None:
    assert set(errors_for(number=NO_BRAND, cvc=cvc)) == {"number"}


def test_without_a_brand_a_code_of_other_length_is_judged_as_three_digits() -> None:
    errors = errors_for(number=NO_BRAND, cvc="12345")
    assert set(errors) == {"number", "cvc"}
    assert "3-digit security code on the back" in errors["cvc"]


def test_with_a_brand_the_brand_decides_the_code_length() -> None:
    errors = errors_for(cvc="1234")
    assert set(errors) == {"cvc"}
    assert "Visa cards have a 3-digit security code on the back" in errors["cvc"]
    amex = errors_for(number="3782 822463 10005", cvc="123")
    assert "Amex cards have a 4-digit security code on the front" in amex["cvc"]


def test_every_wrong_field_is_reported_at_once_and_named_in_order() -> None:
    with pytest.raises(CardFormInvalid) as invalid:
        validate_card_form(name="", number="12", expiry="13/99", cvc="x", now=NOW)
    assert set(invalid.value.errors) == {"name", "number", "expiry", "cvc"}
    assert str(invalid.value) == "invalid card form fields: ['cvc', 'expiry', 'name', 'number']"


def test_a_valid_form_is_the_card() -> None:
    card = validate_card_form(**{**GOOD, "cvc": " 1 2 3 "}, now=NOW)
    assert (card.number, card.exp_month, card.exp_year, card.cvc, card.name) == (
        "4242424242424242",
        12,
        2030,
        "123",
        "Ada Lovelace",
    )


def test_each_fields_error_is_what_its_own_check_tells_the_user() -> None:
    def told(check: Callable[[], object]) -> str:
        with pytest.raises(CardRejected) as rejected:
            check()
        return rejected.value.user_message

    errors = errors_for(name="", number="12", expiry="13/99", cvc="x")
    assert errors == {
        "name": told(lambda: validate_name("")),
        "number": told(lambda: validate_number("12")),
        "expiry": told(lambda: parse_expiry("13/99", now=NOW)),
        "cvc": told(lambda: validate_cvc("x", Brand.VISA)),
    }
    assert all(errors.values())
