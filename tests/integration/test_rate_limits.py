"""Slack's `ratelimited`: async replies wait for Retry-After once; the 3 s ack path never waits."""

from __future__ import annotations

import json
import logging

import pytest

from tests.integration.harness import Paybot

CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}


def test_a_dm_reply_waits_out_one_rate_limit_and_arrives(paybot: Paybot) -> None:
    paybot.slack.inject("chat.postMessage", error="ratelimited", count=1, retry_after=1)
    paybot.dm("hi")
    (reply,) = paybot.wait_for_bot_messages(1)
    assert reply["text"]
    assert [c.ok for c in paybot.slack.calls_to("chat.postMessage")] == [False, True]


def test_a_rate_limited_confirmation_is_logged_and_the_form_still_confirms(
    paybot: Paybot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="handlers")
    paybot.pay()
    paybot.slack.inject("chat.postMessage", error="ratelimited", count=1, retry_after=30)
    body = paybot.submit(CARD).json()
    assert body["response_action"] == "update"
    assert "Visa •••• 4242" in json.dumps(body["view"], ensure_ascii=False)
    assert len(paybot.slack.calls_to("chat.postMessage")) == 1  # no wait, no retry
    assert "chat.postMessage failed: ratelimited" in caplog.text
