"""An amount is taken exactly as typed, or refused: never truncated, rounded or unsigned.

Through the served app: `/pay` and DMs in, the card form and the replies out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.slack.blocks import OPEN_CARD_FORM
from tests.integration.harness import Paybot, running_paybot


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch) as running:
        yield running


def form_text(paybot: Paybot) -> str:
    return json.dumps(paybot.card_form()["blocks"], ensure_ascii=False)


def dm_reply(paybot: Paybot, text: str) -> dict[str, object]:
    assert paybot.dm(text).status == 200
    (reply,) = paybot.wait_for_bot_messages(1)
    return reply


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("1 000 USD INV-1001", "$1,000.00"),
        ("1\u00a0000 € INV-1001", "€1,000.00"),
        ("1\u202f000 € INV-1001", "€1,000.00"),
        ("2 500 CHF INV-1001", "2,500.00 CHF"),
        ("1.250 KWD INV-1001", "1.250 KWD"),
    ],
)
def test_pay_with_digit_grouping_opens_the_form_for_the_whole_amount(
    paybot: Paybot, typed: str, shown: str
) -> None:
    assert paybot.pay(typed).status == 200
    assert shown in form_text(paybot)


def test_a_dm_with_a_grouped_amount_is_summarised_with_the_whole_amount(paybot: Paybot) -> None:
    reply = dm_reply(paybot, "I'd like to pay 2 500 CHF for INV-1001")
    assert "2,500.00 CHF" in str(reply["text"])


@pytest.mark.parametrize("typed", ["pay -$45 for INV-1001", "pay $-45", "pay \u221245 USD"])
def test_a_signed_amount_is_refused_with_a_reply_that_says_why(paybot: Paybot, typed: str) -> None:
    reply = dm_reply(paybot, typed)
    assert "negative" in str(reply["text"]).lower()
    assert "$45" not in str(reply["text"])
    assert OPEN_CARD_FORM not in json.dumps(reply.get("blocks"))


def test_a_yen_amount_with_decimals_is_refused_not_rounded(paybot: Paybot) -> None:
    reply = dm_reply(paybot, "pay ¥500.50 for INV-1001")
    text = str(reply["text"])
    assert "decimal" in text.lower()
    assert "¥501" not in text
    assert "¥500" not in text


def test_the_form_shows_the_amount_exactly_as_it_was_typed(paybot: Paybot) -> None:
    paybot.dm("pay $1,250.50 for INV-1001")
    paybot.wait_for_bot_messages(1)
    paybot.click(OPEN_CARD_FORM)
    assert "$1,250.50" in form_text(paybot)
