"""SetupIntents and the Account on the Stripe test API, driven by the real `stripe` SDK over
loopback: declines at confirmation, 3D Secure, events, idempotency."""

from __future__ import annotations

import json
import logging
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
from tests.integration.emulator.stripe_support import Receiver, control, page

pytestmark = pytest.mark.integration

API_KEY = "sk_test_emulator_setup_4eC39HqLyjWD"
WEBHOOK_SECRET = "whsec_test_setup_secret"
VISA = "4242424242424242"
THREE_D_SECURE = "4000002500003155"
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
    """The merchant's page the bank sends the cardholder back to (it has a query already)."""
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
    """The SDK sleeps 0.5 s or more between retries; its backoff is not under test here."""
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


def setup(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    payment_method: stripe.PaymentMethod,
    return_url: str | None = None,
    options: stripe.RequestOptions | None = None,
) -> stripe.SetupIntent:
    """Create and confirm a SetupIntent for a card, as the product saves one."""
    params: dict[str, Any] = {
        "customer": customer.id,
        "payment_method": payment_method.id,
        "confirm": True,
        "usage": "off_session",
        "allowed_payment_method_types": ["card"],
    }
    if return_url is not None:
        params["return_url"] = return_url
    return client.v1.setup_intents.create(params=params, options=options or {})


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


# ---------------------------------------------------------------- a good card


