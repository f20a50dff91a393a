"""Card entry on the provider's own page: the conversation around it, with a fake provider."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from bot import messages
from bot.errors import CardEntryUnavailable, PaymentUnavailable, StoreUnavailable
from bot.machine import CloseForm, ConfirmCard, OfferCheckout, OpenCardForm, Reply
from bot.models import CardDetails, CardSetup, CheckoutLink, Decision, NextStep, State
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

CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(FakeClock())


@pytest.fixture
def hosted() -> FakeHostedCheckout:
    return FakeHostedCheckout()


def service(
    store: MemoryStore,
    hosted: FakeHostedCheckout,
    *,
    card_entry: str = "hosted",
    gateway: FakeGateway | None = None,
) -> ConversationService:
    refs = (f"ref-{n}" for n in itertools.count(1))
    return ConversationService(
        store=store,
        engine=RecordingEngine(),
        gateway=gateway or FakeGateway(),
        hosted=hosted,
        card_entry=card_entry,
        clock=store.clock,
        new_ref=lambda: next(refs),
    )


@pytest.fixture
def conversation(store: MemoryStore, hosted: FakeHostedCheckout) -> ConversationService:
    return service(store, hosted)


def stored(store: MemoryStore):  # type: ignore[no-untyped-def]
    session = store.get(slack_user("T", "U"))
    assert session is not None
    return session


def test_requesting_a_card_offers_the_hosted_page_link(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    (offer,) = conversation.request_card(
        slack_user("T", "U"), return_url="https://app/stripe/return"
    )
    assert isinstance(offer, OfferCheckout)
    assert offer.url == "https://pay/cs_test_1"
    assert hosted.opened == [
        {"customer_id": None, "reference": "ref-1", "key": "paybot-checkout-ref-1-1"}
    ]
    assert stored(store).checkout_id == "cs_test_1"
    assert stored(store).state is State.AWAITING_CARD


def test_the_customer_is_reused_for_the_next_page(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    conversation.request_card(slack_user("T", "U"), return_url="r")
    assert hosted.opened[1]["customer_id"] == "cus_fake"


def test_a_new_page_closes_the_previous_one(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    conversation.request_card(slack_user("T", "U"), return_url="r")
    assert hosted.expired == ["cs_test_1"]
    assert hosted.opened[1]["key"] == "paybot-checkout-ref-1-2"


def test_a_completed_page_completes_the_session_and_confirms(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    hosted.complete("cs_test_1")
    user, effects = conversation.checkout_event("cs_test_1")
    assert (user, effects) == (slack_user("T", "U"), (ConfirmCard(VISA),))
    assert stored(store).state is State.COMPLETED
    assert stored(store).payment == VISA


def test_the_same_completion_twice_confirms_once(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    hosted.complete("cs_test_1")
    conversation.checkout_event("cs_test_1")
    assert conversation.checkout_event("cs_test_1") == (slack_user("T", "U"), ())


def test_a_late_expiry_never_undoes_a_completion(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    hosted.complete("cs_test_1")
    conversation.checkout_event("cs_test_1")
    hosted.lapse("cs_test_1")
    assert conversation.checkout_event("cs_test_1") == (slack_user("T", "U"), ())
    assert stored(store).state is State.COMPLETED


def test_an_expired_page_tells_the_user_how_to_get_a_new_one(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    hosted.lapse("cs_test_1")
    assert conversation.checkout_event("cs_test_1") == (
        slack_user("T", "U"),
        (Reply(messages.CHECKOUT_EXPIRED),),
    )
    assert stored(store).checkout_id is None


def test_a_still_open_page_changes_nothing(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    assert conversation.checkout_event("cs_test_1") == (slack_user("T", "U"), ())


def test_cancel_closes_the_open_page(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    assert conversation.cancel(slack_user("T", "U")) == (Reply(messages.CANCELLED),)
    assert hosted.expired == ["cs_test_1"]
    assert stored(store).state is State.CANCELLED


def test_forget_closes_the_open_page(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    conversation.forget(slack_user("T", "U"))
    assert hosted.expired == ["cs_test_1"]


def test_an_unavailable_provider_says_so(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    hosted.error = PaymentUnavailable()
    (reply,) = conversation.request_card(slack_user("T", "U"), return_url="r")
    assert isinstance(reply, Reply)
    assert "Nothing was saved" in reply.text


def test_modal_mode_still_opens_the_modal(store: MemoryStore, hosted: FakeHostedCheckout) -> None:
    (form,) = service(store, hosted, card_entry="modal").request_card(
        slack_user("T", "U"), return_url="r"
    )
    assert isinstance(form, OpenCardForm)


def test_a_refused_raw_card_number_offers_the_hosted_page_in_the_same_reply(
    store: MemoryStore, hosted: FakeHostedCheckout
) -> None:
    gateway = FakeGateway(error=CardEntryUnavailable())
    conversation = service(store, hosted, card_entry="modal", gateway=gateway)
    (form,) = conversation.request_card(slack_user("T", "U"), return_url="r")
    assert isinstance(form, OpenCardForm)
    effects = conversation.submit_card(slack_user("T", "U"), form.form_ref, return_url="r", **CARD)
    assert effects[0] == CloseForm(messages.HOSTED_INSTEAD)
    assert isinstance(effects[1], OfferCheckout)
    hosted.complete("cs_test_1")
    assert conversation.checkout_event("cs_test_1")[1] == (ConfirmCard(VISA),)


# A hosted deployment never takes card numbers -------------------------------------


def test_a_hosted_deployment_without_its_page_says_card_entry_is_unavailable(
    store: MemoryStore,
) -> None:
    conversation = ConversationService(
        store=store, engine=RecordingEngine(), gateway=FakeGateway(), card_entry="hosted"
    )
    effects = conversation.request_card(slack_user("T", "U"), return_url="r")
    assert effects == (Reply(messages.CARD_ENTRY_UNAVAILABLE),)


def test_a_hosted_deployment_never_opens_the_card_modal_on_any_path(
    conversation: ConversationService,
) -> None:
    effects = conversation.open_form(slack_user("T", "U"))
    assert not any(isinstance(e, OpenCardForm) for e in effects)
    assert effects == (Reply(messages.CARD_ENTRY_UNAVAILABLE),)


def test_a_card_submitted_to_a_hosted_deployment_never_reaches_the_gateway(
    store: MemoryStore, hosted: FakeHostedCheckout
) -> None:
    gateway = FakeGateway()
    conversation = service(store, hosted, gateway=gateway)
    conversation.request_card(slack_user("T", "U"), return_url="r")
    effects = conversation.submit_card(slack_user("T", "U"), stored(store).form_ref or "", **CARD)
    assert effects == (CloseForm(messages.CARD_ENTRY_UNAVAILABLE),)
    assert gateway.keys == []


# Pages nobody tracks ---------------------------------------------------------------


class InterruptedPages(FakeHostedCheckout):
    """Pages whose first opening is interrupted by `meanwhile`, as a second request would."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: list[Callable[[], object]] = []

    def open(self, **request: Any) -> CheckoutLink:
        if self.meanwhile:
            self.meanwhile.pop()()
        return super().open(**request)


