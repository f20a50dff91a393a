"""BedrockEngine against the Converse emulator, over real HTTP with a real boto3 client."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bot.adapters.bedrock_engine import SYSTEM_PROMPT, TOOL_NAME, BedrockEngine
from bot.cards import REDACTED, contains_pan, redact_pans
from bot.models import Decision, Intent, NextStep, Session, Slots, Turn
from emulator.bedrock_api import (
    BedrockEmulator,
    create_app,
    delay,
    guardrail_intervened,
    malformed,
    text,
    throttle,
    tool_use,
    validation_error,
)
from emulator.server import serve_in_thread

pytestmark = pytest.mark.integration

MODEL_ID = "us.amazon.nova-2-lite-v1:0"
ENGINE_LOGGER = "bot.adapters.bedrock_engine"
FALLBACK_DECISION = Decision(
    reply="(from the fallback engine)", intent=Intent.OTHER, next_step=NextStep.HELP
)


class FallbackEngine:
    """Answers every turn with `FALLBACK_DECISION` and remembers the texts it saw."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def respond(self, session: Session, text: str) -> Decision:
        self.texts.append(text)
        return FALLBACK_DECISION


def decide(**overrides: Any) -> dict[str, Any]:
    return {"reply": "How much would you like to pay?", "next_step": "ask", "intent": "pay"} | (
        overrides
    )


@pytest.fixture
def emulator() -> BedrockEmulator:
    return BedrockEmulator()


@pytest.fixture
def bedrock_url(emulator: BedrockEmulator) -> Iterator[str]:
    with serve_in_thread(create_app(emulator)) as server:
        yield server.url


@pytest.fixture
def client(bedrock_url: str) -> Any:
    """One attempt in all, so each scripted reply answers exactly one turn."""
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=bedrock_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def fallback() -> FallbackEngine:
    return FallbackEngine()


@pytest.fixture
def engine(client: Any, fallback: FallbackEngine) -> BedrockEngine:
    return BedrockEngine(model_id=MODEL_ID, fallback=fallback, client=client)


