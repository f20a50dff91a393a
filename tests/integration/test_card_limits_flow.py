"""Card testing through the served app: past the budget, the form says so; Stripe hears nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Paybot, running_paybot
from tests.integration.test_slack_flow import GOOD_VISA

DECLINED = {**GOOD_VISA, "number": "4000 0000 0000 0002"}


@pytest.fixture
def limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch, LIMIT_CARD_SUBMISSIONS_PER_HOUR="3") as running:
        yield running


def test_declined_cards_use_up_the_budget_and_then_stripe_hears_nothing(limited: Paybot) -> None:
    limited.pay()
    limited.submit(DECLINED)  # declined: 2 of 3
    limited.pay()
    limited.submit(GOOD_VISA)  # 3 of 3
    seen = len(limited.stripe.requests)

    limited.pay()
    answer = limited.submit(GOOD_VISA).json()

    assert answer["response_action"] == "update"
    assert "card entry is paused" in json.dumps(answer["view"])
    assert len(limited.stripe.requests) == seen