def test_a_page_opened_for_a_superseded_request_is_expired_and_never_offered(
    store: MemoryStore,
) -> None:
    pages = InterruptedPages()
    conversation = service(store, pages)
    second: list[tuple[object, ...]] = []
    pages.meanwhile.append(
        lambda: second.append(conversation.request_card(slack_user("T", "U"), return_url="r"))
    )

    first = conversation.request_card(slack_user("T", "U"), return_url="r")

    assert first == ()
    (offer,) = second[0]
    assert isinstance(offer, OfferCheckout)
    assert stored(store).checkout_id == "cs_test_1"  # the second request's page, opened first
    assert pages.expired == ["cs_test_2"]


def test_a_page_opened_while_the_payment_was_cancelled_is_expired_and_never_offered(
    store: MemoryStore,
) -> None:
    pages = InterruptedPages()
    conversation = service(store, pages)
    cancelled: list[tuple[object, ...]] = []
    pages.meanwhile.append(lambda: cancelled.append(conversation.cancel(slack_user("T", "U"))))

    effects = conversation.request_card(slack_user("T", "U"), return_url="r")

    assert cancelled == [(Reply(messages.CANCELLED),)]
    assert effects == ()
    assert pages.expired == ["cs_test_1"]
    assert stored(store).state is State.CANCELLED
    assert stored(store).checkout_id is None


def test_a_page_opened_while_the_person_was_forgotten_is_expired_and_recreates_nothing(
    store: MemoryStore,
) -> None:
    pages = InterruptedPages()
    conversation = service(store, pages)
    pages.meanwhile.append(lambda: conversation.forget(slack_user("T", "U")))

    assert conversation.request_card(slack_user("T", "U"), return_url="r") == ()
    assert pages.expired == ["cs_test_1"]
    assert store.get(slack_user("T", "U")) is None


