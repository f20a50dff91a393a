"""Every metric line the served app writes is EMF, and holds no card data and no user text.

The app runs with METRICS=emf as on Lambda, through a conversation that puts card numbers
in every Slack input path (a DM, `/pay`, the card form, declined and refused cards) and
words no metric could know. Each line on stdout that is an EMF document must validate as
one, and neither a card number (by the detector) nor any of those words may appear in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cards import contains_pan
from tests.integration.harness import Paybot, running_paybot
from tests.integration.test_slack_flow import GOOD_VISA
from tests.unit.test_metrics import validate_emf

PAN = "4111 1111 1111 1111"
DECLINED = {**GOOD_VISA, "number": "4000 0000 0000 0002"}
SAID = ("pay invoice INV-7431 for $45 quokka", f"my card is {PAN}", "thanks pangolin")
USER_WORDS = ("quokka", "pangolin", "INV-7431", "Ada", "Lovelace")


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path,
        monkeypatch,
        METRICS="emf",
        PAYBOT_STAGE="prod",
        LIMIT_CARD_SUBMISSIONS_PER_HOUR="3",
    ) as running:
        yield running


def test_every_metric_line_is_emf_without_card_data_or_user_text(
    paybot: Paybot, capfd: pytest.CaptureFixture[str]
) -> None:
    for n, text in enumerate(SAID, start=1):
        paybot.dm(text)
        paybot.wait_for_bot_messages(n)
    paybot.pay(f"45 USD {PAN}")
    paybot.pay("45 USD INV-7431")
    paybot.submit(DECLINED)  # declined: costs two of three
    paybot.pay()
    paybot.submit(GOOD_VISA)
    paybot.pay()
    paybot.submit(GOOD_VISA)  # past the budget: refused before Stripe
    paybot.wait_for_quiet()

    out = capfd.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith('{"_aws"')]

    documents = [validate_emf(line) for line in lines]
    names = {
        metric["Name"]
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert {"Turns", "CardFormsOpened", "CardsSaved", "CardDeclines", "RateLimited"} <= names
    assert {document["Stage"] for document in documents} == {"prod"}
    for line in lines:
        assert not contains_pan(line), line
        assert re.sub(r"\D", "", PAN) not in re.sub(r"\D", "", line)
        for word in USER_WORDS:
            assert word not in line
    # And every line that looks like JSON on stdout is one of these (no stray documents).
    assert all(json.loads(line) for line in lines)


def test_a_failed_slack_call_is_counted_as_a_provider_error(
    paybot: Paybot, capfd: pytest.CaptureFixture[str]
) -> None:
    paybot.slack.inject("chat.postMessage", error="channel_not_found", count=1)

    paybot.dm("hello there")
    paybot.wait_until(lambda: paybot.slack.calls_to("chat.postMessage") != [])
    paybot.wait_for_quiet()

    documents = [
        validate_emf(line)
        for line in capfd.readouterr().out.splitlines()
        if line.startswith('{"_aws"')
    ]
    errors = [d for d in documents if "ProviderErrors" in d]
    assert [(d["Provider"], d["ProviderErrors"]) for d in errors] == [("slack", 1)]
