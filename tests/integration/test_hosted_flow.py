"""Card entry on Stripe's own page (CARD_ENTRY=hosted), confirmed by a signed webhook."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from bot.cards import contains_pan
from bot.messages import CHECKOUT_EXPIRED, HOSTED_INSTEAD
from bot.models import State
from emulator import slack_requests
from emulator.slack_api import GENERAL_CHANNEL_ID
from handlers.slack.blocks import CANCEL_PAYMENT, OPEN_CHECKOUT
from handlers.slack.mrkdwn import to_mrkdwn
from tests.integration.harness import WEBHOOK_SECRET, Paybot, running_paybot
from tests.integration.test_slack_flow import session_of

PAN = "4000 0566 5566 5556"
CARD_FIELDS = {"number": PAN, "expiry": "12/30", "cvc": "123", "name": "Ada Lovelace"}


@pytest.fixture
def hosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(
        tmp_path, monkeypatch, CARD_ENTRY="hosted", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    ) as running:
        yield running


@pytest.fixture
def fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET) as running:
        running.stripe.raw_card_data = False
        yield running


def checkout_link(paybot: Paybot) -> str:
    for message in reversed(paybot.bot_messages()):
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == OPEN_CHECKOUT:
                    return str(element["url"])
    raise AssertionError("no checkout link in the DM")


def checkout_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def fill_in_hosted_page(url: str, fields: dict[str, str] = CARD_FIELDS) -> str:
    """Type a card into Stripe's page as a browser would; the page we end up on."""
    form = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=form), timeout=10) as page:
        return page.read().decode()


def post_webhook(paybot: Paybot, payload: str, signature: str) -> int:
    request = urllib.request.Request(
        f"{paybot.url}/stripe/webhook",
        data=payload.encode(),
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def signed(payload: str, *, secret: str = WEBHOOK_SECRET, age: int = 0) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=int(time.time()) - age
    )
    return header


def checkout_events(paybot: Paybot) -> list[dict[str, Any]]:
    """Checkout's own events (Stripe also sends its SetupIntent's `setup_intent.*` ones)."""
    return [e for e in paybot.stripe.events if str(e["type"]).startswith("checkout.session.")]


def confirmations(paybot: Paybot) -> list[dict[str, Any]]:
    return [m for m in paybot.bot_messages() if "saved" in m["text"] and "••••" in m["text"]]


def test_pay_sends_the_checkout_link_to_the_dm_and_never_the_channel(hosted: Paybot) -> None:
    answer = hosted.pay()
    assert "direct messages" in answer.body
    assert checkout_link(hosted).startswith("http://127.0.0.1")
    assert hosted.slack.messages(GENERAL_CHANNEL_ID) == []
    assert "/pay/" not in answer.body


def test_the_hosted_page_completes_and_the_dm_confirms(hosted: Paybot, tmp_path: Path) -> None:
    hosted.pay("45 USD INV-1001")
    page = fill_in_hosted_page(checkout_link(hosted))
    assert "Back to Slack" in page  # Stripe sent the browser to our return page
    hosted.wait_until(lambda: bool(confirmations(hosted)))
    (confirmation,) = confirmations(hosted)
    assert "•••• 5556" in confirmation["text"]
    saved = session_of(hosted, tmp_path)
    assert saved is not None
    assert saved.state is State.COMPLETED
    assert saved.payment is not None
    assert saved.payment.last4 == "5556"


def test_a_customer_deleted_at_stripe_gets_a_page_on_the_persons_current_one(
    hosted: Paybot, tmp_path: Path
) -> None:
    hosted.pay()
    remembered = session_of(hosted, tmp_path)
    assert remembered is not None
    assert remembered.customer_id is not None
    hosted.stripe.reset()  # Stripe forgot every object, that Customer too

    hosted.pay()

    page = fill_in_hosted_page(checkout_link(hosted))
    assert "Back to Slack" in page
    hosted.wait_until(lambda: bool(confirmations(hosted)))
    saved = session_of(hosted, tmp_path)
    assert saved is not None
    assert saved.customer_id not in (None, remembered.customer_id)


def test_the_return_page_links_back_to_the_app_in_slack(hosted: Paybot) -> None:
    hosted.pay()
    page = fill_in_hosted_page(checkout_link(hosted))
    assert "app_redirect?app=A0EMULATOR&amp;team=T0EMULATOR" in page


def test_the_link_button_click_is_acknowledged(hosted: Paybot) -> None:
    hosted.pay()
    assert hosted.click(OPEN_CHECKOUT).status == 200


def test_the_same_event_delivered_twice_confirms_once(hosted: Paybot) -> None:
    hosted.pay()
    fill_in_hosted_page(checkout_link(hosted))
    hosted.wait_until(lambda: bool(confirmations(hosted)))
    (event,) = checkout_events(hosted)
    hosted.stripe.redeliver(event["id"])
    assert hosted.stripe.wait_for_webhooks()
    deliveries = [d for d in hosted.stripe.webhook_deliveries if d.event_id == event["id"]]
    assert [d.status for d in deliveries] == [200, 200]
    assert len(confirmations(hosted)) == 1


