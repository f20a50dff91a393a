"""Session model: the last line of defence against storing card data."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.cards import contains_pan
from bot.models import MAX_HISTORY, CardDetails, ChatUser, ReplyAddress, Session, Slots, Turn

PAN = "4242 4242 4242 4242"


def test_a_session_with_a_card_number_in_history_cannot_be_built() -> None:
    with pytest.raises(ValidationError, match="never hold a card number"):
        Session(tenant_id="T", user_id="U", history=(Turn(role="user", text=f"my card {PAN}"),))


def test_a_session_with_a_card_number_in_a_slot_cannot_be_built() -> None:
    with pytest.raises(ValidationError, match="never hold a card number"):
        Session(tenant_id="T", user_id="U", slots=Slots(reference="4242424242424242"))


def test_evolve_validates_again_so_a_card_number_cannot_slip_in() -> None:
    with pytest.raises(ValidationError):
        Session(tenant_id="T", user_id="U").with_turn("user", PAN)


def test_history_is_trimmed_to_the_most_recent_turns() -> None:
    turns = tuple(Turn(role="user", text=str(n)) for n in range(MAX_HISTORY + 5))
    session = Session(tenant_id="T", user_id="U", history=turns)
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
    data = Session(tenant_id="T", user_id="U", version=7).model_dump(mode="json")
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


# Who a session is with ----------------------------------------------------------

# A Slack session exactly as paybot stored it before it knew any other surface.
BEFORE_TEAMS = (
    '{"team_id":"T0123","user_id":"U0456","state":"idle","slots":{"amount":null,'
    '"currency":null,"reference":null,"email":null},"history":[],"card_form_offered":false,'
    '"form_ref":null,"attempt":0,"pending_since":null,"checkout_id":null,"customer_id":null,'
    '"setup_id":null,"payment":null,"version":3,"expires_at":1900000000}'
)


def test_a_slack_session_stored_before_teams_loads_as_a_slack_session() -> None:
    loaded = Session.from_stored(BEFORE_TEAMS)
    assert loaded.user == ChatUser(surface="slack", tenant_id="T0123", user_id="U0456")
    assert loaded.version == 3


def test_a_slack_session_is_stored_exactly_as_before_so_an_older_release_reads_it() -> None:
    assert Session.from_stored(BEFORE_TEAMS).model_dump_json() == BEFORE_TEAMS


def test_a_teams_session_keeps_its_surface_through_the_store_format() -> None:
    user = ChatUser(surface="teams", tenant_id="72f988bf-86f1-41af", user_id="00000000-1111")
    stored = Session.new(user).model_dump_json()
    assert json.loads(stored)["surface"] == "teams"
    assert Session.from_stored(stored).user == user


def test_slack_and_teams_people_with_the_same_ids_have_different_keys() -> None:
    slack = ChatUser(surface="slack", tenant_id="T1", user_id="U1")
    teams = ChatUser(surface="teams", tenant_id="T1", user_id="U1")
    assert (slack.key, teams.key) == ("T1#U1", "teams#T1#U1")
    assert (str(slack), str(teams)) == ("slack:T1:U1", "teams:T1:U1")


@pytest.mark.parametrize("bad", ["", "T#1", "T:1", "T 1", "T'1", "x" * 65])
def test_an_id_that_could_blur_a_key_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        ChatUser(tenant_id=bad, user_id="U1")
    with pytest.raises(ValidationError):
        ChatUser(tenant_id="T1", user_id=bad)


def test_platform_ids_that_read_as_card_numbers_do_not_lock_a_person_out() -> None:
    # A random tenant, person or chat id (a UUID, Teams' `a:1…`) can hold a digit run that
    # passes the Luhn check; it is the platform's id, not a card someone typed.
    tenant = "4242-4242-4242-4242"
    assert contains_pan(tenant)
    person = ChatUser(surface="teams", tenant_id=tenant, user_id="4111-1111-1111-1111")
    chat = ReplyAddress(
        conversation_id="a:1-4242-4242-4242-4242", service_url="https://smba.example/amer/"
    )

    session = Session.new(person).evolve(reply_to=chat)

    assert Session.from_stored(session.model_dump_json()) == session
    with pytest.raises(ValueError, match="card number"):
        session.with_turn("user", tenant)  # people's words are still refused
