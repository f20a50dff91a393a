"""Slack answering `ratelimited` on chat.postMessage: wait within the time budget, or log and go on.

Inside Slack's 3 s ack (the card form's confirmation, the card-number warning)
the app never waits: the message is lost and logged, the ack goes on. After the
ack (a DM's lazy reply) it waits once, Retry-After seconds plus up to 1 s of
jitter, if that fits the Lambda invocation; a longer wait is refused and logged.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slack_sdk.http_retry import builtin_handlers

from handlers.slack.client import MAX_RATE_LIMIT_WAIT_SECONDS
from tests.integration.harness import Paybot, Response
from tests.reliability.deliveries import wait_for

ACK_DEADLINE = 3.0
ASK = "I need to pay invoice INV-1001, $45"
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}
PASTED_CARD = "my card is 4242 4242 4242 4242"
SERVERLESS = Path(__file__).resolve().parents[2] / "serverless.yml"


class HeldSleep:
    """Stands in for the time.sleep slack_sdk's rate-limit handler calls.

    Records each requested wait and holds the caller until `release()` or until
    the wait is over, so a 30 s Retry-After costs the test only what it observes.
    """

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._released = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self._released.wait(timeout=seconds)

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def held_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldSleep]:
    held = HeldSleep()
    monkeypatch.setattr(builtin_handlers, "time", held)
    try:
        yield held
    finally:
        held.release()  # never leave a server thread waiting behind the test


def post_message_errors(paybot: Paybot) -> list[str | None]:
    return [call.error for call in paybot.slack.calls_to("chat.postMessage")]


def timed(action: Callable[[], Response]) -> tuple[Response, float]:
    started = time.monotonic()
    answer = action()
    return answer, time.monotonic() - started


def test_a_one_second_rate_limit_on_a_dm_reply_is_waited_out(paybot: Paybot) -> None:
    paybot.slack.inject("chat.postMessage", retry_after=1)
    answer, elapsed = timed(lambda: paybot.dm(ASK))
    assert answer.status == 200
    assert elapsed < ACK_DEADLINE
    (reply,) = paybot.wait_for_bot_messages(1)
    assert "$45.00" in reply["text"]
    assert post_message_errors(paybot) == ["ratelimited", None]


@pytest.mark.parametrize("retry_after", [1, 30])
def test_a_rate_limited_card_confirmation_is_not_waited_for_inside_the_ack(
    paybot: Paybot,
    held_sleep: HeldSleep,
    caplog: pytest.LogCaptureFixture,
    retry_after: int,
    figure: Callable[[str], None],
) -> None:
    caplog.set_level(logging.ERROR, logger="handlers.slack.render")
    paybot.pay()
    paybot.slack.inject("chat.postMessage", retry_after=retry_after)
    answer, elapsed = timed(lambda: paybot.submit(CARD))
    assert answer.status == 200
    assert "Card saved" in json.dumps(answer.json())  # the form itself confirms
    assert elapsed < ACK_DEADLINE
    assert held_sleep.waits == []
    assert post_message_errors(paybot) == ["ratelimited"]
    assert "chat.postMessage failed: ratelimited" in caplog.text
    figure(
        f"slack: Retry-After {retry_after} on the card confirmation, not waited for; "
        f"modal answered in {elapsed:.2f} s"
    )


@pytest.mark.parametrize("retry_after", [1, 30])
def test_a_rate_limited_card_number_warning_is_not_waited_for_inside_the_ack(
    paybot: Paybot, held_sleep: HeldSleep, caplog: pytest.LogCaptureFixture, retry_after: int
) -> None:
    caplog.set_level(logging.ERROR, logger="handlers.slack.render")
    paybot.slack.inject("chat.postMessage", retry_after=retry_after)
    answer, elapsed = timed(lambda: paybot.dm(PASTED_CARD))
    assert answer.status == 200
    assert elapsed < ACK_DEADLINE
    assert held_sleep.waits == []
    assert "chat.postMessage failed: ratelimited" in caplog.text


def test_a_rate_limit_that_outlasts_the_retry_loses_the_dm_reply_with_a_log_line(
    paybot: Paybot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="handlers.slack.render")
    paybot.slack.inject("chat.postMessage", retry_after=1, count=2)
    assert paybot.dm(ASK).status == 200
    assert wait_for(lambda: "chat.postMessage failed: ratelimited" in caplog.text, timeout=10)
    assert paybot.bot_messages() == []
    assert post_message_errors(paybot) == ["ratelimited", "ratelimited"]


def test_a_rate_limit_on_a_dm_reply_is_waited_out_after_the_ack_when_it_is_short(
    paybot: Paybot, held_sleep: HeldSleep
) -> None:
    paybot.slack.inject("chat.postMessage", retry_after=MAX_RATE_LIMIT_WAIT_SECONDS)
    answer, elapsed = timed(lambda: paybot.dm(ASK))
    assert answer.status == 200
    assert elapsed < ACK_DEADLINE
    assert wait_for(lambda: bool(held_sleep.waits), timeout=5)
    assert held_sleep.waits[0] >= MAX_RATE_LIMIT_WAIT_SECONDS
    held_sleep.release()
    (reply,) = paybot.wait_for_bot_messages(1)
    assert "$45.00" in reply["text"]


def lambda_timeout() -> int:
    """The Slack function's timeout in serverless.yml: the budget of a lazy re-invocation."""
    found = re.search(
        r"^  slack:\n(?:    .*\n|\s*\n)*?    timeout: (\d+)", SERVERLESS.read_text(), re.M
    )
    assert found, "no timeout for the slack function in serverless.yml"
    return int(found[1])


def test_a_dm_reply_never_waits_longer_than_its_lambda_invocation_may_run_and_says_so(
    paybot: Paybot, held_sleep: HeldSleep, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="handlers.slack.render")
    budget = lambda_timeout()
    paybot.slack.inject("chat.postMessage", retry_after=budget + 1)
    paybot.dm(ASK)
    assert wait_for(
        lambda: bool(held_sleep.waits) or "chat.postMessage failed" in caplog.text, timeout=5
    )
    assert all(wait < budget for wait in held_sleep.waits), (
        f"a {max(held_sleep.waits):.1f} s wait inside a {budget} s invocation"
    )
    assert "chat.postMessage failed: ratelimited" in caplog.text