@pytest.fixture
def bedrock_env(bedrock_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3's own endpoint variable and dummy credentials, for engines that make a client."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    return bedrock_url


def new_session(*turns: Turn) -> Session:
    return Session(tenant_id="T1", user_id="U1", history=turns)


def sent_body(emulator: BedrockEmulator) -> Any:
    [recorded] = emulator.requests
    return recorded.body


def test_a_tool_call_becomes_the_decision(emulator: BedrockEmulator, engine: BedrockEngine) -> None:
    answer = decide(
        reply="Great, use the secure button.",
        next_step="offer_card_form",
        intent="pay",
        amount="45.00",
        currency="USD",
        reference="INV-1001",
        email=None,
    )
    emulator.script(tool_use(TOOL_NAME, answer))

    decision = engine.respond(new_session(), "pay 45 USD for INV-1001")

    assert decision == Decision(
        reply="Great, use the secure button.",
        intent=Intent.PAY,
        next_step=NextStep.OFFER_CARD_FORM,
        slots=Slots(amount=Decimal("45.00"), currency="USD", reference="INV-1001"),
    )


def test_request_sends_the_system_prompt(emulator: BedrockEmulator, engine: BedrockEngine) -> None:
    emulator.script(tool_use(TOOL_NAME, decide()))

    engine.respond(new_session(), "hi")

    assert sent_body(emulator)["system"][0] == {"text": SYSTEM_PROMPT}


def test_request_messages_alternate_and_end_with_the_new_text(
    emulator: BedrockEmulator, engine: BedrockEngine
) -> None:
    emulator.script(tool_use(TOOL_NAME, decide()))
    session = new_session(Turn(role="user", text="hello"), Turn(role="bot", text="How much?"))

    engine.respond(session, "45 EUR")

    assert sent_body(emulator)["messages"] == [
        {"role": "user", "content": [{"text": "hello"}]},
        {"role": "assistant", "content": [{"text": "How much?"}]},
        {"role": "user", "content": [{"text": "45 EUR"}]},
    ]


def test_request_forces_the_decision_tool(emulator: BedrockEmulator, engine: BedrockEngine) -> None:
    emulator.script(tool_use(TOOL_NAME, decide()))

    engine.respond(new_session(), "hi")

    tool_config = sent_body(emulator)["toolConfig"]
    assert [tool["toolSpec"]["name"] for tool in tool_config["tools"]] == [TOOL_NAME]
    assert tool_config["toolChoice"] == {"tool": {"name": TOOL_NAME}}


def test_request_has_no_guardrail_when_none_is_configured(
    emulator: BedrockEmulator, engine: BedrockEngine
) -> None:
    emulator.script(tool_use(TOOL_NAME, decide()))

    engine.respond(new_session(), "hi")

    assert "guardrailConfig" not in sent_body(emulator)


def test_request_carries_the_configured_guardrail(
    emulator: BedrockEmulator, client: Any, fallback: FallbackEngine
) -> None:
    emulator.script(tool_use(TOOL_NAME, decide()))
    engine = BedrockEngine(
        model_id=MODEL_ID,
        fallback=fallback,
        client=client,
        guardrail_id="gr-paybot",
        guardrail_version="2",
    )

    engine.respond(new_session(), "hi")

    assert sent_body(emulator)["guardrailConfig"] == {
        "guardrailIdentifier": "gr-paybot",
        "guardrailVersion": "2",
    }


def test_redacted_history_is_sent_as_is_with_no_card_number(
    emulator: BedrockEmulator, engine: BedrockEngine
) -> None:
    emulator.script(tool_use(TOOL_NAME, decide()))
    pasted = redact_pans("my card is 4242 4242 4242 4242")
    session = new_session(Turn(role="user", text=pasted), Turn(role="bot", text="Removed it."))

    engine.respond(session, redact_pans("or 5555-5555-5555-4444"))

    body = sent_body(emulator)
    assert body["messages"][0]["content"][0]["text"] == f"my card is {REDACTED}"
    assert body["messages"][-1]["content"][0]["text"] == f"or {REDACTED}"
    assert not contains_pan(json.dumps(body))


def test_a_card_number_passed_by_mistake_never_reaches_bedrock(
    emulator: BedrockEmulator, engine: BedrockEngine
) -> None:
    emulator.script(tool_use(TOOL_NAME, decide()))

    engine.respond(new_session(), "4111 1111 1111 1111 exp 12/30")

    assert not contains_pan(json.dumps(sent_body(emulator)))


def test_throttling_falls_back(emulator: BedrockEmulator, engine: BedrockEngine) -> None:
    emulator.script(throttle())

    assert engine.respond(new_session(), "hi") == FALLBACK_DECISION


def test_a_validation_error_falls_back(emulator: BedrockEmulator, engine: BedrockEngine) -> None:
    emulator.script(validation_error("The provided model identifier is invalid."))

    assert engine.respond(new_session(), "hi") == FALLBACK_DECISION


def test_a_guardrail_intervention_falls_back(
    emulator: BedrockEmulator, engine: BedrockEngine
) -> None:
    emulator.script(guardrail_intervened())

    assert engine.respond(new_session(), "hi") == FALLBACK_DECISION


@pytest.mark.parametrize("mode", ["bad_input", "no_tool_call", "malformed_tool_use"])
def test_a_malformed_answer_falls_back(
    emulator: BedrockEmulator, engine: BedrockEngine, mode: Any
) -> None:
    emulator.script(malformed(mode))

    assert engine.respond(new_session(), "hi") == FALLBACK_DECISION


def test_a_plain_text_answer_falls_back(emulator: BedrockEmulator, engine: BedrockEngine) -> None:
    emulator.script(text("Sure, what's your card number?"))

    assert engine.respond(new_session(), "hi") == FALLBACK_DECISION


def test_no_scripted_reply_falls_back(engine: BedrockEngine) -> None:
    assert engine.respond(new_session(), "hi") == FALLBACK_DECISION


def test_the_fallback_gets_the_same_turn(
    emulator: BedrockEmulator, engine: BedrockEngine, fallback: FallbackEngine
) -> None:
    emulator.script(throttle())

    engine.respond(new_session(), "pay 45 USD")

    assert fallback.texts == ["pay 45 USD"]


def test_an_unknown_next_step_falls_back(emulator: BedrockEmulator, engine: BedrockEngine) -> None:
    emulator.script(tool_use(TOOL_NAME, decide(next_step="mark_as_paid")))

    assert engine.respond(new_session(), "I paid already") == FALLBACK_DECISION


def test_an_invalid_currency_is_dropped_and_the_rest_kept(
    emulator: BedrockEmulator, engine: BedrockEngine
) -> None:
    emulator.script(tool_use(TOOL_NAME, decide(amount="20.00", currency="dollars")))

    decision = engine.respond(new_session(), "20 dollars")

    assert decision.reply == "How much would you like to pay?"
    assert decision.slots == Slots(amount=Decimal("20.00"))


def test_a_reply_slower_than_the_read_timeout_falls_back(
    emulator: BedrockEmulator, bedrock_env: str, fallback: FallbackEngine
) -> None:
    slow = delay(1.0, tool_use(TOOL_NAME, decide()))
    emulator.script(slow, slow)  # the first attempt and its one retry
    engine = BedrockEngine(model_id=MODEL_ID, fallback=fallback, timeout_seconds=0.3)

    assert engine.respond(new_session(), "hi") == FALLBACK_DECISION


def test_a_client_made_by_the_engine_retries_once(
    emulator: BedrockEmulator, bedrock_env: str, fallback: FallbackEngine
) -> None:
    emulator.script(throttle(), throttle(), throttle())
    engine = BedrockEngine(model_id=MODEL_ID, fallback=fallback)

    decision = engine.respond(new_session(), "hi")

    assert decision == FALLBACK_DECISION
    assert [recorded.status for recorded in emulator.requests] == [429, 429]


def test_usage_is_logged_without_conversation_content(
    emulator: BedrockEmulator, engine: BedrockEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ENGINE_LOGGER)
    emulator.script(tool_use(TOOL_NAME, decide(reply="Noted: invoice ZED-31337.")))

    engine.respond(new_session(), "please settle invoice ZED-31337 quickly")

    [usage] = [r.getMessage() for r in caplog.records if "inputTokens" in r.getMessage()]
    assert MODEL_ID in usage
    assert "outputTokens=" in usage
    assert "latency_ms=" in usage
    assert "ZED-31337" not in caplog.text
    assert "settle" not in caplog.text


def test_a_fallback_is_logged_with_its_reason_and_no_content(
    emulator: BedrockEmulator, engine: BedrockEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ENGINE_LOGGER)
    emulator.script(tool_use(TOOL_NAME, decide(reply="about ZED-31337", next_step="pay_now")))

    engine.respond(new_session(), "please settle invoice ZED-31337")

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["Bedrock answer unusable (invalid_tool_input); using the fallback"]
    assert "ZED-31337" not in caplog.text
