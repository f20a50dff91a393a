"""Which events end the offers a conversation has posted, and which presses still act."""

from __future__ import annotations

import pytest

from bot.machine import (
    CancelRequested,
    CardSaved,
    CardSubmitted,
    CloseOffers,
    Context,
    ForgetRequested,
    StatusRequested,
    UserMessage,
    offer_stands,
    transition,
)
from bot.models import Decision, NextStep, PaymentRecord, Session, Slots, State

CTX = Context(now=1_800_000_000, ttl_seconds=3600, new_ref="ref-new")
VISA = PaymentRecord(
    payment_method_id="pm_123", brand="visa", last4="4242", exp_month=8, exp_year=2030
)
POSTS = ("1700000000x000100/D1/card", "1700000001x000200/D1/card")
"""Two offers as Slack names them, older first."""


def awaiting(**changes: object) -> Session:
    return Session(tenant_id="T1", user_id="U1").evolve(
        state=State.AWAITING_CARD, form_ref="ref-1", card_form_offered=True, **changes
    )


def test_a_saved_card_closes_every_tracked_offer_first() -> None:
    pending = transition(awaiting(offer_posts=POSTS), CardSubmitted("ref-1"), CTX).session
    out = transition(pending, CardSaved(VISA), CTX)
    assert out.effects[0] == CloseOffers(POSTS, "saved")
    assert out.session.offer_posts == ()


def test_cancel_closes_the_offers_as_cancelled() -> None:
    out = transition(awaiting(offer_posts=POSTS), CancelRequested(), CTX)
    assert out.effects[0] == CloseOffers(POSTS, "cancelled")
    assert out.session.offer_posts == ()


def test_forget_closes_the_offers_as_forgotten() -> None:
    out = transition(awaiting(offer_posts=POSTS), ForgetRequested(), CTX)
    assert out.effects[0] == CloseOffers(POSTS, "forgotten")


@pytest.mark.parametrize(
    "event",
    [
        StatusRequested(),
        UserMessage("hi", Decision(reply="Hello", next_step=NextStep.ASK, slots=Slots())),
    ],
)
def test_a_turn_that_ends_nothing_leaves_the_offers_live(event: object) -> None:
    out = transition(awaiting(offer_posts=POSTS), event, CTX)  # type: ignore[arg-type]
    assert not any(isinstance(e, CloseOffers) for e in out.effects)
    assert out.session.offer_posts == POSTS


def test_nothing_to_close_when_no_offer_was_tracked() -> None:
    out = transition(awaiting(), CancelRequested(), CTX)
    assert not any(isinstance(e, CloseOffers) for e in out.effects)


def test_a_tracked_offer_stands_and_an_older_one_is_closed() -> None:
    live = awaiting(offer_posts=POSTS[1:])
    assert offer_stands(live, POSTS[1])
    assert not offer_stands(live, POSTS[0])


def test_the_newest_offer_stands_before_its_tracking_is_written() -> None:
    tracking_the_older = awaiting(offer_posts=POSTS[:1])
    assert offer_stands(tracking_the_older, POSTS[1])


def test_an_untracked_offer_stands_only_while_the_payment_is_under_way() -> None:
    assert offer_stands(awaiting(), POSTS[0])  # posted before offers were tracked
    done = awaiting().evolve(state=State.COMPLETED)
    assert not offer_stands(done, POSTS[0])
    cancelled = transition(awaiting(), CancelRequested(), CTX).session
    assert not offer_stands(cancelled, POSTS[0])


def test_offer_posts_are_platform_ids_never_read_as_card_numbers() -> None:
    # A Slack ts is 16 digits with a dot; some pass the Luhn check.
    luhn_ts = "4242424242.424242/D1/card"
    assert awaiting(offer_posts=(luhn_ts,)).offer_posts == (luhn_ts,)
