"""`StripeGateway` against the Stripe test API emulator, over real HTTP on loopback.

A card is saved as Stripe means it: a PaymentMethod, then a SetupIntent confirmed
with it on the user's Customer, where the issuer declines or asks for 3-D Secure.

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
from bot.models import CardDetails, CardSetup, ChatUser, PaymentRecord
from emulator.server import RunningServer, serve_in_thread
from emulator.stripe_api import RecordedRequest, StripeEmulator, create_app
from tests.fakes import slack_user

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
THREE_D_SECURE = "4000002500003155"
CVC = "123"
AMEX_CVC = "1234"
ALL_NUMBERS = (VISA, MASTERCARD, AMEX, DECLINED, INCORRECT_CVC, EXPIRED, THREE_D_SECURE)
TEAM, USER = "T0001", "U0001"
RETURN_URL = "https://paybot.example/stripe/return?team=T0001&app=A0001"
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


@pytest.fixture
def client(server: RunningServer) -> stripe.StripeClient:
    """The SDK itself, to look at what the gateway left at Stripe."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url})


@pytest.fixture
def customer(client: stripe.StripeClient) -> str:
    """An existing Customer of the user, so that faults hit the card requests themselves."""
    made = client.v1.customers.create(
        params={"metadata": {"slack_team_id": TEAM, "slack_user_id": USER}}
    )
    return made.id


def save(
    gateway: StripeGateway,
    details: CardDetails | None = None,
    *,
    key: str = "paybot-ref-1-1",
    customer_id: str | None = None,
) -> CardSetup:
    return gateway.save_card(
        details or card(),
        user=slack_user(TEAM, USER),
        customer_id=customer_id,
        return_url=RETURN_URL,
        idempotency_key=key,
    )


