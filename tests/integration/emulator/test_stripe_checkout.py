"""Stripe-hosted card entry on the test API: Customers, Checkout in setup mode, the hosted
page and signed webhooks, driven by the real `stripe` SDK and plain HTTP over loopback."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from emulator.server import RunningServer, serve_in_thread
from emulator.stripe_api import ApiError, StripeEmulator, create_app
from tests.integration.emulator.stripe_support import Clock, Receiver, control, page

pytestmark = pytest.mark.integration

API_KEY = "sk_test_emulator_checkout_4eC39HqLyjWD"
WEBHOOK_SECRET = "whsec_test_checkout_secret"
VISA = "4242424242424242"
NEXT_YEAR = datetime.now(UTC).year + 1
SUCCESS_URL = "http://127.0.0.1:3000/stripe/return?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://127.0.0.1:3000/stripe/cancelled"


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    endpoint = Receiver()
    with serve_in_thread(endpoint.app()) as running:
        yield endpoint, f"{running.url}/stripe/webhook"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(receiver: tuple[Receiver, str], clock: Clock) -> StripeEmulator:
    """Checkout's own events only: its SetupIntent's events are the subject of one test."""
    return StripeEmulator(
        clock=clock,
        webhook_url=receiver[1],
        webhook_secret=WEBHOOK_SECRET,
        webhook_retry_delay=0.0,
        business_name="Acme Test Shop",
        checkout_setup_intent_events=False,
    )


@pytest.fixture
def endpoint(receiver: tuple[Receiver, str]) -> Receiver:
    return receiver[0]


@pytest.fixture
def server(emulator: StripeEmulator) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(emulator)) as running:
        yield running


@pytest.fixture(autouse=True)
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK sleeps 0.5 s or more between retries; its backoff is not under test here."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.0)


@pytest.fixture
def client(server: RunningServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url})


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(
        params={
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "metadata": {"slack_team": "T1", "slack_user": "U1"},
        }
    )


@pytest.fixture
def session(client: stripe.StripeClient, customer: stripe.Customer) -> stripe.checkout.Session:
    return client.v1.checkout.sessions.create(params=session_params(customer.id))


def session_params(customer_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Checkout Session create params for a valid setup-mode session unless overridden."""
    params: dict[str, Any] = {
        "mode": "setup",
        "allowed_payment_method_types": ["card"],
        "client_reference_id": "paybot-session-1",
        "expires_at": int(time.time()) + 3600,
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "metadata": {"reference": "INV-1001"},
    }
    if customer_id is not None:
        params["customer"] = customer_id
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def card_form(number: str = VISA, **fields: str) -> dict[str, str]:
    """The hosted page's fields for a card that is valid unless overridden."""
    return {
        "number": number,
        "expiry": f"12 / {NEXT_YEAR % 100:02d}",
        "cvc": "123",
        "name": "Ada Lovelace",
        **fields,
    }


def pay_path(checkout: stripe.checkout.Session) -> str:
    return urllib.parse.urlsplit(checkout.url or "").path


# ---------------------------------------------------------------- customers


def test_a_customer_is_created_with_email_name_and_metadata(customer: stripe.Customer) -> None:
    assert re.fullmatch(r"cus_[A-Za-z0-9]{14}", customer.id)
    assert customer.object == "customer"
    assert (customer.email, customer.name) == ("ada@example.com", "Ada Lovelace")
    assert customer.metadata is not None
    assert customer.metadata.to_dict() == {"slack_team": "T1", "slack_user": "U1"}
    assert customer.livemode is False


