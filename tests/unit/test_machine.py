"""The state machine, as a specification: one behaviour per test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot import messages
from bot.machine import (
    PENDING_TIMEOUT_SECONDS,
    CancelRequested,
    CardDeclined,
    CardFormRequested,
    CardSaved,
    CardSubmitted,
    CloseForm,
    ConfirmCard,
    Context,
    FieldErrors,
    ForgetRequested,
    ForgetSession,
    HelpRequested,
    OpenCardForm,
    PaymentFailed,
    Reply,
    SaveCard,
    ShowHelp,
    StatusRequested,
    UserMessage,
    transition,
)
from bot.models import MAX_HISTORY, Decision, NextStep, PaymentRecord, Session, Slots, State

NOW = 1_800_000_000
CTX = Context(now=NOW, ttl_seconds=3600, new_ref="ref-new")
VISA = PaymentRecord(
    payment_method_id="pm_123", brand="visa", last4="4242", exp_month=8, exp_year=2030
)


def session(**changes: object) -> Session:
    return Session(tenant_id="T1", user_id="U1").evolve(**changes)


def say(text: str, step: NextStep = NextStep.ASK, **slots: object) -> UserMessage:
    return UserMessage(
        text, Decision(reply=f"reply to {text}", next_step=step, slots=Slots(**slots))
    )


def awaiting(**changes: object) -> Session:
    return session(state=State.AWAITING_CARD, form_ref="ref-1", card_form_offered=True, **changes)


def test_first_message_starts_collecting_and_replies_with_the_engines_text() -> None:
    out = transition(session(), say("hi"), CTX)
    assert out.session.state is State.COLLECTING
    assert out.effects == (Reply("reply to hi"),)


def test_every_transition_extends_expiry_by_the_ttl() -> None:
    out = transition(session(expires_at=5), say("hi"), CTX)
    assert out.session.expires_at == NOW + 3600


def test_turns_are_recorded_in_history_for_user_and_bot() -> None:
    out = transition(session(), say("hi"), CTX)
    assert [(t.role, t.text) for t in out.session.history] == [
        ("user", "hi"),
        ("bot", "reply to hi"),
    ]


def test_history_stays_bounded() -> None:
    current = session()
    for n in range(MAX_HISTORY):
        current = transition(current, say(f"message {n}"), CTX).session
    assert len(current.history) == MAX_HISTORY
    assert current.history[-1].text == f"reply to message {MAX_HISTORY - 1}"


def test_offering_the_card_form_awaits_the_card_with_a_fresh_form_ref() -> None:
    out = transition(session(), say("pay", NextStep.OFFER_CARD_FORM, amount=Decimal(45)), CTX)
    assert out.session.state is State.AWAITING_CARD
    assert out.session.form_ref == "ref-new"
    assert out.session.card_form_offered
    assert out.session.slots.amount == Decimal(45)
    assert out.effects == (Reply("reply to pay", offer_card_form=True),)


def test_slots_accumulate_across_turns() -> None:
    first = transition(session(), say("45 usd", amount=Decimal(45), currency="USD"), CTX)
    second = transition(first.session, say("INV-1", reference="INV-1"), CTX)
    assert second.session.slots == Slots(amount=Decimal(45), currency="USD", reference="INV-1")


@pytest.mark.parametrize(
    "text", ["cancel", "stop", "quit", "abort", "exit", "never mind", "nevermind", "forget it"]
)
def test_cancel_words_cancel_an_active_payment(text: str) -> None:
    out = transition(awaiting(), say(text), CTX)
    assert out.session.state is State.CANCELLED
    assert out.session.form_ref is None
    assert out.effects == (Reply(messages.CANCELLED),)


@pytest.mark.parametrize("text", ["I don't know", "not now?", "November", "stopwatch"])
def test_words_that_only_look_like_cancel_do_not_cancel(text: str) -> None:
    out = transition(awaiting(), say(text), CTX)
    assert out.session.state is State.AWAITING_CARD


def test_no_cancels_while_the_card_form_is_the_latest_offer() -> None:
    out = transition(awaiting(), say("no"), CTX)
    assert out.session.state is State.CANCELLED


def test_no_does_not_cancel_when_the_card_form_is_not_on_offer() -> None:
    out = transition(session(state=State.COLLECTING), say("no"), CTX)
    assert out.session.state is State.COLLECTING


def test_an_engine_proposing_cancel_alone_only_asks_for_confirmation() -> None:
    out = transition(awaiting(), say("hmm", NextStep.CANCEL), CTX)
    assert out.session.state is State.AWAITING_CARD
    assert out.effects == (Reply(messages.CONFIRM_CANCEL),)


def test_cancel_with_nothing_in_progress_says_so() -> None:
    out = transition(session(), CancelRequested(), CTX)
    assert out.session.state is State.IDLE
    assert out.effects == (Reply(messages.NOTHING_TO_CANCEL),)


def test_a_removed_card_number_forces_a_warning_and_the_secure_form() -> None:
    event = UserMessage("[card number removed]", Decision(reply="sure"), pan_removed=True)
    out = transition(session(), event, CTX)
    assert out.session.state is State.AWAITING_CARD
    assert out.effects == (Reply(f"{messages.PAN_WARNING}\nsure", offer_card_form=True),)


def test_requesting_the_form_opens_it_with_the_known_slots() -> None:
    out = transition(session(), CardFormRequested(Slots(amount=Decimal("45.00"))), CTX)
    assert out.session.state is State.AWAITING_CARD
    assert out.effects == (OpenCardForm("ref-new", Slots(amount=Decimal("45.00"))),)


def test_requesting_the_form_again_reuses_the_open_form_ref() -> None:
    out = transition(awaiting(), CardFormRequested(), CTX)
    assert out.effects == (OpenCardForm("ref-1", Slots()),)


def test_a_new_payment_after_completion_keeps_the_saved_card_record_only() -> None:
    done = session(state=State.COMPLETED, payment=VISA, slots=Slots(reference="OLD"))
    out = transition(done, CardFormRequested(), CTX)
    assert out.session.payment == VISA
    assert out.session.slots == Slots()


def test_submitting_the_current_form_claims_it_and_asks_to_tokenize() -> None:
    out = transition(awaiting(), CardSubmitted("ref-1"), CTX)
    assert out.session.pending_since == NOW
    assert out.session.attempt == 1
    assert out.effects == (SaveCard("paybot-ref-1-1"),)


def test_a_duplicate_submission_while_pending_is_told_it_is_in_progress() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    out = transition(pending, CardSubmitted("ref-1"), CTX)
    assert out.effects == (CloseForm(messages.IN_PROGRESS),)
    assert out.session.attempt == 1


def test_an_abandoned_pending_submission_can_be_retried_as_a_new_attempt() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    later = Context(now=NOW + PENDING_TIMEOUT_SECONDS, ttl_seconds=3600, new_ref="x")
    out = transition(pending, CardSubmitted("ref-1"), later)
    assert out.effects == (SaveCard("paybot-ref-1-2"),)


def test_a_corrected_resubmission_after_a_decline_gets_a_new_idempotency_key() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    declined = transition(pending, CardDeclined("cvc", "bad cvc"), CTX)
    assert declined.effects == (FieldErrors({"cvc": "bad cvc"}),)
    out = transition(declined.session, CardSubmitted("ref-1"), CTX)
    assert out.effects == (SaveCard("paybot-ref-1-2"),)


@pytest.mark.parametrize("ref", ["ref-other", ""])
def test_a_submission_for_another_form_is_refused(ref: str) -> None:
    out = transition(awaiting(), CardSubmitted(ref), CTX)
    assert out.effects == (CloseForm(messages.FORM_STALE),)
    assert out.session.pending_since is None


def test_a_submission_after_cancel_is_refused() -> None:
    cancelled = transition(awaiting(), CancelRequested(), CTX).session
    out = transition(cancelled, CardSubmitted("ref-1"), CTX)
    assert out.effects == (CloseForm(messages.FORM_STALE),)


def test_a_tokenized_card_completes_the_session_and_confirms() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    out = transition(pending, CardSaved(VISA), CTX)
    assert out.session.state is State.COMPLETED
    assert out.session.payment == VISA
    assert out.session.pending_since is None
    assert out.effects == (ConfirmCard(VISA),)


def test_a_submission_after_completion_is_told_it_is_already_done() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    done = transition(pending, CardSaved(VISA), CTX).session
    out = transition(done, CardSubmitted("ref-1"), CTX)
    assert out.effects == (CloseForm(messages.ALREADY_DONE),)


def test_a_payment_outage_fails_and_offers_the_form_again() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    out = transition(pending, PaymentFailed("nothing was saved"), CTX)
    assert out.session.state is State.FAILED
    assert out.effects == (
        CloseForm("nothing was saved"),
        Reply("nothing was saved", offer_card_form=True),
    )
    retry = transition(out.session, CardSubmitted("ref-1"), CTX)
    assert retry.effects == (SaveCard("paybot-ref-1-2"),)


def test_cancel_is_refused_while_the_card_is_with_the_payment_service() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    out = transition(pending, CancelRequested(), CTX)
    assert out.session.state is State.AWAITING_CARD
    assert out.effects == (Reply(messages.CANCEL_TOO_LATE),)


def test_forget_is_refused_while_the_card_is_with_the_payment_service() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    out = transition(pending, ForgetRequested(), CTX)
    assert out.effects == (Reply(messages.FORGET_WAIT),)
    assert out.session == pending


def test_forget_after_an_abandoned_submission_deletes_the_session() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    later = Context(now=NOW + PENDING_TIMEOUT_SECONDS, ttl_seconds=3600, new_ref="ref-2")
    out = transition(pending, ForgetRequested(), later)
    assert out.effects == (ForgetSession(), Reply(messages.FORGOTTEN))


def test_form_request_while_pending_says_in_progress() -> None:
    pending = transition(awaiting(), CardSubmitted("ref-1"), CTX).session
    out = transition(pending, CardFormRequested(), CTX)
    assert out.effects == (Reply(messages.IN_PROGRESS),)


def test_status_reports_a_saved_card_by_brand_and_last_four_only() -> None:
    out = transition(session(state=State.COMPLETED, payment=VISA), StatusRequested(), CTX)
    (reply,) = out.effects
    assert isinstance(reply, Reply)
    assert "Visa •••• 4242" in reply.text


def test_help_answers_with_the_help_text() -> None:
    out = transition(session(), HelpRequested(), CTX)
    assert out.effects == (ShowHelp(),)


def test_forget_asks_to_delete_the_session() -> None:
    out = transition(awaiting(), ForgetRequested(), CTX)
    assert out.effects == (ForgetSession(), Reply(messages.FORGOTTEN))
