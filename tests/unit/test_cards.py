"""Card validation and card-number redaction (bot/cards.py), read as a specification."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.cards import (
    DETAILS_REDACTED,
    REDACTED,
    Brand,
    contains_pan,
    detect_brand,
    display_name,
    find_pans,
    luhn_valid,
    mask,
    may_continue_card_data,
    normalize_pan,
    parse_expiry,
    redact_pans,
    screen_turn,
    validate_cvc,
    validate_name,
    validate_number,
)
from bot.errors import CardRejected
from tests.card_oracle import MARKS, MAX_MARKS, SEPARATORS, WHITESPACE, ZERO_WIDTH, has_pan

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)

STRIPE_TEST_CARDS = [
    ("4242424242424242", Brand.VISA),
    ("5555555555554444", Brand.MASTERCARD),
    ("2223003122003222", Brand.MASTERCARD),
    ("378282246310005", Brand.AMEX),
    ("6011111111111117", Brand.DISCOVER),
    ("3056930009020004", Brand.DINERS),
    ("36227206271667", Brand.DINERS),
    ("3566002020360505", Brand.JCB),
    ("6200000000000005", Brand.UNIONPAY),
]

# Written out independently of the module: issuer ranges and lengths per brand.
PREFIX_RANGES = {
    Brand.VISA: [(4, 4)],
    Brand.MASTERCARD: [(51, 55), (2221, 2720)],
    Brand.AMEX: [(34, 34), (37, 37)],
    Brand.DISCOVER: [(6011, 6011), (644, 649), (65, 65), (622126, 622925)],
    Brand.DINERS: [(300, 305), (36, 36), (38, 39)],
    Brand.JCB: [(3528, 3589)],
    Brand.UNIONPAY: [(620000, 622125), (622926, 629999)],
}
LENGTHS = {
    Brand.VISA: [13, 16, 19],
    Brand.MASTERCARD: [16],
    Brand.AMEX: [15],
    Brand.DISCOVER: [16, 17, 18, 19],
    Brand.DINERS: [14, 16],
    Brand.JCB: [16, 17, 18, 19],
    Brand.UNIONPAY: [16, 17, 18, 19],
}


def luhn_check_digit(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


@st.composite
def generated_pans(draw: st.DrawFn) -> tuple[Brand, str]:
    brand = draw(st.sampled_from(list(Brand)))
    low, high = draw(st.sampled_from(PREFIX_RANGES[brand]))
    prefix = str(draw(st.integers(low, high)))
    length = draw(st.sampled_from(LENGTHS[brand]))
    body_size = length - len(prefix) - 1
    body = draw(st.text(alphabet="0123456789", min_size=body_size, max_size=body_size))
    partial = prefix + body
    return brand, partial + luhn_check_digit(partial)


def formatted(brand: Brand, pan: str, separator: str) -> str:
    if brand is Brand.AMEX:
        groups = [pan[:4], pan[4:10], pan[10:]]
    else:
        groups = [pan[i : i + 4] for i in range(0, len(pan), 4)]
    return separator.join(groups)


@st.composite
def gaps(draw: st.DrawFn) -> str:
    """What may sit between two groups: blanks and zero-width characters, up to three marks."""
    free = st.text("".join(WHITESPACE.values()) + "".join(ZERO_WIDTH.values()), max_size=3)
    marks = draw(st.lists(st.sampled_from(list(MARKS.values())), max_size=MAX_MARKS))
    return draw(free) + "".join(mark + draw(free) for mark in marks)


# Never digits, separators or zero-width characters: they bound a PAN cleanly.
boundary_chars = st.sampled_from(list("x!?():,;#*a"))


# --- card numbers -----------------------------------------------------------


@pytest.mark.parametrize(("pan", "brand"), STRIPE_TEST_CARDS)
def test_stripe_test_cards_validate_to_their_brand(pan: str, brand: Brand) -> None:
    assert validate_number(pan) == (pan, brand)


@pytest.mark.parametrize(("pan", "brand"), STRIPE_TEST_CARDS)
@pytest.mark.parametrize("separator", [" ", "-"])
def test_card_numbers_typed_in_groups_are_accepted(pan: str, brand: Brand, separator: str) -> None:
    assert validate_number(formatted(brand, pan, separator)) == (pan, brand)


@pytest.mark.parametrize(
    "typed",
    [
        "4242 4242 4242 4242",
        " 4242-4242-4242-4242 ",
        "4242\u00a04242\u20034242\t4242",
        "4242\u200b4242\u200c4242\u200d4242\u2060\ufeff",
        "\u0664\u0662\u0664\u0662" * 4,  # Arabic-Indic digits
        "\uff14\uff12\uff14\uff12 " * 4,  # full-width digits
    ],
)
def test_normalize_pan_returns_ascii_digits_only(typed: str) -> None:
    assert normalize_pan(typed) == "4242424242424242"


@pytest.mark.parametrize("typed", ["", "   ", "\u200b", "4242 4242 4242 424x", "4242/4242/4242"])
def test_normalize_pan_rejects_anything_but_digits_and_separators(typed: str) -> None:
    with pytest.raises(CardRejected) as rejected:
        normalize_pan(typed)
    assert rejected.value.field == "number"
    assert rejected.value.user_message


@pytest.mark.parametrize(
    ("typed", "message_part"),
    [
        ("4242 4242 4242 424O", "only digits"),
        ("1234567812345670", "We accept Visa, Mastercard, Amex, Discover, Diners Club, JCB"),
        ("424242424242424", "Visa card numbers have 13, 16 or 19 digits, but this one has 15"),
        ("3782822463100050", "Amex card numbers have 15 digits, but this one has 16"),
        ("620000000000005", "UnionPay card numbers have 16 to 19 digits, but this one has 15"),
        ("362272062716670", "Diners Club card numbers have 14 or 16 digits"),
        ("4242424242424241", "That card number doesn't look right"),
    ],
)
def test_invalid_card_numbers_are_rejected_with_a_reason(typed: str, message_part: str) -> None:
    with pytest.raises(CardRejected) as rejected:
        validate_number(typed)
    assert rejected.value.field == "number"
    assert message_part in rejected.value.user_message


def test_rejection_messages_never_repeat_the_number() -> None:
    with pytest.raises(CardRejected) as rejected:
        validate_number("4242424242424241")
    assert not contains_pan(rejected.value.user_message)
    assert "4242" not in rejected.value.user_message


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4242424242424242", True),
        ("79927398713", True),
        ("4242424242424241", False),
        ("", False),
        ("4242a42424242424", False),
    ],
)
def test_luhn_valid(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("4", Brand.VISA),
        ("51", Brand.MASTERCARD),
        ("55", Brand.MASTERCARD),
        ("2221", Brand.MASTERCARD),
        ("2720", Brand.MASTERCARD),
        ("34", Brand.AMEX),
        ("37", Brand.AMEX),
        ("6011", Brand.DISCOVER),
        ("644", Brand.DISCOVER),
        ("649", Brand.DISCOVER),
        ("65", Brand.DISCOVER),
        ("622126", Brand.DISCOVER),
        ("622925", Brand.DISCOVER),
        ("622125", Brand.UNIONPAY),
        ("622926", Brand.UNIONPAY),
        ("62", Brand.UNIONPAY),
        ("300", Brand.DINERS),
        ("305", Brand.DINERS),
        ("36", Brand.DINERS),
        ("38", Brand.DINERS),
        ("39", Brand.DINERS),
        ("3528", Brand.JCB),
        ("3589", Brand.JCB),
        ("2220", None),
        ("2721", None),
        ("56", None),
        ("306", None),
        ("3527", None),
        ("3590", None),
        ("6012", None),
        ("643", None),
        ("1", None),
    ],
)
def test_detect_brand_by_issuer_range(prefix: str, brand: Brand | None) -> None:
    assert detect_brand(prefix.ljust(16, "0")) == brand


@settings(max_examples=1000, deadline=None)
@given(card=generated_pans())
def test_every_generated_pan_validates_to_its_brand(card: tuple[Brand, str]) -> None:
    brand, pan = card
    assert validate_number(pan) == (pan, brand)


# --- expiry -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("08/27", (8, 2027)),
        ("08/2027", (8, 2027)),
        ("8/27", (8, 2027)),
        ("8/2027", (8, 2027)),
        ("08-27", (8, 2027)),
        ("08 / 27", (8, 2027)),
        ("08.27", (8, 2027)),
        ("08\u201327", (8, 2027)),
        ("  08/27  ", (8, 2027)),
        ("0827", (8, 2027)),
        ("\uff10\uff18/\uff12\uff17", (8, 2027)),
        ("11/26", (11, 2026)),
    ],
)
def test_parse_expiry_accepts_common_formats(typed: str, expected: tuple[int, int]) -> None:
    assert parse_expiry(typed, now=NOW) == expected


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_card_is_valid_through_the_last_moment_of_its_month_in_utc(now: datetime) -> None:
    assert parse_expiry("11/26", now=now) == (11, 2026)


def test_card_is_expired_from_the_first_moment_of_the_next_month_in_utc() -> None:
    with pytest.raises(CardRejected) as rejected:
        parse_expiry("11/26", now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert rejected.value.field == "expiry"
    assert "expired in 11/2026" in rejected.value.user_message


def test_past_month_is_rejected_naming_the_expiry() -> None:
    with pytest.raises(CardRejected) as rejected:
        parse_expiry("10/26", now=NOW)
    assert rejected.value.field == "expiry"
    assert rejected.value.user_message.startswith("That card expired in 10/2026")


@pytest.mark.parametrize("typed", ["00/27", "13/27", "0/27", "99/2027"])
def test_month_outside_1_to_12_is_rejected(typed: str) -> None:
    with pytest.raises(CardRejected) as rejected:
        parse_expiry(typed, now=NOW)
    assert rejected.value.field == "expiry"
    assert rejected.value.user_message == "The expiry month must be 01–12, as MM/YY, e.g. 08/27."


@pytest.mark.parametrize("typed", ["11/2046", "11/46"])
def test_expiry_exactly_20_years_ahead_is_accepted(typed: str) -> None:
    assert parse_expiry(typed, now=NOW) == (11, 2046)


@pytest.mark.parametrize("typed", ["12/2046", "01/2047", "12/99"])
def test_expiry_more_than_20_years_ahead_is_rejected(typed: str) -> None:
    with pytest.raises(CardRejected) as rejected:
        parse_expiry(typed, now=NOW)
    assert rejected.value.field == "expiry"
    assert "more than 20 years away" in rejected.value.user_message


@pytest.mark.parametrize(
    "typed", ["", "next year", "0827x", "08/2", "08/027", "1/2/27", "082027", "08_27", "aug 27"]
)
def test_unparseable_expiry_asks_for_mm_yy(typed: str) -> None:
    with pytest.raises(CardRejected) as rejected:
        parse_expiry(typed, now=NOW)
    assert rejected.value.field == "expiry"
    assert rejected.value.user_message == "Type the expiry as MM/YY, for example 08/27."


def test_parse_expiry_refuses_a_naive_clock() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_expiry("08/27", now=datetime(2026, 11, 15))


# --- security code and name -------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "brand", "expected"),
    [
        ("123", Brand.VISA, "123"),
        (" 1 2 3 ", Brand.MASTERCARD, "123"),
        ("1234", Brand.AMEX, "1234"),
        ("\uff11\uff12\uff13", Brand.JCB, "123"),
    ],
)
def test_valid_security_codes_are_returned_as_digits(
    typed: str, brand: Brand, expected: str
) -> None:
    assert validate_cvc(typed, brand) == expected


@pytest.mark.parametrize(
    ("typed", "brand", "message"),
    [
        ("123", Brand.AMEX, "Amex cards have a 4-digit security code on the front"),
        ("abcd", Brand.AMEX, "Amex cards have a 4-digit security code on the front"),
        ("1234", Brand.VISA, "Visa cards have a 3-digit security code on the back"),
        ("12a", Brand.VISA, "Visa cards have a 3-digit security code on the back"),
        ("", Brand.MASTERCARD, "Mastercard cards have a 3-digit security code on the back"),
        ("12", Brand.DINERS, "Diners Club cards have a 3-digit security code on the back"),
    ],
)
def test_wrong_security_codes_say_how_many_digits_to_type(
    typed: str, brand: Brand, message: str
) -> None:
    with pytest.raises(CardRejected) as rejected:
        validate_cvc(typed, brand)
    assert rejected.value.field == "cvc"
    assert rejected.value.user_message.startswith(message)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("  Jane Doe  ", "Jane Doe"), ("José Ñúñez", "José Ñúñez"), ("J" * 100, "J" * 100)],
)
def test_cardholder_name_is_stripped(typed: str, expected: str) -> None:
    assert validate_name(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message_part"),
    [
        ("", "cardholder's name"),
        ("   ", "cardholder's name"),
        ("J" * 101, "at most 100 characters"),
        ("4242 4242 4242 4242", "looks like a card number"),
        ("Jane Doe 4242424242424242", "looks like a card number"),
        ("12345", "needs letters"),
        ("-- .", "needs letters"),
    ],
)
def test_invalid_cardholder_names_are_rejected(typed: str, message_part: str) -> None:
    with pytest.raises(CardRejected) as rejected:
        validate_name(typed)
    assert rejected.value.field == "name"
    assert message_part in rejected.value.user_message


# --- display ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("visa", "Visa"),
        ("mastercard", "Mastercard"),
        ("amex", "Amex"),
        ("discover", "Discover"),
        ("diners", "Diners Club"),
        ("jcb", "JCB"),
        ("unionpay", "UnionPay"),
        (Brand.AMEX, "Amex"),
        ("eftpos", "Eftpos"),
        ("cartes_bancaires", "Cartes bancaires"),
        ("unknown", "Card"),
    ],
)
def test_display_name(code: str, name: str) -> None:
    assert display_name(code) == name


@pytest.mark.parametrize(
    ("brand", "last4", "shown"),
    [("visa", "4242", "Visa •••• 4242"), ("amex", "0005", "Amex •••• 0005")],
)
def test_mask_shows_brand_bullets_and_last_four(brand: str, last4: str, shown: str) -> None:
    assert mask(brand, last4) == shown


def test_mask_uses_bullet_characters_and_no_other_digits() -> None:
    shown = mask("visa", "4242")

    assert shown.count("\u2022") == 4
    assert sum(c.isdigit() for c in shown) == 4


@pytest.mark.parametrize(
    "last4", ["424", "42424", "4242424242424242", "abcd", "\u0664\u0662\u0664\u0662"]
)
def test_mask_refuses_anything_but_four_ascii_digits(last4: str) -> None:
    with pytest.raises(ValueError, match="four ASCII digits"):
        mask("visa", last4)


# --- card numbers in free text ----------------------------------------------


def test_find_pans_spans_the_run_from_first_to_last_digit() -> None:
    assert find_pans("card: 4242-4242-4242-4242. thanks") == [(6, 25)]


def test_redact_pans_replaces_only_the_card_number() -> None:
    text = "my card is 4242 4242 4242 4242, exp 08/27"
    assert redact_pans(text) == f"my card is {REDACTED}, exp 08/27"


def test_redact_pans_uses_a_given_replacement() -> None:
    assert redact_pans("a 4242424242424242 b", "***") == "a *** b"


def test_redact_pans_removes_a_whole_run_that_merely_contains_a_pan() -> None:
    assert redact_pans("id 99 4242424242424242 99 ok") == f"id {REDACTED} ok"


def test_redact_pans_removes_every_pan_in_a_message() -> None:
    text = "first 5555555555554444 then 378282246310005!"
    assert redact_pans(text) == f"first {REDACTED} then {REDACTED}!"


@pytest.mark.parametrize("separator", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_a_card_number_grouped_by_any_claimed_separator_is_redacted(separator: str) -> None:
    typed = separator.join(["4242"] * 4)

    assert redact_pans(f"card {typed} ok") == f"card {REDACTED} ok"


@pytest.mark.parametrize("separator", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_a_card_number_grouped_by_any_claimed_separator_is_read_as_its_digits(
    separator: str,
) -> None:
    assert normalize_pan(separator.join(["4242"] * 4)) == "4242424242424242"


@settings(max_examples=1000, deadline=None)
@given(card=generated_pans(), data=st.data(), prefix=st.text(), suffix=st.text())
def test_a_card_number_with_claimed_separators_between_any_digits_is_found(
    card: tuple[Brand, str], data: st.DataObject, prefix: str, suffix: str
) -> None:
    _, pan = card
    between = data.draw(st.lists(gaps(), min_size=len(pan) - 1, max_size=len(pan) - 1))
    typed = pan[0] + "".join(gap + digit for gap, digit in zip(between, pan[1:], strict=True))
    text = prefix + typed + suffix

    assert has_pan(text)
    assert contains_pan(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "4242",
        "order 12345 is ready",
        "call +1 415 555 0100 please",
        "due 2026-11-26",
        "that is $1,250.00 in total",
        "1234567812345678",
        "exp 08/27 cvc 123",
    ],
)
def test_text_without_card_numbers_is_left_alone(text: str) -> None:
    assert not contains_pan(text)
    assert redact_pans(text) == text


@settings(max_examples=1000, deadline=None)
@given(
    card=generated_pans(),
    separator=st.one_of(st.sampled_from(["", *SEPARATORS.values()]), gaps()),
    prefix=st.text(),
    suffix=st.text(),
    left=boundary_chars,
    right=boundary_chars,
)
def test_redacted_text_holds_no_card_number(
    card: tuple[Brand, str], separator: str, prefix: str, suffix: str, left: str, right: str
) -> None:
    brand, pan = card
    text = prefix + left + formatted(brand, pan, separator) + right + suffix

    redacted = redact_pans(text)

    assert find_pans(redacted) == []
    assert not has_pan(redacted)


@settings(max_examples=1000, deadline=None)
@given(
    card=generated_pans(),
    separator=st.one_of(st.sampled_from(["", *SEPARATORS.values()]), gaps()),
    prefix=st.text(),
    suffix=st.text(),
    left=boundary_chars,
    right=boundary_chars,
)
def test_redaction_keeps_the_text_around_a_card_number_exactly(
    card: tuple[Brand, str], separator: str, prefix: str, suffix: str, left: str, right: str
) -> None:
    assume(not has_pan(prefix) and not has_pan(suffix))
    brand, pan = card
    text = prefix + left + formatted(brand, pan, separator) + right + suffix

    assert redact_pans(text) == prefix + left + REDACTED + right + suffix


def arabic_indic(pan: str) -> str:
    return "".join(chr(0x0660 + int(d)) for d in pan)


def full_width(pan: str) -> str:
    return "".join(chr(0xFF10 + int(d)) for d in pan)


def zero_width_between(pan: str) -> str:
    return "\u200b".join(pan)


def zero_width_and_space_between(pan: str) -> str:
    return "\u200d \u00ad".join(pan)


@settings(max_examples=1000, deadline=None)
@given(
    card=generated_pans(),
    disguise=st.sampled_from(
        [arabic_indic, full_width, zero_width_between, zero_width_and_space_between]
    ),
)
def test_pans_in_unicode_digits_or_with_zero_width_characters_are_redacted(
    card: tuple[Brand, str], disguise: Callable[[str], str]
) -> None:
    _, pan = card

    assert redact_pans(f"pay {disguise(pan)} now") == f"pay {REDACTED} now"


def test_a_40000_digit_run_of_card_numbers_is_redacted_to_one_replacement() -> None:
    text = "4242424242424242" * 2500

    assert redact_pans(text) == REDACTED


def test_a_40000_character_run_without_a_luhn_window_is_left_alone() -> None:
    text = "1 " * 20000  # thirteen to nineteen ones never pass Luhn

    assert redact_pans(text) == text


def test_many_card_numbers_in_40000_characters_are_each_redacted() -> None:
    text = "hello 4242 4242 4242 4242 " * 1540

    assert redact_pans(text) == f"hello {REDACTED} " * 1540


@pytest.mark.parametrize(
    "text",
    [
        "4242  4242  4242  4242",
        "4242 - 4242 - 4242 - 4242",
        "4242\t\t4242\t\t4242\t\t4242",
    ],
)
def test_card_numbers_with_short_runs_of_separators_are_redacted(text: str) -> None:
    assert redact_pans(f"card {text} ok") == f"card {REDACTED} ok"


BLANKS = " \t\n\r\u00a0\u2003\u3000"


@settings(max_examples=1000, deadline=None)
@given(card=generated_pans(), data=st.data())
def test_card_numbers_with_any_runs_of_whitespace_between_digits_are_found(
    card: tuple[Brand, str], data: st.DataObject
) -> None:
    _, pan = card
    gaps = data.draw(
        st.lists(st.text(BLANKS, max_size=40), min_size=len(pan) - 1, max_size=len(pan) - 1)
    )
    spaced = pan[0] + "".join(gap + digit for gap, digit in zip(gaps, pan[1:], strict=True))

    assert redact_pans(f"card: {spaced}!") == f"card: {REDACTED}!"


@pytest.mark.parametrize(
    "text",
    [
        "pay 4000 USD for invoice 5566",
        "pay 4000    USD   for invoice    5566",
        "invoice INV-2024-0012, amount 1 250.00 EUR, due 2026-11-26",
        "call me on +44 20 7946 0958 or +1 415 555 0100",
        "orders 12345, 67890 and 24680 are ready",
        "meeting 12/30 at 10:30, room 4",
    ],
)
def test_ordinary_numbers_in_text_are_not_taken_for_a_card(text: str) -> None:
    screened = screen_turn(text, ["hi", "I'd like to pay 45"])

    assert screened.text == text
    assert not screened.removed


def test_a_number_split_across_two_turns_is_removed_from_both() -> None:
    screened = screen_turn("5556", ["my card is 4000 0566 5566"])

    assert screened.text == REDACTED
    assert screened.earlier == (f"my card is {REDACTED}",)
    assert screened.removed


def test_a_number_split_over_several_digit_only_turns_is_removed_from_each() -> None:
    screened = screen_turn("5556 thanks", ["hello", "card 4000", "0566", "5566"])

    assert screened.text == REDACTED
    assert screened.earlier == ("hello", f"card {REDACTED}", REDACTED, REDACTED)


def test_a_turn_ending_in_words_stops_a_number_reaching_further_back() -> None:
    screened = screen_turn("5566 5556", ["4000 0566", "that was my order number"])

    assert not screened.removed
    assert screened.earlier == ("4000 0566", "that was my order number")


@settings(max_examples=500, deadline=None)
@given(card=generated_pans(), data=st.data())
def test_a_card_number_cut_anywhere_across_two_turns_is_found(
    card: tuple[Brand, str], data: st.DataObject
) -> None:
    _, pan = card
    cut = data.draw(st.integers(1, len(pan) - 1))
    blank = data.draw(st.text(BLANKS, max_size=6))

    screened = screen_turn(f"{blank}{pan[cut:]} ok", [f"my card is {pan[:cut]}{blank}"])

    assert screened.text == REDACTED
    assert not any(c.isdecimal() for c in screened.earlier[0])


@pytest.mark.parametrize(
    "follow_up", ["cvc 737 exp 12/30", "737", "12/30", "CVV: 1234", "exp 1230"]
)
def test_a_cvc_or_expiry_right_after_a_removed_number_is_removed(follow_up: str) -> None:
    screened = screen_turn(follow_up, ["hi", REDACTED])

    assert screened.text == DETAILS_REDACTED
    assert screened.removed


@pytest.mark.parametrize("follow_up", ["cvc 737 exp 12/30", "737", "12/30"])
def test_a_cvc_or_expiry_shaped_text_without_a_removed_number_before_is_kept(
    follow_up: str,
) -> None:
    assert screen_turn(follow_up, ["hi", "I'd like to pay"]).text == follow_up


def test_after_a_removed_number_an_ordinary_answer_is_kept() -> None:
    assert screen_turn("pay 4000 USD for invoice 5566", [REDACTED]).text == (
        "pay 4000 USD for invoice 5566"
    )


@pytest.mark.parametrize(
    ("text", "may"),
    [
        ("5556", True),
        ("  - 0566 5566", True),
        ("cvc 737", True),
        ("12/30", True),
        ("pay 45 USD INV-1001", False),
        ("hello", False),
    ],
)
def test_only_text_the_turns_before_could_make_card_data_needs_them(text: str, may: bool) -> None:
    assert may_continue_card_data(text) is may


@pytest.mark.parametrize(
    "name",
    [
        "Jane 4000    0566    5566    5556",
        "Jane 4000\t\t\t\t0566 5566 5556",
        "Jane 1234567812345678",
    ],
)
def test_a_cardholder_name_with_a_card_length_digit_run_is_refused(name: str) -> None:
    with pytest.raises(CardRejected) as refused:
        validate_name(name)
    assert refused.value.field == "name"


@pytest.mark.parametrize(
    "gap", ["-" * MAX_MARKS, " - " * MAX_MARKS, "\uff0e" * MAX_MARKS, "\u3002" * MAX_MARKS]
)
def test_up_to_the_allowed_marks_between_groups_keep_one_number(gap: str) -> None:
    text = gap.join(["4242"] * 4)
    assert has_pan(text)
    assert contains_pan(text)
    assert redact_pans(text) == REDACTED


@pytest.mark.parametrize("gap", ["-" * (MAX_MARKS + 1), " - " * (MAX_MARKS + 1), "." * 9])
def test_one_mark_more_than_allowed_ends_the_run(gap: str) -> None:
    """The detector's documented bound: three marks in one gap, in the product and the oracle."""
    text = gap.join(["4242"] * 4)
    assert not has_pan(text)
    assert not contains_pan(text)
    assert redact_pans(text) == text