def test_a_created_customer_can_be_retrieved(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    retrieved = client.v1.customers.retrieve(customer.id)

    assert retrieved.to_dict() == customer.to_dict()


def test_retrieving_an_unknown_customer_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve("cus_doesnotexist")

    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")


def test_customer_search_matches_every_metadata_clause_joined_by_and(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    client.v1.customers.create(params={"metadata": {"slack_team": "T1", "slack_user": "U2"}})
    client.v1.customers.create(params={"metadata": {"slack_team": "T2", "slack_user": "U1"}})

    found = client.v1.customers.search(
        params={"query": "metadata['slack_team']:'T1' AND metadata['slack_user']:'U1'"}
    )

    assert found.object == "search_result"
    assert [match.id for match in found.data] == [customer.id]
    assert found.has_more is False


def test_customer_search_with_an_unreadable_query_is_an_invalid_request(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.search(params={"query": "metadata['slack_user']=U1"})

    assert (raised.value.http_status, raised.value.param) == (400, "query")


def test_a_replayed_idempotency_key_returns_the_same_customer_and_creates_one(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "customer-U1"}

    first = client.v1.customers.create(params={"email": "ada@example.com"}, options=options)
    again = client.v1.customers.create(params={"email": "ada@example.com"}, options=options)

    assert again.id == first.id
    assert len(emulator.customers) == 1


# ---------------------------------------------------------------- creating sessions


def test_a_setup_session_is_open_with_its_page_on_the_emulator(
    session: stripe.checkout.Session, customer: stripe.Customer, server: RunningServer
) -> None:
    assert re.fullmatch(r"cs_test_[A-Za-z0-9]{58}", session.id)
    assert (session.object, session.mode, session.status) == ("checkout.session", "setup", "open")
    assert session.url == f"{server.url}/pay/{session.id}"
    assert session.customer == customer.id
    assert session.client_reference_id == "paybot-session-1"
    assert session.setup_intent is None
    assert (session.success_url, session.cancel_url) == (SUCCESS_URL, CANCEL_URL)
    assert session.metadata is not None
    assert session.metadata.to_dict() == {"reference": "INV-1001"}
    assert session.livemode is False


def test_a_session_may_name_a_currency_instead_of_allowed_payment_method_types(
    client: stripe.StripeClient,
) -> None:
    created = client.v1.checkout.sessions.create(
        params=session_params(allowed_payment_method_types=None, currency="usd")
    )

    assert (created.currency, created.payment_method_types) == ("usd", ["card"])


def test_payment_method_types_is_an_unknown_parameter_on_the_sdks_api_version(
    client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    params = session_params(allowed_payment_method_types=None, payment_method_types=["card"])

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params=params)

    assert raised.value.http_status == 400
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "payment_method_types")
    assert emulator.checkout_sessions == []


def test_payment_method_types_is_still_taken_on_an_api_version_before_its_removal(
    client: stripe.StripeClient,
) -> None:
    params = session_params(allowed_payment_method_types=None, payment_method_types=["card"])

    created = client.v1.checkout.sessions.create(
        params=params, options={"stripe_version": "2026-08-26.dahlia"}
    )

    assert created.payment_method_types == ["card"]
    assert created.last_response is not None
    assert created.last_response.headers["Stripe-Version"] == "2026-08-26.dahlia"


def test_a_session_without_success_url_is_parameter_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params=session_params(success_url=None))

    assert (raised.value.code, raised.value.param) == ("parameter_missing", "success_url")


def test_a_setup_session_without_currency_or_allowed_payment_method_types_is_refused(
    client: stripe.StripeClient,
) -> None:
    params = session_params(allowed_payment_method_types=None)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params=params)

    assert (raised.value.code, raised.value.param) == ("parameter_missing", "currency")


@pytest.mark.parametrize(
    ("ahead", "words"),
    [
        pytest.param(29 * 60, "at least 30 minutes", id="under-30-minutes"),
        pytest.param(25 * 3600, "less than 24 hours", id="over-24-hours"),
    ],
)
def test_expires_at_outside_30_minutes_to_24_hours_is_refused(
    client: stripe.StripeClient, emulator: StripeEmulator, ahead: int, words: str
) -> None:
    params = session_params(expires_at=int(time.time()) + ahead)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params=params)

    assert (raised.value.http_status, raised.value.param) == (400, "expires_at")
    assert words in (raised.value.user_message or "")
    assert emulator.checkout_sessions == []


def test_a_session_for_an_unknown_customer_is_resource_missing(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params=session_params("cus_doesnotexist"))

    assert (raised.value.code, raised.value.param) == ("resource_missing", "customer")


# ---------------------------------------------------------------- completing and expiring


