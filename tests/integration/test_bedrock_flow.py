"""With DIALOGUE_ENGINE=bedrock: the model proposes, the state machine decides."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import bedrock_api, slack_requests
from handlers.slack.blocks import OPEN_CARD_FORM
from tests.integration.harness import MODEL_ID, Paybot, running_paybot


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path, monkeypatch, DIALOGUE_ENGINE="bedrock", BEDROCK_MODEL_ID=MODEL_ID
    ) as running:
        yield running


def buttons(message: dict[str, object]) -> list[str]:
    blocks = message.get("blocks") or []
    return [e["action_id"] for b in blocks for e in b.get("elements", []) if "action_id" in e]  # type: ignore[union-attr, attr-defined]


def test_a_tool_use_answer_drives_the_flow(paybot: Paybot) -> None:
    paybot.bedrock.script(
        bedrock_api.tool_use(
            "decide",
            {
                "reply": "Sure, let's settle INV-2002 for €80.00.",
                "next_step": "offer_card_form",
                "intent": "pay",
                "amount": "80.00",
                "currency": "EUR",
                "reference": "INV-2002",
            },
        )
    )
    paybot.dm("can I settle my bill please")
    (reply,) = paybot.wait_for_bot_messages(1)
    assert "INV-2002" in reply["text"]
    assert OPEN_CARD_FORM in buttons(reply)
    paybot.click(OPEN_CARD_FORM)
    assert "€80.00" in json.dumps(paybot.card_form()["blocks"], ensure_ascii=False)
    (request,) = paybot.bedrock.requests
    assert request.model_id == MODEL_ID


def test_throttling_falls_back_to_the_rule_engines_reply(paybot: Paybot) -> None:
    paybot.bedrock.script(bedrock_api.throttle(), bedrock_api.throttle())
    paybot.dm("I need to pay invoice INV-1001, $45")
    (reply,) = paybot.wait_for_bot_messages(1)
    assert "$45.00" in reply["text"]
    assert OPEN_CARD_FORM in buttons(reply)


def test_a_slow_turn_for_one_user_does_not_hold_up_another(paybot: Paybot) -> None:
    decide = {"reply": "Hello!", "next_step": "ask", "intent": "greet"}
    paybot.bedrock.script(bedrock_api.delay(3.0, then=bedrock_api.tool_use("decide", decide)))
    other = "U0OTHER"
    paybot.slack.add_user({"id": other, "name": "other", "team_id": slack_requests.TEAM_ID})
    assert paybot.dm("hello").status == 200  # acked while its Bedrock turn is still running
    request = slack_requests.slash_command(
        text="help",
        user_id=other,
        channel_id="C0GENERAL",
        trigger_id=paybot.slack.issue_trigger_id(user_id=other),
    )
    answer = paybot.send(request)
    assert answer.status == 200
    assert "/pay" in answer.body
    assert paybot.bot_messages() == []  # the slow turn had not finished when the other was served
    (reply,) = paybot.wait_for_bot_messages(1)
    assert reply["text"] == "Hello!"
