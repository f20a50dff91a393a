"""Which reading of Stripe's object each event gets, and where its outcome is posted.

A card setup's events are read as a card setup and a Checkout's as a Checkout; the
outcome goes to the person the object belongs to, by the app's Slack client, whether it
came by webhook or by the page Stripe sends people back to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.machine import Effect, Reply
from handlers.stripe import return_page, webhook

SECRET = "whsec_routing_test"


def signed(event_type: str, object_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": "evt_9",
            "object": "event",
            "type": event_type,
            "data": {"object": {"id": object_id}},
        }
    ).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, {"Stripe-Signature": f"t={timestamp},v1={digest.hexdigest()}"}


class Ledger:
    def claim(self, event_id: str, *, ttl_seconds: int, in_progress_seconds: int) -> bool:
        return True

    def complete(self, event_id: str) -> None:
        pass

    def release(self, event_id: str) -> None:
        pass


@dataclass
class Conversation:
    """Answers each read with a reply to U1, and remembers which reading was asked for."""

    read: list[tuple[str, str]] = field(default_factory=list)

    def checkout_event(self, object_id: str) -> tuple[str | None, list[Any]]:
        self.read.append(("checkout", object_id))
        return "U1", [Reply("Paid.")]

    def setup_event(self, object_id: str) -> tuple[str | None, list[Any]]:
        self.read.append(("setup", object_id))
        return "U1", [Reply("Card saved.")]


@dataclass
class Services:
    conversation: Conversation = field(default_factory=Conversation)
    ledger: Ledger = field(default_factory=Ledger)
    webhook_secret: str | None = SECRET


@dataclass
class Deliveries:
    """The surface's side: each reply posted to its person."""

    posted: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, user_id: str, effects: Sequence[Effect]) -> None:
        self.posted += [(user_id, e.text) for e in effects if isinstance(e, Reply)]


@pytest.mark.parametrize(
    ("event_type", "object_id", "reading", "text"),
    [
        ("setup_intent.succeeded", "seti_1", "setup", "Card saved."),
        ("setup_intent.setup_failed", "seti_2", "setup", "Card saved."),
        ("checkout.session.completed", "cs_1", "checkout", "Paid."),
        ("checkout.session.expired", "cs_2", "checkout", "Paid."),
    ],
)
def test_each_event_is_read_as_its_kind_and_the_outcome_posted_to_its_person(
    event_type: str, object_id: str, reading: str, text: str
) -> None:
    services, client = Services(), Deliveries()
    body, headers = signed(event_type, object_id)

    assert webhook(body, headers, services, client) == (200, "text/plain", "ok")  # type: ignore[arg-type]
    assert services.conversation.read == [(reading, object_id)]
    assert client.posted == [("U1", text)]


def test_a_return_from_the_bank_posts_the_setups_outcome_to_its_person() -> None:
    services, client = Services(), Deliveries()

    status, _, _ = return_page({"setup_intent": "seti_7"}, services, client)  # type: ignore[arg-type]

    assert status == 200
    assert services.conversation.read == [("setup", "seti_7")]
    assert client.posted == [("U1", "Card saved.")]


@pytest.mark.parametrize(
    ("headers", "logged"),
    [
        ({}, "missing Stripe-Signature"),
        ({"Stripe-Signature": "t=1,v1=00"}, "rejected webhook: SignatureVerificationError"),
    ],
)
def test_an_unsigned_webhook_is_logged_by_why_it_was_refused(
    headers: dict[str, str], logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, _ = signed("checkout.session.completed", "cs_1")
    with caplog.at_level(logging.WARNING, logger="handlers.stripe"):
        answer = webhook(body, headers, Services(), Deliveries())  # type: ignore[arg-type]
    assert answer == (400, "text/plain", "invalid signature")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.WARNING, logged)]
