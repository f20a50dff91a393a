"""Card testing: past a person's or a workspace's card budget, no card reaches Stripe."""

from __future__ import annotations

import itertools

import pytest

from bot import messages
from bot.limits import Rate
from bot.machine import CloseForm, ConfirmCard, OpenCardForm
from bot.service import CardLimits, ConversationService
from tests.fakes import (
    VISA,
    FakeClock,
    FakeGateway,
    MemoryLimiter,
    MemoryStore,
    declined,
    slack_user,
)

GOOD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}
LIMITS = CardLimits(per_person=Rate(3, 3600), per_workspace=Rate(20, 3600))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> MemoryLimiter:
    return MemoryLimiter(clock)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def service(clock: FakeClock, limiter: MemoryLimiter, gateway: FakeGateway) -> ConversationService:
    refs = (f"ref-{n}" for n in itertools.count(1))
    return ConversationService(
        store=MemoryStore(clock),
        engine=None,  # type: ignore[arg-type]  # no turn here reaches the engine
        gateway=gateway,
        limiter=limiter,
        card_limits=LIMITS,
        clock=clock,
        new_ref=lambda: next(refs),
    )


def submit(service: ConversationService, user: str = "U1", team: str = "T1") -> tuple[object, ...]:
    person = slack_user(team, user)
    (form,) = service.open_form(person)
    assert isinstance(form, OpenCardForm)
    return service.submit_card(person, form.form_ref, **GOOD)


def test_past_a_persons_budget_the_form_closes_and_stripe_sees_nothing(
    service: ConversationService, gateway: FakeGateway
) -> None:
    for _ in range(3):
        assert submit(service)[0] == ConfirmCard(VISA)

    closed, _ = submit(service)

    assert isinstance(closed, CloseForm)
    assert "card entry is paused" in closed.text
    assert "about 20 minutes" in closed.text  # an hour / 3
    assert len(gateway.keys) == 3


def test_a_declined_card_costs_one_more(service: ConversationService, gateway: FakeGateway) -> None:
    gateway.error = declined("number")
    submit(service)  # 2 of 3 taken
    gateway.error = None
    assert submit(service)[0] == ConfirmCard(VISA)  # 3 of 3

    closed, _ = submit(service)

    assert isinstance(closed, CloseForm)
    assert len(gateway.keys) == 2


def test_the_workspace_ceiling_holds_across_fifty_people(
    service: ConversationService, gateway: FakeGateway
) -> None:
    answers = [submit(service, user=f"U{n:03d}") for n in range(50)]

    saved = [a for a in answers if a[0] == ConfirmCard(VISA)]
    assert len(saved) == 20
    assert len(gateway.keys) == 20
    assert submit(service, user="U1", team="T2")[0] == ConfirmCard(VISA)  # another workspace


def test_the_budget_comes_back_as_the_window_passes(
    service: ConversationService, gateway: FakeGateway, clock: FakeClock
) -> None:
    for _ in range(3):
        submit(service)
    clock.now += 1199
    assert isinstance(submit(service)[0], CloseForm)

    clock.now += 2
    assert submit(service)[0] == ConfirmCard(VISA)
    assert len(gateway.keys) == 4


def test_a_limiter_outage_fails_closed_for_cards(
    service: ConversationService, gateway: FakeGateway, limiter: MemoryLimiter
) -> None:
    limiter.down = True

    closed, _ = submit(service)

    assert closed == CloseForm(messages.LIMITS_UNAVAILABLE)
    assert gateway.keys == []


def test_an_invalid_form_costs_nothing(service: ConversationService) -> None:
    person = slack_user()
    for _ in range(5):
        (form,) = service.open_form(person)
        assert isinstance(form, OpenCardForm)
        service.submit_card(person, form.form_ref, **{**GOOD, "number": "1234"})

    assert submit(service)[0] == ConfirmCard(VISA)
