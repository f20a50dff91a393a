"""`StripeGateway` against the Stripe test API emulator, over real HTTP on loopback.

Every test also runs with all logging captured at DEBUG (the stripe SDK prints
the form it posts at that level) behind the redaction the app installs at
start, and checks afterwards that no log record and no request the emulator
saw holds a card number or a security code.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import stripe

from bot.adapters.stripe_gateway import RAW_CARD_DATA_HELP, StripeGateway
from bot.errors import CardEntryUnavailable, CardRejected, PaymentUnavailable
from bot.logs import install_redaction
from bot.models import CardDetails, PaymentRecord
from emulator.server import RunningServer, serve_in_thread
from emulator.stripe_api import RecordedRequest, StripeEmulator, create_app

pytestmark = pytest.mark.integration

API_KEY = "sk_test_right"
TODAY = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
EXP_MONTH, EXP_YEAR = 12, 2031
NAME = "Ada Lovelace"

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
DECLINED = "4000000000000002"
INCORRECT_CVC = "4000000000000127"
EXPIRED = "4000000000000069"
CVC = "123"
AMEX_CVC = "1234"
ALL_NUMBERS = (VISA, MASTERCARD, AMEX, DECLINED, INCORRECT_CVC, EXPIRED)
ALL_CVCS = (CVC, AMEX_CVC)


def card(number: str = VISA, *, cvc: str = CVC, **changes: int) -> CardDetails:
    """Card details that are valid on `TODAY` unless `changes` say otherwise."""
    expiry = {"exp_month": EXP_MONTH, "exp_year": EXP_YEAR, **changes}
    return CardDetails(number=number, cvc=cvc, name=NAME, **expiry)


@dataclass
class Clock:
    """The emulator's clock: it decides which expiry dates are past."""

    now: datetime = TODAY

    def __call__(self) -> float:
        return self.now.timestamp()


def card_data_in(texts: Iterable[str]) -> list[str]:
    """Every card number, or `card[cvc]=<cvc>` pair, that occurs in one of `texts`."""
    needles = [*ALL_NUMBERS, *(f"card[cvc]={cvc}" for cvc in ALL_CVCS)]
    needles += [f"card%5Bcvc%5D={cvc}" for cvc in ALL_CVCS]
    return [needle for text in texts for needle in needles if needle in text]


def request_log_dump(requests: Iterable[RecordedRequest]) -> str:
    return json.dumps([entry.to_json() for entry in requests])


@pytest.fixture(autouse=True)
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK sleeps 0.5 s or more between retries; its backoff is not under test here."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> StripeEmulator:
    return StripeEmulator(api_key=API_KEY, clock=clock)


@pytest.fixture
def server(emulator: StripeEmulator) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(emulator)) as running:
        yield running


@pytest.fixture
def gateway(server: RunningServer) -> StripeGateway:
    return StripeGateway(api_key=API_KEY, api_base=server.url, max_network_retries=1)


