"""Slack refusing views.open (the 3 s trigger ran out while the app was slow): the user is told."""

from __future__ import annotations

import json

from handlers.slack.actions import FORM_DID_NOT_OPEN
from handlers.slack.blocks import OPEN_CARD_FORM
from handlers.slack.commands import FORM_TIMED_OUT
from tests.integration.harness import Paybot


def test_pay_says_so_when_the_card_form_cannot_open(paybot: Paybot) -> None:
    paybot.slack.inject("views.open", error="expired_trigger_id")
    answer = paybot.pay("45 USD INV-1001")
    assert answer.status == 200
    assert FORM_TIMED_OUT in answer.body


def test_the_secure_button_says_so_when_the_card_form_cannot_open(paybot: Paybot) -> None:
    paybot.dm("I need to pay invoice INV-1001, $45")
    offer = paybot.wait_for_bot_messages(1)[-1]
    paybot.slack.inject("views.open", error="expired_trigger_id")
    assert paybot.click(OPEN_CARD_FORM, offer).status == 200
    # The press is answered inside its request: anything said is already there.
    offer_again, said = paybot.bot_messages()[-2:]
    assert offer_again["ts"] == offer["ts"]
    assert "replaced by the newer message" in offer_again["text"]  # one live offer: the new
    assert said["text"] == FORM_DID_NOT_OPEN
    assert OPEN_CARD_FORM in json.dumps(said["blocks"])  # with the button, to try again
