"""Taking the payment (PAYMENT_MODE=charge) through the served app: DM, card, Pay, receipt.

Slack requests are signed as Slack signs them; Stripe is the stand-in over HTTP, its
webhooks signed. Only the Pay button charges; only Stripe says paid.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import messages
from bot.adapters.sqlite_store import SqliteAuditLog
from bot.models import State
from emulator import driver
from emulator.slack_api import user_object
from handlers.slack.blocks import OPEN_AUTHENTICATION, OPEN_CARD_FORM, PAY
from tests.integration.harness import WEBHOOK_SECRET, Paybot, running_paybot
from tests.integration.test_hosted_flow import CARD_FIELDS, checkout_link, fill_in_hosted_page
from tests.integration.test_slack_flow import GOOD_VISA, session_of

pytestmark = pytest.mark.integration

DECLINED_AT_CHARGE = {**GOOD_VISA, "number": "4000 0000 0000 0341"}
BANK_EVERY_TIME = {**GOOD_VISA, "number": "4000 0027 6000 3184"}


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path, monkeypatch, PAYMENT_MODE="charge", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    ) as running:
        yield running


def save_card(paybot: Paybot, card: dict[str, str] = GOOD_VISA) -> dict[str, Any]:
    """DM the payment, open the form, submit `card`; the modal's answer."""
    paybot.dm("I need to pay invoice INV-1001, $45")
    paybot.wait_for_bot_messages(1)
    paybot.click(OPEN_CARD_FORM)
    body: dict[str, Any] = paybot.submit(card).json()
    return body


def offer(paybot: Paybot) -> dict[str, Any]:
    """The DM message asking to pay, once it has come."""
    paybot.wait_until(lambda: _offers(paybot) != [])
    return _offers(paybot)[-1]


def _offers(paybot: Paybot) -> list[dict[str, Any]]:
    return [m for m in paybot.bot_messages() if _has_button(m, PAY)]


def _has_button(message: dict[str, Any], action_id: str) -> bool:
    return any(
        element.get("action_id") == action_id
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
    )


def receipts(paybot: Paybot) -> list[dict[str, Any]]:
    return [
        m
        for m in paybot.bot_messages()
        if any(b.get("type") == "header" for b in m.get("blocks") or [])
    ]


def intents_created(paybot: Paybot) -> int:
    return sum(
        1
        for entry in paybot.stripe.requests
        if entry.method == "POST" and entry.path == "/v1/payment_intents"
    )


def audit(tmp_path: Path) -> list[dict[str, Any]]:
    trail = SqliteAuditLog(tmp_path / "sessions.db")
    return [record.model_dump(mode="json") for record in trail.export(since=0)]


def test_a_full_charge_ends_in_one_payment_and_one_receipt(paybot: Paybot, tmp_path: Path) -> None:
    answer = save_card(paybot)
    assert answer["response_action"] == "update"  # the modal says the card is saved
    asking = offer(paybot)
    assert "Pay *$45.00* for invoice *INV-1001* with Visa •••• 4242?" in json.dumps(
        asking["blocks"], ensure_ascii=False
    )
    assert intents_created(paybot) == 0  # nothing is charged before Pay

    assert paybot.click(PAY, asking).status == 200
    paybot.wait_until(lambda: receipts(paybot) != [])
    paybot.wait_for_quiet()

    (receipt,) = receipts(paybot)
    shown = json.dumps(receipt["blocks"], ensure_ascii=False)
    for fact in ("$45.00", "INV-1001", "Visa •••• 4242", "pi_", "View receipt"):
        assert fact in shown
    assert intents_created(paybot) == 1
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.state is State.COMPLETED
    assert saved.charge is not None
    assert saved.charge.status == "succeeded"
    actions = [record["action"] for record in audit(tmp_path)]
    assert actions == ["charge_attempted", "charge_succeeded"]
    # The Pay message lost its buttons: the offer can't be pressed again.
    updated = [m for m in paybot.slack.messages(paybot.dm_channel) if m["ts"] == asking["ts"]]
    assert not _has_button(updated[0], PAY)
    assert "Paid: the receipt is below" in json.dumps(updated[0]["blocks"], ensure_ascii=False)


