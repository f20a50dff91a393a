"""DynamoDB throttling (ProvisionedThroughputExceededException), injected at the HTTP layer.

The app talks to moto server through `throttling_proxy`, which answers a share
of DynamoDB requests with DynamoDB's throttling error. Whatever the share, no
session is corrupted or loses a turn the user was answered for, no event gets
two replies, and a user may be told "something went wrong" when botocore's
retries run out. The one 5xx is deliberate: an event whose duplicate-delivery
claim cannot be written is refused with 500 so that Slack delivers it again
(as Slack does, up to three times; the transcript redelivers the same way).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.cards import contains_pan
from emulator import slack_requests
from handlers.slack.blocks import OPEN_CARD_FORM
from tests.integration.harness import Paybot, Response, running_paybot
from tests.reliability.deliveries import APOLOGY, add_payer, watching_deliveries
from tests.reliability.stores import DynamoStoreUnderTest
from tests.reliability.throttling_proxy import Throttling, throttling_proxy

ACK_DEADLINE = 3.0
PAYERS = 6
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}


@dataclass
class Behind:
    """The app, the proxy's tally, and the store as moto holds it (read past the proxy)."""

    paybot: Paybot
    throttling: Throttling
    store: DynamoStoreUnderTest


@pytest.fixture
def behind_proxy(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moto_server: str,
    sessions_table: str,
    dynamodb_client: Any,
) -> Callable[[Throttling], Any]:
    """Start the app with its DynamoDB traffic going through a throttling proxy."""

    @contextmanager
    def start(throttling: Throttling) -> Iterator[Behind]:
        with throttling_proxy(moto_server, throttling) as proxy:
            monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", proxy)
            store = DynamoStoreUnderTest(sessions_table, dynamodb_client)
            with running_paybot(tmp_path, monkeypatch, **store.environment) as paybot:
                yield Behind(paybot, throttling, store)

    return start


@dataclass
class Transcript:
    """One payer's side of the scripted conversation."""

    payer: Paybot
    answered: list[str] = field(default_factory=list)  # DMs answered other than by an apology
    apologies: int = 0
    messages_expected: int = 0
    statuses: list[int] = field(default_factory=list)
    ack_seconds: list[float] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    unanswered_clicks: int = 0
    redeliveries: int = 0

    def record(self, answer: Response, started: float | None = None) -> Response:
        self.statuses.append(answer.status)
        self.bodies.append(answer.body)
        if started is not None:
            self.ack_seconds.append(time.monotonic() - started)
        return answer

    def dm(self, text: str) -> None:
        payer = self.payer
        request = slack_requests.message_im_event(
            user_id=payer.user_id, channel_id=payer.dm_channel, text=text
        )
        answer = payer.send(request)
        for retry in range(1, 4):  # Slack redelivers an event that was not acknowledged
            if answer.status != 500:
                break
            self.redeliveries += 1
            answer = payer.send(request, retry_num=retry)
        self.record(answer)
        self.messages_expected += 1
        # Up to three store calls, each with botocore's up to 1 + 2 + 4 s of backoff.
        self.payer.wait_until(
            lambda: len(self.payer.bot_messages()) >= self.messages_expected, timeout=30
        )
        reply = self.payer.bot_messages()[-1]
        if APOLOGY in reply["text"]:
            self.apologies += 1
        else:
            self.answered.append(text)

    def pay_status(self) -> None:
        started = time.monotonic()
        answer = self.record(self.payer.pay("status"), started)
        self.apologies += APOLOGY in answer.body

    def click_secure_button(self) -> None:
        last = self.payer.last_bot_message()
        if OPEN_CARD_FORM not in json.dumps(last.get("blocks", [])):
            return
        forms = len(self.payer.slack.views(self.payer.user_id))
        started = time.monotonic()
        self.record(self.payer.click(OPEN_CARD_FORM, last), started)
        # The click is answered inside its request: by now there is a form or a message.
        if len(self.payer.slack.views(self.payer.user_id)) > forms:
            return
        if len(self.payer.bot_messages()) > self.messages_expected:
            self.messages_expected += 1
            self.apologies += 1
        else:
            self.unanswered_clicks += 1  # see test_card_form_open_failures.py


def converse(payer: Paybot, number: int) -> Transcript:
    transcript = Transcript(payer)
    transcript.dm("hi")
    transcript.dm(f"I need to pay invoice INV-{number}, ${number + 10}")
    transcript.pay_status()
    transcript.click_secure_button()
    transcript.dm("thanks, one more question: what happens next?")
    return transcript


def payers(paybot: Paybot, count: int) -> list[Paybot]:
    made = []
    for number in range(count):
        user_id = f"U0THROTTLE{number}"
        add_payer(paybot, user_id)
        made.append(dataclasses.replace(paybot, user_id=user_id))
    return made


