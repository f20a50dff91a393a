"""Building Converse requests and reading decisions out of Converse responses."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest

from bot.adapters.bedrock_engine import (
    SYSTEM_PROMPT,
    TOOL_NAME,
    UnusableAnswer,
    build_request,
    parse_decision,
)
from bot.cards import REDACTED, contains_pan
from bot.models import Decision, Intent, NextStep, Session, Slots, State, Turn

MODEL_ID = "us.amazon.nova-2-lite-v1:0"
PAN = "4242 4242 4242 4242"
ROOT = Path(__file__).resolve().parents[2]


def session_with(*turns: tuple[Literal["user", "bot"], str], **fields: Any) -> Session:
    history = tuple(Turn(role=role, text=text) for role, text in turns)
    return Session(tenant_id="T1", user_id="U1", history=history, **fields)


def roles_and_texts(request: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"][0]["text"]) for m in request["messages"]]


def tool_response(tool_input: dict[str, Any], *, stop_reason: str = "tool_use") -> dict[str, Any]:
    call = {"toolUseId": "tooluse_1", "name": TOOL_NAME, "input": tool_input}
    return {
        "output": {"message": {"role": "assistant", "content": [{"toolUse": call}]}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
    }


def decide(**overrides: Any) -> dict[str, Any]:
    return {"reply": "How much is it?", "next_step": "ask", "intent": "pay", **overrides}


def test_request_starts_with_the_system_prompt() -> None:
    request = build_request(session_with(), "hi", model_id=MODEL_ID)

    assert request["system"][0] == {"text": SYSTEM_PROMPT}


def test_system_context_names_the_known_slots_and_state() -> None:
    session = session_with(
        state=State.COLLECTING, slots=Slots(amount=Decimal("45"), currency="USD")
    )

    request = build_request(session, "hi", model_id=MODEL_ID)

    context = request["system"][1]["text"]
    assert "collecting" in context
    assert "amount=45" in context
    assert "currency=USD" in context


def test_history_maps_bot_to_assistant_and_ends_with_the_new_user_text() -> None:
    session = session_with(("user", "hello"), ("bot", "Hi! What would you like to pay?"))

    request = build_request(session, "45 USD", model_id=MODEL_ID)

    assert roles_and_texts(request) == [
        ("user", "hello"),
        ("assistant", "Hi! What would you like to pay?"),
        ("user", "45 USD"),
    ]


def test_consecutive_turns_of_one_role_are_merged() -> None:
    session = session_with(("user", "hello"), ("bot", "Hi."), ("bot", "How much?"), ("user", "45"))

    request = build_request(session, "USD", model_id=MODEL_ID)

    assert roles_and_texts(request) == [
        ("user", "hello"),
        ("assistant", "Hi.\nHow much?"),
        ("user", "45\nUSD"),
    ]


def test_leading_bot_turns_are_dropped_so_messages_start_with_the_user() -> None:
    session = session_with(("bot", "Paying 45 USD."), ("user", "ok"), ("bot", "Use the button."))

    request = build_request(session, "thanks", model_id=MODEL_ID)

    assert roles_and_texts(request) == [
        ("user", "ok"),
        ("assistant", "Use the button."),
        ("user", "thanks"),
    ]


def test_request_forces_the_one_decision_tool() -> None:
    request = build_request(session_with(), "hi", model_id=MODEL_ID)

    [tool] = request["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == TOOL_NAME
    assert request["toolConfig"]["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    schema = tool["toolSpec"]["inputSchema"]["json"]
    assert schema["properties"]["next_step"]["enum"] == [step.value for step in NextStep]


def test_request_has_no_guardrail_config_when_none_is_configured() -> None:
    request = build_request(session_with(), "hi", model_id=MODEL_ID)

    assert "guardrailConfig" not in request


def test_request_carries_the_configured_guardrail() -> None:
    request = build_request(session_with(), "hi", model_id=MODEL_ID, guardrail=("gr-1", "3"))

    assert request["guardrailConfig"] == {"guardrailIdentifier": "gr-1", "guardrailVersion": "3"}


def test_a_card_number_that_slipped_through_is_redacted_before_sending(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.adapters.bedrock_engine")

    request = build_request(session_with(), f"my card is {PAN}", model_id=MODEL_ID)

    assert not contains_pan(json.dumps(request))
    assert roles_and_texts(request) == [("user", f"my card is {REDACTED}")]
    assert "card number removed" in caplog.text
    assert "4242" not in caplog.text


def test_a_tool_call_becomes_the_decision() -> None:
    answer = decide(
        reply="Ready when you are.",
        next_step="offer_card_form",
        intent="confirm",
        amount="45.50",
        currency="EUR",
        reference="INV-1001",
        email="payer@example.com",
    )

    decision = parse_decision(tool_response(answer))

    assert decision == Decision(
        reply="Ready when you are.",
        intent=Intent.CONFIRM,
        next_step=NextStep.OFFER_CARD_FORM,
        slots=Slots(
            amount=Decimal("45.50"), currency="EUR", reference="INV-1001", email="payer@example.com"
        ),
    )


def test_a_numeric_amount_is_accepted() -> None:
    decision = parse_decision(tool_response(decide(amount=45)))

    assert decision.slots.amount == Decimal("45")


def test_an_invalid_currency_is_dropped_and_the_rest_kept() -> None:
    decision = parse_decision(tool_response(decide(amount="12.00", currency="dollars")))

    assert decision.slots == Slots(amount=Decimal("12.00"))
    assert decision.reply == "How much is it?"


def test_an_amount_with_too_many_decimals_is_dropped() -> None:
    decision = parse_decision(tool_response(decide(amount="12.345", currency="USD")))

    assert decision.slots == Slots(currency="USD")


def test_a_slot_holding_a_card_number_is_dropped() -> None:
    decision = parse_decision(tool_response(decide(reference="4242424242424242")))

    assert decision.slots.reference is None


def test_a_card_number_echoed_in_the_reply_is_redacted() -> None:
    decision = parse_decision(tool_response(decide(reply=f"Your card {PAN}?")))

    assert decision.reply == f"Your card {REDACTED}?"


def test_an_unknown_next_step_is_unusable() -> None:
    with pytest.raises(UnusableAnswer) as caught:
        parse_decision(tool_response(decide(next_step="mark_paid")))

    assert caught.value.reason == "invalid_tool_input"


def test_a_reply_that_is_not_a_string_is_unusable() -> None:
    with pytest.raises(UnusableAnswer, match="invalid_tool_input"):
        parse_decision(tool_response(decide(reply=12345)))


def test_a_blank_reply_is_unusable() -> None:
    with pytest.raises(UnusableAnswer, match="empty_reply"):
        parse_decision(tool_response(decide(reply="  ")))


def test_an_answer_without_the_tool_call_is_unusable() -> None:
    response = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Sure!"}]}},
        "stopReason": "end_turn",
    }

    with pytest.raises(UnusableAnswer, match="no_tool_call"):
        parse_decision(response)


def test_a_guardrail_intervention_is_unusable() -> None:
    with pytest.raises(UnusableAnswer, match="guardrail_intervened"):
        parse_decision(tool_response(decide(), stop_reason="guardrail_intervened"))


def test_a_tool_call_cut_off_by_max_tokens_is_unusable() -> None:
    with pytest.raises(UnusableAnswer, match="stop_reason=max_tokens"):
        parse_decision(tool_response(decide(), stop_reason="max_tokens"))


def test_importing_the_engine_does_not_import_boto3() -> None:
    probe = "import sys, bot.adapters.bedrock_engine; print('boto3' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