def test_a_confirmed_setup_intent_succeeds_and_attaches_the_card_to_the_customer(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    payment_method = card(client)

    intent = setup(client, customer, payment_method)

    assert re.fullmatch(r"seti_[A-Za-z0-9]{24}", intent.id)
    assert (intent.object, intent.status, intent.usage) == (
        "setup_intent",
        "succeeded",
        "off_session",
    )
    assert re.fullmatch(rf"{intent.id}_secret_[A-Za-z0-9]+", intent.client_secret or "")
    assert (intent.customer, intent.payment_method) == (customer.id, payment_method.id)
    assert (intent.livemode, intent.last_setup_error, intent.next_action) == (False, None, None)
    assert intent.payment_method_types == ["card"]
    assert (intent.latest_attempt or "").startswith("setatt_")
    saved = client.v1.payment_methods.retrieve(payment_method.id)
    assert saved.customer == customer.id
    assert saved.card is not None
    assert saved.card.checks is not None
    assert saved.card.checks.cvc_check == "pass"


def test_a_setup_intent_waits_for_a_card_then_is_confirmed_separately(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    created = client.v1.setup_intents.create(
        params={"customer": customer.id, "allowed_payment_method_types": ["card"]}
    )
    assert (created.status, created.payment_method) == ("requires_payment_method", None)

    confirmed = client.v1.setup_intents.confirm(
        created.id, params={"payment_method": card(client).id, "expand": ["payment_method"]}
    )

    assert confirmed.status == "succeeded"
    assert isinstance(confirmed.payment_method, stripe.PaymentMethod)
    assert confirmed.payment_method.customer == customer.id


def test_a_succeeded_setup_intent_cannot_be_confirmed_or_canceled_again(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    intent = setup(client, customer, card(client))

    with pytest.raises(stripe.InvalidRequestError) as confirmed:
        client.v1.setup_intents.confirm(intent.id)
    with pytest.raises(stripe.InvalidRequestError) as canceled:
        client.v1.setup_intents.cancel(intent.id)

    assert confirmed.value.code == canceled.value.code == "setup_intent_unexpected_state"
    assert "already succeeded" in (confirmed.value.user_message or "")


def test_an_open_setup_intent_is_canceled_with_its_reason(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    created = client.v1.setup_intents.create(
        params={"customer": customer.id, "allowed_payment_method_types": ["card"]}
    )

    canceled = client.v1.setup_intents.cancel(
        created.id, params={"cancellation_reason": "abandoned"}
    )

    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")


# ---------------------------------------------------------------- declines at confirmation


@pytest.mark.parametrize(
    ("number", "code", "decline_code", "param", "message"),
    [
        pytest.param(
            "4000000000000002",
            "card_declined",
            "generic_decline",
            None,
            "Your card was declined.",
            id="generic",
        ),
        pytest.param(
            "4000000000000127",
            "incorrect_cvc",
            None,
            "cvc",
            "Your card's security code is incorrect.",
            id="cvc",
        ),
        pytest.param(
            "4000000000000069",
            "expired_card",
            None,
            "exp_month",
            "Your card has expired.",
            id="expired",
        ),
    ],
)
def test_a_declining_test_card_is_declined_when_the_setup_intent_confirms_it(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    number: str,
    code: str,
    decline_code: str | None,
    param: str | None,
    message: str,
) -> None:
    payment_method = card(client, number)

    with pytest.raises(stripe.CardError) as raised:
        setup(client, customer, payment_method)

    error = raised.value
    assert error.http_status == 402
    assert (error.code, error.param, error.user_message) == (code, param, message)
    assert error.error is not None
    assert error.error.decline_code == decline_code
    embedded = error.error.setup_intent
    assert embedded is not None
    assert (embedded.status, embedded.payment_method) == ("requires_payment_method", None)
    assert embedded.last_setup_error is not None
    assert embedded.last_setup_error.code == code
    assert error.error.payment_method is not None
    assert error.error.payment_method.id == payment_method.id
    stored = client.v1.setup_intents.retrieve(embedded.id)
    assert stored.status == "requires_payment_method"
    assert stored.last_setup_error is not None
    assert stored.last_setup_error.to_dict().get("decline_code") == decline_code
    assert client.v1.payment_methods.retrieve(payment_method.id).customer is None


def test_a_declined_setup_intent_takes_another_card(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        setup(client, customer, card(client, "4000000000000002"))
    assert raised.value.error is not None
    assert raised.value.error.setup_intent is not None
    intent_id = raised.value.error.setup_intent.id

    retried = client.v1.setup_intents.confirm(intent_id, params={"payment_method": card(client).id})

    assert (retried.status, retried.last_setup_error) == ("succeeded", None)


def test_a_declined_payment_method_cannot_be_used_again(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    declined = card(client, "4000000000000002")
    with pytest.raises(stripe.CardError):
        setup(client, customer, declined)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        setup(client, customer, declined)

    assert raised.value.param == "payment_method"
    assert "may not be used again" in (raised.value.user_message or "")


# ---------------------------------------------------------------- 3D Secure


@pytest.mark.parametrize("number", [THREE_D_SECURE, "4000002760003184"])
def test_a_3ds_card_needs_action_with_a_redirect_to_this_servers_page(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    server: RunningServer,
    return_url: str,
    number: str,
) -> None:
    intent = setup(client, customer, card(client, number), return_url)

    assert intent.status == "requires_action"
    assert intent.next_action is not None
    assert intent.next_action.type == "redirect_to_url"
    redirect = intent.next_action.redirect_to_url
    assert redirect is not None
    assert redirect.url == f"{server.url}/3ds/{intent.id}"
    assert redirect.return_url == return_url


def test_without_a_return_url_3ds_is_left_to_stripes_sdks(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    intent = setup(client, customer, card(client, THREE_D_SECURE))

    assert intent.next_action is not None
    assert intent.next_action.type == "use_stripe_sdk"
    assert "redirect_to_url" not in intent.next_action.to_dict()


def test_completed_authentication_through_the_control_endpoint_sets_the_card_up(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    server: RunningServer,
    return_url: str,
) -> None:
    payment_method = card(client, THREE_D_SECURE)
    intent = setup(client, customer, payment_method, return_url)

    answer = control(
        server,
        "POST",
        f"/_emulator/setup_intents/{intent.id}/authenticate",
        {"outcome": "complete"},
    )

    assert answer["setup_intent"]["status"] == "succeeded"
    assert answer["return_url"].startswith(f"{return_url}&setup_intent=")
    assert query_of(answer["return_url"]) == {
        "order": "42",
        "setup_intent": intent.id,
        "setup_intent_client_secret": intent.client_secret,
        "redirect_status": "succeeded",
    }
    assert client.v1.setup_intents.retrieve(intent.id).status == "succeeded"
    assert client.v1.payment_methods.retrieve(payment_method.id).customer == customer.id


def test_failed_authentication_through_the_control_endpoint_fails_the_setup(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    server: RunningServer,
    return_url: str,
) -> None:
    intent = setup(client, customer, card(client, THREE_D_SECURE), return_url)

    answer = control(
        server, "POST", f"/_emulator/setup_intents/{intent.id}/authenticate", {"outcome": "fail"}
    )

    assert query_of(answer["return_url"])["redirect_status"] == "failed"
    failed = client.v1.setup_intents.retrieve(intent.id)
    assert (failed.status, failed.payment_method) == ("requires_payment_method", None)
    assert failed.last_setup_error is not None
    assert failed.last_setup_error.code == "setup_intent_authentication_failure"


def test_the_control_endpoint_refuses_a_setup_intent_not_waiting_for_authentication(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    intent = setup(client, customer, card(client))
    path = f"/_emulator/setup_intents/{intent.id}/authenticate"

    refused = control(server, "POST", path, {"outcome": "complete"})
    unreadable = control(server, "POST", path, {"outcome": "maybe"})

    assert refused["error"]["code"] == "setup_intent_unexpected_state"
    assert "outcome" in unreadable["error"]["message"]


@pytest.mark.parametrize(("outcome", "status"), [("complete", "succeeded"), ("fail", "failed")])
def test_the_banks_page_sends_the_cardholder_back_to_return_url(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    endpoint: Receiver,
    return_url: str,
    outcome: str,
    status: str,
) -> None:
    intent = setup(client, customer, card(client, THREE_D_SECURE), return_url)
    assert intent.next_action is not None
    assert intent.next_action.redirect_to_url is not None
    url = intent.next_action.redirect_to_url.url or ""
    with urllib.request.urlopen(url, timeout=10) as shown:
        body = shown.read().decode()
    assert "Complete authentication" in body
    assert "Fail authentication" in body

    form = urllib.parse.urlencode({"outcome": outcome}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=form), timeout=10) as landed:
        assert landed.read().decode() == "back on the merchant's site"

    assert endpoint.returns == [
        {
            "order": "42",
            "setup_intent": intent.id,
            "setup_intent_client_secret": intent.client_secret or "",
            "redirect_status": status,
        }
    ]


def test_without_a_return_url_the_banks_page_ends_on_a_notice(
    client: stripe.StripeClient, customer: stripe.Customer, server: RunningServer
) -> None:
    intent = setup(client, customer, card(client, THREE_D_SECURE))

    answer = page(server, "POST", f"/3ds/{intent.id}", {"outcome": "complete"})

    assert answer.status == 200
    assert "Authentication completed" in answer.body
    assert page(server, "GET", f"/3ds/{intent.id}").body.count("no longer pending") == 1


# ---------------------------------------------------------------- what Stripe refuses


def test_payment_method_types_is_refused_as_no_longer_supported(
    client: stripe.StripeClient, emulator: StripeEmulator, customer: stripe.Customer
) -> None:
    params: Any = {"customer": customer.id, "payment_method_types": ["card"]}

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.create(params=params)

    assert raised.value.http_status == 400
    assert raised.value.code == "payment_method_types_no_longer_supported"
    assert raised.value.param == "payment_method_types"
    assert emulator.setup_intents == []


def test_payment_method_types_is_taken_on_an_api_version_before_2026_09_30(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    params: Any = {"customer": customer.id, "payment_method_types": ["card"]}

    created = client.v1.setup_intents.create(
        params=params, options={"stripe_version": "2025-09-30.clover"}
    )

    assert created.payment_method_types == ["card"]


def test_confirming_with_dashboard_payment_methods_needs_a_return_url_and_creates_nothing(
    client: stripe.StripeClient, emulator: StripeEmulator, customer: stripe.Customer
) -> None:
    params: Any = {"customer": customer.id, "payment_method": card(client).id, "confirm": True}

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.create(params=params)

    assert raised.value.param == "return_url"
    assert emulator.setup_intents == []


def test_allowed_payment_method_types_excludes_automatic_payment_methods(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    params: Any = {
        "customer": customer.id,
        "allowed_payment_method_types": ["card"],
        "automatic_payment_methods": {"enabled": True},
    }

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.create(params=params)

    assert raised.value.param == "automatic_payment_methods"


def test_an_unknown_customer_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.create(params={"customer": "cus_doesnotexist"})

    assert (raised.value.code, raised.value.param) == ("resource_missing", "customer")


# ---------------------------------------------------------------- events and idempotency


def test_each_step_of_a_setup_is_a_signed_event(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    endpoint: Receiver,
    server: RunningServer,
    customer: stripe.Customer,
    return_url: str,
) -> None:
    with pytest.raises(stripe.CardError):
        setup(client, customer, card(client, "4000000000000002"))
    intent = setup(client, customer, card(client, THREE_D_SECURE), return_url)
    control(
        server,
        "POST",
        f"/_emulator/setup_intents/{intent.id}/authenticate",
        {"outcome": "complete"},
    )

    assert emulator.wait_for_webhooks()
    events = [
        stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET)
        for payload, signature in endpoint.received
    ]
    assert [event.type for event in events] == [
        "setup_intent.created",
        "setup_intent.setup_failed",
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.succeeded",
    ]
    assert events[1].data.object["last_setup_error"]["code"] == "card_declined"
    assert events[-1].data.object["id"] == intent.id
    assert events[2].request is not None
    assert (events[2].request.id or "").startswith("req_")


def test_a_replayed_idempotency_key_returns_the_same_setup_intent_and_creates_one(
    client: stripe.StripeClient, emulator: StripeEmulator, customer: stripe.Customer
) -> None:
    payment_method = card(client)
    options: stripe.RequestOptions = {"idempotency_key": "attempt-1-si"}

    first = setup(client, customer, payment_method, options=options)
    again = setup(client, customer, payment_method, options=options)

    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(emulator.setup_intents) == 1


def test_a_decline_at_confirmation_is_replayed_for_the_same_key(
    client: stripe.StripeClient, emulator: StripeEmulator, customer: stripe.Customer
) -> None:
    declined = card(client, "4000000000000002")
    options: stripe.RequestOptions = {"idempotency_key": "attempt-2-si"}
    with pytest.raises(stripe.CardError) as first:
        setup(client, customer, declined, options=options)

    with pytest.raises(stripe.CardError) as again:
        setup(client, customer, declined, options=options)

    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert first.value.error is not None
    assert again.value.error is not None
    assert first.value.error.setup_intent is not None
    assert again.value.error.setup_intent is not None
    assert again.value.error.setup_intent.id == first.value.error.setup_intent.id
    assert len(emulator.setup_intents) == 1


# ---------------------------------------------------------------- the account


def test_the_account_is_retrieved_as_the_current_account(client: stripe.StripeClient) -> None:
    account = client.v1.accounts.retrieve_current()

    assert re.fullmatch(r"acct_[A-Za-z0-9]{16}", account.id)
    assert account.object == "account"
    assert (account.country, account.default_currency) == ("US", "usd")
    assert account.email == "owner@example.com"
    assert (account.charges_enabled, account.details_submitted) == (True, True)
    assert account.type == "standard"
    assert account.settings is not None
    assert account.settings.dashboard is not None
    assert account.settings.dashboard.display_name == "Acme Test Shop"


# ---------------------------------------------------------------- card data containment


def test_no_card_number_reaches_events_the_log_or_the_servers_logging(
    client: stripe.StripeClient,
    emulator: StripeEmulator,
    endpoint: Receiver,
    server: RunningServer,
    customer: stripe.Customer,
    return_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(stripe.CardError):
        setup(client, customer, card(client, "4000000000000127"))
    intent = setup(client, customer, card(client, THREE_D_SECURE), return_url)
    page(server, "POST", f"/3ds/{intent.id}", {"outcome": "complete"})
    assert emulator.wait_for_webhooks()

    server_log = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.split(".")[0] in {"emulator", "aiohttp"}
    )
    dumps = [
        json.dumps([entry.to_json() for entry in emulator.requests]),
        json.dumps(emulator.events),
        json.dumps(emulator.payment_methods),
        json.dumps(emulator.setup_intents),
        json.dumps(endpoint.received),
        server_log,
    ]
    assert "/3ds/" in server_log
    for dump in dumps:
        for number in ("4000000000000127", THREE_D_SECURE):
            assert number not in dump
