"""A worker that dies between claiming an event and finishing it must not silence the event.

A claim is in progress only as long as its worker can be alive (on Lambda, the
invocation's remaining time; served, a fixed budget); a redelivery after that
is handled once, a redelivery before it is still a duplicate, and a finished
event stays a duplicate for the whole window. The dead worker is simulated by
a claim made through the ledger with a clock set back in time, then never
completed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import handlers.aws_lambda
from bot.adapters.dynamodb_store import DynamoEventLedger
from bot.adapters.sqlite_store import SqliteEventLedger
from bot.ports import EventLedger
from bot.service import ConversationService
from emulator import slack_requests
from handlers.services import EVENT_CLAIM_SECONDS, SERVED_IN_PROGRESS_SECONDS
from tests.integration.harness import SIGNING_SECRET, WEBHOOK_SECRET, Paybot, running_paybot
from tests.integration.test_hosted_flow import (
    checkout_events,
    checkout_id,
    checkout_link,
    confirmations,
    post_webhook,
    signed,
)
from tests.integration.test_lambda_lazy import Lambda, bot_replies
from tests.integration.test_lambda_lazy import on_lambda as on_lambda  # the fixture
from tests.reliability.deliveries import watching_deliveries
from tests.reliability.stores import DynamoStoreUnderTest, SqliteStoreUnderTest, StoreUnderTest

PAN = "4242 4242 4242 4242"


def ledger_of(store: StoreUnderTest, clock: Callable[[], float]) -> EventLedger:
    """The app's ledger on `store`, read at the time `clock` says."""
    if isinstance(store, SqliteStoreUnderTest):
        return SqliteEventLedger(store.path, clock=clock)
    assert isinstance(store, DynamoStoreUnderTest)
    return DynamoEventLedger(store.table, client=store.client, clock=clock)


def seconds_ago(seconds: float) -> Callable[[], float]:
    return lambda: time.time() - seconds


def seconds_ahead(seconds: float) -> Callable[[], float]:
    return lambda: time.time() + seconds


def claimed_by_a_worker_that_died(ledger: EventLedger, key: str, in_progress: int) -> None:
    assert ledger.claim(key, ttl_seconds=EVENT_CLAIM_SECONDS, in_progress_seconds=in_progress)


def dm_event(paybot: Paybot, text: str) -> slack_requests.SlackRequest:
    return slack_requests.message_im_event(
        user_id=paybot.user_id, channel_id=paybot.dm_channel, text=text
    )


def slack_key(request: slack_requests.SlackRequest) -> str:
    return f"slack:{request.data['event_id']}"


# --- served: Slack's DM events ----------------------------------------------------------


@pytest.mark.parametrize("text", ["I need to pay invoice INV-7, $45", f"my card is {PAN}"])
def test_a_dm_whose_worker_died_is_answered_once_by_a_redelivery_after_its_in_progress_expiry(
    paybot_on_store: Paybot, store: StoreUnderTest, text: str
) -> None:
    paybot = paybot_on_store
    request = dm_event(paybot, text)
    past = ledger_of(store, seconds_ago(SERVED_IN_PROGRESS_SECONDS + 1))
    claimed_by_a_worker_that_died(past, slack_key(request), SERVED_IN_PROGRESS_SECONDS)

    with watching_deliveries(paybot) as watch:
        assert paybot.send(request, retry_num=1).status == 200
        paybot.wait_for_bot_messages(1)
        assert paybot.send(request, retry_num=2).status == 200
        watch.wait_for_quiescence(2, [paybot.dm_channel])

    assert len(paybot.bot_messages()) == 1
    assert watch.ignored == [request.data["event_id"]]


def test_a_redelivery_while_the_claiming_worker_may_still_be_working_is_a_duplicate(
    paybot_on_store: Paybot, store: StoreUnderTest
) -> None:
    paybot = paybot_on_store
    request = dm_event(paybot, "I need to pay invoice INV-7, $45")
    almost = ledger_of(store, seconds_ago(SERVED_IN_PROGRESS_SECONDS - 5))
    claimed_by_a_worker_that_died(almost, slack_key(request), SERVED_IN_PROGRESS_SECONDS)

    with watching_deliveries(paybot) as watch:
        assert paybot.send(request, retry_num=1).status == 200
        watch.wait_for_quiescence(1, [paybot.dm_channel])

    assert paybot.bot_messages() == []


