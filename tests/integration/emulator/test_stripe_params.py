"""Request validation on the Stripe test API: every parameter is checked against
stripe-python's typed params for the request's `Stripe-Version`, and refused as Stripe
refuses an unknown one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from emulator.server import RunningServer, serve_in_thread
from emulator.stripe_api import (
    ENDPOINT_PARAMS,
    PINNED_API_VERSION,
    StripeEmulator,
    create_app,
    unknown_params,
)
from tests.integration.emulator.stripe_support import raw_post

pytestmark = pytest.mark.integration

API_KEY = "sk_test_emulator_params_4eC39HqLyjWD"
NEXT_YEAR = datetime.now(UTC).year + 1
CARD_FORM = [
    ("type", "card"),
    ("card[number]", "4242424242424242"),
    ("card[exp_month]", "12"),
    ("card[exp_year]", str(NEXT_YEAR)),
    ("card[cvc]", "123"),
]


@pytest.fixture
def emulator() -> StripeEmulator:
    return StripeEmulator()


@pytest.fixture
def server(emulator: StripeEmulator) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(emulator)) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url})


# ---------------------------------------------------------------- over HTTP


def test_an_unknown_parameter_gets_stripes_exact_error_envelope(
    server: RunningServer, emulator: StripeEmulator
) -> None:
    status, body = raw_post(
        server, "/v1/payment_methods", [*CARD_FORM, ("bogus", "1")], api_key=API_KEY
    )

    assert status == 400
    error = body["error"]
    assert set(error) == {"type", "code", "param", "message", "doc_url", "request_log_url"}
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error["param"]) == ("parameter_unknown", "bogus")
    assert error["message"] == "Received unknown parameter: bogus"
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/parameter-unknown"
    assert error["request_log_url"].startswith("https://dashboard.stripe.com/test/logs/req_")
    assert emulator.payment_methods == []


def test_the_sdk_raises_invalid_request_error_naming_a_nested_unknown_parameter(
    client: stripe.StripeClient,
) -> None:
    params: Any = {"usage": "off_session", "automatic_payment_methods": {"enabled": True, "x": 1}}

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.create(params=params)

    assert raised.value.http_status == 400
    assert raised.value.code == "parameter_unknown"
    assert raised.value.param == "automatic_payment_methods[x]"


def test_several_unknown_parameters_are_named_together(server: RunningServer) -> None:
    form = [*CARD_FORM, ("quantity", "1"), ("card[expiry]", "12/30")]

    status, body = raw_post(server, "/v1/payment_methods", form, api_key=API_KEY)

    assert status == 400
    assert body["error"]["message"] == "Received unknown parameters: quantity, card[expiry]"


def test_a_request_option_sent_as_a_form_field_is_an_unknown_parameter(
    server: RunningServer,
) -> None:
    form = [*CARD_FORM, ("idempotency_key", "abc")]

    _, body = raw_post(server, "/v1/payment_methods", form, api_key=API_KEY)

    assert body["error"]["param"] == "idempotency_key"


def test_an_unknown_query_parameter_on_a_retrieve_is_refused(
    client: stripe.StripeClient,
) -> None:
    customer = client.v1.customers.create()
    params: Any = {"expand": ["invoice_settings"], "limit": 3}

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve(customer.id, params=params)

    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "limit")


def test_a_refused_request_does_not_use_up_its_idempotency_key(
    server: RunningServer, emulator: StripeEmulator
) -> None:
    key = {"Idempotency-Key": "first-try"}
    refused, _ = raw_post(
        server, "/v1/payment_methods", [*CARD_FORM, ("bogus", "1")], api_key=API_KEY, headers=key
    )

    accepted, _ = raw_post(server, "/v1/payment_methods", CARD_FORM, api_key=API_KEY, headers=key)

    assert (refused, accepted) == (400, 200)
    assert len(emulator.payment_methods) == 1


def test_a_malformed_stripe_version_is_refused(server: RunningServer) -> None:
    status, body = raw_post(
        server, "/v1/customers", [], api_key=API_KEY, headers={"Stripe-Version": "latest"}
    )

    assert status == 400
    assert "Stripe API version" in body["error"]["message"]


def test_every_v1_route_the_app_serves_has_typed_params() -> None:
    app = create_app(StripeEmulator())
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/v1/")
        and route.method != "*"
        and route.method != "HEAD"
    }

    assert served == set(ENDPOINT_PARAMS)


# ---------------------------------------------------------------- the pure function


def test_unknown_params_names_nested_fields_with_brackets() -> None:
    form = {
        "type": "card",
        "card[number]": "4242424242424242",
        "card[expiry]": "12/30",
        "billing_details[address][line1]": "1 Main St",
        "billing_details[address][planet]": "Mars",
        "metadata[anything]": "is allowed",
        "expand[0]": "customer",
    }

    names = unknown_params("POST", "/v1/payment_methods", form, PINNED_API_VERSION)

    assert names == ["card[expiry]", "billing_details[address][planet]"]


def test_unknown_params_walks_into_list_items_and_reads_repeated_brackets() -> None:
    pairs = [
        ("mode", "setup"),
        ("line_items[0][price]", "price_1"),
        ("line_items[0][colour]", "red"),
        ("expand[]", "setup_intent"),
        ("expand[]", "customer"),
    ]

    assert unknown_params("POST", "/v1/checkout/sessions", pairs) == ["line_items[0][colour]"]


def test_unknown_params_takes_a_concrete_path() -> None:
    form = {"payment_method": "pm_1", "return_url": "https://example.com/", "bogus": "1"}

    assert unknown_params("POST", "/v1/setup_intents/seti_123/confirm", form) == ["bogus"]


@pytest.mark.parametrize(
    ("path", "version", "expected"),
    [
        pytest.param("/v1/checkout/sessions", "2026-10-28.endive", ["payment_method_types"]),
        pytest.param("/v1/checkout/sessions", "2026-09-30.endive", ["payment_method_types"]),
        pytest.param(
            "/v1/checkout/sessions", "2026-08-26.dahlia", ["allowed_payment_method_types"]
        ),
        pytest.param("/v1/setup_intents", "2026-10-28.endive", ["payment_method_types"]),
        pytest.param("/v1/setup_intents", "2026-08-26.dahlia", []),
        pytest.param("/v1/setup_intents", "2025-09-30.clover", ["allowed_payment_method_types"]),
    ],
)
def test_unknown_params_follows_the_changelog_for_older_api_versions(
    path: str, version: str, expected: list[str]
) -> None:
    form = {"payment_method_types[0]": "card", "allowed_payment_method_types[0]": "card"}

    assert unknown_params("POST", path, form, version) == expected


def test_unknown_params_refuses_a_route_the_stand_in_does_not_serve() -> None:
    with pytest.raises(LookupError):
        unknown_params("POST", "/v1/invoices", {})
