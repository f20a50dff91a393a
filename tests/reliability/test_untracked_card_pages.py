"""Card pages nobody tracks: a double send, a cancel or a replacement while one is open.

With CARD_ENTRY=hosted the page is made with the offer, in the turn of the DM that
asks to pay, so the races start from DMs.

Every Stripe page or bank check the bot opens for a person is either tracked by their
session, closed at Stripe before anyone sees its link, or, if a card was saved on it
after all, confirmed in the DM: never a card saved that the bot says nothing about.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import messages
from bot.models import State
from handlers import bootstrap
from handlers.slack.blocks import OPEN_CHECKOUT
from tests.integration.harness import WEBHOOK_SECRET, Paybot, Response, running_paybot
from tests.integration.test_card_authentication import NEEDS_BANK, authenticate
from tests.integration.test_hosted_flow import checkout_id, confirmations, fill_in_hosted_page
from tests.integration.test_slack_flow import session_of

WAIT_SECONDS = 10


class Hold:
    """Holds each call it wraps until the test lets it through, once `on`."""

    def __init__(self) -> None:
        self.on = False
        self.arrived = threading.Semaphore(0)
        self.go = threading.Semaphore(0)

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            if self.on:
                self.arrived.release()
                assert self.go.acquire(timeout=WAIT_SECONDS), "the test never let the call go"
            return call(*args, **kwargs)

        return held

    def wait_for(self, calls: int) -> None:
        for _ in range(calls):
            assert self.arrived.acquire(timeout=WAIT_SECONDS), "the held call never came"


@pytest.fixture
def page_opening() -> Hold:
    return Hold()


@pytest.fixture
def hosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page_opening: Hold) -> Iterator[Paybot]:
    """CARD_ENTRY=hosted, with the opening of each Stripe page held while `page_opening.on`."""
    build_hosted = bootstrap.build_hosted

    def build_held(settings: Any) -> Any:
        pages = build_hosted(settings)
        pages.open = page_opening.wrap(pages.open)  # type: ignore[union-attr,method-assign]
        return pages

    monkeypatch.setattr(bootstrap, "build_hosted", build_held)
    with running_paybot(
        tmp_path, monkeypatch, CARD_ENTRY="hosted", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    ) as running:
        yield running


@pytest.fixture
def modal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET) as running:
        yield running


def links(paybot: Paybot) -> list[str]:
    """Every Stripe page link the bot posted in the DM, oldest first."""
    return [
        str(element["url"])
        for message in paybot.bot_messages()
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
        if element.get("action_id") == OPEN_CHECKOUT
    ]


def page_status(paybot: Paybot, page_id: str) -> str:
    page = paybot.stripe.checkout_session(page_id)
    assert page is not None
    return str(page["status"])


ASK = "I need to pay invoice INV-1001, $45"


def in_background(action: Callable[[], Response]) -> Callable[[], Response]:
    """Start `action` on a thread; the returned call waits for its answer."""
    answers: list[Response] = []
    thread = threading.Thread(target=lambda: answers.append(action()), daemon=True)
    thread.start()

    def answer() -> Response:
        thread.join(timeout=WAIT_SECONDS)
        assert answers, "the request never finished"
        return answers[0]

    return answer


def test_a_message_sent_twice_at_once_posts_one_live_link(
    hosted: Paybot, page_opening: Hold, tmp_path: Path
) -> None:
    page_opening.on = True
    first = in_background(lambda: hosted.dm(ASK))
    second = in_background(lambda: hosted.dm(ASK))
    assert (first().status, second().status) == (200, 200)
    page_opening.wait_for(2)  # both turns claimed a page before either page existed
    page_opening.go.release(2)
    hosted.wait_for_bot_messages(2)
    hosted.wait_for_quiet()

    (link,) = links(hosted)
    pages = hosted.stripe.checkout_sessions
    assert len(pages) == 2
    assert {p["id"]: p["status"] for p in pages} == {
        p["id"]: "open" if p["id"] == checkout_id(link) else "expired" for p in pages
    }
    fill_in_hosted_page(link)
    hosted.wait_until(lambda: bool(confirmations(hosted)))
    assert session_of(hosted, tmp_path).state is State.COMPLETED  # type: ignore[union-attr]


def test_cancel_while_the_page_is_being_created_posts_no_link_and_closes_the_page(
    hosted: Paybot, page_opening: Hold, tmp_path: Path
) -> None:
    page_opening.on = True
    assert hosted.dm(ASK).status == 200
    page_opening.wait_for(1)

    assert hosted.dm("cancel").status == 200
    hosted.wait_until(lambda: any(messages.CANCELLED in m["text"] for m in hosted.bot_messages()))
    page_opening.go.release()
    hosted.wait_for_bot_messages(2)
    hosted.wait_for_quiet()

    assert links(hosted) == []
    (page,) = hosted.stripe.checkout_sessions
    assert page["status"] == "expired"
    assert session_of(hosted, tmp_path).state is State.CANCELLED  # type: ignore[union-attr]


def test_a_card_saved_on_a_page_replaced_meanwhile_is_confirmed(
    hosted: Paybot, tmp_path: Path
) -> None:
    hosted.dm(ASK)
    hosted.wait_for_bot_messages(1)
    (first_link,) = links(hosted)
    first = checkout_id(first_link)
    hosted.stripe.webhook_url, webhook_url = None, hosted.stripe.webhook_url
    hosted.stripe.complete_checkout(first)  # the card is saved there as the second ask lands
    hosted.dm(ASK)
    hosted.wait_until(lambda: any(checkout_id(link) != first for link in links(hosted)))
    (second,) = {checkout_id(link) for link in links(hosted)} - {first}
    assert second != first
    hosted.stripe.webhook_url = webhook_url

    (completed,) = [
        e
        for e in hosted.stripe.events
        if e["type"] == "checkout.session.completed" and e["data"]["object"]["id"] == first
    ]
    hosted.stripe.redeliver(completed["id"])

    hosted.wait_until(lambda: bool(confirmations(hosted)))
    saved = session_of(hosted, tmp_path)
    assert saved is not None
    assert saved.state is State.COMPLETED
    assert saved.payment is not None
    assert page_status(hosted, second) == "expired"  # the replacement no longer takes a card


def test_a_card_the_bank_confirms_for_a_replaced_card_check_is_confirmed(
    modal: Paybot, tmp_path: Path
) -> None:
    modal.pay()
    modal.submit(NEEDS_BANK)
    replaced = session_of(modal, tmp_path).setup_id  # type: ignore[union-attr]
    modal.pay()
    modal.submit(NEEDS_BANK)  # a second card, its own bank check: the first is replaced
    assert session_of(modal, tmp_path).setup_id not in (None, replaced)  # type: ignore[union-attr]
    assert replaced is not None

    authenticate(modal, replaced, "complete")

    modal.wait_until(lambda: bool(confirmations(modal)))
    saved = session_of(modal, tmp_path)
    assert saved is not None
    assert saved.state is State.COMPLETED
    assert saved.payment is not None
