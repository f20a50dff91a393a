"""Stripe failing under a card submission: retried under one idempotency key, or a clear answer.

The gateway gives Stripe one retry (stripe-python's own, which reuses the
Idempotency-Key it was given), so a single 500, 429 or timeout is invisible to
the user; two in a row end in "nothing was saved", inside Slack's 3 s. The
faults hit the request that carries the card (`POST /v1/payment_methods`); the
Customer lookup before it and the SetupIntent after it go through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.errors import PaymentUnavailable
from bot.models import State
from handlers.slack.blocks import OPEN_CARD_FORM
from tests.integration.harness import Paybot
from tests.reliability.deliveries import wait_for
from tests.reliability.stores import SqliteStoreUnderTest

CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}
ACK_DEADLINE = 3.0
UNAVAILABLE = PaymentUnavailable.user_message


def submit_card(paybot: Paybot) -> tuple[dict[str, Any], float]:
    """Open the card form with /pay, submit the card; the modal's answer and how long it took."""
    if not paybot.slack.views(paybot.user_id):
        paybot.pay("45 USD INV-1001")
    started = time.monotonic()
    answer = paybot.submit(CARD)
    elapsed = time.monotonic() - started
    assert answer.status == 200
    return answer.json(), elapsed


def saved(answer: dict[str, Any]) -> bool:
    return answer.get("response_action") == "update" and "Card saved" in json.dumps(answer)


CARD_PATH = "/v1/payment_methods"


def card_requests(paybot: Paybot) -> list[Any]:
    return [request for request in paybot.stripe.requests if request.path == CARD_PATH]


def keys(paybot: Paybot) -> list[str | None]:
    return [request.idempotency_key for request in card_requests(paybot)]


def statuses(paybot: Paybot) -> list[int]:
    return [request.status for request in card_requests(paybot)]


def test_a_stripe_500_is_retried_under_the_same_idempotency_key(paybot: Paybot) -> None:
    paybot.stripe.inject(status=500, path=CARD_PATH)
    answer, elapsed = submit_card(paybot)
    assert saved(answer)
    assert statuses(paybot) == [500, 200]
    assert len(set(keys(paybot))) == 1
    assert len(paybot.stripe.payment_methods) == 1
    assert elapsed < ACK_DEADLINE


def test_a_stripe_rate_limit_that_says_retry_is_retried_under_the_same_key(
    paybot: Paybot,
) -> None:
    paybot.stripe.inject(status=429, should_retry=True, path=CARD_PATH)
    answer, _ = submit_card(paybot)
    assert saved(answer)
    assert statuses(paybot) == [429, 200]
    assert len(set(keys(paybot))) == 1
    assert len(paybot.stripe.payment_methods) == 1


def test_a_stripe_timeout_is_retried_under_the_same_key_and_saves_one_card(
    paybot: Paybot, figure: Callable[[str], None]
) -> None:
    paybot.stripe.inject(
        delay=1.5, path=CARD_PATH
    )  # longer than the gateway's 1 s timeout; then it succeeds
    answer, elapsed = submit_card(paybot)
    assert saved(answer)
    # The abandoned first request still completes at Stripe: wait for it, then count.
    assert wait_for(lambda: len(card_requests(paybot)) == 2, timeout=5)
    assert len(set(keys(paybot))) == 1
    assert len(paybot.stripe.payment_methods) == 1
    assert elapsed < ACK_DEADLINE
    figure(f"stripe: one timeout then success, modal answered in {elapsed:.2f} s")


def test_a_timeout_on_the_setup_intent_is_retried_under_its_key_and_confirms_the_card_once(
    paybot: Paybot,
) -> None:
    paybot.stripe.inject(delay=1.5, path="/v1/setup_intents")
    answer, elapsed = submit_card(paybot)
    assert saved(answer)

    def setups() -> list[Any]:
        return [r for r in paybot.stripe.requests if r.path == "/v1/setup_intents"]

    # The abandoned first request still completes at Stripe: wait for it, then count.
    assert wait_for(lambda: len(setups()) == 2, timeout=5)
    assert len({r.idempotency_key for r in setups()}) == 1
    assert len(paybot.stripe.setup_intents) == 1
    assert elapsed < ACK_DEADLINE


def test_stripe_failing_twice_tells_the_user_nothing_was_saved(
    paybot: Paybot, figure: Callable[[str], None]
) -> None:
    paybot.stripe.inject(status=500, count=2, path=CARD_PATH)
    answer, elapsed = submit_card(paybot)
    assert answer["response_action"] == "update"
    assert UNAVAILABLE in json.dumps(answer["view"])
    (dm,) = paybot.wait_for_bot_messages(1)
    assert UNAVAILABLE in dm["text"]
    assert statuses(paybot) == [500, 500]
    assert len(set(keys(paybot))) == 1
    assert paybot.stripe.payment_methods == []
    assert elapsed < ACK_DEADLINE
    figure(f"stripe: two 500s, 'nothing was saved' answered in {elapsed:.2f} s")


def test_stripe_timing_out_twice_is_answered_within_slacks_deadline(
    paybot: Paybot, figure: Callable[[str], None]
) -> None:
    paybot.stripe.inject(delay=1.5, count=2, path=CARD_PATH)
    answer, elapsed = submit_card(paybot)
    assert UNAVAILABLE in json.dumps(answer)
    assert elapsed < ACK_DEADLINE
    # Both abandoned requests complete at Stripe under one key: at most one card object.
    assert wait_for(lambda: len(card_requests(paybot)) == 2, timeout=5)
    assert len(set(keys(paybot))) == 1
    assert len(paybot.stripe.payment_methods) <= 1
    figure(f"stripe: two timeouts, 'nothing was saved' answered in {elapsed:.2f} s")


@pytest.mark.parametrize(
    ("status", "should_retry"),
    [(429, None), (500, False)],
    ids=["rate limit without a retry hint", "500 that says do not retry"],
)
def test_a_stripe_failure_that_must_not_be_retried_fails_fast_with_a_clear_message(
    paybot: Paybot, status: int, should_retry: bool | None
) -> None:
    paybot.stripe.inject(status=status, should_retry=should_retry, path=CARD_PATH)
    answer, elapsed = submit_card(paybot)
    assert UNAVAILABLE in json.dumps(answer)
    assert statuses(paybot) == [status]
    assert paybot.stripe.payment_methods == []
    assert elapsed < ACK_DEADLINE


def test_a_resubmission_after_a_stripe_failure_is_a_new_attempt_under_a_new_key(
    paybot: Paybot,
) -> None:
    paybot.stripe.inject(status=500, count=2, path=CARD_PATH)
    failed, _ = submit_card(paybot)
    assert UNAVAILABLE in json.dumps(failed)
    answer, _ = submit_card(paybot)
    assert saved(answer)
    first, retried, second = keys(paybot)
    assert first == retried
    assert second != first
    assert len(paybot.stripe.payment_methods) == 1


def test_a_failed_submission_leaves_the_session_failed_and_offers_the_form_again(
    paybot: Paybot, tmp_path: Path
) -> None:
    paybot.stripe.inject(status=500, count=2, path=CARD_PATH)
    submit_card(paybot)
    (dm,) = paybot.wait_for_bot_messages(1)
    buttons = [e["action_id"] for b in dm.get("blocks", []) for e in b.get("elements", [])]
    assert OPEN_CARD_FORM in buttons
    session = SqliteStoreUnderTest(tmp_path / "sessions.db").session(paybot.user_id)
    assert session is not None
    assert session.state is State.FAILED
    assert session.pending_since is None
    assert session.payment is None
