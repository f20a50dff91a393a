"""Session model: the last line of defence against storing card data."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.models import MAX_HISTORY, CardDetails, Session, Slots, Turn

PAN = "4242 4242 4242 4242"


def test_a_session_with_a_card_number_in_history_cannot_be_built() -> None:
    with pytest.raises(ValidationError, match="never hold a card number"):
        Session(team_id="T", user_id="U", history=(Turn(role="user", text=f"my card {PAN}"),))


def test_a_session_with_a_card_number_in_a_slot_cannot_be_built() -> None:
    with pytest.raises(ValidationError, match="never hold a card number"):
        Session(team_id="T", user_id="U", slots=Slots(reference="4242424242424242"))


def test_evolve_validates_again_so_a_card_number_cannot_slip_in() -> None:
    with pytest.raises(ValidationError):
        Session(team_id="T", user_id="U").with_turn("user", PAN)


def test_history_is_trimmed_to_the_most_recent_turns() -> None:
    turns = tuple(Turn(role="user", text=str(n)) for n in range(MAX_HISTORY + 5))
    session = Session(team_id="T", user_id="U", history=turns)
    assert [t.text for t in session.history] == [str(n) for n in range(5, MAX_HISTORY + 5)]


def test_slots_merge_takes_only_values_the_update_sets() -> None:
    merged = Slots(currency="USD", reference="A").merged(Slots(reference="B"))
    assert merged == Slots(currency="USD", reference="B")


def test_card_details_never_show_their_contents() -> None:
    card = CardDetails(number="4242424242424242", exp_month=1, exp_year=2030, cvc="123", name="A")
    assert "4242" not in repr(card)
    assert "123" not in str(card)
    assert "4242" not in f"{card!r} {card}"


def _stored(**slots: object) -> str:
    """A session's JSON as an older version of paybot stored it, past today's validation."""
    data = Session(team_id="T", user_id="U", version=7).model_dump(mode="json")
    return json.dumps({**data, "slots": {**data["slots"], **slots}})


def test_a_stored_session_whose_slots_a_newer_rule_refuses_loads_without_them() -> None:
    loaded = Session.from_stored(_stored(amount="500.50", currency="JPY"))
    assert loaded.slots == Slots()
    assert (loaded.version, loaded.user_id) == (7, "U")


def test_a_stored_session_that_holds_a_card_number_still_cannot_be_loaded() -> None:
    stored = json.loads(_stored())
    stored["history"] = [{"role": "user", "text": f"my card {PAN}"}]
    with pytest.raises(ValidationError):
        Session.from_stored(json.dumps(stored))
