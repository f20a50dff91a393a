"""PaymentIntents on the Stripe test API, driven by the real `stripe` SDK over loopback: a
saved card charged, declined or sent to 3D Secure as Stripe's test cards are, with the
Charge, its receipt, events, idempotency and search."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from emulator.server import RunningServer, serve_in_thread
from emulator.stripe_api import StripeEmulator, create_app
from tests.integration.emulator.stripe_support import Receiver, control, page, raw_post

pytestmark = pytest.mark.integration

API_KEY = "sk_test_emulator_charges_4eC39HqLyjWD"
WEBHOOK_SECRET = "whsec_test_charges_secret"
VISA = "4242424242424242"
SET_UP_ONCE = "4000002500003155"
ALWAYS_AUTHENTICATE = "4000002760003184"
DECLINE_AFTER_ATTACHING = "4000000000000341"
NEXT_YEAR = datetime.now(UTC).year + 1


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, RunningServer]]:
    endpoint = Receiver()
    with serve_in_thread(endpoint.app()) as running:
        yield endpoint, running


@pytest.fixture
def endpoint(receiver: tuple[Receiver, RunningServer]) -> Receiver:
    return receiver[0]


@pytest.fixture
def return_url(receiver: tuple[Receiver, RunningServer]) -> str:
    return f"{receiver[1].url}/return?order=42"


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


@pytest.fixture(autouse=True)
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.0)


@pytest.fixture
def client(server: RunningServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url})


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": "ada@example.com"})


def card(client: stripe.StripeClient, number: str = VISA) -> stripe.PaymentMethod:
    return client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": "123"},
            "billing_details": {"name": "Ada Lovelace"},
        }
    )


def saved_card(
    client: stripe.StripeClient, customer: stripe.Customer, number: str = VISA
) -> stripe.PaymentMethod:
    """A card saved to the customer through a SetupIntent, as the product saves one."""
    payment_method = card(client, number)
    intent = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": payment_method.id,
            "confirm": True,
            "usage": "off_session",
            "allowed_payment_method_types": ["card"],
        }
    )
    assert intent.status == "succeeded"
    return payment_method


def charge(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    payment_method: stripe.PaymentMethod,
    *,
    amount: int = 1250,
    options: stripe.RequestOptions | None = None,
    **extra: Any,
) -> stripe.PaymentIntent:
    """Create and confirm a PaymentIntent for a saved card, as the product charges one."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": payment_method.id,
        "confirm": True,
        "allowed_payment_method_types": ["card"],
        "description": "Invoice INV-7",
        "receipt_email": "ada@example.com",
        "metadata": {"reference": "INV-7"},
        **extra,
    }
    return client.v1.payment_intents.create(params=params, options=options or {})


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def authenticate(server: RunningServer, intent_id: str, outcome: str) -> Any:
    path = f"/_emulator/payment_intents/{intent_id}/authenticate"
    return control(server, "POST", path, {"outcome": outcome})


# ---------------------------------------------------------------- a good card


