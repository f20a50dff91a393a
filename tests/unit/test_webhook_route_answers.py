"""The Stripe webhook route and the return page: each answer, exactly, and what it logs."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.errors import StoreUnavailable
from handlers.stripe import return_page, webhook

SECRET = "whsec_route_test"
CLAIM = "stripe:evt_1"


def signed(event_type: str = "checkout.session.completed") -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"id": "evt_1", "object": "event", "type": event_type, "data": {"object": {"id": "cs_1"}}}
    ).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, {"Stripe-Signature": f"t={timestamp},v1={digest.hexdigest()}"}


@dataclass
class Ledger:
    free: bool = True
    complete_fails: bool = False
    calls: list[str] = field(default_factory=list)

    def claim(self, event_id: str, *, ttl_seconds: int, in_progress_seconds: int) -> bool:
        self.calls.append(f"claim {event_id}")
        return self.free

    def complete(self, event_id: str) -> None:
        self.calls.append(f"complete {event_id}")
        if self.complete_fails:
            raise StoreUnavailable("DynamoDB UpdateItem failed: ThrottlingException")

    def release(self, event_id: str) -> None:
        self.calls.append(f"release {event_id}")


@dataclass
class Conversation:
    fails: bool = False
    read: list[str] = field(default_factory=list)

    def checkout_event(self, object_id: str) -> tuple[str | None, list[Any]]:
        self.read.append(object_id)
        if self.fails:
            raise RuntimeError("Stripe answered 500")
        return None, []

    setup_event = checkout_event


@dataclass
class Services:
    ledger: Ledger = field(default_factory=Ledger)
    conversation: Conversation = field(default_factory=Conversation)
    webhook_secret: str | None = SECRET


def answer(services: Services, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
    return webhook(body, headers, services, None)  # type: ignore[arg-type]


def test_without_a_webhook_secret_the_route_is_not_found() -> None:
    body, headers = signed()

    assert answer(Services(webhook_secret=None), body, headers) == (
        404,
        "text/plain",
        "webhooks are not configured",
    )


def test_a_bad_signature_is_answered_400_and_logged_as_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body, _ = signed()
    services = Services()

    with caplog.at_level(logging.WARNING, logger="handlers.stripe"):
        status = answer(services, body, {"Stripe-Signature": "t=1,v1=00"})

    assert status == (400, "text/plain", "invalid signature")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "signature" in caplog.records[0].getMessage().lower()
    assert services.ledger.calls == []


def test_an_event_type_paybot_does_not_handle_is_ignored_without_a_claim() -> None:
    body, headers = signed("customer.created")
    services = Services()

    assert answer(services, body, headers) == (200, "text/plain", "ignored")
    assert services.ledger.calls == []


def test_an_event_already_claimed_is_answered_as_a_duplicate_and_not_read() -> None:
    body, headers = signed()
    services = Services(ledger=Ledger(free=False))

    assert answer(services, body, headers) == (200, "text/plain", "duplicate")
    assert services.conversation.read == []


def test_a_handled_event_is_claimed_read_and_completed_under_its_event_id() -> None:
    body, headers = signed()
    services = Services()

    assert answer(services, body, headers) == (200, "text/plain", "ok")
    assert services.ledger.calls == [f"claim {CLAIM}", f"complete {CLAIM}"]
    assert services.conversation.read == ["cs_1"]


def test_an_event_whose_handling_fails_is_released_answered_503_and_logged_by_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body, headers = signed()
    services = Services(conversation=Conversation(fails=True))

    with caplog.at_level(logging.ERROR, logger="handlers.stripe"):
        status = answer(services, body, headers)

    assert status == (503, "text/plain", "try again")
    assert services.ledger.calls == [f"claim {CLAIM}", f"release {CLAIM}"]
    assert [r.getMessage() for r in caplog.records] == [
        "webhook checkout.session.completed failed: RuntimeError"
    ]


def test_a_claim_that_cannot_be_completed_is_still_answered_ok_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body, headers = signed()
    services = Services(ledger=Ledger(complete_fails=True))

    with caplog.at_level(logging.WARNING, logger="handlers.stripe"):
        status = answer(services, body, headers)

    assert status == (200, "text/plain", "ok")
    assert [r.getMessage() for r in caplog.records] == [
        f"could not complete {CLAIM}: StoreUnavailable"
    ]


def href(page: str) -> str:
    return page.split('href="', 1)[1].split('"', 1)[0]


def test_the_return_page_is_html_and_links_to_the_app_in_its_workspace() -> None:
    status, content_type, page = return_page({"team": "T123", "app": "A456"})

    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert href(page) == "https://slack.com/app_redirect?app=A456&amp;team=T123"


@pytest.mark.parametrize(
    "query", [{}, {"team": "T123"}, {"app": "A456"}, {"team": "t-1", "app": "A4"}]
)
def test_the_return_page_links_to_slack_itself_without_a_valid_team_and_app(
    query: dict[str, str],
) -> None:
    _, _, page = return_page(query)

    assert href(page) == "https://slack.com/"


def test_coming_back_from_the_bank_re_reads_the_setup_when_services_are_given() -> None:
    services = Services()

    return_page({"setup_intent": "seti_123"}, services, object())  # type: ignore[arg-type]

    assert services.conversation.read == ["seti_123"]


@pytest.mark.parametrize("setup_id", ["", "pi_123", "seti_", "seti_12 3"])
def test_a_return_without_a_setup_id_of_stripes_shape_reads_nothing(setup_id: str) -> None:
    services = Services()

    return_page({"setup_intent": setup_id}, services, object())  # type: ignore[arg-type]

    assert services.conversation.read == []


def test_a_return_page_without_services_still_answers_for_a_setup_id() -> None:
    status, _, _ = return_page({"setup_intent": "seti_123"})

    assert status == 200


def test_a_setup_that_cannot_be_read_back_still_gets_the_page_and_an_error_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    services = Services(conversation=Conversation(fails=True))

    with caplog.at_level(logging.ERROR, logger="handlers.stripe"):
        status, _, _ = return_page({"setup_intent": "seti_123"}, services, object())  # type: ignore[arg-type]

    assert status == 200
    assert [r.getMessage() for r in caplog.records] == [
        "card setup could not be read back: RuntimeError"
    ]
