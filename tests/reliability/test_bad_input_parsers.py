"""Every parser, fed hostile text: it answers or refuses in its own terms, and never crashes.

Card parsers refuse with `CardRejected`; the card form with `CardFormInvalid`
naming only its own fields; the rule engine's parsers always answer. Whether text holds a
card number is judged by `tests.card_oracle`, never by the detector under test.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import cards, rules
from bot.card_form import FIELDS, CardFormInvalid, validate_card_form
from bot.errors import CardRejected
from bot.models import CardDetails, Slots
from tests.card_oracle import SEPARATORS, has_pan
from tests.reliability.adversarial import (
    DIGIT_ZEROS,
    VISA,
    grouped,
    hostile_text,
    in_script,
    pan_rendering,
)

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
HOSTILE = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def separated_pan_text(draw: st.DrawFn) -> str:
    """Text holding a card number joined by each claimed separator in turn, in any digit script."""
    script = draw(st.sampled_from(sorted(DIGIT_ZEROS)))
    separators = draw(st.permutations(list(SEPARATORS.values())))
    numbers = [grouped(in_script(VISA, script), separator) for separator in separators]
    return draw(st.text(max_size=40)) + " " + " / ".join(numbers) + " " + draw(st.text(max_size=40))


def any_text() -> st.SearchStrategy[str]:
    return st.one_of(hostile_text(), separated_pan_text())


def outcome_of(call: Callable[[], object], refusal: type[Exception]) -> object:
    """What `call` returns, or the `refusal` it raises; anything else propagates."""
    try:
        return call()
    except refusal as refused:
        return refused


CARD_PARSERS: dict[str, Callable[[str], object]] = {
    "normalize_pan": cards.normalize_pan,
    "validate_number": cards.validate_number,
    "parse_expiry": lambda text: cards.parse_expiry(text, now=NOW),
    "validate_cvc visa": lambda text: cards.validate_cvc(text, cards.Brand.VISA),
    "validate_cvc amex": lambda text: cards.validate_cvc(text, cards.Brand.AMEX),
    "validate_name": cards.validate_name,
}


@pytest.mark.parametrize("parse", CARD_PARSERS.values(), ids=CARD_PARSERS.keys())
@HOSTILE
@given(text=any_text())
def test_a_card_parser_accepts_or_refuses_with_card_rejected(
    parse: Callable[[str], object], text: str
) -> None:
    result = outcome_of(lambda: parse(text), CardRejected)
    if isinstance(result, CardRejected):
        assert result.field in {"number", "expiry", "cvc", "name"}
        assert result.user_message
        assert not has_pan(result.user_message)


@HOSTILE
@given(text=any_text())
def test_card_number_scanning_never_crashes_and_redaction_leaves_no_card_number(text: str) -> None:
    spans = cards.find_pans(text)
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert cards.contains_pan(text) == bool(spans) == has_pan(text)
    redacted = cards.redact_pans(text)
    assert not has_pan(redacted)
    assert cards.redact_pans(redacted) == redacted


@HOSTILE
@given(text=hostile_text(), offered=st.booleans())
def test_the_rule_engines_parsers_always_answer(text: str, offered: bool) -> None:
    parsed = rules.parse(text, card_form_offered=offered)
    assert isinstance(parsed.slots, Slots)
    assert rules.extract_slots(text) == Slots.model_validate(rules.extract_slots(text).model_dump())
    rules.extract_amount(text)
    rules.extract_reference(text)
    rules.extract_email(text)


@HOSTILE
@given(
    name=hostile_text(),
    number=st.one_of(hostile_text(), pan_rendering(), separated_pan_text()),
    expiry=hostile_text(),
    cvc=hostile_text(),
)
def test_the_card_form_accepts_or_names_only_its_own_fields(
    name: str, number: str, expiry: str, cvc: str
) -> None:
    result = outcome_of(
        lambda: validate_card_form(name=name, number=number, expiry=expiry, cvc=cvc, now=NOW),
        CardFormInvalid,
    )
    if isinstance(result, CardFormInvalid):
        assert result.errors
        assert set(result.errors) <= set(FIELDS)
        assert all(result.errors.values())
        assert not any(has_pan(message) for message in result.errors.values())
    else:
        assert isinstance(result, CardDetails)
        assert result.number.isascii()
        assert result.number.isdigit()
        assert result.cvc.isascii()
        assert result.cvc.isdigit()


@pytest.mark.parametrize("script", sorted(DIGIT_ZEROS))
def test_a_card_typed_in_any_digit_script_is_read_as_ascii(script: str) -> None:
    card = validate_card_form(
        name="Ada Lovelace",
        number=grouped(in_script(VISA, script), " "),
        expiry=in_script("08/30", script),
        cvc=in_script("123", script),
        now=NOW,
    )
    assert (card.number, card.exp_month, card.exp_year, card.cvc) == (VISA, 8, 2030, "123")


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "",
        "\u200b\u200b",
        "\U0001f4b3\U0001f4b3\U0001f4b3",
        "4" * 40_000,
        in_script("4242 4242 4242 4241", "full-width"),
    ],
)
def test_garbage_in_every_field_is_refused_field_by_field(text: str) -> None:
    with pytest.raises(CardFormInvalid) as invalid:
        validate_card_form(name=text, number=text, expiry=text, cvc=text, now=NOW)
    assert set(invalid.value.errors) <= set(FIELDS)
    assert {"number", "expiry"} <= set(invalid.value.errors)


CASE_FOLDED_CURRENCIES = [
    "pay 45 D\u212a\u212a",  # DKK with KELVIN SIGN, which case-folds to k
    "pay 45 \u0130NR",  # INR with a Turkish dotted capital I, typed with a Turkish keyboard
    "/pay 45 \u0130LS invoice 7",
]


@pytest.mark.parametrize("text", CASE_FOLDED_CURRENCIES)
def test_a_look_alike_currency_code_is_not_taken_for_a_currency(text: str) -> None:
    parsed = rules.parse(text)
    assert parsed.slots.currency is None
    assert parsed.slots.amount == 45
