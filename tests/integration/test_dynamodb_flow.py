"""The same product on DynamoDB (moto server over HTTP), under concurrent deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.dynamodb_store import DynamoSessionStore
from bot.cards import contains_pan
from bot.models import State
from emulator import slack_requests
from handlers.slack.blocks import OPEN_CARD_FORM
from tests.fakes import slack_user
from tests.integration.harness import Paybot, running_paybot

CARD = {"name": "Ada Lovelace", "number": "5555 5555 5555 4444", "expiry": "08/30", "cvc": "123"}


@pytest.fixture
def paybot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sessions_table: str
) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path, monkeypatch, SESSION_STORE="dynamodb", SESSIONS_TABLE=sessions_table
    ) as running:
        yield running


def stored(paybot: Paybot, table: str) -> Any:
    session = DynamoSessionStore(table).get(slack_user(slack_requests.TEAM_ID, paybot.user_id))
    assert session is not None
    return session


def test_the_whole_flow_completes_on_dynamodb_and_stores_no_card_data(
    paybot: Paybot, sessions_table: str, dynamodb_client: Any
) -> None:
    paybot.dm("pay invoice INV-1001 $45")
    paybot.wait_for_bot_messages(1)
    paybot.click(OPEN_CARD_FORM)
    body = paybot.submit(CARD).json()
    assert body["response_action"] == "update"
    session = stored(paybot, sessions_table)
    assert session.state is State.COMPLETED
    assert session.payment.last4 == "4444"
    items = dynamodb_client.scan(TableName=sessions_table)["Items"]
    dump = json.dumps(items)
    assert not contains_pan(dump)
    assert '"123"' not in dump


def test_concurrent_submissions_of_one_form_make_one_payment_method(
    paybot: Paybot, sessions_table: str
) -> None:
    paybot.pay()
    form = paybot.card_form()
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: paybot.submit(CARD, view=form).json(), range(10)))
    assert len(paybot.stripe.payment_methods) == 1
    assert len(paybot.bot_messages()) == 1
    saved = [a for a in answers if "Card saved" in json.dumps(a)]
    assert len(saved) == 1
    others = [json.dumps(a["view"]) for a in answers if a not in saved]
    assert all("already" in text for text in others)
    assert stored(paybot, sessions_table).state is State.COMPLETED


def test_two_messages_from_one_user_at_once_lose_no_update(
    paybot: Paybot, sessions_table: str
) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(paybot.dm, ["pay invoice INV-9", "it is $45"]))
    paybot.wait_for_bot_messages(2)
    session = stored(paybot, sessions_table)
    user_turns = sorted(t.text for t in session.history if t.role == "user")
    assert user_turns == ["it is $45", "pay invoice INV-9"]