def test_the_receipt_links_to_stripes_own_receipt_page(paybot: Paybot) -> None:
    save_card(paybot)
    paybot.click(PAY, offer(paybot))
    paybot.wait_until(lambda: receipts(paybot) != [])
    (receipt,) = receipts(paybot)
    links = [
        element["url"]
        for block in receipt["blocks"]
        for element in block.get("elements") or []
        if element.get("url")
    ]
    assert len(links) == 1
    with urllib.request.urlopen(links[0], timeout=10) as page:
        assert "45.00" in page.read().decode()


def test_a_double_click_and_a_redelivery_make_exactly_one_payment(paybot: Paybot) -> None:
    save_card(paybot)
    asking = offer(paybot)
    press = driver.click(paybot.slack, paybot.user_id, asking, PAY)
    threads = [threading.Thread(target=paybot.send, args=(press,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    paybot.send(press, retry_num=1)  # and a redelivery of the same press
    paybot.wait_until(lambda: receipts(paybot) != [])
    paybot.wait_for_quiet()
    assert intents_created(paybot) == 1
    assert len(receipts(paybot)) == 1


def test_a_card_declined_at_the_charge_names_only_brand_and_last_four(
    paybot: Paybot, tmp_path: Path
) -> None:
    save_card(paybot, DECLINED_AT_CHARGE)
    paybot.click(PAY, offer(paybot))
    paybot.wait_until(lambda: "didn't go through" in paybot.last_bot_message()["text"])
    paybot.wait_for_quiet()
    declined = paybot.last_bot_message()
    text = json.dumps(declined["blocks"], ensure_ascii=False)
    assert "Visa •••• 0341" in text
    assert "Nothing was charged" in text
    assert "4000000000000341" not in text.replace(" ", "")
    assert _has_button(declined, OPEN_CARD_FORM)  # another card
    assert receipts(paybot) == []
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.state is State.FAILED
    assert [r["action"] for r in audit(tmp_path)] == ["charge_attempted", "charge_failed"]
    assert audit(tmp_path)[-1]["detail"] == "generic_decline"


def test_another_card_after_a_decline_is_a_new_attempt_and_pays(
    paybot: Paybot, tmp_path: Path
) -> None:
    save_card(paybot, DECLINED_AT_CHARGE)
    first = offer(paybot)
    paybot.click(PAY, first)
    paybot.wait_until(lambda: "didn't go through" in paybot.last_bot_message()["text"])
    paybot.click(OPEN_CARD_FORM)
    paybot.submit(GOOD_VISA)
    paybot.wait_until(lambda: [m["ts"] for m in _offers(paybot)] not in ([], [first["ts"]]))
    assert "Visa •••• 4242" in _offers(paybot)[-1]["text"]
    paybot.click(PAY, _offers(paybot)[-1])
    paybot.wait_until(lambda: receipts(paybot) != [])
    assert intents_created(paybot) == 2
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.charge is not None
    assert saved.charge.attempt == 2


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("4000 0000 0000 9995", "insufficient funds"),
        ("4000 0000 0000 0002", "declined"),
        ("4000 0000 0000 0069", "expired"),
    ],
)
def test_a_card_declined_when_saved_says_so_on_the_form(
    paybot: Paybot, number: str, reason: str
) -> None:
    answer = save_card(paybot, {**GOOD_VISA, "number": number})
    assert answer["response_action"] == "errors"
    shown = json.dumps(answer)
    assert reason in shown.lower()
    assert number.replace(" ", "") not in shown.replace(" ", "")
    assert number[-4:] not in shown  # not even the last four: Stripe saved no card
    assert _offers(paybot) == []
    assert intents_created(paybot) == 0


def _authenticate(paybot: Paybot, intent_id: str, outcome: str) -> None:
    request = urllib.request.Request(
        f"{paybot.stripe_url}/_emulator/payment_intents/{intent_id}/authenticate",
        data=json.dumps({"outcome": outcome}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def _waiting_on_the_bank(paybot: Paybot, tmp_path: Path) -> str:
    save_card(paybot, BANK_EVERY_TIME)
    # The card itself is confirmed with the bank first, as Stripe's 3184 card asks.
    paybot.wait_until(lambda: _has_button(paybot.last_bot_message(), OPEN_AUTHENTICATION))
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.setup_id is not None
    request = urllib.request.Request(
        f"{paybot.stripe_url}/_emulator/setup_intents/{saved.setup_id}/authenticate",
        data=b'{"outcome": "complete"}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
    paybot.click(PAY, offer(paybot))
    paybot.wait_until(
        lambda: (
            _has_button(paybot.last_bot_message(), OPEN_AUTHENTICATION)
            and messages.AUTHENTICATE_PAYMENT.split(".")[0] in paybot.last_bot_message()["text"]
        )
    )
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.charge is not None
    assert saved.charge.status == "requires_action"
    assert saved.charge.intent_id is not None
    return saved.charge.intent_id


def test_a_payment_the_bank_confirms_is_paid_when_stripe_says_so(
    paybot: Paybot, tmp_path: Path
) -> None:
    intent_id = _waiting_on_the_bank(paybot, tmp_path)
    assert receipts(paybot) == []
    _authenticate(paybot, intent_id, "complete")  # Stripe's webhook tells the app
    paybot.wait_until(lambda: receipts(paybot) != [])
    paybot.wait_for_quiet()
    assert len(receipts(paybot)) == 1
    assert intents_created(paybot) == 1


def test_an_abandoned_bank_check_is_never_called_paid(paybot: Paybot, tmp_path: Path) -> None:
    _waiting_on_the_bank(paybot, tmp_path)
    paybot.wait_for_quiet()
    assert receipts(paybot) == []
    answer = paybot.pay("status")
    assert answer.status == 200
    assert "waiting for you to confirm it with your bank" in answer.body
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.state is State.CONFIRMING


def test_a_failed_bank_check_is_a_decline(paybot: Paybot, tmp_path: Path) -> None:
    intent_id = _waiting_on_the_bank(paybot, tmp_path)
    _authenticate(paybot, intent_id, "fail")
    paybot.wait_until(lambda: "didn't go through" in paybot.last_bot_message()["text"])
    assert messages.AUTHENTICATE_PAYMENT_FAILED in paybot.last_bot_message()["text"]
    assert receipts(paybot) == []


def test_a_missed_webhook_is_settled_by_reading_the_payment_again(
    paybot: Paybot, tmp_path: Path
) -> None:
    intent_id = _waiting_on_the_bank(paybot, tmp_path)
    paybot.stripe.webhook_url = None  # the webhook never comes
    _authenticate(paybot, intent_id, "complete")
    paybot.wait_for_quiet()
    assert receipts(paybot) == []
    paybot.pay("status")  # the person asks; the app reads the payment from Stripe
    paybot.wait_until(lambda: receipts(paybot) != [])
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.charge is not None
    assert saved.charge.status == "succeeded"


# Refunds: `/pay refund <payment id or invoice> [amount]`, by PAYBOT_ADMINS only.

ADMIN = "U0PAYADMIN"


@pytest.fixture
def with_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path,
        monkeypatch,
        PAYMENT_MODE="charge",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PAYBOT_ADMINS=f"U0SOMEONE, {ADMIN}",
    ) as running:
        running.slack.add_user(user_object(ADMIN, "admin", team_id=running.slack.team_id))
        yield running


def paid(paybot: Paybot) -> str:
    """A payment of $45.00 for INV-1001, made; its PaymentIntent id."""
    save_card(paybot)
    paybot.click(PAY, offer(paybot))
    paybot.wait_until(lambda: receipts(paybot) != [])
    (intent,) = paybot.stripe.payment_intents
    return str(intent["id"])


def refund_as(paybot: Paybot, user_id: str, text: str) -> str:
    answer = paybot.send(driver.pay(paybot.slack, user_id, f"refund {text}"))
    assert answer.status == 200
    return answer.body


def test_an_admin_refunds_part_then_the_rest_and_the_payer_hears_of_each(
    with_admin: Paybot, tmp_path: Path
) -> None:
    intent_id = paid(with_admin)
    answer = refund_as(with_admin, ADMIN, f"{intent_id} 10.00")
    assert "Refund of *$10.00* for invoice *INV-1001*" in answer
    with_admin.wait_until(
        lambda: "Stripe confirmed the refund" in with_admin.last_bot_message()["text"]
    )
    said = [json.dumps(m["blocks"], ensure_ascii=False) for m in with_admin.bot_messages()]
    assert any("A refund of *$10.00*" in text and "Visa •••• 4242" in text for text in said)
    answer = refund_as(with_admin, ADMIN, "INV-1001")  # by reference: all that is left
    assert "*$35.00*" in answer
    assert [r["amount"] for r in with_admin.stripe.refunds] == [1000, 3500]
    again = refund_as(with_admin, ADMIN, intent_id)
    assert "Nothing was refunded" in again
    assert len(with_admin.stripe.refunds) == 2
    with_admin.wait_for_quiet()
    actions = [r["action"] for r in audit(tmp_path)]
    assert actions.count("refund_created") == 2
    assert "refund_succeeded" in actions


def test_a_refund_by_someone_not_an_admin_is_refused_and_recorded(
    with_admin: Paybot, tmp_path: Path
) -> None:
    intent_id = paid(with_admin)
    answer = refund_as(with_admin, with_admin.user_id, intent_id)
    assert "only this workspace's payment admins can refund" in answer
    assert with_admin.stripe.refunds == []
    refused = [r for r in audit(tmp_path) if r["action"] == "refund_refused"]
    assert len(refused) == 1
    assert refused[0]["actor"].endswith(f":{with_admin.user_id}")


def test_more_than_is_left_is_refused_before_stripe(with_admin: Paybot) -> None:
    intent_id = paid(with_admin)
    answer = refund_as(with_admin, ADMIN, f"{intent_id} 50")
    assert "more than is left to refund" in answer
    assert with_admin.stripe.refunds == []
    assert "Nothing was refunded" in refund_as(with_admin, ADMIN, "INV-9999")


def test_pay_payments_lists_the_persons_own_payments_only(with_admin: Paybot) -> None:
    assert "You haven't paid anything with me yet." in with_admin.pay("payments").body
    intent_id = paid(with_admin)
    listed = with_admin.pay("payments")
    assert listed.status == 200
    assert "$45.00" in listed.body
    assert "INV-1001" in listed.body
    assert intent_id in listed.body
    others = with_admin.send(driver.pay(with_admin.slack, ADMIN, "payments")).body
    assert intent_id not in others


# Stripe's own page (CARD_ENTRY=hosted) takes the payment: Checkout in payment mode.


@pytest.fixture
def hosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path,
        monkeypatch,
        CARD_ENTRY="hosted",
        PAYMENT_MODE="charge",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    ) as running:
        yield running


def test_the_hosted_page_takes_the_agreed_amount_and_the_receipt_follows_once(
    hosted: Paybot, tmp_path: Path
) -> None:
    hosted.pay("45 USD INV-1001")
    link = checkout_link(hosted)
    assert "pay *$45.00* on Stripe's own page" in json.dumps(
        hosted.last_bot_message()["blocks"], ensure_ascii=False
    )
    (session,) = hosted.stripe.checkout_sessions
    assert (session["mode"], session["amount_total"], session["currency"]) == (
        "payment",
        4500,
        "usd",
    )
    assert receipts(hosted) == []
    fill_in_hosted_page(link, {**CARD_FIELDS, "number": "4242 4242 4242 4242"})
    hosted.wait_until(lambda: receipts(hosted) != [])
    hosted.wait_for_quiet()
    (receipt,) = receipts(hosted)  # the page's completion and the payment's event: one receipt
    assert "Visa •••• 4242" in json.dumps(receipt["blocks"], ensure_ascii=False)
    (intent,) = hosted.stripe.payment_intents
    assert intent["metadata"]["reference"] == "INV-1001"
    saved = session_of(hosted, tmp_path)
    assert saved is not None
    assert saved.state is State.COMPLETED
    assert saved.charge is not None
    assert saved.charge.status == "succeeded"
    assert saved.checkout_id is None


def test_without_the_amount_the_hosted_page_only_saves_the_card(hosted: Paybot) -> None:
    hosted.pay()
    checkout_link(hosted)
    (session,) = hosted.stripe.checkout_sessions
    assert session["mode"] == "setup"
