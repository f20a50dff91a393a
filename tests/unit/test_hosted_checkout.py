"""Card entry on the provider's own page: the conversation around it, with a fake provider."""

from __future__ import annotations

import itertools

import pytest

from bot import messages
from bot.errors import CardEntryUnavailable, PaymentUnavailable
from bot.machine import CloseForm, ConfirmCard, OfferCheckout, OpenCardForm, Reply
from bot.models import State
from bot.service import ConversationService
from tests.fakes import (
    VISA,
    FakeClock,
    FakeGateway,
    FakeHostedCheckout,
    MemoryStore,
    RecordingEngine,
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
    session = store.get(team_id="T", user_id="U")
    assert session is not None
    return session


def test_requesting_a_card_offers_the_hosted_page_link(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    (offer,) = conversation.request_card("T", "U", return_url="https://app/stripe/return")
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
    conversation.request_card("T", "U", return_url="r")
    conversation.request_card("T", "U", return_url="r")
    assert hosted.opened[1]["customer_id"] == "cus_fake"


def test_a_new_page_closes_the_previous_one(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card("T", "U", return_url="r")
    conversation.request_card("T", "U", return_url="r")
    assert hosted.expired == ["cs_test_1"]
    assert hosted.opened[1]["key"] == "paybot-checkout-ref-1-2"


def test_a_completed_page_completes_the_session_and_confirms(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card("T", "U", return_url="r")
    hosted.complete("cs_test_1")
    user, effects = conversation.checkout_event("cs_test_1")
    assert (user, effects) == ("U", (ConfirmCard(VISA),))
    assert stored(store).state is State.COMPLETED
    assert stored(store).payment == VISA


def test_the_same_completion_twice_confirms_once(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card("T", "U", return_url="r")
    hosted.complete("cs_test_1")
    conversation.checkout_event("cs_test_1")
    assert conversation.checkout_event("cs_test_1") == ("U", ())


def test_a_late_expiry_never_undoes_a_completion(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card("T", "U", return_url="r")
    hosted.complete("cs_test_1")
    conversation.checkout_event("cs_test_1")
    hosted.lapse("cs_test_1")
    assert conversation.checkout_event("cs_test_1") == ("U", ())
    assert stored(store).state is State.COMPLETED


def test_an_expired_page_tells_the_user_how_to_get_a_new_one(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card("T", "U", return_url="r")
    hosted.lapse("cs_test_1")
    assert conversation.checkout_event("cs_test_1") == ("U", (Reply(messages.CHECKOUT_EXPIRED),))
    assert stored(store).checkout_id is None


def test_a_still_open_page_changes_nothing(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card("T", "U", return_url="r")
    assert conversation.checkout_event("cs_test_1") == ("U", ())


def test_cancel_closes_the_open_page(
    conversation: ConversationService, hosted: FakeHostedCheckout, store: MemoryStore
) -> None:
    conversation.request_card("T", "U", return_url="r")
    assert conversation.cancel("T", "U") == (Reply(messages.CANCELLED),)
    assert hosted.expired == ["cs_test_1"]
    assert stored(store).state is State.CANCELLED


def test_forget_closes_the_open_page(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    conversation.request_card("T", "U", return_url="r")
    conversation.forget("T", "U")
    assert hosted.expired == ["cs_test_1"]


def test_an_unavailable_provider_says_so(
    conversation: ConversationService, hosted: FakeHostedCheckout
) -> None:
    hosted.error = PaymentUnavailable()
    (reply,) = conversation.request_card("T", "U", return_url="r")
    assert isinstance(reply, Reply)
    assert "Nothing was saved" in reply.text


def test_modal_mode_still_opens_the_modal(store: MemoryStore, hosted: FakeHostedCheckout) -> None:
    (form,) = service(store, hosted, card_entry="modal").request_card("T", "U", return_url="r")
    assert isinstance(form, OpenCardForm)


def test_a_refused_raw_card_number_offers_the_hosted_page_in_the_same_reply(
    store: MemoryStore, hosted: FakeHostedCheckout
) -> None:
    gateway = FakeGateway(error=CardEntryUnavailable())
    conversation = service(store, hosted, card_entry="modal", gateway=gateway)
    (form,) = conversation.request_card("T", "U", return_url="r")
    assert isinstance(form, OpenCardForm)
    effects = conversation.submit_card("T", "U", form.form_ref, return_url="r", **CARD)
    assert effects[0] == CloseForm(messages.HOSTED_INSTEAD)
    assert isinstance(effects[1], OfferCheckout)
    hosted.complete("cs_test_1")
    assert conversation.checkout_event("cs_test_1")[1] == (ConfirmCard(VISA),)
