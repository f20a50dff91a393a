"""A card the issuer wants confirmed (3-D Secure): the served app, the Stripe stand-in, the DM.

The card is typed in the Slack modal; Stripe's SetupIntent asks for the bank's
check; the link goes to the DM only; the card is confirmed only once Stripe
says the SetupIntent succeeded, whether a webhook or the return page tells us.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from bot import messages
from bot.models import State
from handlers.slack.blocks import OPEN_AUTHENTICATION, OPEN_CARD_FORM
from tests.integration.harness import STRIPE_KEY, WEBHOOK_SECRET, Paybot, running_paybot
from tests.integration.test_slack_flow import GOOD_VISA, session_of

pytestmark = pytest.mark.integration

NEEDS_BANK = {**GOOD_VISA, "number": "4000 0025 0000 3155"}


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    """No webhook secret: only the return page can tell the app how the bank's check ended."""
    with running_paybot(tmp_path, monkeypatch) as running:
        yield running


@pytest.fixture
def with_webhooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET) as running:
        yield running


def stripe_client(paybot: Paybot) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": paybot.stripe_url})


def authentication_link(paybot: Paybot) -> str:
    for message in reversed(paybot.bot_messages()):
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == OPEN_AUTHENTICATION:
                    return str(element["url"])
    raise AssertionError("no authentication link in the DM")


def waiting_setup(paybot: Paybot, tmp_path: Path) -> str:
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.setup_id is not None
    return saved.setup_id


def return_url(paybot: Paybot, setup_id: str) -> str:
    """Where Stripe will send the cardholder back: the page the app asked for."""
    intent = stripe_client(paybot).v1.setup_intents.retrieve(setup_id)
    assert intent.status == "requires_action"
    assert intent.next_action is not None
    assert intent.next_action.redirect_to_url is not None
    assert intent.next_action.redirect_to_url.return_url
    return intent.next_action.redirect_to_url.return_url


def authenticate(paybot: Paybot, setup_id: str, outcome: str) -> None:
    """The cardholder completes (or fails) the bank's check, without a browser."""
    request = urllib.request.Request(
        f"{paybot.stripe_url}/_emulator/setup_intents/{setup_id}/authenticate",
        data=json.dumps({"outcome": outcome}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def come_back(back: str, setup_id: str, status: str = "succeeded") -> str:
    """The browser lands on our return page `back` as Stripe sends it, with the setup's id."""
    query = urllib.parse.urlencode({"setup_intent": setup_id, "redirect_status": status})
    with urllib.request.urlopen(f"{back}&{query}", timeout=10) as page:
        return str(page.read().decode())


def confirmations(paybot: Paybot) -> list[dict[str, Any]]:
    return [m for m in paybot.bot_messages() if "saved" in m["text"] and "••••" in m["text"]]


def submit_card_the_bank_checks(paybot: Paybot) -> dict[str, Any]:
    paybot.pay()
    body: dict[str, Any] = paybot.submit(NEEDS_BANK).json()
    return body


def test_the_form_closes_and_the_bank_link_goes_to_the_dm_with_nothing_saved_yet(
    paybot: Paybot, tmp_path: Path
) -> None:
    body = submit_card_the_bank_checks(paybot)

    assert body["response_action"] == "update"
    assert messages.AUTHENTICATE_SENT in json.dumps(body["view"])
    assert authentication_link(paybot).startswith(paybot.stripe_url)
    assert return_url(paybot, waiting_setup(paybot, tmp_path)).startswith(
        f"{paybot.url}/stripe/return?"
    )
    assert confirmations(paybot) == []
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert (saved.state, saved.payment, saved.pending_since) == (State.AWAITING_CARD, None, None)


def test_the_return_page_confirms_the_card_once_the_bank_said_yes(
    paybot: Paybot, tmp_path: Path
) -> None:
    submit_card_the_bank_checks(paybot)
    setup_id = waiting_setup(paybot, tmp_path)
    back = return_url(paybot, setup_id)
    authenticate(paybot, setup_id, "complete")

    page = come_back(back, setup_id)

    assert "Back to Slack" in page
    (confirmation,) = confirmations(paybot)
    assert "Visa •••• 3155" in confirmation["text"]
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.state is State.COMPLETED
    assert saved.payment is not None
    intent = stripe_client(paybot).v1.setup_intents.retrieve(setup_id)
    assert (intent.status, intent.payment_method) == ("succeeded", saved.payment.payment_method_id)


def test_the_bank_page_sends_the_browser_back_to_us_and_the_dm_confirms(
    paybot: Paybot, tmp_path: Path
) -> None:
    submit_card_the_bank_checks(paybot)
    link = authentication_link(paybot)
    with urllib.request.urlopen(link, timeout=10) as page:
        assert page.status == 200  # the bank's page, as a browser opens it
    form = urllib.parse.urlencode({"outcome": "complete"}).encode()

    with urllib.request.urlopen(urllib.request.Request(link, data=form), timeout=10) as back:
        landed = back.geturl()
        assert "Back to Slack" in back.read().decode()

    assert landed.startswith(f"{paybot.url}/stripe/return?")
    (confirmation,) = confirmations(paybot)
    assert "Visa •••• 3155" in confirmation["text"]
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.state is State.COMPLETED


def test_coming_back_before_the_bank_answered_confirms_nothing(
    paybot: Paybot, tmp_path: Path
) -> None:
    submit_card_the_bank_checks(paybot)
    setup_id = waiting_setup(paybot, tmp_path)

    come_back(return_url(paybot, setup_id), setup_id)

    assert confirmations(paybot) == []
    assert waiting_setup(paybot, tmp_path) == setup_id


def test_a_failed_bank_check_offers_the_form_again_and_saves_nothing(
    paybot: Paybot, tmp_path: Path
) -> None:
    submit_card_the_bank_checks(paybot)
    setup_id = waiting_setup(paybot, tmp_path)
    back = return_url(paybot, setup_id)
    authenticate(paybot, setup_id, "fail")

    come_back(back, setup_id, status="failed")

    last = paybot.last_bot_message()
    assert messages.TRY_AGAIN in last["text"]
    assert OPEN_CARD_FORM in json.dumps(last["blocks"])
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert (saved.state, saved.payment, saved.setup_id) == (State.FAILED, None, None)


def test_the_webhook_confirms_and_the_return_page_then_adds_nothing(
    with_webhooks: Paybot, tmp_path: Path
) -> None:
    submit_card_the_bank_checks(with_webhooks)
    setup_id = waiting_setup(with_webhooks, tmp_path)
    back = return_url(with_webhooks, setup_id)

    authenticate(with_webhooks, setup_id, "complete")
    with_webhooks.wait_until(lambda: bool(confirmations(with_webhooks)))
    come_back(back, setup_id)

    assert len(confirmations(with_webhooks)) == 1


def test_a_return_with_someone_elses_or_a_made_up_setup_changes_nothing(
    paybot: Paybot, tmp_path: Path
) -> None:
    submit_card_the_bank_checks(paybot)
    setup_id = waiting_setup(paybot, tmp_path)
    base = return_url(paybot, setup_id)
    authenticate(paybot, setup_id, "complete")

    for forged in ("seti_doesnotexist", "../v1/customers", "pi_123"):
        query = urllib.parse.urlencode({"setup_intent": forged})
        with urllib.request.urlopen(f"{base}&{query}", timeout=10) as page:
            assert page.status == 200

    assert confirmations(paybot) == []


def test_the_link_button_click_is_acknowledged(paybot: Paybot) -> None:
    submit_card_the_bank_checks(paybot)
    assert paybot.click(OPEN_AUTHENTICATION).status == 200
