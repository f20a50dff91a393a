"""AuditRecord: a fact of the payment trail never holds a card number, in any field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from bot.cards import contains_pan
from bot.models import AuditRecord

PAN = "4242424242424242"
NOT_A_PAN = "1111111111111111"
"""Sixteen digits with no Luhn-valid run of 13 to 19: what every field below may hold."""


def build(**fields: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "id": "charge_succeeded:pi_1",
        "at": 1_700_000_000,
        "action": "charge_succeeded",
        "actor": "stripe",
        "payer": "slack:T1:U1",
        "amount": Decimal("45.10"),
        "currency": "USD",
        "reference": "INV-1001",
        "intent_id": "pi_1",
        "refund_id": "re_1",
        "brand": "visa",
        "last4": "4242",
        "detail": "card_declined",
    }
    return AuditRecord(**{**values, **fields})


# Each field with a value its own pattern allows, around a number: the PAN check alone refuses.
FIELDS = {
    "id": "charge_succeeded:{}",
    "reference": "INV-{}",
    "intent_id": "pi_{}",
    "refund_id": "re_{}",
    "brand": "{}",
    "detail": "declined for {}",
}
SPELLINGS = [PAN, "4242 4242 4242 4242", "4242-4242-4242-4242", "4242.4242.4242.4242"]


def test_the_control_number_is_no_card_number_and_the_card_is_one() -> None:
    assert not contains_pan(NOT_A_PAN)
    assert contains_pan(PAN)


@pytest.mark.parametrize("field", FIELDS)
def test_a_field_may_hold_a_long_number_that_is_no_card_number(field: str) -> None:
    record = build(**{field: FIELDS[field].format(NOT_A_PAN)})

    assert getattr(record, field) == FIELDS[field].format(NOT_A_PAN)


@pytest.mark.parametrize("field", FIELDS)
def test_a_card_number_in_any_field_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match="never hold a card number"):
        build(**{field: FIELDS[field].format(PAN)})


TEAMS_PERSON = "teams:72f988bf-86f1-41af-91ab-2d7cd011db47:38ee4d7e-3525-4505-8115-173c0f1fe074"
"""A Teams tenant and person whose GUIDs' digit groups read as a card number."""


def test_a_teams_person_whose_ids_read_as_a_card_number_is_recorded() -> None:
    assert contains_pan(TEAMS_PERSON)
    record = build(actor=TEAMS_PERSON, payer=TEAMS_PERSON)
    assert (record.actor, record.payer) == (TEAMS_PERSON, TEAMS_PERSON)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_card_number_is_refused_however_it_is_spaced(spelling: str) -> None:
    with pytest.raises(ValidationError, match="never hold a card number"):
        build(detail=f"declined for {spelling}")


def test_an_amount_whose_digits_read_as_a_card_number_is_refused() -> None:
    with pytest.raises(ValidationError, match="never hold a card number"):
        build(amount=Decimal("4242.424242424242"))


def test_a_record_cannot_be_changed_once_built() -> None:
    record = build()

    with pytest.raises(ValidationError):
        record.detail = f"declined for {PAN}"  # type: ignore[misc]
