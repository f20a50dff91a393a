"""`/pay forget` while a card is with Stripe: what the person is told is what the store holds.

Forget waits for a pending submission (it says so and deletes nothing), and a submission's
record step never brings back a session deleted under it: on either session store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import messages
from bot.adapters.dynamodb_store import DynamoSessionStore
from bot.adapters.sqlite_store import SqliteSessionStore
from emulator.slack_requests import TEAM_ID
from handlers import bootstrap
from handlers.slack.mrkdwn import to_mrkdwn
from tests.fakes import slack_user
from tests.integration.harness import Paybot, running_paybot
from tests.integration.test_slack_flow import GOOD_VISA
from tests.reliability.stores import StoreUnderTest
from tests.reliability.test_untracked_card_pages import Hold, in_background


@pytest.fixture
def card_saving() -> Hold:
    return Hold()


@pytest.fixture
def paybot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: StoreUnderTest, card_saving: Hold
) -> Iterator[Paybot]:
    """The served app on the store under test, each card held at Stripe while `card_saving.on`."""
    build_gateway = bootstrap.build_gateway

    def build_held(settings: Any) -> Any:
        gateway = build_gateway(settings)
        gateway.save_card = card_saving.wrap(gateway.save_card)  # type: ignore[method-assign]
        return gateway

    monkeypatch.setattr(bootstrap, "build_gateway", build_held)
    with running_paybot(tmp_path, monkeypatch, **store.environment) as running:
        yield running


def delete_behind_the_app(store: StoreUnderTest, user_id: str) -> None:
    """Delete the session as a `/pay forget` that raced the submission's claim would."""
    if isinstance(store.environment.get("SQLITE_PATH"), str):
        sqlite = SqliteSessionStore(Path(store.environment["SQLITE_PATH"]))
        sqlite.delete(slack_user(TEAM_ID, user_id))
        sqlite.close()
    else:
        table, client = store.environment["SESSIONS_TABLE"], store.client  # type: ignore[attr-defined]
        DynamoSessionStore(table, client=client).delete(slack_user(TEAM_ID, user_id))


def test_forget_during_a_card_submission_waits_for_the_card_and_deletes_nothing(
    paybot: Paybot, store: StoreUnderTest, card_saving: Hold
) -> None:
    paybot.pay()
    card_saving.on = True
    submission = in_background(lambda: paybot.submit(GOOD_VISA))
    card_saving.wait_for(1)

    forget = paybot.pay("forget").body
    card_saving.go.release()

    assert messages.FORGOTTEN not in forget
    assert to_mrkdwn(messages.FORGET_WAIT) in forget
    assert "Card saved" in json.dumps(submission().json())
    saved = store.session(paybot.user_id)
    assert saved is not None
    assert saved.payment is not None
    assert messages.FORGOTTEN in paybot.pay("forget").body
    assert store.session(paybot.user_id) is None


def test_a_card_saved_after_its_session_was_deleted_never_recreates_the_session(
    paybot: Paybot, store: StoreUnderTest, card_saving: Hold
) -> None:
    paybot.pay()
    card_saving.on = True
    submission = in_background(lambda: paybot.submit(GOOD_VISA))
    card_saving.wait_for(1)

    delete_behind_the_app(store, paybot.user_id)
    card_saving.go.release()

    assert "Card saved" in json.dumps(submission().json())  # Stripe did save it: the truth
    paybot.wait_until(
        lambda: any(messages.SAVED_NOT_RECORDED in m["text"] for m in paybot.bot_messages())
    )
    assert store.session(paybot.user_id) is None
