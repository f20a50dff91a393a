"""A card number pasted into the DM appears nowhere: not in logs, store, LLM or Slack calls."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cards import contains_pan
from bot.messages import PAN_WARNING
from emulator import bedrock_api
from handlers.slack.blocks import OPEN_CARD_FORM
from tests.integration.harness import MODEL_ID, Paybot, running_paybot

PAN = "4000 0566 5566 5556"
PAN_DIGITS = PAN.replace(" ", "")
SDK_LOGGERS = (
    "slack_bolt",
    "slack_sdk",
    "botocore",
    "boto3",
    "urllib3",
    "stripe",
    "bot",
    "handlers",
)


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in SDK_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def bedrock_paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path, monkeypatch, DIALOGUE_ENGINE="bedrock", BEDROCK_MODEL_ID=MODEL_ID
    ) as running:
        yield running


def leaks(text: str) -> bool:
    return PAN_DIGITS in text.replace(" ", "").replace("-", "") or contains_pan(text)


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def stored_text(tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        rows = db.execute("SELECT * FROM sessions").fetchall()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("sessions.db*"))
    return json.dumps(rows) + raw.decode("latin-1")


def test_a_pasted_card_gets_a_warning_and_the_secure_button(paybot: Paybot) -> None:
    paybot.dm(f"here is my card {PAN} exp 12/30")
    (reply,) = paybot.wait_for_bot_messages(1)
    assert PAN_WARNING.split(".")[0] in reply["text"]
    buttons = [e["action_id"] for b in reply["blocks"] for e in b.get("elements", [])]
    assert OPEN_CARD_FORM in buttons


def test_a_pasted_card_number_appears_nowhere(
    bedrock_paybot: Paybot, tmp_path: Path, everything_logged: pytest.LogCaptureFixture
) -> None:
    paybot = bedrock_paybot
    paybot.bedrock.script(
        bedrock_api.tool_use(
            "decide", {"reply": "Happy to help.", "next_step": "ask", "intent": "other"}
        )
    )
    paybot.dm(f"here is my card {PAN} thanks")
    paybot.wait_for_bot_messages(1)
    paybot.dm("what happens next?")  # a Bedrock turn with the redacted history
    paybot.wait_for_bot_messages(2)
    assert len(paybot.bedrock.requests) == 1
    assert "[card number removed]" in json.dumps(paybot.bedrock.requests[0].body)
    for sink, text in {
        "logs": logged_text(everything_logged),
        "store": stored_text(tmp_path),
        "bedrock": json.dumps([r.body for r in paybot.bedrock.requests]),
        "slack": json.dumps([c.args for c in paybot.slack.calls]),
    }.items():
        assert not leaks(text), f"the card number leaked into {sink}"
    assert everything_logged.records, "the capture saw nothing, so it proves nothing"


def test_the_leak_check_finds_a_number_logged_past_the_redaction(
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    logging.getLogger("somewhere").warning("redacted %s", PAN)
    assert not leaks(logged_text(everything_logged)), "redaction runs when a record is made"
    # A record built without the record factory skips redaction: what a leak looks like.
    planted = logging.LogRecord(
        "somewhere", logging.WARNING, __file__, 0, "planted %s", (PAN,), None
    )
    logging.getLogger("somewhere").handle(planted)
    assert leaks(logged_text(everything_logged))
