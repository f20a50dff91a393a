"""Slack redelivers events (X-Slack-Retry-Num): each event_id is answered exactly once.

Thirty DM events from ten people, each delivered two to four times in all, on
both session stores; once sequentially, once all at the same time in shuffled
order (so a retry may arrive before its first delivery).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from bot.cards import REDACTED, contains_pan
from emulator import slack_requests
from tests.integration.harness import Paybot, Response
from tests.reliability.deliveries import DeliveryWatch, add_payer, watching_deliveries
from tests.reliability.stores import StoreUnderTest

PAYERS = 10
EVENTS_PER_PAYER = 3


@dataclass(frozen=True)
class Event:
    user_id: str
    channel: str
    text: str
    carries_card: bool
    request: slack_requests.SlackRequest
    redeliveries: int


@dataclass(frozen=True)
class Delivery:
    event: Event
    retry_num: int | None


def scripted_events(paybot: Paybot) -> list[Event]:
    """Three turns per payer: a payment, a pasted card number (answered in the ack), a question."""
    events = []
    for payer in range(PAYERS):
        user_id = f"U0PAYER{payer:02d}"
        channel = add_payer(paybot, user_id)
        turns = [
            (f"I need to pay invoice INV-{payer}01, ${payer + 10}", False),
            ("my card is 4242 4242 4242 4242", True),
            (f"any updates on INV-{payer}01?", False),
        ]
        for text, carries_card in turns:
            request = slack_requests.message_im_event(
                user_id=user_id, channel_id=channel, text=text
            )
            redeliveries = 1 + len(events) % 3
            events.append(Event(user_id, channel, text, carries_card, request, redeliveries))
    return events


def deliveries_of(event: Event) -> list[Delivery]:
    return [Delivery(event, None)] + [Delivery(event, n) for n in range(1, event.redeliveries + 1)]


def deliver(paybot: Paybot, delivery: Delivery) -> Response:
    return paybot.send(delivery.event.request, retry_num=delivery.retry_num)


def assert_each_event_answered_once(
    store: StoreUnderTest, watch: DeliveryWatch, events: list[Event]
) -> None:
    channels = sorted({event.channel for event in events})
    for channel in channels:
        replies = watch.replies([channel])
        assert replies == EVENTS_PER_PAYER, f"{replies} replies in {channel}"
    ignored = Counter(watch.ignored)
    assert ignored == {event.request.data["event_id"]: event.redeliveries for event in events}
    for user_id in sorted({event.user_id for event in events}):
        session = store.session(user_id)
        assert session is not None
        theirs = [event for event in events if event.user_id == user_id]
        said = [turn.text for turn in session.history if turn.role == "user"]
        # Each event is one turn: the card number's as the redaction placeholder only.
        assert sorted(t for t in said if REDACTED not in t) == sorted(
            event.text for event in theirs if not event.carries_card
        )
        assert sum(REDACTED in t for t in said) == sum(event.carries_card for event in theirs)
        assert not any(contains_pan(t) for t in said)


def test_sequential_redeliveries_get_one_reply_per_event(
    paybot_on_store: Paybot, store: StoreUnderTest, figure: Callable[[str], None]
) -> None:
    paybot = paybot_on_store
    events = scripted_events(paybot)
    deliveries = [d for event in events for d in deliveries_of(event)]
    with watching_deliveries(paybot) as watch:
        statuses = [deliver(paybot, delivery).status for delivery in deliveries]
        settled = watch.wait_for_quiescence(len(deliveries), [e.channel for e in events])
        assert statuses == [200] * len(deliveries)
        assert_each_event_answered_once(store, watch, events)
    figure(
        f"redelivery, sequential ({store.kind}): {len(events)} events, {len(deliveries)} "
        f"deliveries -> {watch.replies([e.channel for e in events])} replies, "
        f"{len(watch.ignored)} duplicates ignored, settled {settled:.2f} s after the last ack"
    )


def test_concurrent_redeliveries_in_any_order_get_one_reply_per_event(
    paybot_on_store: Paybot, store: StoreUnderTest, figure: Callable[[str], None]
) -> None:
    paybot = paybot_on_store
    events = scripted_events(paybot)
    deliveries = [d for event in events for d in deliveries_of(event)]
    random.Random(20240601).shuffle(deliveries)
    with watching_deliveries(paybot) as watch:
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda d: deliver(paybot, d).status, deliveries))
        settled = watch.wait_for_quiescence(len(deliveries), [e.channel for e in events])
        assert statuses == [200] * len(deliveries)
        assert_each_event_answered_once(store, watch, events)
    figure(
        f"redelivery, concurrent ({store.kind}): {len(events)} events, {len(deliveries)} "
        f"deliveries -> {watch.replies([e.channel for e in events])} replies, "
        f"{len(watch.ignored)} duplicates ignored, settled {settled:.2f} s after the last ack"
    )


@pytest.mark.parametrize("retry_num", [1, 3])
def test_a_retry_whose_first_delivery_never_arrived_is_answered(
    paybot_on_store: Paybot, retry_num: int
) -> None:
    paybot = paybot_on_store
    answer = paybot.dm("I need to pay invoice INV-7, $45", retry_num=retry_num)
    assert answer.status == 200
    (reply,) = paybot.wait_for_bot_messages(1)
    assert "INV-7" in reply["text"]
