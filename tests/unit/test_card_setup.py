"""Saving a card as Stripe means it: on the user's customer, confirmed by the bank when asked."""

from __future__ import annotations

import itertools

import pytest

from bot import messages
from bot.machine import (
    CancelRequested,
    CardNeedsAuthentication,
    CardSaved,
    CloseForm,
    ConfirmCard,
    Context,
    OfferAuthentication,
    OpenCardForm,
    Reply,
    SetupFailed,
    SetupSucceeded,
    transition,
)
from bot.models import PaymentRecord, Session, State
from bot.service import ConversationService
from tests.fakes import VISA, FakeClock, FakeGateway, MemoryStore, RecordingEngine, slack_user

NOW = 1_800_000_000
CTX = Context(now=NOW, ttl_seconds=3600, new_ref="ref-new")
GOOD = {"name": "Ada Lovelace", "number": "4000 0025 0000 3155", "expiry": "08/30", "cvc": "123"}
OTHER = PaymentRecord(
    payment_method_id="pm_other", brand="mastercard", last4="4444", exp_month=1, exp_year=2031
)


def pending_card(**changes: object) -> Session:
    """A session whose card submission is with the payment service right now."""
    base = Session(tenant_id="T1", user_id="U1").evolve(
        state=State.AWAITING_CARD, form_ref="ref-1", attempt=1, pending_since=NOW
    )
    return base.evolve(**changes)


def waiting_on_bank() -> Session:
    event = CardNeedsAuthentication("seti_1", "cus_1", "https://bank/seti_1")
    return transition(pending_card(), event, CTX).session


# The state machine --------------------------------------------------------------


def test_a_card_the_bank_must_confirm_closes_the_form_and_sends_the_link_to_the_dm() -> None:
    out = transition(
        pending_card(), CardNeedsAuthentication("seti_1", "cus_1", "https://bank/seti_1"), CTX
    )
    assert out.effects == (
        CloseForm(messages.AUTHENTICATE_SENT),
        OfferAuthentication("https://bank/seti_1"),
    )
    assert out.session.setup_id == "seti_1"
    assert out.session.customer_id == "cus_1"
    assert out.session.pending_since is None
    assert out.session.state is State.AWAITING_CARD


def test_the_card_is_confirmed_only_when_its_setup_succeeds() -> None:
    out = transition(waiting_on_bank(), SetupSucceeded("seti_1", VISA), CTX)
    assert out.effects == (ConfirmCard(VISA),)
    assert out.session.state is State.COMPLETED
    assert out.session.payment == VISA
    assert out.session.setup_id is None


def test_a_second_report_of_the_same_success_says_nothing() -> None:
    done = transition(waiting_on_bank(), SetupSucceeded("seti_1", VISA), CTX).session
    again = transition(done, SetupSucceeded("seti_1", VISA), CTX)
    assert again.effects == ()
    assert again.session == done.evolve(expires_at=again.session.expires_at)


def test_a_card_saved_by_a_setup_the_session_no_longer_tracks_is_confirmed() -> None:
    out = transition(waiting_on_bank(), SetupSucceeded("seti_other", OTHER), CTX)
    assert out.effects == (ConfirmCard(OTHER),)
    assert out.session.state is State.COMPLETED
    assert out.session.payment == OTHER


def test_an_untracked_success_already_confirmed_says_nothing() -> None:
    done = transition(waiting_on_bank(), SetupSucceeded("seti_1", VISA), CTX).session
    again = transition(done.evolve(setup_id="seti_2"), SetupSucceeded("seti_1", VISA), CTX)
    assert again.effects == ()


def test_an_untracked_failure_says_nothing() -> None:
    out = transition(waiting_on_bank(), SetupFailed("seti_other", "Authentication failed."), CTX)
    assert out.effects == ()
    assert out.session.setup_id == "seti_1"


def test_a_failed_bank_check_says_so_and_offers_the_form_again() -> None:
    out = transition(waiting_on_bank(), SetupFailed("seti_1", "Authentication failed."), CTX)
    assert out.effects == (
        Reply(f"Authentication failed. {messages.TRY_AGAIN}", offer_card_form=True),
    )
    assert out.session.state is State.FAILED
    assert out.session.setup_id is None


def test_a_cancel_while_waiting_on_the_bank_drops_the_setup() -> None:
    cancelled = transition(waiting_on_bank(), CancelRequested(), CTX).session
    assert cancelled.setup_id is None
    assert cancelled.state is State.CANCELLED


def test_a_card_the_bank_confirms_after_cancel_is_still_confirmed() -> None:
    cancelled = transition(waiting_on_bank(), CancelRequested(), CTX).session
    late = transition(cancelled, SetupSucceeded("seti_1", VISA), CTX)
    assert late.effects == (ConfirmCard(VISA),)
    assert late.session.state is State.COMPLETED
    assert late.session.payment == VISA


def test_a_saved_card_keeps_the_customer_it_was_saved_on() -> None:
    out = transition(pending_card(), CardSaved(VISA, "cus_9"), CTX)
    assert out.session.customer_id == "cus_9"


