"""Charging in the state machine (PAYMENT_MODE=charge): only Pay charges, only the provider
says paid."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import messages
from bot.charging import ChargePolicy, idempotency_key, minor_units, parse_max_amounts
from bot.machine import (
    PENDING_TIMEOUT_SECONDS,
    AskToPay,
    CancelRequested,
    CardSaved,
    ChargeCard,
    ChargeDeclined,
    ChargeNeedsAuthentication,
    ChargeNotMade,
    ChargeSucceeded,
    ConfirmCard,
    Context,
    Event,
    ForgetRequested,
    OfferAuthentication,
    PayPressed,
    Reply,
    SendReceipt,
    StatusRequested,
    UserMessage,
    transition,
)
from bot.models import Decision, NextStep, PaymentRecord, Receipt, Session, Slots, State

NOW = 1_800_000_000
CHARGING = Context(now=NOW, ttl_seconds=3600, new_ref="offer-1", charging=ChargePolicy())
SAVING = Context(now=NOW, ttl_seconds=3600, new_ref="offer-1")
VISA = PaymentRecord(
    payment_method_id="pm_123", brand="visa", last4="0341", exp_month=8, exp_year=2030
)
INVOICE = Slots(amount=Decimal("45.00"), currency="USD", reference="INV-1001")


def receipt(intent: str = "pi_1") -> Receipt:
    return Receipt(
        intent_id=intent,
        amount=Decimal("45.00"),
        currency="USD",
        reference="INV-1001",
        brand="visa",
        last4="0341",
        paid_at=NOW,
    )


def awaiting_card(**changes: object) -> Session:
    return Session(tenant_id="T1", user_id="U1").evolve(
        state=State.AWAITING_CARD, form_ref="form-1", slots=INVOICE, pending_since=NOW, **changes
    )


def offered(ctx: Context = CHARGING) -> Session:
    return transition(awaiting_card(), CardSaved(VISA, "cus_1"), ctx).session


def paying() -> Session:
    return transition(offered(), PayPressed("offer-1"), CHARGING).session


def test_saving_mode_ends_at_the_saved_card() -> None:
    out = transition(awaiting_card(), CardSaved(VISA, "cus_1"), SAVING)
    assert out.session.state is State.COMPLETED
    assert out.effects == (ConfirmCard(VISA),)
    assert out.session.charge is None


def test_a_saved_card_with_a_known_payment_is_offered_for_confirmation() -> None:
    out = transition(awaiting_card(), CardSaved(VISA, "cus_1"), CHARGING)
    assert out.session.state is State.CONFIRMING
    charge = out.session.charge
    assert charge is not None
    assert (charge.amount, charge.currency, charge.reference) == (
        Decimal("45.00"),
        "USD",
        "INV-1001",
    )
    assert (charge.status, charge.key, charge.attempt) == ("proposed", "offer-1", 1)
    assert out.effects == (ConfirmCard(VISA), AskToPay(charge))
    assert (
        messages.pay_question(charge)
        == "Pay **$45.00** for invoice **INV-1001** with Visa •••• 0341?"
    )


def test_a_saved_card_without_the_amount_asks_for_the_payment() -> None:
    session = awaiting_card().evolve(slots=Slots(reference="INV-1001"))
    out = transition(session, CardSaved(VISA, "cus_1"), CHARGING)
    assert out.session.state is State.COLLECTING
    assert out.effects == (ConfirmCard(VISA), Reply(messages.SAVED_WHAT_TO_PAY))


def test_the_card_on_file_is_offered_when_a_new_payment_is_known() -> None:
    done = offered().evolve(state=State.COMPLETED, slots=Slots())
    decision = Decision(reply="enter card", next_step=NextStep.OFFER_CARD_FORM, slots=INVOICE)
    ctx = Context(now=NOW, ttl_seconds=3600, new_ref="offer-2", charging=ChargePolicy())
    out = transition(done, UserMessage("pay INV-1001 $45", decision), ctx)
    assert out.session.state is State.CONFIRMING
    assert out.session.charge is not None
    assert out.session.charge.key == "offer-2"
    assert out.session.charge.attempt == 2
    assert out.effects == (AskToPay(out.session.charge),)


def test_over_the_ceiling_is_refused_and_the_amount_asked_again() -> None:
    policy = ChargePolicy(parse_max_amounts("USD:40"))
    ctx = Context(now=NOW, ttl_seconds=3600, new_ref="offer-1", charging=policy)
    out = transition(awaiting_card(), CardSaved(VISA, "cus_1"), ctx)
    assert out.session.state is State.COLLECTING
    assert out.session.slots.amount is None
    assert out.session.slots.reference == "INV-1001"
    assert out.effects[0] == ConfirmCard(VISA)
    assert out.effects[1] == Reply(
        "I can't take a payment of $45.00 here: one payment can be at most $40.00. "
        "What amount would you like to pay?"
    )
    assert not any(isinstance(effect, AskToPay) for effect in out.effects)


def test_pay_claims_the_offer_and_charges_under_a_key_derived_from_the_payment() -> None:
    out = transition(offered(), PayPressed("offer-1"), CHARGING)
    charge = out.session.charge
    assert charge is not None
    assert (charge.status, charge.since) == ("charging", NOW)
    key = "paybot-charge-slack-T1-U1-INV-1001-1-offer-1"
    assert idempotency_key(out.session.user, charge) == key
    assert out.effects == (ChargeCard(charge, key),)


def test_a_second_press_while_charging_charges_nothing() -> None:
    out = transition(paying(), PayPressed("offer-1"), CHARGING)
    assert out.effects == (Reply(messages.CHARGE_IN_PROGRESS),)


def test_a_press_on_an_older_offer_charges_nothing() -> None:
    out = transition(offered(), PayPressed("offer-0"), CHARGING)
    assert out.effects == (Reply(messages.PAY_STALE),)


def test_a_claim_whose_worker_died_is_sent_again_under_the_same_key() -> None:
    later = Context(
        now=NOW + PENDING_TIMEOUT_SECONDS, ttl_seconds=3600, new_ref="x", charging=ChargePolicy()
    )
    first = transition(offered(), PayPressed("offer-1"), CHARGING).effects[0]
    again = transition(paying(), PayPressed("offer-1"), later).effects[0]
    assert isinstance(first, ChargeCard)
    assert isinstance(again, ChargeCard)
    assert again.idempotency_key == first.idempotency_key


def test_the_providers_success_completes_the_payment_and_sends_the_receipt_once() -> None:
    out = transition(paying(), ChargeSucceeded("offer-1", receipt()), CHARGING)
    assert out.session.state is State.COMPLETED
    assert out.session.charge is not None
    assert (out.session.charge.status, out.session.charge.intent_id) == ("succeeded", "pi_1")
    assert out.effects == (SendReceipt(receipt()),)
    again = transition(out.session, ChargeSucceeded("offer-1", receipt()), CHARGING)
    assert again.effects == ()
    assert transition(out.session, PayPressed("offer-1"), CHARGING).effects == (
        Reply(messages.ALREADY_PAID),
    )


def test_a_bank_check_waits_for_the_provider_and_cannot_be_cancelled_into_paid() -> None:
    url = "https://hooks.stripe.test/3ds"
    out = transition(paying(), ChargeNeedsAuthentication("offer-1", "pi_1", url), CHARGING)
    assert out.session.state is State.CONFIRMING
    assert out.session.charge is not None
    assert out.session.charge.status == "requires_action"
    assert out.effects == (OfferAuthentication(url, for_payment=True),)
    cancelled = transition(out.session, CancelRequested(), CHARGING)
    assert cancelled.effects == (Reply(messages.CHARGE_AWAITS_BANK),)
    assert "waiting for you to confirm it with your bank" in messages.status(out.session)


def test_a_decline_names_brand_and_last_four_and_offers_another_card() -> None:
    out = transition(
        paying(), ChargeDeclined("offer-1", "Your card was declined.", "pi_1"), CHARGING
    )
    assert out.session.state is State.FAILED
    assert out.session.charge is not None
    assert out.session.charge.status == "failed"
    (reply,) = out.effects
    assert isinstance(reply, Reply)
    assert reply.offer_card_form
    assert "Visa •••• 0341" in reply.text
    assert "Nothing was charged" in reply.text


def test_a_request_the_provider_refused_leaves_the_offer_to_press_again() -> None:
    out = transition(paying(), ChargeNotMade("offer-1", messages.CHARGE_NOT_MADE), CHARGING)
    charge = out.session.charge
    assert charge is not None
    assert (charge.status, charge.since) == ("proposed", None)
    assert out.effects == (Reply(messages.CHARGE_NOT_MADE), AskToPay(charge))
    retry = transition(out.session, PayPressed("offer-1"), CHARGING).effects[0]
    assert isinstance(retry, ChargeCard)
    assert retry.idempotency_key.endswith("-1-offer-1")  # the same attempt: the same key


def test_cancel_and_forget_wait_for_a_charge_in_progress() -> None:
    assert transition(paying(), CancelRequested(), CHARGING).effects == (
        Reply(messages.CHARGE_TOO_LATE),
    )
    assert transition(paying(), ForgetRequested(), CHARGING).effects == (
        Reply(messages.FORGET_WAIT_CHARGE),
    )


def test_a_cancelled_offer_cannot_be_paid() -> None:
    cancelled = transition(offered(), CancelRequested(), CHARGING).session
    assert cancelled.charge is not None
    assert cancelled.charge.status == "cancelled"
    assert transition(cancelled, PayPressed("offer-1"), CHARGING).effects == (
        Reply(messages.PAY_STALE),
    )


def test_a_success_for_an_offer_no_longer_tracked_still_sends_its_receipt_once() -> None:
    forgotten = Session(tenant_id="T1", user_id="U1")
    out = transition(forgotten, ChargeSucceeded("offer-1", receipt("pi_9")), CHARGING)
    assert out.effects == (SendReceipt(receipt("pi_9")),)
    assert (
        transition(out.session, ChargeSucceeded("offer-1", receipt("pi_9")), CHARGING).effects == ()
    )


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("45.00", "USD", 4500), ("500", "JPY", 500), ("1.250", "KWD", 1250), ("0.5", "EUR", 50)],
)
def test_minor_units_follow_the_currencys_decimals(amount: str, currency: str, minor: int) -> None:
    assert minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize("text", ["USD:abc", "XYZ:10", "USD:-5", "USD:0"])
def test_a_bad_ceiling_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"USD|XYZ"):
        parse_max_amounts(text)


# The property: whatever arrives, in whatever order, the machine charges only on Pay and
# says paid only on the provider's success.

_KEYS = st.sampled_from(["offer-1", "offer-2", "offer-x"])
_EVENTS: st.SearchStrategy[Event] = st.one_of(
    _KEYS.map(PayPressed),
    _KEYS.map(lambda key: ChargeSucceeded(key, receipt())),
    _KEYS.map(lambda key: ChargeNeedsAuthentication(key, "pi_1", "https://bank.test/3ds")),
    _KEYS.map(lambda key: ChargeDeclined(key, "declined", "pi_1")),
    _KEYS.map(lambda key: ChargeNotMade(key, "not made")),
    st.just(CancelRequested()),
    st.just(StatusRequested()),
    st.just(ForgetRequested()),
    st.just(CardSaved(VISA, "cus_1")),
    st.builds(
        UserMessage,
        st.just("pay"),
        st.just(Decision(reply="ok", next_step=NextStep.OFFER_CARD_FORM, slots=INVOICE)),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_EVENTS, st.integers(0, 120), _KEYS), max_size=25))
def test_only_pay_charges_and_only_the_provider_says_paid(
    steps: list[tuple[Event, int, str]],
) -> None:
    current = awaiting_card()
    now = NOW
    for event, wait, new_ref in steps:
        now += wait
        ctx = Context(now=now, ttl_seconds=3600, new_ref=new_ref, charging=ChargePolicy())
        before = current.charge
        out = transition(current, event, ctx)
        if any(isinstance(effect, ChargeCard) for effect in out.effects):
            assert isinstance(event, PayPressed)
            assert before is not None
            assert before.key == event.key
        after = out.session.charge
        newly_paid = (
            after is not None
            and after.status == "succeeded"
            and (before is None or before.status != "succeeded" or before.key != after.key)
        )
        if newly_paid or any(isinstance(effect, SendReceipt) for effect in out.effects):
            assert isinstance(event, ChargeSucceeded)
        if (
            out.session.state is State.COMPLETED
            and after is not None
            and after.status == "succeeded"
        ):
            assert after.intent_id is not None
        current = (
            out.session
            if not isinstance(event, ForgetRequested)
            else Session(tenant_id="T1", user_id="U1")
        )


def test_a_hosted_page_takes_the_known_payment_and_pay_cannot_charge_it() -> None:
    from bot.machine import CheckoutRequested, OpenCheckout

    fresh = Session(tenant_id="T1", user_id="U1")
    out = transition(fresh, CheckoutRequested(INVOICE), CHARGING)
    (opened,) = out.effects
    assert isinstance(opened, OpenCheckout)
    assert opened.charge is not None
    assert (opened.charge.amount, opened.charge.card) == (Decimal("45.00"), None)
    assert transition(out.session, PayPressed(opened.charge.key), CHARGING).effects == (
        Reply(messages.PAY_STALE),
    )
    paid = transition(out.session, ChargeSucceeded(opened.charge.key, receipt()), CHARGING)
    assert paid.session.state is State.COMPLETED
    assert paid.effects == (SendReceipt(receipt()),)


def test_without_the_amount_a_hosted_page_only_saves_the_card() -> None:
    from bot.machine import CheckoutRequested, OpenCheckout

    out = transition(Session(tenant_id="T1", user_id="U1"), CheckoutRequested(), CHARGING)
    (opened,) = out.effects
    assert isinstance(opened, OpenCheckout)
    assert opened.charge is None