def test_a_page_that_cannot_be_recorded_is_expired(
    store: MemoryStore, hosted: FakeHostedCheckout, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = service(store, hosted)
    conversation.request_card(slack_user("T", "U"), return_url="r")  # the session exists
    opened = hosted.open

    def open_then_lose_the_store(**request: Any) -> CheckoutLink:
        link = opened(**request)
        monkeypatch.setattr(store, "save", failing_save)
        return link

    def failing_save(session: object, *, expected_version: int) -> object:
        raise StoreUnavailable()

    monkeypatch.setattr(hosted, "open", open_then_lose_the_store)
    with pytest.raises(StoreUnavailable):
        conversation.request_card(slack_user("T", "U"), return_url="r")
    assert hosted.expired == ["cs_test_1", "cs_test_2"]


def test_a_card_saved_on_a_page_the_session_no_longer_tracks_is_confirmed(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    hosted.complete("cs_test_1")  # the person saved a card on the first page...
    conversation.request_card(
        slack_user("T", "U"), return_url="r"
    )  # ...as a second click replaced it

    assert conversation.checkout_event("cs_test_1") == (slack_user("T", "U"), (ConfirmCard(VISA),))
    assert stored(store).state is State.COMPLETED
    assert stored(store).payment == VISA
    assert hosted.expired == ["cs_test_1", "cs_test_2"]  # the replacement is closed too


def test_a_card_saved_on_a_page_after_cancel_is_confirmed(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    hosted.complete("cs_test_1")
    conversation.cancel(slack_user("T", "U"))

    assert conversation.checkout_event("cs_test_1") == (slack_user("T", "U"), (ConfirmCard(VISA),))
    assert stored(store).payment == VISA


def test_a_card_saved_on_a_page_after_the_session_expired_is_confirmed(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    hosted.complete("cs_test_1")
    store.clock.now += 2 * 3600

    assert conversation.checkout_event("cs_test_1") == (slack_user("T", "U"), (ConfirmCard(VISA),))
    assert stored(store).payment == VISA


def test_an_untracked_completion_already_confirmed_says_nothing(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card(slack_user("T", "U"), return_url="r")
    hosted.complete("cs_test_1")
    conversation.checkout_event("cs_test_1")
    conversation.request_card(
        slack_user("T", "U"), return_url="r"
    )  # a new payment, same card on record

    assert conversation.checkout_event("cs_test_1") == (slack_user("T", "U"), ())


def test_a_refused_raw_card_after_the_session_was_deleted_offers_no_page(
    store: MemoryStore, hosted: FakeHostedCheckout
) -> None:
    class ForgettingGateway(FakeGateway):
        def save_card(self, card: CardDetails, **request: Any) -> CardSetup:
            store.delete(slack_user("T", "U"))  # `/pay forget` racing the claim
            return super().save_card(card, **request)

    gateway = ForgettingGateway(error=CardEntryUnavailable())
    conversation = service(store, hosted, card_entry="modal", gateway=gateway)
    (form,) = conversation.request_card(slack_user("T", "U"), return_url="r")
    assert isinstance(form, OpenCardForm)

    effects = conversation.submit_card(slack_user("T", "U"), form.form_ref, return_url="r", **CARD)

    assert effects == (CloseForm(messages.SUBMISSION_ENDED),)
    assert hosted.opened == []
    assert store.rows == {}


def offering(store: MemoryStore, hosted: FakeHostedCheckout) -> ConversationService:
    """The hosted service, with an engine that offers the card entry on every turn."""
    offers = Decision(reply="Got it.", next_step=NextStep.OFFER_CARD_FORM)
    refs = (f"ref-{n}" for n in itertools.count(1))
    return ConversationService(
        store=store,
        engine=RecordingEngine(offers),
        gateway=FakeGateway(),
        hosted=hosted,
        card_entry="hosted",
        clock=store.clock,
        new_ref=lambda: next(refs),
    )


def test_the_offer_of_a_turn_is_the_page_itself_made_at_once(
    store: MemoryStore, hosted: FakeHostedCheckout
) -> None:
    effects = offering(store, hosted).message(
        slack_user("T1", "U1"), "pay 45", return_url="https://paybot.example/stripe/return"
    )
    (link,) = effects
    assert isinstance(link, OfferCheckout)
    assert link.lead == "Got it."
    assert link.url == "https://pay/cs_test_1"
    assert len(hosted.opened) == 1


def test_without_a_way_back_the_offer_keeps_its_button(
    store: MemoryStore, hosted: FakeHostedCheckout
) -> None:
    effects = offering(store, hosted).message(slack_user("T1", "U1"), "pay 45")
    assert effects == (Reply("Got it.", offer_card_form=True),)
    assert hosted.opened == []


def test_when_no_page_can_be_made_the_words_come_with_the_reason(
    store: MemoryStore, hosted: FakeHostedCheckout
) -> None:
    hosted.error = PaymentUnavailable("stripe down")
    effects = offering(store, hosted).message(
        slack_user("T1", "U1"), "pay 45", return_url="https://paybot.example/stripe/return"
    )
    assert effects[0] == Reply("Got it.")
    assert not any(isinstance(e, OfferCheckout) for e in effects)
    assert len(effects) == 2  # and what went wrong
