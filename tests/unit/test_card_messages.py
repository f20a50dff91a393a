"""What the card form tells a person, word for word, and how a two-digit year is read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cards import CardRejected, parse_expiry, validate_name, validate_number

IN_2095 = datetime(2095, 6, 1, tzinfo=UTC)


def told(field: str, check: object) -> str:
    assert callable(check)
    with pytest.raises(CardRejected) as rejected:
        check()
    assert rejected.value.field == field
    return rejected.value.user_message


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("   ", "Please type the cardholder's name as it appears on the card."),
        (
            "Jane 4242 4242 4242 4242",
            "That looks like a card number — please type the cardholder's name here "
            "and the card number in the card number field.",
        ),
        (
            "J" * 101,
            "The cardholder name can be at most 100 characters — "
            "please type it as it appears on the card.",
        ),
        (
            "12 34",
            "The cardholder name needs letters — type it as it appears on the card, e.g. Jane Doe.",
        ),
    ],
)
def test_a_refused_name_is_told_why_in_these_words(typed: str, message: str) -> None:
    assert told("name", lambda: validate_name(typed)) == message


def test_an_expired_card_is_told_its_month_in_these_words() -> None:
    assert told("expiry", lambda: parse_expiry("06/45", now=IN_2095)) == (
        "That card expired in 06/2045 — please use a card that is still valid, "
        "or check the date on the card."
    )


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [("06/05", (6, 2105)), ("06/95", (6, 2095)), ("12/99", (12, 2099))],
)
def test_a_two_digit_year_is_read_within_fifty_years_back_of_now(
    typed: str, read_as: tuple[int, int]
) -> None:
    assert parse_expiry(typed, now=IN_2095) == read_as


def test_a_two_digit_year_51_years_back_is_read_as_a_century_ahead() -> None:
    assert told("expiry", lambda: parse_expiry("06/44", now=IN_2095)).startswith(
        "That expiry date is more than 20 years away"
    )


def test_a_two_digit_year_is_read_in_the_century_of_now() -> None:
    # In 2010, "70" is 2070 (too far ahead), not 1970 (long expired).
    in_2010 = datetime(2010, 6, 1, tzinfo=UTC)
    assert told("expiry", lambda: parse_expiry("12/70", now=in_2010)).startswith(
        "That expiry date is more than 20 years away"
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "4242 abcd",
            "A card number has only digits (spaces and dashes are fine) — "
            "please check it and type it again.",
        ),
        (" - ", "Please type the long number on the front of your card."),
        (
            "9999 9999 9999 9999",
            "We accept Visa, Mastercard, Amex, Discover, Diners Club, JCB and UnionPay, "
            "and this number doesn't match any of them — please check it and type it again.",
        ),
        (
            "4242 4242 4242 4241",
            "That card number doesn't look right — please check the digits and type it again.",
        ),
    ],
)
def test_a_refused_number_is_told_why_in_these_words(typed: str, message: str) -> None:
    assert told("number", lambda: validate_number(typed)) == message
