"""Fifty submissions of one card form at the same moment: one card saved, everyone told why."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot import messages
from bot.models import State
from tests.integration.harness import Paybot
from tests.reliability.stores import StoreUnderTest

SUBMISSIONS = 50
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}


def outcome(answer: dict[str, Any]) -> str:
    """Which of the three things a submitter may be told this modal answer says."""
    shown = json.dumps(answer, ensure_ascii=False)
    if answer.get("response_action") == "update" and "Card saved" in shown:
        return "saved"
    if messages.IN_PROGRESS in shown:
        return "in progress"
    if messages.ALREADY_DONE in shown:
        return "already done"
    return f"unexpected: {shown[:200]}"


def test_fifty_concurrent_submissions_of_one_form_save_one_card(
    paybot_on_store: Paybot, store: StoreUnderTest, figure: Callable[[str], None]
) -> None:
    paybot = paybot_on_store
    paybot.pay("45 USD INV-1001")
    form = paybot.card_form()

    def submit(_: int) -> tuple[int, dict[str, Any], float]:
        started = time.monotonic()
        answer = paybot.submit(CARD, view=form)
        return answer.status, answer.json(), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=SUBMISSIONS) as pool:
        results = list(pool.map(submit, range(SUBMISSIONS)))

    told = Counter(outcome(body) for _, body, _ in results)
    assert [status for status, _, _ in results] == [200] * SUBMISSIONS
    assert told["saved"] == 1
    assert told["saved"] + told["in progress"] + told["already done"] == SUBMISSIONS
    assert len(paybot.stripe.payment_methods) == 1
    (confirmation,) = paybot.bot_messages()
    assert "4242" in confirmation["text"]
    session = store.session(paybot.user_id)
    assert session is not None
    assert session.state is State.COMPLETED
    assert session.payment is not None
    assert session.payment.payment_method_id == paybot.stripe.payment_methods[0]["id"]
    latencies = sorted(seconds for _, _, seconds in results)
    figure(
        f"{SUBMISSIONS} concurrent submissions ({store.kind}): "
        f"{len(paybot.stripe.payment_methods)} PaymentMethod, {len(paybot.bot_messages())} "
        f"confirmation DM, {told['saved']} saved / {told['in progress']} in progress / "
        f"{told['already done']} already done; ack p50 {statistics.median(latencies):.2f} s, "
        f"max {latencies[-1]:.2f} s"
    )


def test_a_duplicate_submission_after_the_card_is_saved_is_told_it_is_done(
    paybot_on_store: Paybot,
) -> None:
    paybot = paybot_on_store
    paybot.pay()
    form = paybot.card_form()
    assert outcome(paybot.submit(CARD, view=form).json()) == "saved"
    assert outcome(paybot.submit(CARD, view=form).json()) == "already done"
    assert len(paybot.stripe.payment_methods) == 1
    assert len(paybot.bot_messages()) == 1
