"""DMs as Slack really sends them: replies inside a thread, and files shared with a message.

A reply is answered in the thread the person wrote in; a `file_share` message's
text is a message like any other (card numbers in it included), and the file
itself is never read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cards import contains_pan
from emulator import slack_requests
from emulator.slack_api import DEFAULT_USER_ID
from tests.integration.harness import Paybot, running_paybot
from tests.integration.test_lambda_lazy import Lambda, bot_replies
from tests.integration.test_lambda_lazy import on_lambda as on_lambda  # the fixture
from tests.integration.test_slack_flow import session_of
from tests.reliability.deliveries import watching_deliveries

PAN = "4242 4242 4242 4242"
INVOICE = "here's the invoice, I need to pay it"


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch) as running:
        yield running


def reply_in_thread(paybot: Paybot, text: str, thread_ts: str) -> slack_requests.SlackRequest:
    return slack_requests.message_im_event(
        user_id=paybot.user_id,
        channel_id=paybot.dm_channel,
        text=text,
        thread_ts=thread_ts,
        parent_user_id=paybot.user_id,
    )


def with_a_file(user_id: str, channel: str, text: str) -> slack_requests.SlackRequest:
    return slack_requests.message_im_event(
        user_id=user_id,
        channel_id=channel,
        text=text,
        files=[slack_requests.shared_file(user_id=user_id)],
    )


def started_thread(paybot: Paybot) -> str:
    """The ts of the person's first DM, which the bot answered: a thread can hang off it."""
    request = slack_requests.message_im_event(
        user_id=paybot.user_id, channel_id=paybot.dm_channel, text="hi"
    )
    paybot.send(request)
    paybot.wait_for_bot_messages(1)
    return str(request.data["event"]["ts"])


def file_calls(paybot: Paybot) -> list[str]:
    return [call.method for call in paybot.slack.calls if call.method.startswith("files.")]


# --- threads --------------------------------------------------------------------------------


def test_a_reply_in_a_dm_thread_is_answered_in_that_thread(paybot: Paybot) -> None:
    thread = started_thread(paybot)

    paybot.send(reply_in_thread(paybot, "I need to pay invoice INV-7, $45", thread))

    answer = paybot.wait_for_bot_messages(2)[-1]
    assert answer.get("thread_ts") == thread
    assert "INV-7" in answer["text"]


def test_a_card_number_replied_in_a_dm_thread_is_warned_about_in_that_thread(
    paybot: Paybot,
) -> None:
    thread = started_thread(paybot)

    paybot.send(reply_in_thread(paybot, f"my card is {PAN}", thread))

    answer = paybot.wait_for_bot_messages(2)[-1]
    assert answer.get("thread_ts") == thread
    assert "secure button" in answer["text"]


def test_a_dm_outside_any_thread_is_answered_outside_any_thread(paybot: Paybot) -> None:
    paybot.dm("I need to pay invoice INV-7, $45")

    (answer,) = paybot.wait_for_bot_messages(1)
    assert "thread_ts" not in answer


# --- files shared with a message ---------------------------------------------------------


def test_a_dm_with_a_file_and_a_message_is_answered(paybot: Paybot) -> None:
    paybot.send(with_a_file(paybot.user_id, paybot.dm_channel, INVOICE))

    (answer,) = paybot.wait_for_bot_messages(1)
    assert answer["text"]


def test_a_dm_with_a_file_is_answered_from_its_message_alone(paybot: Paybot) -> None:
    paybot.send(with_a_file(paybot.user_id, paybot.dm_channel, "pay invoice INV-9, $45"))

    (answer,) = paybot.wait_for_bot_messages(1)
    assert "INV-9" in answer["text"]
    assert "invoice.pdf" not in json.dumps(answer)
    assert file_calls(paybot) == []


def test_a_card_number_in_a_file_shares_message_is_warned_about_and_never_stored(
    paybot: Paybot, tmp_path: Path
) -> None:
    paybot.send(with_a_file(paybot.user_id, paybot.dm_channel, f"{INVOICE}, card {PAN}"))

    (answer,) = paybot.wait_for_bot_messages(1)
    assert "secure button" in answer["text"]
    session = session_of(paybot, tmp_path)
    assert session is not None
    assert not any(contains_pan(turn.text) for turn in session.history)


def test_a_file_shared_in_a_dm_thread_is_answered_in_that_thread(paybot: Paybot) -> None:
    thread = started_thread(paybot)
    request = slack_requests.message_im_event(
        user_id=paybot.user_id,
        channel_id=paybot.dm_channel,
        text=INVOICE,
        files=[slack_requests.shared_file(user_id=paybot.user_id)],
        thread_ts=thread,
        parent_user_id=paybot.user_id,
    )

    paybot.send(request)

    answer = paybot.wait_for_bot_messages(2)[-1]
    assert answer.get("thread_ts") == thread


def test_a_file_shared_without_a_message_is_acknowledged_and_not_answered(
    paybot: Paybot,
) -> None:
    assert paybot.send(with_a_file(paybot.user_id, paybot.dm_channel, "")).status == 200
    paybot.dm("hi")  # answered after the file's delivery has settled

    paybot.wait_for_bot_messages(1)
    assert len(paybot.bot_messages()) == 1
    assert file_calls(paybot) == []


def test_a_file_shared_twice_is_answered_once(paybot: Paybot) -> None:
    request = with_a_file(paybot.user_id, paybot.dm_channel, INVOICE)

    with watching_deliveries(paybot) as watch:
        paybot.send(request)
        paybot.send(request, retry_num=1)
        watch.wait_for_quiescence(2, [paybot.dm_channel])

    assert len(paybot.bot_messages()) == 1


# --- on Lambda ------------------------------------------------------------------------------


def test_on_lambda_a_dm_with_a_file_is_answered_without_any_lazy_invoke(on_lambda: Lambda) -> None:
    # The raw request lists the file (name, links, for a snippet a preview of its text),
    # which nobody inspected for card data: it is answered inside the ack, never re-sent.
    request = with_a_file(DEFAULT_USER_ID, on_lambda.dm, INVOICE)

    assert on_lambda.call(request)["statusCode"] == 200

    assert on_lambda.invokes.payloads == []
    assert len(bot_replies(on_lambda)) == 1
