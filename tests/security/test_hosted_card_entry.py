"""A deployment that says CARD_ENTRY=hosted never takes a card number, whatever is missing.

However the hosted page came to be unavailable (a secret merged after the start-up
check, a wiring slip), the service is what must refuse the modal: `/pay`, the secure
button under the bot's offer, and a card form opened before the deployment changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import messages
from bot.models import Slots
from handlers import bootstrap
from handlers.slack.blocks import OPEN_CARD_FORM, card_modal
from tests.integration.harness import WEBHOOK_SECRET, Paybot, running_paybot
from tests.integration.test_slack_flow import GOOD_VISA, session_of


@pytest.fixture
def hosted_without_its_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    monkeypatch.setattr(bootstrap, "build_hosted", lambda settings: None)
    with running_paybot(
        tmp_path, monkeypatch, CARD_ENTRY="hosted", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    ) as running:
        yield running


def said(paybot: Paybot, text: str) -> bool:
    return any(text in m["text"] for m in paybot.bot_messages())


def test_pay_in_a_hosted_deployment_says_card_entry_is_unavailable_and_opens_no_modal(
    hosted_without_its_page: Paybot,
) -> None:
    paybot = hosted_without_its_page
    answer = paybot.pay("45 USD INV-1001")
    assert answer.status == 200
    assert messages.CARD_ENTRY_UNAVAILABLE in answer.body
    assert paybot.slack.calls_to("views.open") == []


def test_the_secure_button_in_a_hosted_deployment_opens_no_modal(
    hosted_without_its_page: Paybot,
) -> None:
    paybot = hosted_without_its_page
    paybot.dm("I need to pay invoice INV-1001, $45")
    paybot.wait_for_bot_messages(1)

    assert paybot.click(OPEN_CARD_FORM).status == 200

    paybot.wait_until(lambda: said(paybot, messages.CARD_ENTRY_UNAVAILABLE))
    assert paybot.slack.calls_to("views.open") == []


def test_a_card_form_submitted_to_a_hosted_deployment_never_reaches_stripe(
    hosted_without_its_page: Paybot, tmp_path: Path
) -> None:
    paybot = hosted_without_its_page
    paybot.dm("I need to pay invoice INV-1001, $45")  # the offer gives the session a form
    paybot.wait_for_bot_messages(1)
    session = session_of(paybot, tmp_path)
    assert session is not None
    assert session.form_ref is not None
    old_form = {**card_modal(session.form_ref, Slots()), "id": "V0OLDFORM"}

    body = paybot.submit(GOOD_VISA, view=old_form).json()

    assert body["response_action"] == "update"
    assert messages.CARD_ENTRY_UNAVAILABLE in json.dumps(body["view"])
    assert paybot.stripe.requests == []
