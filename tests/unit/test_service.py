"""The service: load, decide, act, save, with fakes for every port."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from bot import messages
from bot.cards import REDACTED, contains_pan
from bot.errors import CardEntryUnavailable, PaymentUnavailable, SessionConflict
from bot.machine import (
    CloseForm,
    CloseOffers,
    ConfirmCard,
    FieldErrors,
    OfferClosed,
    OpenCardForm,
    Reply,
)
from bot.models import MAX_TURN_CHARS, CardDetails, CardSetup, Decision, NextStep, Slots, State
from bot.service import MAX_CONFLICT_RETRIES, ConversationService
from tests.fakes import (
    VISA,
    FakeClock,
    FakeGateway,
    MemoryStore,
    RecordingEngine,
    declined,
    slack_user,
)

GOOD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock)


@pytest.fixture
def engine() -> RecordingEngine:
    return RecordingEngine()


@pytest.fixture
def quick() -> RecordingEngine:
    return RecordingEngine(Decision(reply="quick"))


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def service(
    store: MemoryStore,
    engine: RecordingEngine,
    quick: RecordingEngine,
    gateway: FakeGateway,
    clock: FakeClock,
) -> ConversationService:
    refs = (f"ref-{n}" for n in itertools.count(1))
    return ConversationService(
        store=store,
        engine=engine,
        quick_engine=quick,
        gateway=gateway,
        clock=clock,
        new_ref=lambda: next(refs),
    )


def open_form(service: ConversationService) -> str:
    (form,) = service.open_form(slack_user("T", "U"))
    assert isinstance(form, OpenCardForm)
    return form.form_ref


def test_a_message_is_answered_and_the_session_saved(
    service: ConversationService, store: MemoryStore
) -> None:
    assert service.message(slack_user("T", "U"), "hi") == (Reply("ok"),)
    saved = store.get(slack_user("T", "U"))
    assert saved is not None
    assert saved.state is State.COLLECTING
    assert saved.version == 1


def test_a_pasted_card_number_never_reaches_the_engine_or_the_store(
    service: ConversationService,
    store: MemoryStore,
    engine: RecordingEngine,
    quick: RecordingEngine,
) -> None:
    effects = service.message(slack_user("T", "U"), "my card is 4242 4242 4242 4242 thanks")
    assert engine.seen == []
    assert quick.seen == [REDACTED]  # nothing else of that message is kept
    assert effects == (Reply(f"{messages.PAN_WARNING}\nquick", offer_card_form=True),)
    saved = store.get(slack_user("T", "U"))
    assert saved is not None
    assert not contains_pan(saved.model_dump_json())


def test_a_write_conflict_is_retried_against_the_fresh_session(
    service: ConversationService, store: MemoryStore, engine: RecordingEngine
) -> None:
    service.message(slack_user("T", "U"), "hi")
    original_save = store.save
    calls = 0

    def racing_save(session, *, expected_version):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:  # someone else writes between our read and our write
            current = store.get(slack_user("T", "U"))
            assert current is not None
            original_save(current, expected_version=current.version)
        return original_save(session, expected_version=expected_version)

    store.save = racing_save  # type: ignore[method-assign]
    service.message(slack_user("T", "U"), "again")
    assert store.get(slack_user("T", "U")).version == 3  # type: ignore[union-attr]
    assert engine.seen == ["hi", "again"]


def test_endless_conflicts_give_up_after_a_bound(
    service: ConversationService, store: MemoryStore
) -> None:
    attempts = 0

    def always_conflict(session, *, expected_version):  # type: ignore[no-untyped-def]
        nonlocal attempts
        attempts += 1
        raise SessionConflict("busy")

    store.save = always_conflict  # type: ignore[method-assign]
    with pytest.raises(SessionConflict):
        service.message(slack_user("T", "U"), "hi")
    assert attempts == MAX_CONFLICT_RETRIES


def test_invalid_fields_come_back_together_without_touching_store_or_gateway(
    service: ConversationService, store: MemoryStore, gateway: FakeGateway
) -> None:
    effects = service.submit_card(
        slack_user("T", "U"),
        "ref-1",
        name="",
        number="4242 4242 4242 4241",
        expiry="13/30",
        cvc="1",
    )
    (errors,) = effects
    assert isinstance(errors, FieldErrors)
    assert set(errors.errors) == {"name", "number", "expiry", "cvc"}
    assert store.saves == 0
    assert gateway.keys == []


def test_a_valid_card_is_tokenized_once_and_completes_the_session(
    service: ConversationService, store: MemoryStore, gateway: FakeGateway
) -> None:
    ref = open_form(service)
    effects = service.submit_card(slack_user("T", "U"), ref, **GOOD)
    assert effects == (ConfirmCard(VISA),)
    assert gateway.keys == [f"paybot-{ref}-1"]
    saved = store.get(slack_user("T", "U"))
    assert saved is not None
    assert saved.state is State.COMPLETED
    assert saved.payment == VISA


def test_the_same_submission_again_is_told_it_is_already_done(
    service: ConversationService, gateway: FakeGateway
) -> None:
    ref = open_form(service)
    service.submit_card(slack_user("T", "U"), ref, **GOOD)
    assert service.submit_card(slack_user("T", "U"), ref, **GOOD) == (
        CloseForm(messages.ALREADY_DONE),
    )
    assert len(gateway.keys) == 1


@pytest.mark.parametrize(
    ("stripe_field", "form_field"),
    [("number", "number"), ("exp_month", "expiry"), ("exp_year", "expiry"), ("cvc", "cvc")],
)
def test_a_card_error_lands_on_the_matching_form_field(
    service: ConversationService, gateway: FakeGateway, stripe_field: str, form_field: str
) -> None:
    gateway.error = declined(stripe_field, "Stripe says no")
    effects = service.submit_card(slack_user("T", "U"), open_form(service), **GOOD)
    assert effects == (FieldErrors({form_field: "Stripe says no"}),)


def test_a_corrected_resubmission_uses_a_new_idempotency_key(
    service: ConversationService, gateway: FakeGateway
) -> None:
    ref = open_form(service)
    gateway.error = declined("cvc")
    service.submit_card(slack_user("T", "U"), ref, **GOOD)
    gateway.error = None
    assert service.submit_card(slack_user("T", "U"), ref, **{**GOOD, "cvc": "456"}) == (
        ConfirmCard(VISA),
    )
    assert gateway.keys == [f"paybot-{ref}-1", f"paybot-{ref}-2"]


@pytest.mark.parametrize("error", [PaymentUnavailable(), CardEntryUnavailable()])
def test_an_unavailable_payment_service_says_nothing_was_saved(
    service: ConversationService, store: MemoryStore, gateway: FakeGateway, error: Exception
) -> None:
    gateway.error = error  # type: ignore[assignment]
    effects = service.submit_card(slack_user("T", "U"), open_form(service), **GOOD)
    message = error.user_message  # type: ignore[attr-defined]
    assert "Nothing was saved" in message
    assert effects == (CloseForm(message), Reply(message, offer_card_form=True))
    assert store.get(slack_user("T", "U")).state is State.FAILED  # type: ignore[union-attr]


def test_slots_from_pay_arguments_reach_the_form(service: ConversationService) -> None:
    slots = Slots(amount=Decimal("45"), currency="USD", reference="INV-1001")
    (form,) = service.open_form(slack_user("T", "U"), slots)
    assert isinstance(form, OpenCardForm)
    assert form.slots == slots


def test_status_of_a_stranger_creates_no_session(
    service: ConversationService, store: MemoryStore
) -> None:
    (reply,) = service.status(slack_user("T", "nobody"))
    assert isinstance(reply, Reply)
    assert store.rows == {}


def test_forget_deletes_the_session(service: ConversationService, store: MemoryStore) -> None:
    service.message(slack_user("T", "U"), "hi")
    service.forget(slack_user("T", "U"))
    assert store.rows == {}


class ForgettingGateway(FakeGateway):
    """A gateway during whose call the person is forgotten: `/pay forget` racing the claim."""

    def __init__(self, store: MemoryStore, **options: Any) -> None:
        super().__init__(**options)
        self.store = store

    def save_card(self, card: CardDetails, **request: Any) -> CardSetup:
        self.store.delete(slack_user("T", "U"))
        return super().save_card(card, **request)


def forgetting_service(store: MemoryStore, clock: FakeClock, **options: Any) -> ConversationService:
    return ConversationService(
        store=store,
        engine=RecordingEngine(),
        gateway=ForgettingGateway(store, **options),
        clock=clock,
        new_ref=lambda: "ref-1",
    )


def test_forget_while_a_card_is_being_saved_waits_for_the_card(
    service: ConversationService, store: MemoryStore, gateway: FakeGateway
) -> None:
    form_ref = open_form(service)
    answers: list[tuple[object, ...]] = []
    save_card = gateway.save_card

    def forget_meanwhile(card: CardDetails, **request: Any) -> CardSetup:
        answers.append(service.forget(slack_user("T", "U")))
        return save_card(card, **request)

    gateway.save_card = forget_meanwhile  # type: ignore[method-assign]
    assert service.submit_card(slack_user("T", "U"), form_ref, **GOOD) == (ConfirmCard(VISA),)
    assert answers == [(Reply(messages.FORGET_WAIT),)]
    assert store.get(slack_user("T", "U")).payment == VISA  # type: ignore[union-attr]


def test_a_card_saved_after_the_session_was_deleted_never_recreates_it(
    store: MemoryStore, clock: FakeClock
) -> None:
    service = forgetting_service(store, clock)
    (form,) = service.open_form(slack_user("T", "U"))
    assert isinstance(form, OpenCardForm)

    effects = service.submit_card(slack_user("T", "U"), form.form_ref, **GOOD)

    assert effects == (ConfirmCard(VISA), Reply(messages.SAVED_NOT_RECORDED))
    assert store.rows == {}


@pytest.mark.parametrize(
    "options",
    [
        {"authenticate": True},
        {"error": declined("cvc")},
        {"error": PaymentUnavailable()},
        {"error": CardEntryUnavailable()},
    ],
    ids=["bank-check", "declined", "unavailable", "raw-card-refused"],
)
def test_an_answer_after_the_session_was_deleted_closes_the_form_and_recreates_nothing(
    store: MemoryStore, clock: FakeClock, options: dict[str, Any]
) -> None:
    service = forgetting_service(store, clock, **options)
    (form,) = service.open_form(slack_user("T", "U"))
    assert isinstance(form, OpenCardForm)

    effects = service.submit_card(slack_user("T", "U"), form.form_ref, **GOOD)

    assert effects == (CloseForm(messages.SUBMISSION_ENDED),)
    assert store.rows == {}


def test_an_expired_session_starts_afresh(
    service: ConversationService, store: MemoryStore, clock: FakeClock, engine: RecordingEngine
) -> None:
    engine.decision = Decision(reply="pay", next_step=NextStep.OFFER_CARD_FORM)
    service.message(slack_user("T", "U"), "pay")
    clock.now += 3600
    service.message(slack_user("T", "U"), "hi again")
    saved = store.get(slack_user("T", "U"))
    assert saved is not None
    assert saved.version == 1
    assert [t.text for t in saved.history if t.role == "user"] == ["hi again"]


def test_the_engine_reads_at_most_a_turns_worth_of_a_very_long_dm(
    service: ConversationService, engine: RecordingEngine, store: MemoryStore
) -> None:
    service.message(slack_user("T1", "U1"), "pay invoice INV-1001 " + "x" * 40_000)
    (seen,) = engine.seen
    assert seen.startswith("pay invoice INV-1001")
    assert len(seen) == MAX_TURN_CHARS
    session = store.get(slack_user("T1", "U1"))
    assert session is not None
    assert len(session.history[0].text) == MAX_TURN_CHARS


def test_posted_offers_replace_the_ones_before_which_come_back_to_close(
    service: ConversationService, store: MemoryStore
) -> None:
    user = slack_user("T", "U")
    service.message(user, "hi")
    service.open_form(user)  # a payment under way
    assert service.offers_posted(user, ["D1/1.1/card"]) is None
    assert service.offers_posted(user, ["D1/2.2/card"]) == CloseOffers(
        ("D1/1.1/card",), "superseded"
    )
    saved = store.get(user)
    assert saved is not None
    assert saved.offer_posts == ("D1/2.2/card",)
    assert service.offer_stands(user, "D1/2.2/card")
    assert not service.offer_stands(user, "D1/1.1/card")


def test_tracking_the_same_offers_again_writes_nothing(
    service: ConversationService, store: MemoryStore
) -> None:
    user = slack_user("T", "U")
    service.open_form(user)
    service.offers_posted(user, ["D1/1.1/card"])
    version = store.get(user).version  # type: ignore[union-attr]
    assert service.offers_posted(user, ["D1/1.1/card"]) is None
    assert store.get(user).version == version  # type: ignore[union-attr]


def test_no_press_stands_and_nothing_is_tracked_without_a_conversation(
    service: ConversationService, store: MemoryStore
) -> None:
    user = slack_user("T", "U")
    assert not service.offer_stands(user, "D1/1.1/card")
    assert service.offers_posted(user, ["D1/1.1/card"]) == CloseOffers(("D1/1.1/card",), "closed")
    assert store.get(user) is None


def test_an_offer_posted_as_the_conversation_ended_is_closed_at_once(
    service: ConversationService, store: MemoryStore
) -> None:
    user = slack_user("T", "U")
    service.open_form(user)
    service.cancel(user)  # pressed before the offer's post was tracked
    assert service.offers_posted(user, ["D1/1.1/card"]) == CloseOffers(("D1/1.1/card",), "closed")
    assert store.get(user).offer_posts == ()  # type: ignore[union-attr]


def test_the_modal_opens_before_the_session_is_written(
    service: ConversationService, store: MemoryStore
) -> None:
    user = slack_user("T", "U")
    service.message(user, "hi")
    seen: list[tuple[str, str | None]] = []

    def show(form: OpenCardForm) -> bool:
        stored = store.get(user)
        seen.append((form.form_ref, stored.form_ref if stored else None))
        return True

    (form,) = service.open_form(user, show=show)
    assert isinstance(form, OpenCardForm)
    assert seen == [(form.form_ref, None)]  # shown while the store had no form yet
    saved = store.get(user)
    assert saved is not None
    assert saved.form_ref == form.form_ref  # then written, with the ref the modal carries


def test_a_modal_that_did_not_open_leaves_the_session_as_it_was(
    service: ConversationService, store: MemoryStore
) -> None:
    user = slack_user("T", "U")
    service.message(user, "hi")
    before = store.get(user)
    assert service.open_form(user, show=lambda form: False) == ()
    assert store.get(user) == before


def test_a_press_on_an_ended_offer_opens_nothing(
    service: ConversationService, store: MemoryStore
) -> None:
    user = slack_user("T", "U")
    service.open_form(user)
    service.offers_posted(user, ["2x2/D1/card"])
    shown: list[OpenCardForm] = []
    closed = service.open_form(user, post="1x1/D1/card", show=lambda f: bool(shown.append(f)))
    assert closed == (OfferClosed("1x1/D1/card"),)
    assert shown == []
