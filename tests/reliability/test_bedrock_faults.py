"""Bedrock throttled, failing, slow or talking nonsense: the rule engine answers, exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.bedrock_engine import TOOL_NAME, BedrockEngine
from emulator import bedrock_api
from handlers.slack.blocks import OPEN_CARD_FORM
from tests.integration.harness import MODEL_ID, Paybot, running_paybot

ASK = "I need to pay invoice INV-1001, $45"
MODEL_SAYS = {
    "reply": "The model says: shall we settle INV-1001?",
    "next_step": "offer_card_form",
    "intent": "pay",
}


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    # Reads that outlast this are abandoned; shorter than the product's 8 s so the
    # timeout cases take about a second (the retry logic is the same).
    monkeypatch.setitem(BedrockEngine.__init__.__kwdefaults__, "timeout_seconds", 1.0)
    with running_paybot(
        tmp_path, monkeypatch, DIALOGUE_ENGINE="bedrock", BEDROCK_MODEL_ID=MODEL_ID
    ) as running:
        yield running


QUIET_SECONDS = 1.5
"""Longer than a scripted late answer takes to arrive after the product gave up on it."""


def only_reply(paybot: Paybot) -> dict[str, Any]:
    """The one reply to the DM just sent; fails on silence or on a second reply."""
    paybot.wait_for_bot_messages(1)
    paybot.wait_for_quiet(QUIET_SECONDS)
    (reply,) = paybot.bot_messages()
    return reply


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) for e in b.get("elements", [])]


def assert_rule_engine_answered(reply: dict[str, Any]) -> None:
    assert "$45.00" in reply["text"]
    assert "INV-1001" in reply["text"]
    assert "The model says" not in reply["text"]
    assert OPEN_CARD_FORM in buttons(reply)


FAILURES = {
    "throttled twice": [bedrock_api.throttle(), bedrock_api.throttle()],
    "internal error twice": [bedrock_api.server_error(), bedrock_api.server_error()],
    "unavailable twice": [bedrock_api.service_unavailable(), bedrock_api.service_unavailable()],
    "model timeout": [bedrock_api.model_timeout(), bedrock_api.model_timeout()],
    "model error": [bedrock_api.model_error(), bedrock_api.model_error()],
    "read timeout twice": [
        bedrock_api.delay(2.5, then=bedrock_api.tool_use(TOOL_NAME, MODEL_SAYS)),
        bedrock_api.delay(2.5, then=bedrock_api.tool_use(TOOL_NAME, MODEL_SAYS)),
    ],
    "wrongly typed tool input": [bedrock_api.malformed("bad_input")],
    "no tool call": [bedrock_api.malformed("no_tool_call")],
    "malformed tool use": [bedrock_api.malformed("malformed_tool_use")],
    "guardrail intervened": [bedrock_api.guardrail_intervened()],
    "empty reply": [bedrock_api.tool_use(TOOL_NAME, {**MODEL_SAYS, "reply": "   "})],
    "next step off the list": [
        bedrock_api.tool_use(TOOL_NAME, {**MODEL_SAYS, "next_step": "mark_paid"})
    ],
}


@pytest.mark.parametrize("script", FAILURES.values(), ids=FAILURES.keys())
def test_an_unusable_bedrock_turn_is_answered_by_the_rule_engine(
    paybot: Paybot, script: list[bedrock_api.Reply]
) -> None:
    paybot.bedrock.script(*script)
    assert paybot.dm(ASK).status == 200
    assert_rule_engine_answered(only_reply(paybot))
    assert paybot.bedrock.requests, "the model was never asked"


def test_one_throttled_attempt_is_retried_and_the_models_answer_is_used(paybot: Paybot) -> None:
    paybot.bedrock.script(bedrock_api.throttle(), bedrock_api.tool_use(TOOL_NAME, MODEL_SAYS))
    paybot.dm(ASK)
    assert only_reply(paybot)["text"] == MODEL_SAYS["reply"]
    assert len(paybot.bedrock.requests) == 2


def test_a_throttled_turn_does_not_stop_the_next_turn_from_using_the_model(
    paybot: Paybot,
) -> None:
    paybot.bedrock.script(bedrock_api.throttle(), bedrock_api.throttle())
    paybot.dm(ASK)
    paybot.wait_for_bot_messages(1)
    paybot.bedrock.script(bedrock_api.tool_use(TOOL_NAME, MODEL_SAYS))
    paybot.dm("and one more thing")
    paybot.wait_for_bot_messages(2)
    paybot.wait_for_quiet(QUIET_SECONDS)
    _, second = paybot.bot_messages()
    assert second["text"] == MODEL_SAYS["reply"]
    assert len(paybot.bedrock.requests) == 3