def authenticate(server: RunningServer, setup_id: str, outcome: str) -> None:
    """Complete or fail the bank's check, as the cardholder would on the 3-D Secure page."""
    import urllib.request

    request = urllib.request.Request(
        f"{server.url}/_emulator/setup_intents/{setup_id}/authenticate",
        data=json.dumps({"outcome": outcome}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


def attached(client: stripe.StripeClient, customer_id: str) -> list[str]:
    """The PaymentMethods attached to `customer_id`, reusable for later payments."""
    methods = client.v1.customers.payment_methods.list(customer_id)
    return [method.id for method in methods.data]


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
def test_an_accepted_card_is_saved_with_stripes_brand_last4_and_expiry(
    gateway: StripeGateway, number: str, cvc: str, brand: str
) -> None:
    setup = save(gateway, card(number, cvc=cvc))

    assert setup.payment is not None
    assert re.fullmatch(r"pm_[A-Za-z0-9]+", setup.payment.payment_method_id)
    assert setup.payment == PaymentRecord(
        payment_method_id=setup.payment.payment_method_id,
        brand=brand,
        last4=number[-4:],
        exp_month=EXP_MONTH,
        exp_year=EXP_YEAR,
    )
    assert setup.authenticate_url is None


def test_a_saved_card_is_attached_to_the_users_customer_and_so_reusable(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    setup = save(gateway)

    assert setup.payment is not None
    found = client.v1.customers.retrieve(setup.customer_id)
    assert found.metadata is not None
    assert found.metadata.to_dict() == {
        "slack_team_id": TEAM,
        "slack_user_id": USER,
        "paybot_user": f"slack:{TEAM}:{USER}",
    }
    assert attached(client, setup.customer_id) == [setup.payment.payment_method_id]


def test_the_next_card_of_the_same_user_lands_on_the_same_customer(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    first = save(gateway, key="paybot-ref-1-1")
    second = save(gateway, card(MASTERCARD), key="paybot-ref-2-1")

    assert second.customer_id == first.customer_id
    assert len(attached(client, first.customer_id)) == 2


def test_a_slack_customer_made_before_teams_is_found_and_named_by_its_slack_keys(
    gateway: StripeGateway, emulator: StripeEmulator, customer: str
) -> None:
    """`customer` carries only `slack_team_id` and `slack_user_id`, as older releases made."""
    seen = len(emulator.requests)

    setup = save(gateway, card(THREE_D_SECURE))

    assert setup.customer_id == customer
    assert [r.path for r in emulator.requests[seen:]][:2] == [
        "/v1/customers/search",
        "/v1/payment_methods",
    ]
    assert gateway.setup_outcome(setup.setup_id).user == slack_user(TEAM, USER)


def test_a_teams_person_gets_their_own_customer_named_by_paybot_user_only(
    gateway: StripeGateway, client: stripe.StripeClient, emulator: StripeEmulator
) -> None:
    teams = ChatUser(surface="teams", tenant_id=TEAM, user_id=USER)
    slack = save(gateway, key="paybot-ref-1-1")
    first = gateway.save_card(
        card(THREE_D_SECURE),
        user=teams,
        customer_id=None,
        return_url=RETURN_URL,
        idempotency_key="paybot-ref-2-1",
    )
    seen = len(emulator.requests)
    again = gateway.save_card(
        card(MASTERCARD),
        user=teams,
        customer_id=None,
        return_url=RETURN_URL,
        idempotency_key="paybot-ref-3-1",
    )

    assert first.customer_id == again.customer_id != slack.customer_id
    found = client.v1.customers.retrieve(first.customer_id)
    assert found.metadata is not None
    assert found.metadata.to_dict() == {"paybot_user": f"teams:{TEAM}:{USER}"}
    assert [r.path for r in emulator.requests[seen:]].count("/v1/customers/search") == 1
    assert gateway.setup_outcome(first.setup_id).user == teams


def test_a_setup_on_a_customer_paybot_did_not_make_names_nobody(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    stranger = client.v1.customers.create(params={"metadata": {"paybot_user": "fax:1:2"}})

    setup = save(gateway, customer_id=stranger.id)

    assert gateway.setup_outcome(setup.setup_id).user is None


def test_a_known_customer_is_used_without_looking_it_up(
    gateway: StripeGateway, emulator: StripeEmulator, customer: str
) -> None:
    seen = len(emulator.requests)

    setup = save(gateway, customer_id=customer)

    assert setup.customer_id == customer
    assert [r.path for r in emulator.requests[seen:]] == [
        "/v1/payment_methods",
        "/v1/setup_intents",
    ]


def test_a_customer_deleted_at_stripe_is_replaced_by_the_persons_current_one(
    gateway: StripeGateway, emulator: StripeEmulator, client: stripe.StripeClient, customer: str
) -> None:
    emulator.reset()  # Stripe forgot every object, the remembered Customer too

    setup = save(gateway, customer_id=customer)

    assert setup.payment is not None
    assert setup.customer_id != customer
    assert attached(client, setup.customer_id) == [setup.payment.payment_method_id]


def test_the_cardholder_name_is_sent_as_the_billing_name(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    setup = save(gateway)

    assert setup.payment is not None
    stored = emulator.payment_method(setup.payment.payment_method_id)
    assert stored is not None
    assert stored["billing_details"]["name"] == NAME


def test_the_same_idempotency_key_twice_saves_the_card_once(
    gateway: StripeGateway, client: stripe.StripeClient
) -> None:
    first = save(gateway)
    again = save(gateway)

    assert again == first
    assert first.payment is not None
    assert attached(client, first.customer_id) == [first.payment.payment_method_id]


def test_every_request_carries_an_idempotency_key_derived_from_the_attempt_only(
    gateway: StripeGateway, emulator: StripeEmulator, customer: str
) -> None:
    seen = len(emulator.requests)

    save(gateway, customer_id=customer, key="paybot-ref-9-2")

    assert [r.idempotency_key for r in emulator.requests[seen:]] == [
        "paybot-ref-9-2-pm",
        "paybot-ref-9-2-si",
    ]


# ---------------------------------------------------------------- cards the issuer declines


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
    client: stripe.StripeClient,
    customer: str,
    number: str,
    field: str,
    user_message: str,
) -> None:
    with pytest.raises(CardRejected) as raised:
        save(gateway, card(number), customer_id=customer)

    assert (raised.value.field, raised.value.user_message) == (field, user_message)
    assert attached(client, customer) == []


def test_a_card_whose_expiry_year_has_passed_is_rejected_on_exp_year(
    gateway: StripeGateway, clock: Clock
) -> None:
    clock.now = datetime(EXP_YEAR + 1, 1, 1, tzinfo=UTC)

    with pytest.raises(CardRejected) as raised:
        save(gateway)

    assert raised.value.field == "exp_year"
    assert raised.value.user_message == "Your card's expiration year is invalid."


def test_a_month_already_past_this_year_is_rejected_on_exp_month(
    gateway: StripeGateway, clock: Clock
) -> None:
    clock.now = datetime(EXP_YEAR, 12, 1, tzinfo=UTC)

    with pytest.raises(CardRejected) as raised:
        save(gateway, card(exp_month=11))

    assert raised.value.field == "exp_month"
    assert raised.value.user_message == "Your card's expiration month is invalid."


# ---------------------------------------------------------------- 3-D Secure


def test_a_card_the_bank_must_confirm_comes_back_with_its_authentication_page(
    gateway: StripeGateway, client: stripe.StripeClient, customer: str
) -> None:
    setup = save(gateway, card(THREE_D_SECURE), customer_id=customer)

    assert setup.payment is None
    assert setup.authenticate_url
    assert setup.setup_id.startswith("seti_")
    assert attached(client, customer) == []
    assert gateway.setup_outcome(setup.setup_id).status == "pending"


def test_a_completed_bank_check_makes_the_setup_succeed_with_the_card(
    gateway: StripeGateway, server: RunningServer, client: stripe.StripeClient, customer: str
) -> None:
    setup = save(gateway, card(THREE_D_SECURE), customer_id=customer)

    authenticate(server, setup.setup_id, "complete")

    outcome = gateway.setup_outcome(setup.setup_id)
    assert (outcome.status, outcome.user) == ("succeeded", slack_user(TEAM, USER))
    assert outcome.payment is not None
    assert outcome.payment.last4 == THREE_D_SECURE[-4:]
    assert attached(client, customer) == [outcome.payment.payment_method_id]


def test_a_failed_bank_check_makes_the_setup_fail_with_stripes_message(
    gateway: StripeGateway, server: RunningServer, customer: str
) -> None:
    setup = save(gateway, card(THREE_D_SECURE), customer_id=customer)

    authenticate(server, setup.setup_id, "fail")

    outcome = gateway.setup_outcome(setup.setup_id)
    assert outcome.status == "failed"
    assert outcome.payment is None
    assert outcome.message


def test_reading_back_something_that_is_not_a_setup_intent_is_refused(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    with pytest.raises(PaymentUnavailable):
        gateway.setup_outcome("../v1/customers")

    assert emulator.requests == []


# ---------------------------------------------------------------- raw card data APIs disabled


def test_an_account_without_raw_card_data_apis_makes_card_entry_unavailable(
    gateway: StripeGateway, emulator: StripeEmulator
) -> None:
    emulator.raw_card_data = False

    with pytest.raises(CardEntryUnavailable):
        save(gateway)

    assert emulator.payment_methods == []


def test_the_operator_help_for_raw_card_data_is_logged_once_across_two_attempts(
    gateway: StripeGateway, emulator: StripeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.raw_card_data = False

    for attempt in (1, 2):
        with pytest.raises(CardEntryUnavailable):
            save(gateway, key=f"paybot-ref-1-{attempt}")

    help_lines = [r for r in caplog.records if r.getMessage() == RAW_CARD_DATA_HELP]
    assert [r.levelno for r in help_lines] == [logging.ERROR]


def test_a_raw_card_data_refusal_logs_neither_the_card_number_nor_the_cvc(
    gateway: StripeGateway, emulator: StripeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.raw_card_data = False

    for attempt in (1, 2):
        with pytest.raises(CardEntryUnavailable):
            save(gateway, card(AMEX, cvc=AMEX_CVC), key=f"paybot-ref-1-{attempt}")

    messages = [record.getMessage() for record in caplog.records]
    assert RAW_CARD_DATA_HELP in messages
    assert card_data_in(messages) == []


# ---------------------------------------------------------------- Stripe unavailable


def test_a_500_once_succeeds_on_the_sdks_retry_with_the_same_idempotency_key(
    gateway: StripeGateway, emulator: StripeEmulator, customer: str
) -> None:
    seen = len(emulator.requests)
    emulator.inject(status=500, count=1)

    setup = save(gateway, customer_id=customer)

    assert [(r.status, r.idempotency_key) for r in emulator.requests[seen:]] == [
        (500, "paybot-ref-1-1-pm"),
        (200, "paybot-ref-1-1-pm"),
        (200, "paybot-ref-1-1-si"),
    ]
    assert setup.payment is not None
    assert [pm["id"] for pm in emulator.payment_methods] == [setup.payment.payment_method_id]


def test_a_500_on_every_allowed_retry_is_payment_unavailable_and_creates_nothing(
    gateway: StripeGateway, emulator: StripeEmulator, customer: str
) -> None:
    seen = len(emulator.requests)
    emulator.inject(status=500, count=2)

    with pytest.raises(PaymentUnavailable):
        save(gateway, customer_id=customer)

    assert [r.status for r in emulator.requests[seen:]] == [500, 500]
    assert emulator.payment_methods == []


def test_a_rate_limit_that_outlasts_the_retries_is_payment_unavailable(
    gateway: StripeGateway, emulator: StripeEmulator, customer: str
) -> None:
    seen = len(emulator.requests)
    emulator.inject(status=429, count=2)

    with pytest.raises(PaymentUnavailable):
        save(gateway, customer_id=customer)

    assert [r.status for r in emulator.requests[seen:]] == [429, 429]
    assert emulator.payment_methods == []


def test_a_stripe_slower_than_the_timeout_on_every_attempt_is_payment_unavailable(
    server: RunningServer, emulator: StripeEmulator, customer: str
) -> None:
    gateway = StripeGateway(
        api_key=API_KEY, api_base=server.url, timeout_seconds=0.3, max_network_retries=1
    )
    emulator.inject(delay=1.0, count=2)

    with pytest.raises(PaymentUnavailable):
        save(gateway, customer_id=customer)


def test_a_wrong_api_key_is_payment_unavailable(
    server: RunningServer, emulator: StripeEmulator
) -> None:
    gateway = StripeGateway(api_key="sk_test_wrong", api_base=server.url)

    with pytest.raises(PaymentUnavailable):
        save(gateway)

    assert [r.status for r in emulator.requests] == [401]
    assert emulator.payment_methods == []


# ---------------------------------------------------------------- Slack's 3 s


def test_a_slow_customer_lookup_leaves_no_time_and_no_card_is_sent(
    server: RunningServer, emulator: StripeEmulator
) -> None:
    gateway = StripeGateway(
        api_key=API_KEY, api_base=server.url, timeout_seconds=1.0, budget_seconds=1.2
    )
    emulator.inject(delay=0.8, path="/v1/customers/search")

    with pytest.raises(PaymentUnavailable):
        save(gateway)

    assert [r.path for r in emulator.requests] == ["/v1/customers/search"]
    assert emulator.payment_methods == []


def test_no_retry_is_made_when_it_would_not_fit_in_the_time_left(
    server: RunningServer, emulator: StripeEmulator, customer: str
) -> None:
    gateway = StripeGateway(
        api_key=API_KEY, api_base=server.url, timeout_seconds=1.0, budget_seconds=1.5
    )
    seen = len(emulator.requests)
    emulator.inject(status=500, path="/v1/payment_methods")

    with pytest.raises(PaymentUnavailable):
        save(gateway, customer_id=customer)

    assert [r.status for r in emulator.requests[seen:]] == [500]


# ---------------------------------------------------------------- what the leak check sees


def test_the_sdks_debug_output_reaches_the_captured_logs_without_the_form_it_posts(
    gateway: StripeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    save(gateway)

    stripe_debug = [
        r.getMessage() for r in caplog.records if r.name == "stripe" and r.levelno == logging.DEBUG
    ]
    assert stripe_debug
    assert card_data_in(stripe_debug) == []
