"""What the model proposes is held to the rule engine's grammar, and rendered as text.

The Bedrock stand-in answers with a scripted tool call; the Slack stand-in records
every Web API call, so the tests see exactly what reached Slack and the card form.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.models import Slots
from bot.rules import extract_slots
from emulator import bedrock_api
from handlers.slack.blocks import OPEN_CARD_FORM
from handlers.slack.mrkdwn import to_mrkdwn
from tests.integration.harness import MODEL_ID, Paybot, running_paybot

PHISHING_REFERENCE = "<!channel> <https://evil.example/pay|Re-enter card here>"
PHISHING_REPLY = (
    "Hey <!channel>: *urgent* & final, re-enter your card "
    "<https://evil.example/pay|here> or ping <@U0ADMIN>."
)


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path, monkeypatch, DIALOGUE_ENGINE="bedrock", BEDROCK_MODEL_ID=MODEL_ID
    ) as running:
        yield running


def decide(**slots: object) -> bedrock_api.ToolUseReply:
    answer = {"reply": "Got it.", "next_step": "offer_card_form", "intent": "pay", **slots}
    return bedrock_api.tool_use("decide", answer)


def sent_to_slack(paybot: Paybot) -> str:
    """Every argument of every Web API call the app made, as one string."""
    return json.dumps([call.args for call in paybot.slack.calls], ensure_ascii=False)


def open_form(paybot: Paybot, dm: str = "I need to pay my invoice") -> dict[str, Any]:
    paybot.dm(dm)
    paybot.wait_for_bot_messages(1)
    paybot.click(OPEN_CARD_FORM)
    return paybot.card_form()


def test_a_reference_with_slack_markup_never_reaches_the_card_form(paybot: Paybot) -> None:
    paybot.bedrock.script(decide(amount="45.00", currency="USD", reference=PHISHING_REFERENCE))
    form = json.dumps(open_form(paybot)["blocks"], ensure_ascii=False)
    assert "$45.00" in form
    assert "evil.example" not in form
    assert "<!channel>" not in form
    assert "evil.example" not in sent_to_slack(paybot)


def test_a_currency_outside_iso_4217_is_dropped(paybot: Paybot) -> None:
    paybot.bedrock.script(decide(amount="45.00", currency="ABC", reference="INV-1001"))
    form = json.dumps(open_form(paybot)["blocks"], ensure_ascii=False)
    assert "ABC" not in form
    assert "45.00" in form
    assert "INV-1001" in form


@pytest.mark.parametrize("amount", ["-45", "0", "10000000000", "12.345", "1e3", "NaN"])
def test_an_amount_outside_the_rule_engines_limits_is_dropped(paybot: Paybot, amount: str) -> None:
    paybot.bedrock.script(decide(amount=amount, currency="USD", reference="INV-1001"))
    form = json.dumps(open_form(paybot)["blocks"], ensure_ascii=False)
    assert "INV-1001" in form
    assert "$" not in form


def test_the_models_reply_reaches_slack_as_text_not_as_mentions_or_links(paybot: Paybot) -> None:
    paybot.bedrock.script(
        bedrock_api.tool_use("decide", {"reply": PHISHING_REPLY, "next_step": "ask"})
    )
    paybot.dm("hello")
    (reply,) = paybot.wait_for_bot_messages(1)
    sent = sent_to_slack(paybot)
    for markup in ("<!channel>", "<https://evil.example", "<@U0ADMIN>"):
        assert markup not in sent
    section = reply["blocks"][0]["text"]
    assert section == {"type": "mrkdwn", "text": to_mrkdwn(PHISHING_REPLY)}
    assert "*urgent*" in section["text"]  # the model's own emphasis still renders


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("*bold* `code` _it_ ~s~ :wave:", "*bold* `code` _it_ ~s~ :wave:"),
        ("&amp;", "&amp;amp;"),
        ("**bold** and `pay status`", "*bold* and `/pay status`"),
    ],
)
def test_to_mrkdwn_escapes_only_what_slack_asks_for(text: str, escaped: str) -> None:
    assert to_mrkdwn(text) == escaped


def test_the_rule_engine_builds_its_slots_with_the_shared_grammar() -> None:
    typed = extract_slots("pay 45 USD for INV-1001")
    assert typed == Slots(amount=Decimal("45"), currency="USD", reference="INV-1001")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reference", PHISHING_REFERENCE),
        ("reference", "INV 1001"),
        ("currency", "ABC"),
        ("amount", Decimal("-45")),
        ("amount", Decimal("1e10")),
        ("amount", Decimal("12.345")),
    ],
)
def test_slots_outside_the_grammar_are_refused_whichever_engine_proposes_them(
    field: str, value: object
) -> None:
    with pytest.raises(ValidationError):
        Slots.model_validate({field: value})
