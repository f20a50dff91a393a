"""Terms acceptance through the served apps: with TERMS_URL set, card entry waits for Accept.

Slack and Teams alike: the terms come as a link with Accept and Decline; until Accept
no card form opens and no Stripe page is made; the acceptance outlives the session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import messages
from handlers.slack.blocks import ACCEPT_TERMS, DECLINE_TERMS, OPEN_CARD_FORM, OPEN_TERMS
from tests.integration.harness import Paybot, running_paybot
from tests.integration.teams.harness import TeamsPaybot, actions, running_teams
from tests.integration.test_slack_flow import GOOD_VISA

TERMS_URL = "https://example.com/paybot-terms"


def buttons(message: dict[str, object]) -> list[str]:
    blocks = message.get("blocks") or []
    assert isinstance(blocks, list)
    return [e["action_id"] for b in blocks for e in b.get("elements", []) if "action_id" in e]


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch, TERMS_URL=TERMS_URL) as running:
        yield running


def test_slack_asks_for_the_terms_before_the_card_form_and_opens_it_after_accept(
    paybot: Paybot,
) -> None:
    paybot.dm("I need to pay invoice INV-1001, $45")
    reply, terms = paybot.wait_for_bot_messages(2)
    assert "INV-1001" in json.dumps(reply["blocks"])
    assert buttons(terms) == [OPEN_TERMS, ACCEPT_TERMS, DECLINE_TERMS]
    assert TERMS_URL in json.dumps(terms["blocks"])
    assert paybot.slack.views(paybot.user_id) == []

    paybot.pay("45 USD INV-1001")  # /pay with an amount would open the form at once
    again = paybot.wait_for_bot_messages(3)[-1]
    assert paybot.slack.views(paybot.user_id) == []
    assert paybot.stripe.requests == []
    # The terms asked again replace the first asking, which is closed in place.
    assert buttons(again) == [OPEN_TERMS, ACCEPT_TERMS, DECLINE_TERMS]
    paybot.wait_until(lambda: buttons(paybot.now_as(terms)) == [])
    terms = again

    assert paybot.click(ACCEPT_TERMS, terms).status == 200
    offer = paybot.wait_for_bot_messages(4)[-1]
    assert messages.TERMS_ACCEPTED in json.dumps(offer["blocks"])
    assert buttons(paybot.now_as(terms)) == []  # the answered terms message keeps no live buttons
    paybot.click(OPEN_CARD_FORM, offer)
    paybot.submit(GOOD_VISA)
    paybot.wait_until(lambda: "4242" in json.dumps(paybot.bot_messages()[-1]))


def test_slack_decline_ends_the_payment_and_nothing_reaches_stripe(paybot: Paybot) -> None:
    paybot.dm("I need to pay invoice INV-1001, $45")
    _, terms = paybot.wait_for_bot_messages(2)

    paybot.click(DECLINE_TERMS, terms)

    declined = paybot.wait_for_bot_messages(3)[-1]
    assert messages.TERMS_DECLINED in json.dumps(declined["blocks"])
    paybot.pay()
    paybot.wait_for_bot_messages(4)
    assert paybot.slack.views(paybot.user_id) == []
    assert paybot.stripe.requests == []


def test_slack_does_not_ask_again_after_accepting_until_forget(paybot: Paybot) -> None:
    paybot.pay()
    (terms,) = paybot.wait_for_bot_messages(1)
    paybot.click(ACCEPT_TERMS, terms)
    paybot.wait_for_bot_messages(2)

    paybot.pay()
    assert paybot.card_form()  # no second question

    assert "deleted everything" in paybot.pay("forget").body
    paybot.pay()
    asked = paybot.wait_for_bot_messages(3)[-1]
    assert buttons(asked) == [OPEN_TERMS, ACCEPT_TERMS, DECLINE_TERMS]


@pytest.fixture
def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamsPaybot]:
    with running_teams(tmp_path, monkeypatch, TERMS_URL=TERMS_URL) as running:
        yield running


def test_teams_asks_for_the_terms_before_stripes_page(teams: TeamsPaybot) -> None:
    teams.say("pay 45 USD INV-1001")
    (asked,) = teams.wait_for_posts(1)
    choices = actions(asked)
    assert [a["title"] for a in choices] == ["Read the terms", "Accept", "Decline"]
    assert choices[0]["url"] == TERMS_URL
    assert teams.stripe.requests == []

    teams.press("accept_terms")

    teams.wait_for_posts(2)
    assert [a["title"] for a in actions(teams.posted()[-1])] == ["Pay with card", "Cancel"]
    teams.press("pay")
    teams.wait_for_posts(3)
    assert "INV-1001" in teams.texts()[-1]
    assert any(r.path.startswith("/v1/checkout/sessions") for r in teams.stripe.requests)
