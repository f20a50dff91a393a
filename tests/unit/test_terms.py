"""Terms acceptance: with TERMS_URL set, no card entry of any kind until the person accepts.

The acceptance is kept apart from the session: it outlives the session's expiry and is
gone after `forget`; a new TERMS_VERSION asks everyone again.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from bot import messages
from bot.machine import (
    AskTerms,
    CloseForm,
    ConfirmCard,
    OfferCheckout,
    OpenCardForm,
    RecordTerms,
    Reply,
)
from bot.models import Decision, NextStep, Slots, State, Terms, TermsAcceptance
from bot.service import ConversationService
from tests.fakes import (
    VISA,
    FakeClock,
    FakeGateway,
    FakeHostedCheckout,
    MemoryStore,
    RecordingEngine,
    slack_user,
)

TERMS = Terms(url="https://example.com/terms", version="2")
GOOD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}
OFFER = Decision(
    reply="Invoice INV-1001, $45.00.",
    next_step=NextStep.OFFER_CARD_FORM,
    slots=Slots(amount=Decimal(45), currency="USD", reference="INV-1001"),
)
PERSON = slack_user("T1", "U1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def hosted() -> FakeHostedCheckout:
    return FakeHostedCheckout()


def build(
    store: MemoryStore,
    clock: FakeClock,
    gateway: FakeGateway,
    hosted: FakeHostedCheckout,
    terms: Terms | None = TERMS,
) -> ConversationService:
    refs = (f"ref-{n}" for n in itertools.count(1))
    return ConversationService(
        store=store,
        engine=RecordingEngine(OFFER),
        gateway=gateway,
        hosted=hosted,
        terms=terms,
        ttl_seconds=3600,
        clock=clock,
        new_ref=lambda: next(refs),
    )


@pytest.fixture
def service(
    store: MemoryStore, clock: FakeClock, gateway: FakeGateway, hosted: FakeHostedCheckout
) -> ConversationService:
    return build(store, clock, gateway, hosted)


def test_a_payment_that_would_offer_card_entry_asks_for_the_terms_instead(
    service: ConversationService, store: MemoryStore
) -> None:
    effects = service.message(PERSON, "pay invoice INV-1001 $45")

    assert effects == (Reply(OFFER.reply), AskTerms(TERMS.url))
    session = store.get(PERSON)
    assert session is not None
    assert session.slots.reference == "INV-1001"  # kept for after the acceptance
    assert not session.card_form_offered


def test_no_card_form_and_no_hosted_page_before_the_terms(
    service: ConversationService, hosted: FakeHostedCheckout
) -> None:
    assert service.open_form(PERSON) == (AskTerms(TERMS.url),)
    assert service.open_checkout(PERSON, return_url="") == (AskTerms(TERMS.url),)
    assert hosted.opened == []


def test_a_form_opened_before_the_terms_came_sends_no_card(
    store: MemoryStore, clock: FakeClock, gateway: FakeGateway, hosted: FakeHostedCheckout
) -> None:
    (form,) = build(store, clock, gateway, hosted, terms=None).open_form(PERSON)
    assert isinstance(form, OpenCardForm)

    submitted = build(store, clock, gateway, hosted).submit_card(PERSON, form.form_ref, **GOOD)

    assert submitted == (CloseForm(messages.TERMS_FIRST),)
    assert gateway.keys == []


def test_a_card_typed_in_chat_is_warned_about_and_the_terms_asked(
    service: ConversationService,
) -> None:
    reply, asked = service.message(PERSON, "my card is 4242 4242 4242 4242")

    assert isinstance(reply, Reply)
    assert messages.PAN_WARNING in reply.text
    assert asked == AskTerms(TERMS.url)


def test_accepting_keeps_the_acceptance_and_offers_card_entry(
    service: ConversationService, store: MemoryStore, clock: FakeClock, gateway: FakeGateway
) -> None:
    service.message(PERSON, "pay invoice INV-1001 $45")

    effects = service.accept_terms(PERSON)

    assert effects == (Reply(messages.TERMS_ACCEPTED, offer_card_form=True),)
    assert not any(isinstance(effect, RecordTerms) for effect in effects)  # the service's own
    kept = TermsAcceptance(url=TERMS.url, version="2", accepted_at=int(clock()))
    assert store.get_terms(PERSON) == kept
    (form,) = service.open_form(PERSON)
    assert isinstance(form, OpenCardForm)
    assert form.slots.reference == "INV-1001"
    assert service.submit_card(PERSON, form.form_ref, **GOOD)[0] == ConfirmCard(VISA)


def test_accepting_twice_records_once(service: ConversationService, store: MemoryStore) -> None:
    service.message(PERSON, "pay invoice INV-1001 $45")
    service.accept_terms(PERSON)
    first = store.get_terms(PERSON)

    service.accept_terms(PERSON)

    assert store.get_terms(PERSON) == first


def test_the_acceptance_outlives_the_session(
    service: ConversationService, store: MemoryStore, clock: FakeClock, hosted: FakeHostedCheckout
) -> None:
    service.message(PERSON, "pay invoice INV-1001 $45")
    service.accept_terms(PERSON)
    clock.now += 2 * 3600
    assert store.get(PERSON) is None  # the session expired

    offered = service.open_checkout(PERSON, return_url="")

    assert any(isinstance(effect, OfferCheckout) for effect in offered)
    assert len(hosted.opened) == 1


def test_forget_forgets_the_acceptance_too(
    service: ConversationService, store: MemoryStore
) -> None:
    service.message(PERSON, "pay invoice INV-1001 $45")
    service.accept_terms(PERSON)

    service.forget(PERSON)

    assert store.get_terms(PERSON) is None
    assert service.open_form(PERSON) == (AskTerms(TERMS.url),)


def test_new_terms_are_asked_for_again(
    store: MemoryStore, clock: FakeClock, gateway: FakeGateway, hosted: FakeHostedCheckout
) -> None:
    build(store, clock, gateway, hosted).message(PERSON, "pay invoice INV-1001 $45")
    build(store, clock, gateway, hosted).accept_terms(PERSON)
    clock.now += 2 * 3600
    revised = Terms(url=TERMS.url, version="3")

    assert build(store, clock, gateway, hosted, revised).open_form(PERSON) == (AskTerms(TERMS.url),)


def test_declining_ends_the_payment_politely(
    service: ConversationService, store: MemoryStore
) -> None:
    service.message(PERSON, "pay invoice INV-1001 $45")

    effects = service.decline_terms(PERSON)

    assert effects == (Reply(messages.TERMS_DECLINED),)
    session = store.get(PERSON)
    assert session is not None
    assert session.state is State.CANCELLED
    assert session.slots == Slots()
    assert store.get_terms(PERSON) is None
    assert service.open_form(PERSON) == (AskTerms(TERMS.url),)


def test_declining_after_accepting_changes_nothing(
    service: ConversationService, store: MemoryStore
) -> None:
    service.message(PERSON, "pay invoice INV-1001 $45")
    service.accept_terms(PERSON)

    assert service.decline_terms(PERSON) == (Reply(messages.TERMS_ALREADY_ACCEPTED),)
    assert store.get_terms(PERSON) is not None
    session = store.get(PERSON)
    assert session is not None
    assert session.state is State.AWAITING_CARD


def test_without_terms_nothing_is_asked(
    store: MemoryStore, clock: FakeClock, gateway: FakeGateway, hosted: FakeHostedCheckout
) -> None:
    service = build(store, clock, gateway, hosted, terms=None)

    (reply,) = service.message(PERSON, "pay invoice INV-1001 $45")

    assert reply == Reply(OFFER.reply, offer_card_form=True)
    assert service.accept_terms(PERSON) == (Reply(messages.NO_TERMS),)
    assert store.terms == {}
