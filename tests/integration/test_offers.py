"""Offers in the DM behave like Slack's own apps: one step, one live offer, the rest closed.

A new user in either card-entry mode gets one offer; once it is finished, cancelled or
replaced, its message is updated in place with no buttons left, and a press on a stale
copy of it gets a short ephemeral answer instead of a new flow.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers.slack.blocks import CANCEL_PAYMENT, OPEN_CARD_FORM, OPEN_CHECKOUT
from handlers.slack.copy import OFFER_CLOSED
from tests.integration.harness import WEBHOOK_SECRET, Paybot, running_paybot
from tests.integration.test_hosted_flow import fill_in_hosted_page

PAGES = "/v1/checkout/sessions"
CARD = {"number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123", "name": "Ada Lovelace"}


@pytest.fixture
def hosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path, monkeypatch, CARD_ENTRY="hosted", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    ) as running:
        yield running


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        str(element.get("action_id"))
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block.get("elements") or []
    ]


def shown(message: dict[str, Any]) -> str:
    return str(message.get("text")) + json.dumps(message.get("blocks") or [])


def posted(paybot: Paybot) -> list[dict[str, Any]]:
    """The bot's messages everyone in the DM sees (not its ephemeral answers)."""
    return [m for m in paybot.bot_messages() if not m.get("is_ephemeral")]


def ephemerals(paybot: Paybot) -> list[str]:
    return [str(call.args.get("text")) for call in paybot.slack.calls_to("chat.postEphemeral")]


def test_hosted_offer_is_the_stripe_link_itself_in_one_message(hosted: Paybot) -> None:
    hosted.dm("pay invoice INV-2002 $120")
    (offer,) = hosted.wait_for_bot_messages(1)
    hosted.wait_for_quiet()
    assert len(hosted.bot_messages()) == 1
    assert buttons(offer) == [OPEN_CHECKOUT, CANCEL_PAYMENT]
    link = next(
        e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"] if "url" in e
    )
    assert link["url"].startswith(hosted.stripe_url)
    assert "$120.00" in shown(offer)
    assert "INV-2002" in shown(offer)
    made = [r for r in hosted.stripe.requests if (r.method, r.path) == ("POST", PAGES)]
    assert len(made) == 1  # the page was made with the offer, once


def test_hosted_offer_closes_in_place_when_the_card_is_saved(hosted: Paybot) -> None:
    hosted.dm("pay invoice INV-2002 $120")
    (offer,) = hosted.wait_for_bot_messages(1)
    link = next(e["url"] for b in offer["blocks"] for e in b.get("elements", []) if "url" in e)
    fill_in_hosted_page(link)
    hosted.wait_until(lambda: buttons(hosted.now_as(offer)) == [])
    closed = hosted.now_as(offer)
    assert "closed" in shown(closed)
    assert "saved" in shown(closed)
    assert link not in shown(closed)  # the bearer link is gone from the DM too


def test_modal_offer_closes_in_place_and_a_stale_press_opens_nothing(paybot: Paybot) -> None:
    paybot.dm("pay invoice INV-2002 $120")
    (offer,) = paybot.wait_for_bot_messages(1)
    stale = copy.deepcopy(offer)  # the message as an older client still shows it
    assert paybot.click(OPEN_CARD_FORM, offer).status == 200
    assert paybot.submit(CARD).status == 200
    paybot.wait_until(lambda: buttons(paybot.now_as(offer)) == [])
    assert "saved" in shown(paybot.now_as(offer))
    paybot.wait_for_quiet()
    forms, messages = len(paybot.slack.views(paybot.user_id)), len(posted(paybot))

    assert paybot.click(OPEN_CARD_FORM, stale).status == 200
    paybot.wait_until(lambda: OFFER_CLOSED.split(".")[0] in " ".join(ephemerals(paybot)))
    paybot.wait_for_quiet()
    assert len(paybot.slack.views(paybot.user_id)) == forms  # no new card form
    assert len(posted(paybot)) == messages  # no new offer either


def test_a_newer_offer_replaces_the_older_one_in_place(paybot: Paybot) -> None:
    paybot.dm("pay invoice INV-2002 $120")
    (first,) = paybot.wait_for_bot_messages(1)
    stale = copy.deepcopy(first)
    paybot.dm("sorry, it is invoice INV-2003 for $130")
    paybot.wait_for_bot_messages(2)
    paybot.wait_until(lambda: buttons(paybot.now_as(first)) == [])
    assert "replaced" in shown(paybot.now_as(first))
    second = paybot.bot_messages()[-1]
    assert buttons(second) == [OPEN_CARD_FORM, CANCEL_PAYMENT]

    assert paybot.click(CANCEL_PAYMENT, stale).status == 200  # the old Cancel: closed
    paybot.wait_until(lambda: bool(ephemerals(paybot)))
    paybot.wait_for_quiet()
    assert buttons(paybot.now_as(second)) == [OPEN_CARD_FORM, CANCEL_PAYMENT]  # still live
    assert paybot.click(OPEN_CARD_FORM, second).status == 200
    assert "INV-2003" in json.dumps(paybot.card_form()["blocks"])


def test_cancel_closes_every_live_offer(paybot: Paybot) -> None:
    paybot.dm("pay invoice INV-2002 $120")
    (offer,) = paybot.wait_for_bot_messages(1)
    paybot.wait_for_quiet()  # the offer is tracked (a press before that: see the unit tests)
    assert paybot.click(CANCEL_PAYMENT, offer).status == 200
    paybot.wait_until(lambda: "cancelled" in shown(paybot.now_as(offer)))
    assert buttons(paybot.now_as(offer)) == []
