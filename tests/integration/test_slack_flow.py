"""paybot end to end: signed Slack requests in, Slack and Stripe calls out."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot import messages
from bot.adapters.sqlite_store import SqliteSessionStore
from bot.models import Session, State
from emulator import slack_requests
from handlers.slack.blocks import CANCEL_PAYMENT, CARD_FORM, OPEN_CARD_FORM
from tests.fakes import slack_user
from tests.integration.harness import Paybot


def test_url_verification_is_answered(paybot: Paybot) -> None:
    answer = paybot.send(slack_requests.url_verification("challenge-123"))
    assert answer.status == 200
    assert "challenge-123" in answer.body


def test_a_forged_signature_is_refused_with_no_side_effect(paybot: Paybot) -> None:
    answer = paybot.dm("hi", secret="not-the-secret")
    assert answer.status == 401
    assert paybot.slack.calls == []


def test_a_six_minute_old_request_is_refused_with_no_side_effect(paybot: Paybot) -> None:
    answer = paybot.dm("hi", timestamp=int(time.time()) - 360)
    assert answer.status == 401
    assert paybot.slack.calls == []


def test_hi_gets_a_reply(paybot: Paybot) -> None:
    assert paybot.dm("hi").status == 200
    (reply,) = paybot.wait_for_bot_messages(1)
    assert reply["text"]


def test_health_answers(paybot: Paybot) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{paybot.url}/health") as answer:
        assert answer.status == 200


GOOD_VISA = {
    "name": "Ada Lovelace",
    "number": "4242 4242 4242 4242",
    "expiry": "08/30",
    "cvc": "123",
}


def offer_and_open_form(paybot: Paybot) -> None:
    paybot.dm("I need to pay invoice INV-1001, $45")
    paybot.wait_for_bot_messages(1)
    assert paybot.click(OPEN_CARD_FORM).status == 200


def session_of(paybot: Paybot, tmp_path: Path) -> Session | None:
    store = SqliteSessionStore(tmp_path / "sessions.db")
    return store.get(slack_user(slack_requests.TEAM_ID, paybot.user_id))


def test_a_payment_request_is_summarised_with_the_secure_button(paybot: Paybot) -> None:
    paybot.dm("I need to pay invoice INV-1001, $45")
    (reply,) = paybot.wait_for_bot_messages(1)
    text = json.dumps(reply["blocks"])
    assert "$45.00" in text
    assert "INV-1001" in text
    buttons = [e["action_id"] for b in reply["blocks"] for e in b.get("elements", [])]
    assert buttons == [OPEN_CARD_FORM, CANCEL_PAYMENT]


def test_the_secure_button_opens_the_card_form_with_an_opaque_reference(paybot: Paybot) -> None:
    offer_and_open_form(paybot)
    form = paybot.card_form()
    blocks = [b.get("block_id") for b in form["blocks"] if b["type"] == "input"]
    assert blocks == ["name", "number", "expiry", "cvc"]
    assert "$45.00" in json.dumps(form["blocks"])
    assert len(form["private_metadata"]) < 40
    assert "INV" not in form["private_metadata"]


def test_pay_opens_the_card_form_at_once(paybot: Paybot) -> None:
    answer = paybot.pay()
    assert answer.status == 200
    assert paybot.card_form()["callback_id"] == CARD_FORM


def test_pay_with_amount_and_reference_shows_them_in_the_form(paybot: Paybot) -> None:
    paybot.pay("45 USD INV-1001")
    shown = json.dumps(paybot.card_form()["blocks"])
    assert "$45.00" in shown
    assert "INV-1001" in shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", "/pay 45 USD INV-1001"),
        ("status", "No payment in progress"),
        ("cancel", "nothing to cancel"),
        ("forget", "deleted everything"),
        ("frobnicate", "didn't recognise"),
    ],
)
def test_pay_subcommands_answer_ephemerally(paybot: Paybot, text: str, expected: str) -> None:
    answer = paybot.pay(text)
    assert answer.status == 200
    assert expected in answer.body
    paybot.wait_for_quiet()
    assert paybot.slack.calls_to("chat.postMessage") == []


def test_pay_forget_deletes_the_users_session(paybot: Paybot, tmp_path: Path) -> None:
    paybot.pay()
    assert session_of(paybot, tmp_path) is not None
    paybot.pay("forget")
    assert session_of(paybot, tmp_path) is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({**GOOD_VISA, "number": "4242 4242 4242 4241"}, "number"),
        ({**GOOD_VISA, "expiry": "01/20"}, "expiry"),
        ({**GOOD_VISA, "number": "3782 822463 10005", "cvc": "123"}, "cvc"),
    ],
)
def test_invalid_card_fields_come_back_inline(
    paybot: Paybot, values: dict[str, str], field: str
) -> None:
    paybot.pay()
    answer = paybot.submit(values)
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [field]
    assert paybot.stripe.payment_methods == []


@pytest.mark.parametrize(
    ("number", "cvc", "brand"),
    [
        ("4242 4242 4242 4242", "123", "Visa"),
        ("5555 5555 5555 4444", "123", "Mastercard"),
        ("3782 822463 10005", "1234", "Amex"),
    ],
)
def test_a_good_card_is_saved_and_confirmed_by_brand_and_last_four(
    paybot: Paybot, tmp_path: Path, number: str, cvc: str, brand: str
) -> None:
    paybot.pay()
    answer = paybot.submit({**GOOD_VISA, "number": number, "cvc": cvc})
    body = answer.json()
    last4 = number.replace(" ", "")[-4:]
    assert body["response_action"] == "update"
    assert f"{brand} •••• {last4}" in json.dumps(body["view"], ensure_ascii=False)
    (method,) = paybot.stripe.payment_methods
    paybot.wait_for_quiet()
    (confirmation,) = paybot.bot_messages()
    assert f"{brand} •••• {last4}" in confirmation["text"]
    assert method["id"] in json.dumps(confirmation["blocks"])
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.state is State.COMPLETED
    assert saved.payment is not None
    assert saved.payment.payment_method_id == method["id"]


@pytest.mark.parametrize(
    ("number", "field"),
    [
        ("4000 0000 0000 0127", "cvc"),
        ("4000 0000 0000 0002", "number"),
        ("4000 0000 0000 0069", "expiry"),
    ],
)
def test_a_card_the_issuer_declines_comes_back_on_the_right_field(
    paybot: Paybot, number: str, field: str
) -> None:
    paybot.pay()
    body = paybot.submit({**GOOD_VISA, "number": number}).json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [field]
    paybot.wait_for_quiet()
    assert paybot.bot_messages() == []


def test_pay_with_a_signed_amount_says_why_and_opens_no_form(paybot: Paybot) -> None:
    answer = paybot.pay("-45 USD INV-1001")
    assert answer.status == 200
    assert messages.AMOUNT_SIGNED in answer.body
    assert paybot.slack.views(paybot.user_id) == []


def test_a_stripe_outage_says_nothing_was_saved(paybot: Paybot, tmp_path: Path) -> None:
    paybot.stripe.inject(status=500, count=5)
    paybot.pay()
    body = paybot.submit(GOOD_VISA).json()
    assert body["response_action"] == "update"
    assert "Nothing was saved" in json.dumps(body["view"])
    assert paybot.stripe.payment_methods == []
    assert session_of(paybot, tmp_path).state is State.FAILED  # type: ignore[union-attr]


def test_two_identical_submissions_create_one_payment_method(paybot: Paybot) -> None:
    paybot.pay()
    form = paybot.card_form()
    first = paybot.submit(GOOD_VISA, view=form).json()
    second = paybot.submit(GOOD_VISA, view=form).json()
    assert len(paybot.stripe.payment_methods) == 1
    assert "saved" in json.dumps(first["view"])
    assert "already been saved" in json.dumps(second["view"])


def test_a_redelivered_event_gets_one_reply(paybot: Paybot) -> None:
    event_id = slack_requests.new_event_id()
    paybot.dm("hi", event_id=event_id)
    paybot.dm("hi", event_id=event_id, retry_num=1)
    paybot.dm("hi", event_id=event_id, retry_num=2)
    paybot.wait_for_bot_messages(1)
    paybot.dm("status please")  # a later event, answered after the retries were handled
    paybot.wait_for_bot_messages(2)
    paybot.wait_for_quiet()
    assert len(paybot.bot_messages()) == 2


def test_i_dont_know_does_not_cancel_but_nevermind_does(paybot: Paybot, tmp_path: Path) -> None:
    offer_and_open_form(paybot)
    paybot.dm("I don't know")
    paybot.wait_for_bot_messages(2)
    assert session_of(paybot, tmp_path).state is State.AWAITING_CARD  # type: ignore[union-attr]
    paybot.dm("nevermind")
    paybot.wait_for_bot_messages(3)
    assert session_of(paybot, tmp_path).state is State.CANCELLED  # type: ignore[union-attr]


def test_the_cancel_button_cancels_and_removes_the_buttons(paybot: Paybot, tmp_path: Path) -> None:
    paybot.dm("pay invoice INV-7 $12")
    paybot.wait_for_bot_messages(1)
    paybot.click(CANCEL_PAYMENT)
    paybot.wait_for_bot_messages(2)
    assert session_of(paybot, tmp_path).state is State.CANCELLED  # type: ignore[union-attr]
    first = paybot.bot_messages()[0]
    assert all(b["type"] != "actions" for b in first["blocks"])


def test_bot_messages_and_edits_are_ignored_quietly(paybot: Paybot) -> None:
    channel = paybot.dm_channel
    for request in (
        slack_requests.message_im_event(
            user_id="U0EMUBOT", channel_id=channel, text="hi", bot_id="B0EMUBOT"
        ),
        slack_requests.message_im_event(
            user_id=paybot.user_id, channel_id=channel, text="hi", subtype="message_changed"
        ),
    ):
        assert paybot.send(request).status == 200
    paybot.dm("hello")
    paybot.wait_for_bot_messages(1)
    paybot.wait_for_quiet()
    assert len(paybot.bot_messages()) == 1
