"""Card numbers typed across DMs, or spaced by runs of blanks, are removed before use.

Each test drives the product as Slack does (tests/security/rig.py) and reads what it
kept: the stored session, the Bedrock requests, the Lambda lazy-invoke payloads.
"""

from __future__ import annotations

import json

import pytest

from bot.cards import DETAILS_REDACTED, REDACTED
from emulator import bedrock_api, slack_requests
from emulator.slack_api import GENERAL_CHANNEL_ID
from tests.security.rig import Rig
from tests.security.scanner import Scanner

PAN = "4000056655665556"
WIDE = "4000    0566    5566    5556"
DECIDE = bedrock_api.tool_use(
    "decide", {"reply": "Happy to help with that.", "next_step": "ask", "intent": "other"}
)
SERVED = pytest.mark.parametrize(
    "rig", [("served", "sqlite")], ids=["served-sqlite"], indirect=True
)
LAMBDA = pytest.mark.parametrize(
    "rig", [("lambda", "dynamodb")], ids=["lambda-dynamodb"], indirect=True
)


def dm(rig: Rig, text: str) -> slack_requests.SlackRequest:
    return slack_requests.message_im_event(
        user_id=rig.user_id, channel_id=rig.dm_channel, text=text
    )


def say(rig: Rig, text: str) -> None:
    answer = rig.send(dm(rig, text), lazy_replies=1)
    assert answer.status == 200, answer


def stored_and_sent(rig: Rig) -> dict[str, object]:
    """What the product keeps and what it sent to the model."""
    return {
        name: content
        for name, content in rig.sinks().items()
        if name in ("sqlite rows", "dynamodb items", "bedrock requests")
    }


def last_user_turns(rig: Rig) -> list[str]:
    """The user's turns in the last Bedrock request, as the model saw them."""
    body = rig.bedrock.requests[-1].body
    return [
        part["text"]
        for message in body["messages"]
        if message["role"] == "user"
        for part in message["content"]
        if "text" in part
    ]


@SERVED
def test_a_card_number_split_across_two_dms_is_removed_from_both_turns(rig: Rig) -> None:
    rig.bedrock.default_reply = DECIDE
    say(rig, "my card is 4000 0566 5566")
    say(rig, "5556")
    say(rig, "ok, what happens next?")

    seen = last_user_turns(rig)
    assert not any("5566" in turn or "5556" in turn for turn in seen), seen
    assert any(f"my card is {REDACTED}" in turn for turn in seen), seen
    found = Scanner(splits=[("400005665566", "5556")]).scan("kept", rig.store.contents())
    assert not found, "\n".join(map(str, found))


@SERVED
def test_a_card_number_spaced_by_runs_of_blanks_is_removed_before_the_model_and_the_store(
    rig: Rig,
) -> None:
    rig.bedrock.default_reply = DECIDE
    say(rig, f"my card is {WIDE}")
    say(rig, "ok, what happens next?")

    assert "removed" in rig.bot_messages()[-2]["text"]
    found = [
        f
        for sink, content in stored_and_sent(rig).items()
        for f in Scanner([PAN]).scan(sink, content)
    ]
    assert not found, "\n".join(map(str, found))


@SERVED
def test_a_cvc_and_expiry_typed_right_after_a_removed_card_number_are_not_kept(rig: Rig) -> None:
    rig.bedrock.default_reply = DECIDE
    say(rig, "my card is 4000 0566 5566 5556")
    say(rig, "cvc 737 exp 12/30")
    say(rig, "ok, what happens next?")

    assert DETAILS_REDACTED in last_user_turns(rig)
    kept = json.dumps(stored_and_sent(rig), default=str)
    assert "737" not in kept
    assert "12/30" not in kept


@SERVED
def test_amounts_and_invoice_numbers_in_a_dm_are_not_taken_for_a_card(rig: Rig) -> None:
    rig.bedrock.default_reply = DECIDE
    say(rig, "pay 4000 USD for invoice 5566")

    assert last_user_turns(rig)[-1] == "pay 4000 USD for invoice 5566"


@SERVED
def test_a_cardholder_name_holding_a_widely_spaced_card_number_is_refused_before_stripe(
    rig: Rig,
) -> None:
    command = slack_requests.slash_command(
        text="", user_id=rig.user_id, channel_id=GENERAL_CHANNEL_ID, trigger_id=rig.trigger_id()
    )
    rig.send(command)
    values = {"name": f"Jane {WIDE}", "number": PAN, "expiry": "12/30", "cvc": "737"}
    submission = slack_requests.view_submission(
        view=rig.card_form(),
        values=values,
        user_id=rig.user_id,
        trigger_id=slack_requests.new_trigger_id(),
    )

    answer = rig.send(submission)

    body = json.loads(answer.body)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"name"}
    assert not rig.stripe.payment_methods


@LAMBDA
@pytest.mark.parametrize(
    ("before", "text"),
    [
        ("my card is 4000 0566 5566", "5556"),
        ("my card is 4000 0566", "5566 5556"),
        ("I'd like to pay INV-1001", f"my card is {WIDE}"),
        ("my card is 4000 0566 5566 5556", "cvc 737 exp 12/30"),
    ],
    ids=["split, last group", "split in half", "wide blanks", "cvc after a removed number"],
)
def test_on_lambda_a_dm_that_is_card_data_with_the_turn_before_never_becomes_lazy_work(
    rig: Rig, before: str, text: str
) -> None:
    rig.bedrock.default_reply = DECIDE
    say(rig, before)
    assert rig.invokes is not None
    deferred = len(rig.invokes.payloads)

    say(rig, text)

    assert len(rig.invokes.payloads) == deferred, "the DM was re-sent as a lazy payload"
    assert "removed" in rig.bot_messages()[-1]["text"]