def test_an_answered_dm_stays_a_duplicate_for_the_whole_window(
    paybot_on_store: Paybot, store: StoreUnderTest
) -> None:
    paybot = paybot_on_store
    request = dm_event(paybot, f"my card is {PAN}")  # answered inside the ack: done on return
    assert paybot.send(request).status == 200
    assert len(paybot.bot_messages()) == 1

    almost_a_day_later = ledger_of(store, seconds_ahead(EVENT_CLAIM_SECONDS - 60))

    assert not almost_a_day_later.claim(
        slack_key(request), ttl_seconds=EVENT_CLAIM_SECONDS, in_progress_seconds=60
    )


# --- served: Stripe's webhook -----------------------------------------------------------


@dataclass
class HeldCheckout:
    paybot: Paybot
    ledger_path: Path
    payload: str

    @property
    def key(self) -> str:
        return f"stripe:{json.loads(self.payload)['id']}"

    def ledger(self, clock: Callable[[], float]) -> EventLedger:
        return SqliteEventLedger(self.ledger_path, clock=clock)


@pytest.fixture
def held_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldCheckout]:
    """A completed hosted card page whose webhook Stripe has not delivered yet."""
    with running_paybot(
        tmp_path, monkeypatch, CARD_ENTRY="hosted", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    ) as paybot:
        paybot.pay()
        paybot.stripe.webhook_url = None  # Stripe's own delivery is held back
        paybot.stripe.complete_checkout(checkout_id(checkout_link(paybot)))
        (event,) = checkout_events(paybot)
        yield HeldCheckout(paybot, tmp_path / "sessions.db", json.dumps(event))


def test_a_stripe_event_whose_worker_died_is_handled_by_a_redelivery_after_its_in_progress_expiry(
    held_checkout: HeldCheckout,
) -> None:
    past = held_checkout.ledger(seconds_ago(SERVED_IN_PROGRESS_SECONDS + 1))
    claimed_by_a_worker_that_died(past, held_checkout.key, SERVED_IN_PROGRESS_SECONDS)
    payload = held_checkout.payload

    assert post_webhook(held_checkout.paybot, payload, signed(payload)) == 200
    assert post_webhook(held_checkout.paybot, payload, signed(payload)) == 200

    assert len(confirmations(held_checkout.paybot)) == 1


def test_a_stripe_redelivery_while_the_claiming_worker_may_still_be_working_is_a_duplicate(
    held_checkout: HeldCheckout,
) -> None:
    almost = held_checkout.ledger(seconds_ago(SERVED_IN_PROGRESS_SECONDS - 5))
    claimed_by_a_worker_that_died(almost, held_checkout.key, SERVED_IN_PROGRESS_SECONDS)
    payload = held_checkout.payload

    assert post_webhook(held_checkout.paybot, payload, signed(payload)) == 200

    assert confirmations(held_checkout.paybot) == []


def test_a_handled_stripe_event_stays_a_duplicate_for_the_whole_window(
    held_checkout: HeldCheckout,
) -> None:
    payload = held_checkout.payload
    assert post_webhook(held_checkout.paybot, payload, signed(payload)) == 200
    assert len(confirmations(held_checkout.paybot)) == 1

    almost_a_day_later = held_checkout.ledger(seconds_ahead(EVENT_CLAIM_SECONDS - 60))

    assert not almost_a_day_later.claim(
        held_checkout.key, ttl_seconds=EVENT_CLAIM_SECONDS, in_progress_seconds=60
    )


# --- on Lambda: the ack and the lazy invocation that answers ------------------------------

REMAINING_MS = 20_000


@dataclass
class TimedContext:
    """A Lambda context whose invocation has `remaining_ms` left."""

    remaining_ms: int = REMAINING_MS
    function_name: str = "paybot-test-slack"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:paybot-test-slack"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def call(request: slack_requests.SlackRequest, retry_num: int | None = None) -> dict[str, Any]:
    """One invocation of the Lambda entry by API Gateway, with Slack's request in it."""
    headers = {
        k.lower(): v for k, v in request.headers(SIGNING_SECRET, retry_num=retry_num).items()
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": request.body.decode(),
        "isBase64Encoded": False,
    }
    answer: dict[str, Any] = handlers.aws_lambda.handler(event, TimedContext())
    return answer