def test_status_while_waiting_on_the_bank_says_what_to_do() -> None:
    assert "bank" in messages.status(waiting_on_bank())


# The service ----------------------------------------------------------------------


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(FakeClock(float(NOW)))


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway(authenticate=True)


@pytest.fixture
def service(store: MemoryStore, gateway: FakeGateway) -> ConversationService:
    refs = (f"ref-{n}" for n in itertools.count(1))
    return ConversationService(
        store=store,
        engine=RecordingEngine(),
        gateway=gateway,
        clock=store.clock,
        new_ref=lambda: next(refs),
    )


def submit(service: ConversationService) -> tuple[object, ...]:
    service.open_form(slack_user("T1", "U1"))
    return service.submit_card(
        slack_user("T1", "U1"), "ref-1", return_url="https://app/stripe/return", **GOOD
    )


def test_a_submission_the_bank_must_confirm_hands_the_return_page_to_the_gateway(
    service: ConversationService, gateway: FakeGateway
) -> None:
    effects = submit(service)
    assert effects == (
        CloseForm(messages.AUTHENTICATE_SENT),
        OfferAuthentication("https://bank/seti_fake1"),
    )
    assert gateway.return_urls == ["https://app/stripe/return"]


def test_the_setup_event_confirms_once_however_often_it_is_reported(
    service: ConversationService, gateway: FakeGateway
) -> None:
    submit(service)
    gateway.settle("seti_fake1", ok=True)
    assert service.setup_event("seti_fake1") == (slack_user("T1", "U1"), (ConfirmCard(VISA),))
    assert service.setup_event("seti_fake1") == (slack_user("T1", "U1"), ())


def test_a_setup_still_pending_changes_nothing(
    service: ConversationService, store: MemoryStore
) -> None:
    submit(service)
    before = store.saves
    assert service.setup_event("seti_fake1") == (slack_user("T1", "U1"), ())
    assert store.saves == before


def test_a_failed_setup_without_a_message_gets_the_banks_wording(
    service: ConversationService, gateway: FakeGateway
) -> None:
    submit(service)
    gateway.settle("seti_fake1", ok=False)
    _, effects = service.setup_event("seti_fake1")
    assert effects == (
        Reply(f"{messages.BANK_DECLINED} {messages.TRY_AGAIN}", offer_card_form=True),
    )


def test_the_next_card_is_saved_on_the_same_customer(
    service: ConversationService, gateway: FakeGateway
) -> None:
    gateway.authenticate = False
    for _ in range(2):
        form = next(
            e for e in service.open_form(slack_user("T1", "U1")) if isinstance(e, OpenCardForm)
        )
        service.submit_card(slack_user("T1", "U1"), form.form_ref, **GOOD)
    assert gateway.customers_seen == [None, "cus_fake"]


def test_a_card_the_bank_confirms_for_a_replaced_setup_is_confirmed(
    service: ConversationService, gateway: FakeGateway, store: MemoryStore
) -> None:
    submit(service)  # seti_fake1 waits on the bank...
    form = next(e for e in service.open_form(slack_user("T1", "U1")) if isinstance(e, OpenCardForm))
    service.submit_card(
        slack_user("T1", "U1"), form.form_ref, **GOOD
    )  # ...and seti_fake2 replaces it
    gateway.settle("seti_fake1", ok=True)

    assert service.setup_event("seti_fake1") == (slack_user("T1", "U1"), (ConfirmCard(VISA),))
    saved = store.get(slack_user("T1", "U1"))
    assert saved is not None
    assert saved.payment == VISA
    assert service.setup_event("seti_fake1") == (
        slack_user("T1", "U1"),
        (),
    )  # the return page, after the webhook


def test_the_confirmation_kept_in_the_history_names_no_expiry() -> None:
    done = transition(waiting_on_bank(), SetupSucceeded("seti_1", VISA), CTX).session
    (turn,) = [turn for turn in done.history if "4242" in turn.text]
    assert turn.role == "bot"
    assert VISA.payment_method_id in turn.text
    assert "08/2030" not in turn.text
    assert "expires" not in turn.text


@pytest.mark.parametrize(
    "said", [messages.confirmation(VISA), messages.confirmation_turn(VISA)], ids=["older", "now"]
)
def test_a_card_confirmed_in_either_history_shape_is_not_confirmed_again(said: str) -> None:
    """Sessions stored before the expiry left the history keep the full confirmation."""
    replaced = waiting_on_bank().evolve(payment=OTHER).with_turn("bot", said)
    again = transition(replaced, SetupSucceeded("seti_old", VISA), CTX)
    assert again.effects == ()


def test_a_card_never_confirmed_is_confirmed_even_when_another_was() -> None:
    replaced = (
        waiting_on_bank().evolve(payment=OTHER).with_turn("bot", messages.confirmation_turn(OTHER))
    )
    again = transition(replaced, SetupSucceeded("seti_old", VISA), CTX)
    assert again.effects == (ConfirmCard(VISA),)