def test_a_saved_card_is_charged_and_the_intent_succeeds_with_a_charge(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    payment_method = saved_card(client, customer)

    intent = charge(client, customer, payment_method)

    assert re.fullmatch(r"pi_[A-Za-z0-9]{24}", intent.id)
    assert (intent.object, intent.status) == ("payment_intent", "succeeded")
    assert (intent.amount, intent.amount_received, intent.currency) == (1250, 1250, "usd")
    assert (intent.customer, intent.payment_method) == (customer.id, payment_method.id)
    assert (intent.description, intent.receipt_email) == ("Invoice INV-7", "ada@example.com")
    assert intent.metadata is not None
    assert intent.metadata.to_dict() == {"reference": "INV-7"}
    assert re.fullmatch(rf"{intent.id}_secret_[A-Za-z0-9]+", intent.client_secret or "")
    assert (intent.last_payment_error, intent.next_action) == (None, None)
    assert isinstance(intent.latest_charge, str)
    assert intent.latest_charge.startswith("ch_")


def test_the_latest_charge_expands_to_a_paid_charge_with_the_cards_details(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    intent = charge(client, customer, saved_card(client, customer, "5555555555554444"))

    found = client.v1.payment_intents.retrieve(
        intent.id, params={"expand": ["latest_charge", "payment_method", "customer"]}
    )

    paid = found.latest_charge
    assert isinstance(paid, stripe.Charge)
    assert (paid.status, paid.paid, paid.captured) == ("succeeded", True, True)
    assert (paid.amount, paid.amount_captured, paid.amount_refunded) == (1250, 1250, 0)
    assert (paid.refunded, paid.payment_intent, paid.currency) == (False, intent.id, "usd")
    assert (paid.receipt_email, paid.description) == ("ada@example.com", "Invoice INV-7")
    assert paid.receipt_url == f"{server.url}/receipts/{paid.id}"
    assert paid.payment_method_details is not None
    assert paid.payment_method_details.card is not None
    details = paid.payment_method_details.card
    assert (details.brand, details.last4) == ("mastercard", "4444")
    assert isinstance(found.payment_method, stripe.PaymentMethod)
    assert isinstance(found.customer, stripe.Customer)
    assert client.v1.charges.retrieve(paid.id).id == paid.id


def test_the_receipt_url_is_a_page_with_amount_description_card_and_date(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    intent = charge(client, customer, saved_card(client, customer), amount=123456)
    paid = client.v1.charges.retrieve(str(intent.latest_charge))

    with urllib.request.urlopen(paid.receipt_url or "", timeout=10) as shown:
        body = shown.read().decode()

    assert "$1,234.56 USD" in body
    assert "Invoice INV-7" in body
    assert "Visa •••• 4242" in body
    assert datetime.fromtimestamp(paid.created, UTC).strftime("%Y-%m-%d") in body
    assert "Acme Test Shop" in body


def test_an_unknown_receipt_is_not_found(server: RunningServer) -> None:
    assert page(server, "GET", "/receipts/ch_doesnotexist").status == 404


# ---------------------------------------------------------------- declines


@pytest.mark.parametrize(
    ("number", "code", "decline_code"),
    [
        pytest.param(DECLINE_AFTER_ATTACHING, "card_declined", "generic_decline", id="0341"),
    ],
)
def test_a_card_that_saves_but_declines_charges_is_declined_with_the_intent_embedded(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    number: str,
    code: str,
    decline_code: str,
) -> None:
    payment_method = saved_card(client, customer, number)

    with pytest.raises(stripe.CardError) as raised:
        charge(client, customer, payment_method)

    error = raised.value
    assert (error.http_status, error.code) == (402, code)
    assert error.error is not None
    assert error.error.decline_code == decline_code
    embedded = error.error.payment_intent
    assert embedded is not None
    assert (embedded.status, embedded.payment_method) == ("requires_payment_method", None)
    assert embedded.last_payment_error is not None
    assert embedded.last_payment_error.code == code
    assert embedded.last_payment_error.decline_code == decline_code
    failed = client.v1.charges.retrieve(str(error.error.charge))
    assert (failed.status, failed.paid, failed.failure_code) == ("failed", False, code)
    assert failed.receipt_url is None
    stored = client.v1.payment_intents.retrieve(embedded.id)
    assert (stored.status, stored.latest_charge) == ("requires_payment_method", failed.id)


@pytest.mark.parametrize(
    ("number", "code", "decline_code"),
    [
        pytest.param("4000000000009995", "card_declined", "insufficient_funds", id="9995"),
        pytest.param("4000000000000002", "card_declined", "generic_decline", id="0002"),
        pytest.param("4000000000000069", "expired_card", None, id="0069"),
        pytest.param("4000000000000127", "incorrect_cvc", None, id="0127"),
    ],
)
def test_a_declining_card_is_declined_when_saved_and_when_charged(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    number: str,
    code: str,
    decline_code: str | None,
) -> None:
    with pytest.raises(stripe.CardError) as at_setup:
        saved_card(client, customer, number)
    payment_method = card(client, number)

    with pytest.raises(stripe.CardError) as at_charge:
        charge(client, customer, payment_method)

    for raised in (at_setup.value, at_charge.value):
        assert raised.code == code
        assert raised.error is not None
        assert raised.error.decline_code == decline_code
    assert at_charge.value.error is not None
    assert at_charge.value.error.payment_intent is not None


def test_a_declined_intent_is_paid_with_another_card(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        charge(client, customer, saved_card(client, customer, DECLINE_AFTER_ATTACHING))
    assert raised.value.error is not None
    assert raised.value.error.payment_intent is not None

    paid = client.v1.payment_intents.confirm(
        raised.value.error.payment_intent.id,
        params={"payment_method": saved_card(client, customer).id},
    )

    assert (paid.status, paid.last_payment_error) == ("succeeded", None)


# ---------------------------------------------------------------- 3D Secure


def test_an_on_session_charge_of_a_3ds_card_needs_action_on_this_servers_bank_page(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    server: RunningServer,
    return_url: str,
) -> None:
    intent = charge(
        client, customer, saved_card_3ds(client, customer, server), return_url=return_url
    )

    assert intent.status == "requires_action"
    assert intent.next_action is not None
    assert intent.next_action.type == "redirect_to_url"
    assert intent.next_action.redirect_to_url is not None
    assert intent.next_action.redirect_to_url.url == f"{server.url}/3ds/{intent.id}"
    assert intent.next_action.redirect_to_url.return_url == return_url
    assert intent.latest_charge is None


def saved_card_3ds(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    server: RunningServer,
    number: str = SET_UP_ONCE,
) -> stripe.PaymentMethod:
    """A 3D Secure card saved after the cardholder authenticated the setup."""
    payment_method = card(client, number)
    setup = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": payment_method.id,
            "confirm": True,
            "allowed_payment_method_types": ["card"],
        }
    )
    answer = control(
        server,
        "POST",
        f"/_emulator/setup_intents/{setup.id}/authenticate",
        {"outcome": "complete"},
    )
    assert answer["setup_intent"]["status"] == "succeeded"
    return payment_method


def test_without_a_return_url_a_3ds_charge_is_left_to_stripes_sdks(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    intent = charge(client, customer, saved_card_3ds(client, customer, server))

    assert intent.next_action is not None
    assert intent.next_action.type == "use_stripe_sdk"


def test_off_session_a_card_set_up_with_3ds_is_charged_without_authentication(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    payment_method = saved_card_3ds(client, customer, server)

    intent = charge(client, customer, payment_method, off_session=True)

    assert (intent.status, intent.next_action) == ("succeeded", None)


@pytest.mark.parametrize("number", [ALWAYS_AUTHENTICATE, "4000000000003220"])
def test_off_session_a_card_that_always_asks_for_3ds_is_declined_authentication_required(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer, number: str
) -> None:
    payment_method = saved_card_3ds(client, customer, server, number)

    with pytest.raises(stripe.CardError) as raised:
        charge(client, customer, payment_method, off_session=True)

    assert raised.value.code == "authentication_required"
    assert raised.value.error is not None
    assert raised.value.error.decline_code == "authentication_required"
    assert raised.value.error.payment_intent is not None
    assert raised.value.error.payment_intent.status == "requires_payment_method"


def test_off_session_a_3ds_card_never_set_up_is_declined_authentication_required(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        charge(client, customer, card(client, SET_UP_ONCE), off_session=True)

    assert raised.value.code == "authentication_required"


@pytest.mark.parametrize(("outcome", "status"), [("complete", "succeeded"), ("fail", "failed")])
def test_the_banks_page_settles_a_payment_and_returns_to_return_url(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    server: RunningServer,
    endpoint: Receiver,
    return_url: str,
    outcome: str,
    status: str,
) -> None:
    intent = charge(
        client, customer, saved_card_3ds(client, customer, server), return_url=return_url
    )
    url = f"{server.url}/3ds/{intent.id}"
    with urllib.request.urlopen(url, timeout=10) as shown:
        assert "Complete authentication" in shown.read().decode()

    form = urllib.parse.urlencode({"outcome": outcome}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=form), timeout=10) as landed:
        assert landed.read().decode() == "back on the merchant's site"

    assert endpoint.returns == [
        {
            "order": "42",
            "payment_intent": intent.id,
            "payment_intent_client_secret": intent.client_secret or "",
            "redirect_status": status,
        }
    ]


def test_completed_authentication_pays_with_an_authenticated_charge(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    server: RunningServer,
    return_url: str,
) -> None:
    intent = charge(
        client, customer, saved_card_3ds(client, customer, server), return_url=return_url
    )

    answer = authenticate(server, intent.id, "complete")

    assert answer["payment_intent"]["status"] == "succeeded"
    assert query_of(answer["return_url"])["redirect_status"] == "succeeded"
    paid = client.v1.charges.retrieve(answer["payment_intent"]["latest_charge"])
    assert paid.status == "succeeded"
    assert paid.payment_method_details is not None
    assert paid.payment_method_details.card is not None
    assert paid.payment_method_details.card.three_d_secure is not None
    assert paid.payment_method_details.card.three_d_secure.result == "authenticated"


def test_failed_authentication_returns_the_intent_to_requires_payment_method(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    intent = charge(client, customer, saved_card_3ds(client, customer, server))

    authenticate(server, intent.id, "fail")

    failed = client.v1.payment_intents.retrieve(intent.id)
    assert (failed.status, failed.payment_method, failed.latest_charge) == (
        "requires_payment_method",
        None,
        None,
    )
    assert failed.last_payment_error is not None
    assert failed.last_payment_error.code == "payment_intent_authentication_failure"


def test_the_setup_intent_control_endpoint_does_not_authenticate_a_payment_intent(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    intent = charge(client, customer, saved_card_3ds(client, customer, server))

    answer = control(
        server,
        "POST",
        f"/_emulator/setup_intents/{intent.id}/authenticate",
        {"outcome": "complete"},
    )

    assert answer["error"]["code"] == "resource_missing"
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_action"


def test_an_abandoned_authentication_waits_until_the_intent_is_canceled(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    intent = charge(client, customer, saved_card_3ds(client, customer, server))
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_action"

    canceled = client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "abandoned"}
    )

    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert canceled.canceled_at is not None
    assert "no longer pending" in page(server, "GET", f"/3ds/{intent.id}").body


def test_a_succeeded_intent_cannot_be_canceled_or_confirmed_again(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    intent = charge(client, customer, saved_card(client, customer))

    with pytest.raises(stripe.InvalidRequestError) as canceled:
        client.v1.payment_intents.cancel(intent.id)
    with pytest.raises(stripe.InvalidRequestError) as confirmed:
        client.v1.payment_intents.confirm(intent.id)

    assert canceled.value.code == confirmed.value.code == "payment_intent_unexpected_state"
    assert "already succeeded" in (confirmed.value.user_message or "")


# ---------------------------------------------------------------- what Stripe refuses


@pytest.mark.parametrize(
    ("amount", "currency", "code", "message"),
    [
        pytest.param(49, "usd", "amount_too_small", "Amount must be at least $0.50 usd", id="usd"),
        pytest.param(29, "gbp", "amount_too_small", "Amount must be at least £0.30 gbp", id="gbp"),
        pytest.param(49, "JPY", "amount_too_small", "Amount must be at least ¥50 jpy", id="jpy"),
        pytest.param(
            100_000_000,
            "usd",
            "amount_too_large",
            "Amount must be no more than $999,999.99",
            id="large",
        ),
    ],
)
def test_an_amount_outside_stripes_limits_is_refused_and_creates_nothing(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    amount: int,
    currency: str,
    code: str,
    message: str,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params={"amount": amount, "currency": currency})

    assert (raised.value.code, raised.value.param) == (code, "amount")
    assert raised.value.user_message == message
    assert emulator.payment_intents == []


def test_a_currency_in_capitals_is_taken_and_answered_in_lowercase(
    client: stripe.StripeClient,
) -> None:
    intent = client.v1.payment_intents.create(params={"amount": 500, "currency": "JPY"})

    assert (intent.currency, intent.amount, intent.status) == (
        "jpy",
        500,
        "requires_payment_method",
    )


def test_a_fractional_amount_is_refused_as_an_invalid_integer(server: RunningServer) -> None:
    status, body = raw_post(
        server, "/v1/payment_intents", [("amount", "10.5"), ("currency", "usd")], api_key=API_KEY
    )

    assert status == 400
    assert (body["error"]["code"], body["error"]["param"]) == (
        "parameter_invalid_integer",
        "amount",
    )


def test_a_card_saved_to_another_customer_is_refused(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    other = client.v1.customers.create(params={"email": "grace@example.com"})
    payment_method = saved_card(client, other)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        charge(client, customer, payment_method)

    assert raised.value.param == "payment_method"
    assert "must be attached to the customer" in (raised.value.user_message or "")


def test_a_parameter_stripe_takes_but_this_api_does_not_emulate_is_refused_by_name(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        charge(client, customer, saved_card(client, customer), statement_descriptor_suffix="X")

    assert raised.value.param == "statement_descriptor_suffix"
    assert "not emulated" in (raised.value.user_message or "")


def test_an_unknown_parameter_is_refused_as_stripe_refuses_it(
    client: stripe.StripeClient,
) -> None:
    params: Any = {"amount": 500, "currency": "usd", "amount_in_cents": 500}

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params=params)

    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "amount_in_cents")


def test_payment_method_types_is_refused_as_no_longer_supported(
    client: stripe.StripeClient,
) -> None:
    params: Any = {"amount": 500, "currency": "usd", "payment_method_types": ["card"]}

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params=params)

    assert raised.value.code == "payment_method_types_no_longer_supported"


def test_confirming_with_dashboard_payment_methods_needs_a_return_url(
    client: stripe.StripeClient, emulator: StripeEmulator, customer: stripe.Customer
) -> None:
    params: Any = {
        "amount": 500,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": saved_card(client, customer).id,
        "confirm": True,
    }

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params=params)

    assert raised.value.param == "return_url"
    assert emulator.payment_intents == []


# ---------------------------------------------------------------- idempotency


def test_a_replayed_create_returns_the_same_intent_and_charges_once(
    client: stripe.StripeClient, emulator: StripeEmulator, customer: stripe.Customer
) -> None:
    payment_method = saved_card(client, customer)
    options: stripe.RequestOptions = {"idempotency_key": "charge-INV-7-attempt-1"}

    first = charge(client, customer, payment_method, options=options)
    again = charge(client, customer, payment_method, options=options)

    assert (again.id, again.latest_charge) == (first.id, first.latest_charge)
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(emulator.payment_intents) == 1
    assert len(emulator.charges) == 1


def test_the_same_key_with_other_parameters_is_an_idempotency_error(
    client: stripe.StripeClient, emulator: StripeEmulator, customer: stripe.Customer
) -> None:
    payment_method = saved_card(client, customer)
    options: stripe.RequestOptions = {"idempotency_key": "charge-INV-7-attempt-2"}
    charge(client, customer, payment_method, options=options)

    with pytest.raises(stripe.IdempotencyError) as raised:
        charge(client, customer, payment_method, amount=9999, options=options)

    assert "same parameters" in (raised.value.user_message or "")
    assert len(emulator.charges) == 1


def test_a_decline_is_replayed_for_the_same_key_without_a_second_charge(
    client: stripe.StripeClient, emulator: StripeEmulator, customer: stripe.Customer
) -> None:
    payment_method = saved_card(client, customer, DECLINE_AFTER_ATTACHING)
    options: stripe.RequestOptions = {"idempotency_key": "charge-INV-7-attempt-3"}
    with pytest.raises(stripe.CardError):
        charge(client, customer, payment_method, options=options)

    with pytest.raises(stripe.CardError) as again:
        charge(client, customer, payment_method, options=options)

    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert len(emulator.charges) == 1


# ---------------------------------------------------------------- search


def test_search_finds_intents_by_metadata_and_status(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    payment_method = saved_card(client, customer)
    paid = charge(client, customer, payment_method, metadata={"reference": "INV-8"})
    charge(client, customer, payment_method, metadata={"reference": "INV-9"})
    client.v1.payment_intents.create(
        params={"amount": 900, "currency": "usd", "metadata": {"reference": "INV-8"}}
    )

    found = client.v1.payment_intents.search(
        params={"query": "metadata['reference']:'INV-8' AND status:'succeeded'"}
    )

    assert [intent.id for intent in found.data] == [paid.id]


def test_an_unreadable_search_query_is_refused_naming_query(
    client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.search(params={"query": "description:'x'"})

    assert raised.value.param == "query"


# ---------------------------------------------------------------- events and card data


def test_each_step_of_a_payment_is_a_signed_event(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    endpoint: Receiver,
    customer: stripe.Customer,
    server: RunningServer,
) -> None:
    with pytest.raises(stripe.CardError):
        charge(client, customer, saved_card(client, customer, DECLINE_AFTER_ATTACHING))
    paid = charge(client, customer, saved_card(client, customer))
    waiting = charge(client, customer, saved_card_3ds(client, customer, server))
    client.v1.payment_intents.cancel(waiting.id)

    assert emulator.wait_for_webhooks()
    events = [
        stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET)
        for payload, signature in endpoint.received
    ]
    payments = [event for event in events if not event.type.startswith("setup_intent.")]
    assert [event.type for event in payments] == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "payment_intent.created",
        "payment_intent.requires_action",
        "payment_intent.canceled",
    ]
    assert payments[1].data.object["object"] == "charge"
    assert payments[2].data.object["last_payment_error"]["decline_code"] == "generic_decline"
    assert payments[4].data.object["receipt_url"].endswith(f"/receipts/{paid.latest_charge}")
    assert payments[5].data.object["id"] == paid.id
    assert payments[5].request is not None
    assert (payments[5].request.id or "").startswith("req_")


def test_no_card_number_reaches_the_log_events_or_objects(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    endpoint: Receiver,
    customer: stripe.Customer,
) -> None:
    with pytest.raises(stripe.CardError):
        charge(client, customer, saved_card(client, customer, DECLINE_AFTER_ATTACHING))
    charge(client, customer, saved_card(client, customer))
    assert emulator.wait_for_webhooks()

    dumps = [
        json.dumps([entry.to_json() for entry in emulator.requests]),
        json.dumps(emulator.events),
        json.dumps(emulator.payment_intents),
        json.dumps(emulator.charges),
        json.dumps(endpoint.received),
    ]
    for dump in dumps:
        for number in (DECLINE_AFTER_ATTACHING, VISA):
            assert number not in dump


def test_an_application_uri_scheme_is_taken_as_return_url_but_a_hostless_https_url_is_not(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    payment_method = saved_card_3ds(client, customer, server)

    intent = charge(client, customer, payment_method, return_url="paybot://charge/done")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        charge(client, customer, payment_method, return_url="https:///stripe/return")

    assert intent.next_action is not None
    assert intent.next_action.redirect_to_url is not None
    assert intent.next_action.redirect_to_url.return_url == "paybot://charge/done"
    assert (raised.value.code, raised.value.param) == ("url_invalid", "return_url")