def run_lazy_invocations(on_lambda: Lambda) -> None:
    for payload in on_lambda.invokes.payloads:
        handlers.aws_lambda.handler(payload, TimedContext())
    on_lambda.invokes.payloads.clear()


def lambda_ledger(tmp_path: Path, clock: Callable[[], float]) -> EventLedger:
    return SqliteEventLedger(tmp_path / "sessions.db", clock=clock)


def probe(ledger: EventLedger, key: str) -> bool:
    """Whether a redelivery at the ledger's time would be handled (it claims the event)."""
    return ledger.claim(key, ttl_seconds=EVENT_CLAIM_SECONDS, in_progress_seconds=60)


def test_on_lambda_a_dm_stays_claimed_while_its_lazy_invocation_may_still_answer(
    on_lambda: Lambda, tmp_path: Path
) -> None:
    request = on_lambda.dm_event("I need to pay invoice INV-7, $45")
    call(request)  # acked; the lazy invocation has not answered yet

    later = lambda_ledger(tmp_path, seconds_ahead(REMAINING_MS / 1000 + 5))

    assert not probe(later, slack_key(request))


def test_on_lambda_a_dm_whose_lazy_invocation_never_answered_lapses_after_both_invocations(
    on_lambda: Lambda, tmp_path: Path
) -> None:
    request = on_lambda.dm_event("I need to pay invoice INV-7, $45")
    call(request)  # acked; the lazy invocation then timed out
    on_lambda.invokes.payloads.clear()

    after_both = lambda_ledger(tmp_path, seconds_ahead(2 * REMAINING_MS / 1000 + 1))

    assert probe(after_both, slack_key(request))


def test_on_lambda_a_card_dm_whose_worker_died_is_answered_by_a_redelivery_after_its_expiry(
    on_lambda: Lambda, tmp_path: Path
) -> None:
    request = on_lambda.dm_event(f"my card is {PAN}")
    past = lambda_ledger(tmp_path, seconds_ago(REMAINING_MS / 1000 + 1))
    claimed_by_a_worker_that_died(past, slack_key(request), REMAINING_MS // 1000)

    call(request, retry_num=1)

    (reply,) = bot_replies(on_lambda)
    assert "secure button" in reply["text"]


def test_on_lambda_a_dm_whose_claim_lapsed_is_answered_once_by_the_redelivery(
    on_lambda: Lambda, tmp_path: Path
) -> None:
    request = on_lambda.dm_event("I need to pay invoice INV-7, $45")
    past = lambda_ledger(tmp_path, seconds_ago(2 * REMAINING_MS / 1000 + 1))
    claimed_by_a_worker_that_died(past, slack_key(request), 2 * REMAINING_MS // 1000)

    call(request, retry_num=1)
    run_lazy_invocations(on_lambda)
    call(request, retry_num=2)
    run_lazy_invocations(on_lambda)

    assert len(bot_replies(on_lambda)) == 1


def test_on_lambda_the_lazy_invocation_that_answers_completes_the_claim(
    on_lambda: Lambda, tmp_path: Path
) -> None:
    request = on_lambda.dm_event("I need to pay invoice INV-7, $45")
    call(request)
    run_lazy_invocations(on_lambda)
    assert len(bot_replies(on_lambda)) == 1

    almost_a_day_later = lambda_ledger(tmp_path, seconds_ahead(EVENT_CLAIM_SECONDS - 60))

    assert not probe(almost_a_day_later, slack_key(request))


def test_a_dm_whose_answer_failed_unexpectedly_is_answered_by_the_next_redelivery(
    paybot_on_store: Paybot, monkeypatch: pytest.MonkeyPatch
) -> None:
    paybot = paybot_on_store
    answer = ConversationService.message
    failures = [RuntimeError("a bug")]

    def fails_once(self: ConversationService, *args: Any, **options: Any) -> Any:
        if failures:
            raise failures.pop()
        return answer(self, *args, **options)

    monkeypatch.setattr(ConversationService, "message", fails_once)
    request = dm_event(paybot, f"my card is {PAN}")  # answered inside the ack

    paybot.send(request)
    assert paybot.bot_messages() == []
    paybot.send(request, retry_num=1)

    assert len(paybot.wait_for_bot_messages(1)) == 1
