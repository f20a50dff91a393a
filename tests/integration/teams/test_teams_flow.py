"""A payment in a Teams personal chat: the dialogue, Stripe's page, the confirmation."""

from __future__ import annotations

import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.teams_tokens import Fault
from tests.integration.teams.harness import TeamsPaybot, actions, running_teams, words
from tests.integration.test_hosted_flow import fill_in_hosted_page


@pytest.fixture
def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamsPaybot]:
    with running_teams(tmp_path, monkeypatch) as running:
        yield running


def stripe_link(teams: TeamsPaybot) -> str:
    for activity in reversed(teams.posted()):
        for action in actions(activity):
            if action["type"] == "Action.OpenUrl":
                return str(action["url"])
    raise AssertionError("no Stripe link in the chat")


def test_a_greeting_is_answered_in_the_chat(teams: TeamsPaybot) -> None:
    answer = teams.say("hi")
    assert answer.status == 200
    (reply,) = teams.wait_for_posts(1)
    assert "paybot" in words(reply)


def test_pay_with_an_amount_opens_stripes_page_and_the_webhook_confirms_in_the_chat(
    teams: TeamsPaybot,
) -> None:
    assert teams.say("pay 45 USD INV-1001").status == 200
    (offer,) = teams.wait_for_posts(1)
    assert "**$45.00** for invoice **INV-1001**" in words(offer)
    link = stripe_link(teams)

    fill_in_hosted_page(link)

    teams.wait_until(lambda: any("•••• 5556" in text for text in teams.texts()))
    assert "✅" in teams.texts()[-1]


def test_the_pay_button_after_a_conversation_opens_the_page(teams: TeamsPaybot) -> None:
    teams.say("I need to pay invoice INV-2002, $120")
    (offer,) = teams.wait_for_posts(1)
    assert [a["title"] for a in actions(offer)] == ["Pay with card", "Cancel"]

    teams.press("pay")

    teams.wait_for_posts(2)
    assert "**$120.00** for invoice **INV-2002**" in teams.texts()[-1]
    assert stripe_link(teams).startswith("http://127.0.0.1")


def test_cancel_closes_the_stripe_page(teams: TeamsPaybot) -> None:
    teams.say("pay")
    teams.wait_for_posts(1)
    page = stripe_link(teams).rstrip("/").rsplit("/", 1)[-1]

    teams.press("cancel")

    teams.wait_for_posts(2)
    assert "cancelled" in teams.texts()[-1].lower()
    assert teams.stripe.checkout_session(page)["status"] == "expired"


@pytest.mark.parametrize(
    ("command", "says"), [("help", "Stripe's own page"), ("status", "No payment")]
)
def test_commands_answer_in_the_chat(teams: TeamsPaybot, command: str, says: str) -> None:
    teams.say(command)
    (reply,) = teams.wait_for_posts(1)
    assert says in words(reply)


def test_a_card_number_typed_in_the_chat_is_removed_and_the_secure_page_offered(
    teams: TeamsPaybot, tmp_path: Path
) -> None:
    teams.say("my card is 4242 4242 4242 4242")
    (reply,) = teams.wait_for_posts(1)
    assert "4242 4242" not in str(reply)
    assert "don't paste card numbers" in words(reply)
    assert [a["title"] for a in actions(reply)] == ["Pay with card", "Cancel"]
    assert b"4242 4242 4242 4242" not in (tmp_path / "sessions.db").read_bytes()


def test_the_return_page_sends_a_teams_person_back_to_teams(teams: TeamsPaybot) -> None:
    teams.say("pay")
    teams.wait_for_posts(1)
    page = fill_in_hosted_page(stripe_link(teams))
    assert "paybot will confirm in Teams" in page
    assert "https://teams.microsoft.com/" in page


def test_a_teams_person_and_a_slack_person_with_the_same_ids_keep_apart_customers(
    teams: TeamsPaybot,
) -> None:
    teams.say("pay")
    teams.wait_for_posts(1)
    (customer,) = teams.stripe.customers
    assert customer["metadata"] == {
        "paybot_user": f"teams:{teams.chat.tenant_id}:{teams.chat.aad_object_id}"
    }


def test_a_teams_only_deployment_needs_no_slack_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_teams(
        tmp_path, monkeypatch, SLACK_BOT_TOKEN="", SLACK_SIGNING_SECRET=""
    ) as teams_only:
        assert teams_only.say("status").status == 200
        teams_only.wait_for_posts(1)
        request = urllib.request.Request(f"{teams_only.url}/slack/events", data=b"{}")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 404


def test_a_confirmation_teams_refuses_leaves_the_card_saved_and_the_webhook_answered(
    teams: TeamsPaybot, tmp_path: Path
) -> None:
    teams.say("pay 45 USD INV-1001")
    teams.wait_for_posts(1)
    teams.connector.recorder.inject(Fault(route="send", status=502), count=None)

    fill_in_hosted_page(stripe_link(teams))

    deadline = time.monotonic() + 15
    while not any(d.type == "checkout.session.completed" for d in teams.stripe.webhook_deliveries):
        assert time.monotonic() < deadline, "Stripe never sent the completed page's event"
        time.sleep(0.05)
    (delivery,) = [
        d for d in teams.stripe.webhook_deliveries if d.type == "checkout.session.completed"
    ]
    assert delivery.status == 200  # answered: the chat's refusal loses only the message
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        (data,) = db.execute("SELECT data FROM sessions").fetchone()
    assert '"state":"completed"' in data
    assert '"last4":"5556"' in data


def test_with_card_entry_hosted_the_offer_is_the_stripe_page_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_teams(tmp_path, monkeypatch, CARD_ENTRY="hosted") as teams:
        teams.say("I need to pay invoice INV-2002, $120")
        (offer,) = teams.wait_for_posts(1)
        assert [a["title"] for a in actions(offer)] == ["Enter card on Stripe", "Cancel"]
        assert "**$120.00** for invoice **INV-2002**" in words(offer)
        fill_in_hosted_page(stripe_link(teams))
        teams.wait_until(lambda: any("•••• 5556" in text for text in teams.texts()))
