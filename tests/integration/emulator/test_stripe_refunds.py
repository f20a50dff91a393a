"""Refunds on the Stripe test API, driven by the real `stripe` SDK over loopback: whole and
partial refunds of a paid Charge, what Stripe refuses, idempotency and events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from emulator.server import RunningServer, serve_in_thread
from emulator.stripe_api import StripeEmulator, create_app
from tests.integration.emulator.stripe_support import Receiver

pytestmark = pytest.mark.integration

API_KEY = "sk_test_emulator_refunds_4eC39HqLyjWD"
WEBHOOK_SECRET = "whsec_test_refunds_secret"
NEXT_YEAR = datetime.now(UTC).year + 1


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
    )


@pytest.fixture
def client(emulator: StripeEmulator) -> Iterator[stripe.StripeClient]:
    with serve_in_thread(create_app(emulator)) as running:
        yield stripe.StripeClient(API_KEY, base_addresses={"api": running.url})


@pytest.fixture
def paid(client: stripe.StripeClient) -> stripe.PaymentIntent:
    """A PaymentIntent of $20.00 paid with a saved Visa."""
    customer = client.v1.customers.create(params={"email": "ada@example.com"})
    payment_method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": NEXT_YEAR},
        }
    )
    client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": payment_method.id,
            "confirm": True,
            "allowed_payment_method_types": ["card"],
        }
    )
    return client.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": payment_method.id,
            "confirm": True,
            "off_session": True,
            "allowed_payment_method_types": ["card"],
        }
    )


def test_a_whole_refund_of_a_payment_intent_succeeds_at_once_and_refunds_the_charge(
    client: stripe.StripeClient, paid: stripe.PaymentIntent
) -> None:
    refund = client.v1.refunds.create(
        params={
            "payment_intent": paid.id,
            "reason": "requested_by_customer",
            "metadata": {"ticket": "T-1"},
        }
    )

    assert refund.id.startswith("re_")
    assert (refund.object, refund.status, refund.amount) == ("refund", "succeeded", 2000)
    assert (refund.charge, refund.payment_intent) == (paid.latest_charge, paid.id)
    assert (refund.currency, refund.reason) == ("usd", "requested_by_customer")
    assert refund.metadata is not None
    assert refund.metadata.to_dict() == {"ticket": "T-1"}
    charge = client.v1.charges.retrieve(str(paid.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (2000, True)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"


def test_partial_refunds_add_up_and_the_charge_is_refunded_when_they_reach_its_amount(
    client: stripe.StripeClient, paid: stripe.PaymentIntent
) -> None:
    charge_id = str(paid.latest_charge)

    client.v1.refunds.create(params={"charge": charge_id, "amount": 500})
    partly = client.v1.charges.retrieve(charge_id)
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 1500})
    whole = client.v1.charges.retrieve(charge_id)

    assert (partly.amount_refunded, partly.refunded) == (500, False)
    assert (whole.amount_refunded, whole.refunded) == (2000, True)


def test_a_refund_of_more_than_is_left_is_refused_in_stripes_words(
    client: stripe.StripeClient, emulator: StripeEmulator, paid: stripe.PaymentIntent
) -> None:
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 1500})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 501})

    assert (raised.value.code, raised.value.param) == ("amount_too_large", "amount")
    assert raised.value.user_message == (
        "Refund amount ($5.01) is greater than unrefunded amount on charge ($5.00)"
    )
    assert len(emulator.refunds) == 1


def test_a_refunded_charge_cannot_be_refunded_again(
    client: stripe.StripeClient, paid: stripe.PaymentIntent
) -> None:
    client.v1.refunds.create(params={"payment_intent": paid.id})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"charge": str(paid.latest_charge)})

    assert raised.value.code == "charge_already_refunded"
    assert raised.value.user_message == f"Charge {paid.latest_charge} has already been refunded."


def test_a_refund_names_a_charge_or_a_payment_intent(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as neither:
        client.v1.refunds.create(params={"amount": 100})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.refunds.create(params={"payment_intent": "pi_doesnotexist"})

    assert "payment_intent or charge" in (neither.value.user_message or "")
    assert (unknown.value.code, unknown.value.param) == ("resource_missing", "payment_intent")


def test_an_unpaid_payment_intent_has_nothing_to_refund(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent.id})

    assert raised.value.param == "payment_intent"


def test_a_replayed_refund_refunds_once(
    client: stripe.StripeClient, emulator: StripeEmulator, paid: stripe.PaymentIntent
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "refund-INV-7-1"}
    params: Any = {"payment_intent": paid.id, "amount": 700}

    first = client.v1.refunds.create(params=params, options=options)
    again = client.v1.refunds.create(params=params, options=options)

    assert again.id == first.id
    assert len(emulator.refunds) == 1
    assert client.v1.charges.retrieve(str(paid.latest_charge)).amount_refunded == 700


def test_a_refund_sends_refund_created_and_charge_refunded_signed(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    receiver: tuple[Receiver, RunningServer],
    paid: stripe.PaymentIntent,
) -> None:
    refund = client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 800})

    assert emulator.wait_for_webhooks()
    events = [
        stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET)
        for payload, signature in receiver[0].received
    ]
    refunds = [event for event in events if event.type in ("refund.created", "charge.refunded")]
    assert [event.type for event in refunds] == ["refund.created", "charge.refunded"]
    assert refunds[0].data.object["id"] == refund.id
    charge = refunds[1].data.object
    assert (charge["object"], charge["id"]) == ("charge", paid.latest_charge)
    assert (charge["amount_refunded"], charge["refunded"]) == (800, False)