def test_a_completion_stripe_fails_to_read_back_is_confirmed_once_when_stripe_retries(
    hosted: Paybot, tmp_path: Path
) -> None:
    hosted.pay()
    page_id = checkout_id(checkout_link(hosted))
    endpoint, hosted.stripe.webhook_url = hosted.stripe.webhook_url, None  # events held back
    hosted.stripe.complete_checkout(page_id)
    (completed,) = [e for e in checkout_events(hosted) if e["type"] == "checkout.session.completed"]
    hosted.stripe.webhook_url = endpoint
    # Both of the adapter's tries at re-reading the page fail; Stripe's retry finds it.
    hosted.stripe.inject(status=500, count=2, path=f"/v1/checkout/sessions/{page_id}")
    hosted.stripe.redeliver(completed["id"])  # the one event that can confirm
    assert hosted.stripe.wait_for_webhooks()
    deliveries = [d for d in hosted.stripe.webhook_deliveries if d.event_id == completed["id"]]
    assert [d.status for d in deliveries] == [503, 200]
    assert len(confirmations(hosted)) == 1
    assert session_of(hosted, tmp_path).state is State.COMPLETED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda payload: (payload, signed(payload, secret="whsec_someone_else")),
        lambda payload: (payload, signed(payload, age=301)),
        lambda payload: (payload.replace('"complete"', '"open"'), signed(payload)),
        lambda payload: (payload, ""),
    ],
    ids=["wrong-secret", "stale", "altered-after-signing", "unsigned"],
)
def test_a_bad_webhook_gets_400_and_changes_nothing(
    hosted: Paybot, tmp_path: Path, tamper: Any
) -> None:
    hosted.pay()
    hosted.stripe.webhook_url = None  # Stripe's own delivery is held back
    hosted.stripe.complete_checkout(checkout_id(checkout_link(hosted)))
    (event,) = checkout_events(hosted)
    payload, signature = tamper(json.dumps(event))
    assert post_webhook(hosted, payload, signature) == 400
    assert confirmations(hosted) == []
    assert session_of(hosted, tmp_path).state is State.AWAITING_CARD  # type: ignore[union-attr]
    good = json.dumps(event)
    assert post_webhook(hosted, good, signed(good)) == 200  # the genuine one still works
    assert len(confirmations(hosted)) == 1


def test_a_late_expired_event_never_undoes_a_completion(hosted: Paybot, tmp_path: Path) -> None:
    hosted.pay()
    page_id = checkout_id(checkout_link(hosted))
    fill_in_hosted_page(checkout_link(hosted))
    hosted.wait_until(lambda: bool(confirmations(hosted)))
    late = json.dumps(
        {
            "id": "evt_late_expired",
            "object": "event",
            "type": "checkout.session.expired",
            "data": {"object": {"id": page_id, "object": "checkout.session"}},
        }
    )
    assert post_webhook(hosted, late, signed(late)) == 200
    assert session_of(hosted, tmp_path).state is State.COMPLETED  # type: ignore[union-attr]
    assert len(hosted.bot_messages()) == 2  # the link, the confirmation; nothing more


def test_an_expired_page_tells_the_user_how_to_get_a_new_one(hosted: Paybot) -> None:
    hosted.pay()
    hosted.stripe.expire_checkout(checkout_id(checkout_link(hosted)))
    hosted.wait_until(
        lambda: any(to_mrkdwn(CHECKOUT_EXPIRED) in m["text"] for m in hosted.bot_messages())
    )


def test_cancel_expires_the_checkout_page(hosted: Paybot) -> None:
    hosted.pay()
    page_id = checkout_id(checkout_link(hosted))
    hosted.click(CANCEL_PAYMENT)
    hosted.wait_for_bot_messages(2)
    assert hosted.stripe.checkout_session(page_id)["status"] == "expired"


def test_a_refused_raw_card_offers_the_hosted_page_in_the_same_reply(
    fallback: Paybot, tmp_path: Path
) -> None:
    fallback.pay()
    body = fallback.submit({**CARD_FIELDS, "number": "4242 4242 4242 4242"}).json()
    assert body["response_action"] == "update"
    assert HOSTED_INSTEAD.split(",")[0] in json.dumps(body["view"])
    fill_in_hosted_page(checkout_link(fallback))
    fallback.wait_until(lambda: bool(confirmations(fallback)))
    assert session_of(fallback, tmp_path).state is State.COMPLETED  # type: ignore[union-attr]
    assert fallback.stripe.payment_methods[0]["customer"]  # saved by Stripe's page


def test_the_card_typed_on_the_hosted_page_never_reaches_the_bot(
    hosted: Paybot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("slack_bolt", "slack_sdk", "botocore", "urllib3", "stripe", "bot", "handlers"):
        caplog.set_level(logging.DEBUG, logger=name)
    hosted.pay()
    fill_in_hosted_page(checkout_link(hosted))
    hosted.wait_until(lambda: bool(confirmations(hosted)))
    digits = PAN.replace(" ", "")
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        stored = json.dumps(db.execute("SELECT * FROM sessions").fetchall())
    bot_logs = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("emulator")
    )
    for sink, text in {
        "logs": bot_logs,
        "store": stored,
        "slack": json.dumps([c.args for c in hosted.slack.calls]),
        "bedrock": json.dumps([r.body for r in hosted.bedrock.requests]),
    }.items():
        assert digits not in text.replace(" ", ""), sink
        assert not contains_pan(text) or sink == "slack", sink
    assert caplog.records


def test_a_slack_request_to_the_webhook_path_is_refused(hosted: Paybot) -> None:
    request = slack_requests.url_verification("x")
    assert post_webhook(hosted, request.body.decode(), "t=1,v1=00") == 400
