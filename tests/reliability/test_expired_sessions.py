"""A session past `expires_at` that is still stored (TTL deletes late) counts as absent everywhere.

The stale session is written straight into the store, as a late TTL leaves it:
a payment of $999.00 for INV-STALE, its card form offered and open. Every read
path must behave as if it were not there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from bot import messages
from bot.adapters.dynamodb_store import DynamoSessionStore
from bot.adapters.sqlite_store import SqliteSessionStore
from bot.models import Session, Slots, State, Turn
from bot.ports import SessionStore
from emulator import slack_requests
from emulator.slack_requests import TEAM_ID
from handlers.slack.blocks import CANCEL_PAYMENT, OPEN_CARD_FORM, card_modal, reply_blocks
from handlers.slack.copy import OFFER_CLOSED
from handlers.slack.mrkdwn import to_mrkdwn
from tests.fakes import slack_user
from tests.integration.harness import Paybot
from tests.reliability.stores import DynamoStoreUnderTest, StoreUnderTest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STALE_REF = "stale-form-ref"
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}


def stale_session(user_id: str, *, expires_at: int | None = None) -> Session:
    return Session(
        tenant_id=TEAM_ID,
        user_id=user_id,
        state=State.AWAITING_CARD,
        slots=Slots(amount=Decimal("999"), currency="USD", reference="INV-STALE"),
        history=(
            Turn(role="user", text="I need to pay INV-STALE, $999"),
            Turn(role="bot", text="Got it: $999.00 for invoice INV-STALE."),
        ),
        card_form_offered=True,
        form_ref=STALE_REF,
        attempt=1,
        version=5,
        expires_at=int(time.time()) - 60 if expires_at is None else expires_at,
    )


@pytest.fixture
def stale(paybot_on_store: Paybot, store: StoreUnderTest) -> Paybot:
    """The app, with an expired but undeleted session for its payer."""
    store.write_raw(stale_session(paybot_on_store.user_id))
    assert store.session(paybot_on_store.user_id) is None  # the adapter already hides it
    return paybot_on_store


def the_stale_offer(paybot: Paybot) -> dict[str, object]:
    """The DM message that offered the card form before the session expired."""
    text = "Got it: *$999.00* for invoice *INV-STALE*."
    return {
        "type": "message",
        "user": slack_requests.BOT_USER_ID,
        "bot_id": slack_requests.BOT_ID,
        "ts": slack_requests.new_ts(),
        "text": text,
        "blocks": slack_requests.blocks_with_ids(reply_blocks(text, offer_card_form=True)),
    }


def test_a_dm_after_expiry_starts_a_fresh_conversation(
    stale: Paybot, store: StoreUnderTest
) -> None:
    stale.dm("hello")
    (reply,) = stale.wait_for_bot_messages(1)
    assert "INV-STALE" not in reply["text"]
    assert "999" not in reply["text"]
    session = store.session(stale.user_id)
    assert session is not None
    assert "INV-STALE" not in session.model_dump_json()
    assert [t.text for t in session.history if t.role == "user"] == ["hello"]
    assert session.version == 1


def test_no_after_expiry_is_not_taken_as_cancelling_the_stale_offer(stale: Paybot) -> None:
    stale.dm("no")
    (reply,) = stale.wait_for_bot_messages(1)
    assert reply["text"] not in (messages.CANCELLED, to_mrkdwn(messages.CONFIRM_CANCEL))


def test_pay_status_after_expiry_says_no_payment_is_in_progress(stale: Paybot) -> None:
    answer = stale.pay("status")
    assert answer.status == 200
    assert "No payment in progress" in answer.body
    assert "INV-STALE" not in answer.body


def test_pay_after_expiry_opens_a_fresh_form(stale: Paybot) -> None:
    stale.pay()
    form = stale.card_form()
    assert form["private_metadata"] != STALE_REF
    assert "999" not in json.dumps(form["blocks"])


@pytest.mark.parametrize("button", [OPEN_CARD_FORM, CANCEL_PAYMENT])
def test_a_button_from_before_expiry_says_its_offer_is_closed(stale: Paybot, button: str) -> None:
    offer = the_stale_offer(stale)
    assert stale.click(button, offer).status == 200
    (said,) = stale.wait_for_bot_messages(1)  # only the presser sees it; nothing new starts
    assert said["is_ephemeral"]
    assert said["text"] == to_mrkdwn(OFFER_CLOSED)
    stale.wait_for_quiet()
    assert stale.slack.views(stale.user_id) == []
    assert [c.method for c in stale.slack.calls_to("chat.update")] == ["chat.update"]


def test_the_card_form_from_before_expiry_is_refused_as_no_longer_active(stale: Paybot) -> None:
    old_form = slack_requests.full_view(card_modal(STALE_REF, Slots()))
    answer = stale.submit(CARD, view=old_form)
    assert answer.status == 200
    assert to_mrkdwn(messages.FORM_STALE) in json.dumps(answer.json())
    assert stale.stripe.requests == []


def purge_expired(store: StoreUnderTest) -> subprocess.CompletedProcess[str]:
    """`python -m bot sessions purge-expired`, as an operator runs it, against `store`."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("SQLITE_PATH", "SESSIONS_TABLE")}
    return subprocess.run(
        [sys.executable, "-m", "bot", "sessions", "purge-expired"],
        cwd=PROJECT_ROOT,
        env={**inherited, **store.environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_purge_expired_deletes_the_stale_session_and_keeps_a_live_one(
    stale: Paybot, store: StoreUnderTest
) -> None:
    live = "U0LIVEPAYER"
    store.write_raw(stale_session(live, expires_at=int(time.time()) + 600))
    result = purge_expired(store)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Deleted 1 expired sessions.\n"
    assert stale.user_id not in store.raw()
    kept = store.session(live)
    assert kept is not None
    assert kept.version == 5


def adapter(store: StoreUnderTest, now: float) -> SessionStore:
    if isinstance(store, DynamoStoreUnderTest):
        return DynamoSessionStore(store.table, client=store.client, clock=lambda: now)
    return SqliteSessionStore(Path(store.environment["SQLITE_PATH"]), clock=lambda: now)


def test_a_session_at_exactly_its_expiry_is_absent_and_may_be_replaced(
    paybot_on_store: Paybot, store: StoreUnderTest
) -> None:
    session = stale_session("U0EDGE", expires_at=1_900_000_000)
    store.write_raw(session)
    at_expiry = adapter(store, now=1_900_000_000)
    assert adapter(store, now=1_899_999_999).get(slack_user(TEAM_ID, "U0EDGE")) is not None
    assert at_expiry.get(slack_user(TEAM_ID, "U0EDGE")) is None
    fresh = Session(tenant_id=TEAM_ID, user_id="U0EDGE", expires_at=1_900_003_600)
    assert at_expiry.save(fresh, expected_version=0).version == 1
