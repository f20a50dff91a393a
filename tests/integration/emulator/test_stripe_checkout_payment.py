"""Checkout in payment mode on the Stripe test API: a session for line items, its hosted
page charging the card (3D Secure through the bank's page), and what Stripe refuses."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from emulator.server import RunningServer, serve_in_thread
from emulator.stripe_api import StripeEmulator, create_app
from tests.integration.emulator.stripe_support import Receiver, control, page

pytestmark = pytest.mark.integration

API_KEY = "sk_test_emulator_checkout_pay_4eC39HqLyjWD"
WEBHOOK_SECRET = "whsec_test_checkout_pay_secret"
NEXT_YEAR = datetime.now(UTC).year + 1
SUCCESS_URL = "http://127.0.0.1:3000/stripe/return?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://127.0.0.1:3000/stripe/cancelled"


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, RunningServer]]:
    endpoint = Receiver()
    with serve_in_thread(endpoint.app()) as running:
        yield endpoint, running


@pytest.fixture
def emulator(receiver: tuple[Receiver, RunningServer]) -> StripeEmulator:
    return StripeEmulator(
        webhook_url=f"{receiver[1].url}/stripe/webhook",
        webhook_secret=WEBHOOK_SECRET,
        webhook_retry_delay=0.0,
        business_name="Acme Test Shop",
    )


@pytest.fixture
def server(emulator: StripeEmulator) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(emulator)) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url})


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": "ada@example.com"})


def payment_params(customer_id: str, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "customer": customer_id,
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 625,
                    "product_data": {"name": "Invoice INV-7"},
                },
                "quantity": 2,
            }
        ],
        "payment_intent_data": {
            "description": "Invoice INV-7",
            "receipt_email": "ada@example.com",
            "metadata": {"reference": "INV-7"},
        },
        "metadata": {"reference": "INV-7"},
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "expires_at": int(time.time()) + 3600,
    }
    params.update(overrides)
    return params


@pytest.fixture
def session(client: stripe.StripeClient, customer: stripe.Customer) -> stripe.checkout.Session:
    return client.v1.checkout.sessions.create(params=payment_params(customer.id))


def card_form(number: str = "4242424242424242") -> dict[str, str]:
    return {
        "number": number,
        "expiry": f"12 / {NEXT_YEAR % 100:02d}",
        "cvc": "123",
        "name": "Ada Lovelace",
    }


def pay_path(checkout: stripe.checkout.Session) -> str:
    return urllib.parse.urlsplit(checkout.url or "").path


def test_a_payment_session_totals_its_line_items_and_waits_unpaid(
    session: stripe.checkout.Session, server: RunningServer
) -> None:
    assert (session.mode, session.status, session.payment_status) == ("payment", "open", "unpaid")
    assert (session.amount_total, session.amount_subtotal, session.currency) == (1250, 1250, "usd")
    assert session.payment_intent is None
    assert session.url == f"{server.url}/pay/{session.id}"
    shown = page(server, "GET", pay_path(session))
    assert "Pay $12.50 USD" in shown.body


def test_a_card_on_the_page_pays_and_completes_the_session(
    client: stripe.StripeClient, server: RunningServer, session: stripe.checkout.Session
) -> None:
    answer = page(server, "POST", pay_path(session), card_form())

    assert answer.status == 303
    assert answer.headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (done.status, done.payment_status, done.url) == ("complete", "paid", None)
    intent = done.payment_intent
    assert isinstance(intent, stripe.PaymentIntent)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 1250, "usd")
    assert (intent.description, intent.receipt_email) == ("Invoice INV-7", "ada@example.com")
    assert intent.metadata is not None
    assert intent.metadata.to_dict() == {"reference": "INV-7"}
    paid = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (paid.status, paid.amount_captured) == ("succeeded", 1250)


def test_a_declined_card_shows_on_the_form_and_the_session_stays_open(
    client: stripe.StripeClient, server: RunningServer, session: stripe.checkout.Session
) -> None:
    answer = page(server, "POST", pay_path(session), card_form("4000000000009995"))

    assert answer.status == 200
    assert "Your card has insufficient funds." in answer.body
    found = client.v1.checkout.sessions.retrieve(session.id)
    assert (found.status, found.payment_status) == ("open", "unpaid")
    assert found.payment_intent is not None
    intent = client.v1.payment_intents.retrieve(str(found.payment_intent))
    assert intent.status == "requires_payment_method"


def test_a_3ds_card_goes_to_the_banks_page_and_then_to_success_url(
    client: stripe.StripeClient, server: RunningServer, session: stripe.checkout.Session
) -> None:
    submitted = page(server, "POST", pay_path(session), card_form("4000002500003155"))
    bank_page = submitted.headers["Location"]
    assert submitted.status == 303
    assert bank_page.startswith("/3ds/pi_")
    assert "Complete authentication" in page(server, "GET", bank_page).body

    answer = page(server, "POST", bank_page, {"outcome": "complete"})

    assert answer.headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_the_control_endpoint_pays_a_payment_session(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    completed = control(
        server,
        "POST",
        f"/_emulator/checkout/{session.id}/complete",
        {"number": "4000002760003184", "authentication": "complete"},
    )

    assert (completed["status"], completed["payment_status"]) == ("complete", "paid")
    assert completed["payment_intent"].startswith("pi_")


def test_the_control_endpoint_answers_a_decline_with_stripes_error(
    server: RunningServer, session: stripe.checkout.Session
) -> None:
    answer = control(
        server,
        "POST",
        f"/_emulator/checkout/{session.id}/complete",
        {"number": "4000000000000341"},
    )

    assert answer["error"]["decline_code"] == "generic_decline"


def test_setup_future_usage_saves_the_paid_card_to_the_customer(
    client: stripe.StripeClient, server: RunningServer, customer: stripe.Customer
) -> None:
    data = {"setup_future_usage": "off_session", "metadata": {"reference": "INV-8"}}
    checkout = client.v1.checkout.sessions.create(
        params=payment_params(customer.id, payment_intent_data=data)
    )

    page(server, "POST", pay_path(checkout), card_form())

    saved = client.v1.customers.payment_methods.list(customer.id)
    assert [method.card.last4 for method in saved.data if method.card] == ["4242"]


def test_the_payment_sessions_events_are_the_intents_then_checkouts(
    emulator: StripeEmulator,
    receiver: tuple[Receiver, RunningServer],
    server: RunningServer,
    session: stripe.checkout.Session,
) -> None:
    page(server, "POST", pay_path(session), card_form())

    assert emulator.wait_for_webhooks()
    events = [
        stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET)
        for payload, signature in receiver[0].received
    ]
    assert [event.type for event in events] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    assert events[-1].data.object["payment_status"] == "paid"


def test_expiring_a_payment_session_cancels_its_unpaid_intent(
    client: stripe.StripeClient, server: RunningServer, session: stripe.checkout.Session
) -> None:
    page(server, "POST", pay_path(session), card_form("4000000000000002"))

    expired = client.v1.checkout.sessions.expire(session.id)

    intent = client.v1.payment_intents.retrieve(str(expired.payment_intent))
    assert (expired.status, intent.status) == ("expired", "canceled")


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        pytest.param(
            {"line_items": [{"price": "price_123", "quantity": 1}]},
            "line_items[0][price]",
            id="price",
        ),
        pytest.param({"setup_intent_data": {"metadata": {"a": "b"}}}, "setup_intent_data", id="si"),
        pytest.param(
            {
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 20,
                            "product_data": {"name": "Gum"},
                        },
                        "quantity": 2,
                    }
                ]
            },
            "line_items",
            id="too-small",
        ),
        pytest.param(
            {"payment_intent_data": {"capture_method": "manual"}},
            "payment_intent_data[capture_method]",
            id="capture",
        ),
    ],
)
def test_what_payment_mode_does_not_take_is_refused_by_name(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    customer: stripe.Customer,
    overrides: dict[str, Any],
    param: str,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params=payment_params(customer.id, **overrides))

    assert raised.value.param == param
    assert emulator.checkout_sessions == []