@pytest.fixture(autouse=True)
def no_card_data_leaks(
    caplog: pytest.LogCaptureFixture, emulator: StripeEmulator
) -> Iterator[None]:
    """Capture every logger at DEBUG, as redacted at start-up; afterwards, find no card data."""
    install_redaction()
    caplog.set_level(logging.DEBUG)
    for name in ("stripe", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    assert card_data_in(record.getMessage() for record in records) == []
    assert card_data_in([request_log_dump(emulator.requests)]) == []


# ---------------------------------------------------------------- cards Stripe accepts


@pytest.mark.parametrize(
    ("number", "cvc", "brand"),
    [
        pytest.param(VISA, CVC, "visa", id="visa"),
        pytest.param(MASTERCARD, CVC, "mastercard", id="mastercard"),
        pytest.param(AMEX, AMEX_CVC, "amex", id="amex"),
    ],
)
def test_an_accepted_card_becomes_a_payment_record_of_stripes_brand_last4_and_expiry(
    gateway: StripeGateway, number: str, cvc: str, brand: str
) -> None:
    record = gateway.tokenize(card(number, cvc=cvc), idempotency_key="session-1:view-1:1")

    assert re.fullmatch(r"pm_[A-Za-z0-9]+", record.payment_method_id)
    assert record == PaymentRecord(
        payment_method_id=record.payment_method_id,
        brand=brand,
        last4=number[-4:],
        exp_month=EXP_MONTH,
        exp_year=EXP_YEAR,
    )


def test_the_cardholder_name_is_sent_as_the_billing_name(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    record = gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    stored = emulator.payment_method(record.payment_method_id)
    assert stored is not None
    assert stored["billing_details"]["name"] == NAME


def test_the_same_idempotency_key_twice_returns_the_same_payment_method_and_creates_one(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    first = gateway.tokenize(card(), idempotency_key="session-1:view-1:1")
    again = gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    assert again.payment_method_id == first.payment_method_id
    assert [pm["id"] for pm in emulator.payment_methods] == [first.payment_method_id]


# ---------------------------------------------------------------- cards Stripe rejects


@pytest.mark.parametrize(
    ("number", "field", "user_message"),
    [
        pytest.param(INCORRECT_CVC, "cvc", "Your card's security code is incorrect.", id="cvc"),
        pytest.param(EXPIRED, "exp_month", "Your card has expired.", id="expired"),
        pytest.param(DECLINED, "number", "Your card was declined.", id="declined"),
    ],
)
def test_a_declining_test_card_is_rejected_on_the_field_stripe_names_with_its_message(
    gateway: StripeGateway,
    emulator: StripeEmulator,
    number: str,
    field: str,
    user_message: str,
) -> None:
    with pytest.raises(CardRejected) as raised:
        gateway.tokenize(card(number), idempotency_key="session-1:view-1:1")

    assert (raised.value.field, raised.value.user_message) == (field, user_message)
    assert emulator.payment_methods == []


def test_a_card_whose_expiry_year_has_passed_is_rejected_on_exp_year(
    gateway: StripeGateway, clock: Clock
) -> None:
    clock.now = datetime(EXP_YEAR + 1, 1, 1, tzinfo=UTC)

    with pytest.raises(CardRejected) as raised:
        gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    assert raised.value.field == "exp_year"
    assert raised.value.user_message == "Your card's expiration year is invalid."


def test_a_month_already_past_this_year_is_rejected_on_exp_month(
    gateway: StripeGateway, clock: Clock
) -> None:
    clock.now = datetime(EXP_YEAR, 12, 1, tzinfo=UTC)

    with pytest.raises(CardRejected) as raised:
        gateway.tokenize(card(exp_month=11), idempotency_key="session-1:view-1:1")

    assert raised.value.field == "exp_month"
    assert raised.value.user_message == "Your card's expiration month is invalid."


# ---------------------------------------------------------------- raw card data APIs disabled


def test_an_account_without_raw_card_data_apis_makes_card_entry_unavailable(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    emulator.raw_card_data = False

    with pytest.raises(CardEntryUnavailable):
        gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    assert emulator.payment_methods == []


def test_the_operator_help_for_raw_card_data_is_logged_once_across_two_attempts(
    gateway: StripeGateway, emulator: StripeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.raw_card_data = False

    for attempt in (1, 2):
        with pytest.raises(CardEntryUnavailable):
            gateway.tokenize(card(), idempotency_key=f"session-1:view-1:{attempt}")

    help_lines = [r for r in caplog.records if r.getMessage() == RAW_CARD_DATA_HELP]
    assert [r.levelno for r in help_lines] == [logging.ERROR]


def test_a_raw_card_data_refusal_logs_neither_the_card_number_nor_the_cvc(
    gateway: StripeGateway, emulator: StripeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.raw_card_data = False

    for attempt in (1, 2):
        with pytest.raises(CardEntryUnavailable):
            gateway.tokenize(card(AMEX, cvc=AMEX_CVC), idempotency_key=f"s:v:{attempt}")

    messages = [record.getMessage() for record in caplog.records]
    assert RAW_CARD_DATA_HELP in messages
    assert card_data_in(messages) == []


# ---------------------------------------------------------------- Stripe unavailable


def test_a_500_once_succeeds_on_the_sdks_retry_with_the_same_idempotency_key(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    emulator.inject(status=500, count=1)

    record = gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    assert [(r.status, r.idempotency_key) for r in emulator.requests] == [
        (500, "session-1:view-1:1"),
        (200, "session-1:view-1:1"),
    ]
    assert [pm["id"] for pm in emulator.payment_methods] == [record.payment_method_id]


def test_a_500_on_every_allowed_retry_is_payment_unavailable_and_creates_nothing(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    emulator.inject(status=500, count=2)

    with pytest.raises(PaymentUnavailable):
        gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    assert [r.status for r in emulator.requests] == [500, 500]
    assert emulator.payment_methods == []


def test_a_rate_limit_that_outlasts_the_retries_is_payment_unavailable(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    emulator.inject(status=429, count=2)

    with pytest.raises(PaymentUnavailable):
        gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    assert [r.status for r in emulator.requests] == [429, 429]
    assert emulator.payment_methods == []


def test_a_stripe_slower_than_the_timeout_on_every_attempt_is_payment_unavailable(
    server: RunningServer, emulator: StripeEmulator
) -> None:
    gateway = StripeGateway(
        api_key=API_KEY, api_base=server.url, timeout_seconds=0.3, max_network_retries=1
    )
    emulator.inject(delay=1.0, count=2)

    with pytest.raises(PaymentUnavailable):
        gateway.tokenize(card(), idempotency_key="session-1:view-1:1")


def test_a_wrong_api_key_is_payment_unavailable(
    server: RunningServer, emulator: StripeEmulator
) -> None:
    gateway = StripeGateway(api_key="sk_test_wrong", api_base=server.url)

    with pytest.raises(PaymentUnavailable):
        gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    assert [r.status for r in emulator.requests] == [401]
    assert emulator.payment_methods == []


# ---------------------------------------------------------------- what the leak check sees


def test_the_sdks_debug_output_reaches_the_captured_logs_without_the_form_it_posts(
    gateway: StripeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.tokenize(card(), idempotency_key="session-1:view-1:1")

    stripe_debug = [
        r.getMessage() for r in caplog.records if r.name == "stripe" and r.levelno == logging.DEBUG
    ]
    assert stripe_debug
    assert card_data_in(stripe_debug) == []