def test_a_completed_session_expands_to_its_setup_intent_and_card(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    session: stripe.checkout.Session,
    customer: stripe.Customer,
) -> None:
    emulator.complete_checkout(session.id, "5555555555554444", exp_month=7, exp_year=NEXT_YEAR)

    retrieved = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["setup_intent", "setup_intent.payment_method"]}
    )

    assert retrieved.status == "complete"
    intent = retrieved.setup_intent
    assert isinstance(intent, stripe.SetupIntent)
    assert re.fullmatch(r"seti_[A-Za-z0-9]{24}", intent.id)
    assert intent.status == "succeeded"
    payment_method = intent.payment_method
    assert isinstance(payment_method, stripe.PaymentMethod)
    assert payment_method.customer == customer.id
    assert payment_method.card is not None
    card = payment_method.card
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == (
        "mastercard",
        "4444",
        7,
        NEXT_YEAR,
    )


def test_a_completed_sessions_setup_intent_names_its_payment_method_unexpanded(
    client: stripe.StripeClient, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    completed = emulator.complete_checkout(session.id)

    intent = client.v1.setup_intents.retrieve(completed["setup_intent"])

    assert intent.status == "succeeded"
    assert intent.payment_method == emulator.payment_methods[0]["id"]


def test_expiring_an_open_session_marks_it_expired(
    client: stripe.StripeClient, session: stripe.checkout.Session
) -> None:
    expired = client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_expiring_a_session_sends_a_checkout_session_expired_event(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    endpoint: Receiver,
    session: stripe.checkout.Session,
) -> None:
    client.v1.checkout.sessions.expire(session.id)

    assert emulator.wait_for_webhooks()
    (event,) = endpoint.events()
    assert event["type"] == "checkout.session.expired"
    assert (event["data"]["object"]["id"], event["data"]["object"]["status"]) == (
        session.id,
        "expired",
    )


def test_expiring_a_session_that_is_not_open_is_an_invalid_request(
    client: stripe.StripeClient, session: stripe.checkout.Session
) -> None:
    client.v1.checkout.sessions.expire(session.id)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.expire(session.id)

    assert raised.value.http_status == 400
    assert "status of `expired`" in (raised.value.user_message or "")


def test_a_session_past_its_expires_at_is_expired_at_the_next_look(
    client: stripe.StripeClient, clock: Clock, session: stripe.checkout.Session
) -> None:
    clock.now = session.expires_at + 1

    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


# ---------------------------------------------------------------- the hosted page


def test_the_hosted_page_shows_the_card_form_for_the_customer(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    shown = page(server, "GET", pay_path(session))

    assert shown.status == 200
    for label in ("Card number", "Expiry (MM/YY)", "CVC", "Cardholder name"):
        assert f'aria-label="{label}"' in shown.body
    assert 'data-testid="checkout-submit"' in shown.body
    assert "Acme Test Shop" in shown.body
    assert "ada@example.com" in shown.body


def test_a_bad_card_number_on_the_page_comes_back_as_an_inline_error(
    server: RunningServer, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    answer = page(server, "POST", pay_path(session), card_form("4242424242424241"))

    assert answer.status == 200
    assert 'data-testid="checkout-error"' in answer.body
    assert "Your card number is incorrect." in answer.body
    assert 'data-testid="checkout-submit"' in answer.body
    assert "4242424242424241" not in answer.body
    assert emulator.checkout_sessions[0]["status"] == "open"


def test_a_declining_test_card_on_the_page_says_it_was_declined(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    answer = page(server, "POST", pay_path(session), card_form("4000000000000002"))

    assert "Your card was declined." in answer.body


def test_a_good_card_on_the_page_redirects_303_to_success_url_with_the_session_id(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    answer = page(server, "POST", pay_path(session), card_form(VISA))

    assert answer.status == 303
    assert answer.headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)


def test_a_good_card_on_the_page_delivers_a_completed_event_whose_signature_verifies(
    server: RunningServer,
    emulator: StripeEmulator,
    endpoint: Receiver,
    session: stripe.checkout.Session,
) -> None:
    page(server, "POST", pay_path(session), card_form(VISA))

    assert emulator.wait_for_webhooks()
    events = [
        stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET)
        for payload, signature in endpoint.received
    ]
    assert [event.type for event in events] == ["checkout.session.completed"]
    assert events[-1].data.object["id"] == session.id
    assert events[-1].data.object["status"] == "complete"


def test_a_completed_event_is_a_stripe_event_snapshot_of_the_session(
    emulator: StripeEmulator, endpoint: Receiver, session: stripe.checkout.Session
) -> None:
    completed = emulator.complete_checkout(session.id)

    assert emulator.wait_for_webhooks()
    event = endpoint.events()[-1]
    assert event["type"] == "checkout.session.completed"
    assert re.fullmatch(r"evt_[A-Za-z0-9]{24}", event["id"])
    assert (event["object"], event["livemode"]) == ("event", False)
    assert event["api_version"] == stripe.api_version
    assert isinstance(event["created"], int)
    assert event["data"]["object"] == completed
    assert emulator.events == endpoint.events()


def test_the_pages_redirect_does_not_wait_for_the_webhook_endpoint(
    server: RunningServer,
    emulator: StripeEmulator,
    endpoint: Receiver,
    session: stripe.checkout.Session,
) -> None:
    endpoint.hold = threading.Event()
    try:
        answer = page(server, "POST", pay_path(session), card_form(VISA))
    finally:
        endpoint.hold.set()

    assert answer.status == 303
    assert emulator.wait_for_webhooks()
    assert (len(endpoint.received), endpoint.stalled) == (1, 0)


def test_the_page_takes_cards_when_raw_card_data_apis_are_disabled(
    server: RunningServer, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    emulator.raw_card_data = False

    answer = page(server, "POST", pay_path(session), card_form(VISA))

    assert answer.status == 303


def test_a_completed_sessions_page_says_the_card_was_saved(
    server: RunningServer, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    emulator.complete_checkout(session.id)

    shown = page(server, "GET", pay_path(session))

    assert 'data-status="complete"' in shown.body
    assert 'data-testid="checkout-submit"' not in shown.body


def test_an_expired_sessions_page_says_it_expired(
    server: RunningServer, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    emulator.expire_checkout(session.id)

    shown = page(server, "GET", pay_path(session))

    assert "This checkout session has expired." in shown.body
    assert 'data-testid="checkout-submit"' not in shown.body


def test_the_pages_cancel_link_goes_to_cancel_url(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    shown = page(server, "GET", pay_path(session))

    assert f'href="{CANCEL_URL}" data-testid="checkout-cancel"' in shown.body


# ---------------------------------------------------------------- the SetupIntent behind the page


def test_a_declined_card_leaves_the_session_open_and_its_setup_intent_failed(
    server: RunningServer, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    page(server, "POST", pay_path(session), card_form("4000000000000002"))

    assert emulator.checkout_sessions[0]["status"] == "open"
    (intent,) = emulator.setup_intents
    assert intent["status"] == "requires_payment_method"
    assert intent["last_setup_error"]["decline_code"] == "generic_decline"
    assert "Your card was declined." in page(server, "GET", pay_path(session)).body


def test_a_good_card_after_a_decline_completes_the_same_setup_intent(
    server: RunningServer,
    emulator: StripeEmulator,
    endpoint: Receiver,
    session: stripe.checkout.Session,
) -> None:
    page(server, "POST", pay_path(session), card_form("4000000000000002"))

    answer = page(server, "POST", pay_path(session), card_form(VISA))

    assert answer.status == 303
    (intent,) = emulator.setup_intents
    assert intent["status"] == "succeeded"
    assert emulator.checkout_sessions[0]["setup_intent"] == intent["id"]
    assert emulator.wait_for_webhooks()
    assert [event["type"] for event in endpoint.events()] == ["checkout.session.completed"]


def test_checkouts_setup_intent_events_are_sent_too_as_stripe_does(
    receiver: tuple[Receiver, str], customer: stripe.Customer
) -> None:
    emulator = StripeEmulator(
        webhook_url=receiver[1], webhook_secret=WEBHOOK_SECRET, webhook_retry_delay=0.0
    )
    with serve_in_thread(create_app(emulator)) as running:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": running.url})
        client.v1.customers.create(params={"email": "ada@example.com"})
        opened = client.v1.checkout.sessions.create(params=session_params())
        page(running, "POST", pay_path(opened), card_form("4000000000000002"))
        page(running, "POST", pay_path(opened), card_form(VISA))

    assert emulator.wait_for_webhooks()
    events = receiver[0].events()
    assert [event["type"] for event in events] == [
        "setup_intent.created",
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
        "checkout.session.completed",
    ]
    assert events[-1]["data"]["object"]["setup_intent"] == events[0]["data"]["object"]["id"]


def test_a_3ds_card_on_the_page_goes_to_the_banks_page_then_to_success_url(
    server: RunningServer, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    answer = page(server, "POST", pay_path(session), card_form("4000002500003155"))

    assert answer.status == 303
    (intent,) = emulator.setup_intents
    assert answer.headers["Location"] == f"/3ds/{intent['id']}"
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["type"] == "use_stripe_sdk"
    assert emulator.checkout_sessions[0]["status"] == "open"
    challenge = page(server, "GET", answer.headers["Location"])
    assert 'data-testid="authenticate-complete"' in challenge.body

    done = page(server, "POST", answer.headers["Location"], {"outcome": "complete"})

    assert done.status == 303
    assert done.headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert emulator.checkout_sessions[0]["status"] == "complete"


def test_failed_authentication_on_the_page_comes_back_to_the_form_with_stripes_words(
    server: RunningServer, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    answer = page(server, "POST", pay_path(session), card_form("4000002760003184"))

    back = page(server, "POST", answer.headers["Location"], {"outcome": "fail"})

    assert back.status == 303
    assert back.headers["Location"] == f"{server.url}{pay_path(session)}"
    shown = page(server, "GET", pay_path(session))
    assert "authentication failed" in shown.body
    assert 'data-testid="checkout-submit"' in shown.body
    assert emulator.checkout_sessions[0]["status"] == "open"


def test_complete_checkout_authenticates_a_3ds_card_as_told(
    emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    with pytest.raises(ApiError) as raised:
        emulator.complete_checkout(session.id, "4000002500003155", authentication="fail")
    assert raised.value.error["code"] == "setup_intent_authentication_failure"

    completed = emulator.complete_checkout(session.id, "4000002500003155")

    assert completed["status"] == "complete"


def test_a_checkout_sessions_setup_intent_cannot_be_canceled_through_the_api(
    client: stripe.StripeClient, emulator: StripeEmulator, session: stripe.checkout.Session
) -> None:
    page_intent = emulator.complete_checkout(session.id)["setup_intent"]

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.cancel(page_intent)

    assert "Checkout Session" in (raised.value.user_message or "")


# ---------------------------------------------------------------- webhook delivery


def test_redeliver_sends_the_same_event_again(
    emulator: StripeEmulator, endpoint: Receiver, session: stripe.checkout.Session
) -> None:
    emulator.complete_checkout(session.id)
    assert emulator.wait_for_webhooks()
    event = emulator.events[-1]

    emulator.redeliver(event["id"])

    assert emulator.wait_for_webhooks()
    *_, first, again = endpoint.events()
    assert first == again
    assert again["id"] == event["id"]


def test_a_delivery_answered_500_is_retried_until_it_succeeds(
    emulator: StripeEmulator, endpoint: Receiver, session: stripe.checkout.Session
) -> None:
    endpoint.statuses.extend([500, 500])

    emulator.expire_checkout(session.id)

    assert emulator.wait_for_webhooks()
    deliveries = emulator.webhook_deliveries
    assert [(d.attempt, d.status) for d in deliveries] == [(1, 500), (2, 500), (3, 200)]
    assert {(d.event_id, d.type) for d in deliveries} == {
        (emulator.events[0]["id"], "checkout.session.expired")
    }


def test_a_delivery_is_given_up_after_three_attempts(
    emulator: StripeEmulator, endpoint: Receiver, session: stripe.checkout.Session
) -> None:
    endpoint.statuses.extend([500, 503, 500, 200])

    emulator.expire_checkout(session.id)

    assert emulator.wait_for_webhooks()
    assert [d.status for d in emulator.webhook_deliveries] == [500, 503, 500]


def test_without_a_webhook_url_events_are_kept_but_not_sent(
    emulator: StripeEmulator, endpoint: Receiver, session: stripe.checkout.Session
) -> None:
    emulator.webhook_url = None

    emulator.complete_checkout(session.id)

    assert emulator.wait_for_webhooks()
    assert [event["type"] for event in emulator.events] == ["checkout.session.completed"]
    assert (endpoint.received, emulator.webhook_deliveries) == ([], [])


# ---------------------------------------------------------------- control endpoints


def test_the_control_endpoint_completes_a_session_with_a_given_test_card(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    card = {"number": "378282246310005", "exp_month": 3, "exp_year": NEXT_YEAR, "cvc": "1234"}

    completed = control(server, "POST", f"/_emulator/checkout/{session.id}/complete", card)

    assert completed["status"] == "complete"
    assert completed["setup_intent"].startswith("seti_")


def test_the_control_endpoint_answers_a_declined_card_with_stripes_error(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    card = {"number": "4000000000000002", "exp_month": 3, "exp_year": NEXT_YEAR, "cvc": "123"}

    answer = control(server, "POST", f"/_emulator/checkout/{session.id}/complete", card)

    assert (answer["error"]["type"], answer["error"]["code"]) == ("card_error", "card_declined")


def test_the_control_endpoint_expires_a_session(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    expired = control(server, "POST", f"/_emulator/checkout/{session.id}/expire")

    assert expired["status"] == "expired"


def test_the_control_endpoint_redelivers_an_event(
    server: RunningServer,
    emulator: StripeEmulator,
    endpoint: Receiver,
    session: stripe.checkout.Session,
) -> None:
    emulator.expire_checkout(session.id)
    assert emulator.wait_for_webhooks()
    event_id = emulator.events[0]["id"]

    control(server, "POST", f"/_emulator/events/{event_id}/redeliver")

    assert emulator.wait_for_webhooks()
    assert [event["id"] for event in endpoint.events()] == [event_id, event_id]


def test_the_settings_endpoint_changes_the_webhook_url_and_secret(
    server: RunningServer, emulator: StripeEmulator
) -> None:
    settings = {"webhook_url": "http://127.0.0.1:9/hook", "webhook_secret": "whsec_other"}

    answer = control(server, "POST", "/_emulator/settings", settings)

    assert (answer["webhook_url"], answer["webhook_secret"]) == tuple(settings.values())
    assert (emulator.webhook_url, emulator.webhook_secret) == tuple(settings.values())


def test_the_settings_endpoint_refuses_a_webhook_url_off_this_machine(
    server: RunningServer, emulator: StripeEmulator, receiver: tuple[Receiver, str]
) -> None:
    answer = control(server, "POST", "/_emulator/settings", {"webhook_url": "http://10.0.0.1/"})

    assert "loopback" in answer["error"]["message"]
    assert emulator.webhook_url == receiver[1]


# ---------------------------------------------------------------- card data containment


def test_no_card_number_reaches_the_request_log_events_or_the_servers_logging(
    client: stripe.StripeClient,
    server: RunningServer,
    emulator: StripeEmulator,
    endpoint: Receiver,
    customer: stripe.Customer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    declined, saved, by_control = (
        client.v1.checkout.sessions.create(params=session_params(customer.id)) for _ in range(3)
    )
    page(server, "POST", pay_path(declined), card_form("4000000000000002"))
    page(server, "POST", pay_path(saved), card_form("4242 4242 4242 4242"))
    card = {"number": "5555555555554444", "exp_month": 1, "exp_year": NEXT_YEAR, "cvc": "321"}
    control(server, "POST", f"/_emulator/checkout/{by_control.id}/complete", card)
    for checkout in (declined, saved, by_control):
        client.v1.checkout.sessions.retrieve(
            checkout.id, params={"expand": ["setup_intent.payment_method"]}
        )
    assert emulator.wait_for_webhooks()

    server_log = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.split(".")[0] in {"emulator", "aiohttp"}
    )
    dumps = [
        json.dumps([entry.to_json() for entry in emulator.requests]),
        json.dumps(control(server, "GET", "/_emulator/requests")),
        json.dumps(emulator.events),
        json.dumps(emulator.payment_methods),
        json.dumps(endpoint.received),
        server_log,
    ]
    assert "/pay/" in server_log
    for dump in dumps:
        for number in (VISA, "4242 4242 4242 4242", "4000000000000002", "5555555555554444"):
            assert number not in dump