@pytest.mark.parametrize(("rate", "seed"), [(0.1, 101), (0.3, 303), (0.5, 505)])
def test_a_throttled_store_corrupts_no_session_and_answers_each_event_once(
    behind_proxy: Callable[[Throttling], Any],
    rate: float,
    seed: int,
    figure: Callable[[str], None],
) -> None:
    with behind_proxy(Throttling(rate=rate, seed=seed)) as behind:
        people = payers(behind.paybot, PAYERS)
        with ThreadPoolExecutor(max_workers=PAYERS) as pool:
            transcripts = list(pool.map(converse, people, range(PAYERS)))

        for transcript in transcripts:
            payer = transcript.payer
            assert set(transcript.statuses) == {200}
            assert not any("Traceback" in body for body in transcript.bodies)
            assert len(payer.bot_messages()) == transcript.messages_expected
            session = behind.store.session(payer.user_id)
            said = [t.text for t in session.history if t.role == "user"] if session else []
            assert said == transcript.answered
        assert not contains_pan(behind.store.raw())

    acks = sorted(s for t in transcripts for s in t.ack_seconds)
    tally = behind.throttling
    figure(
        f"dynamodb throttled {rate:.0%}: {PAYERS} payers, {sum(tally.requests.values())} "
        f"requests, {sum(tally.throttled.values())} throttled; "
        f"{sum(t.apologies for t in transcripts)} apologies, "
        f"{sum(t.unanswered_clicks for t in transcripts)} unanswered button presses, "
        f"{sum(t.redeliveries for t in transcripts)} events redelivered after a refused claim, "
        "0 duplicate replies; "
        f"ack p50 {statistics.median(acks):.2f} s, max {acks[-1]:.2f} s, "
        f"{sum(s > ACK_DEADLINE for s in acks)}/{len(acks)} over {ACK_DEADLINE:.0f} s"
    )


class Outage:
    """A rule that throttles every `operation` whose body holds `marker` while switched on."""

    def __init__(self, operation: str, marker: bytes) -> None:
        self.operation, self.marker = operation, marker
        self.on = threading.Event()

    def __call__(self, operation: str, body: bytes) -> bool:
        return self.on.is_set() and operation == self.operation and self.marker in body


def test_an_event_whose_claim_failed_is_answered_once_across_redeliveries(
    behind_proxy: Callable[[Throttling], Any],
) -> None:
    event_id = slack_requests.new_event_id()
    outage = Outage("PutItem", f"event#slack:{event_id}".encode())
    with behind_proxy(Throttling(rule=outage)) as behind:
        paybot = behind.paybot
        ask = "I need to pay invoice INV-9, $45"
        with watching_deliveries(paybot) as watch:
            outage.on.set()  # every attempt of the first delivery's claim is refused
            assert paybot.dm(ask, event_id=event_id).status == 500  # so Slack delivers again
            assert paybot.bot_messages() == []  # and no reply a redelivery could repeat
            outage.on.clear()
            assert paybot.dm(ask, event_id=event_id, retry_num=1).status == 200
            watch.wait_for_quiescence(1, [paybot.dm_channel])  # the refused one counts for none
        texts = [m["text"] for m in paybot.bot_messages()]
        assert len(texts) == 1, f"one event, {len(texts)} replies: {texts}"
        assert APOLOGY not in texts[0]


def test_on_slacks_last_try_an_event_is_answered_even_without_its_claim(
    behind_proxy: Callable[[Throttling], Any],
) -> None:
    event_id = slack_requests.new_event_id()
    outage = Outage("PutItem", f"event#slack:{event_id}".encode())
    with behind_proxy(Throttling(rule=outage)) as behind:
        paybot = behind.paybot
        outage.on.set()
        assert paybot.dm("hi", event_id=event_id, retry_num=3).status == 200
        (reply,) = paybot.wait_for_bot_messages(1)
        assert reply["text"]


def test_a_card_saved_at_stripe_is_confirmed_even_when_it_cannot_be_recorded(
    behind_proxy: Callable[[Throttling], Any],
) -> None:
    # Every write that records a payment is throttled; everything before it succeeds.
    saving = Outage("PutItem", b"pm_")
    saving.on.set()
    with behind_proxy(Throttling(rule=saving)) as behind:
        paybot = behind.paybot
        paybot.pay("45 USD INV-1001")
        answer = paybot.submit(CARD)
        assert answer.status == 200
        shown = json.dumps(answer.json(), ensure_ascii=False)
        (method,) = paybot.stripe.payment_methods
        assert "Nothing was saved" not in shown
        assert "Visa •••• 4242" in shown
        (confirmation,) = paybot.bot_messages()
        assert method["id"] in confirmation["text"]


def test_a_card_form_the_store_could_not_record_says_so_in_itself(
    behind_proxy: Callable[[Throttling], Any],
) -> None:
    # The form opens right after the session is read; writing it down comes after.
    recording = Outage("PutItem", b"")
    with behind_proxy(Throttling(rule=recording)) as behind:
        paybot = behind.paybot
        paybot.dm("I need to pay invoice INV-9, $45")
        (offer,) = paybot.wait_for_bot_messages(1)
        paybot.wait_for_quiet()
        recording.on.set()  # every session write from now on is refused
        assert paybot.click(OPEN_CARD_FORM, offer).status == 200
        (form,) = paybot.slack.views(paybot.user_id)
        assert APOLOGY in json.dumps(form)  # the form became the apology: no card is asked
        assert form["callback_id"] == "card_result"
        assert len(paybot.bot_messages()) == 1  # and nothing else was said


STORM_PAYERS = 8


def test_pay_answers_within_slacks_deadline_while_dynamodb_throttles_everything(
    behind_proxy: Callable[[Throttling], Any], figure: Callable[[str], None]
) -> None:
    with behind_proxy(Throttling(rate=1.0)) as behind:
        people = payers(behind.paybot, STORM_PAYERS)

        def pay(payer: Paybot) -> tuple[Response, float]:
            started = time.monotonic()
            answer = payer.pay()
            return answer, time.monotonic() - started

        with ThreadPoolExecutor(max_workers=STORM_PAYERS) as pool:
            results = list(pool.map(pay, people))
    assert all(answer.status == 200 and APOLOGY in answer.body for answer, _ in results)
    slowest = max(seconds for _, seconds in results)
    figure(f"dynamodb throttled 100%: /pay apologised after up to {slowest:.2f} s")
    assert slowest < ACK_DEADLINE
