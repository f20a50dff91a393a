"""Abuse limits: past a budget (cards, card pages, model turns), nothing reaches Stripe or
the model, and the person is told when to try again."""

from __future__ import annotations

import itertools

import pytest

from bot import messages
from bot.limits import Allowance, Limits, Rate
from bot.machine import CloseForm, ConfirmCard, OfferCheckout, OpenCardForm, Reply
from bot.service import ConversationService
from tests.fakes import (
    VISA,
    FakeClock,
    FakeGateway,
    FakeHostedCheckout,
    MemoryLimiter,
    MemoryStore,
    RecordingEngine,
    declined,
    slack_user,
)

GOOD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}
LIMITS = Limits(
    cards=Allowance(per_person=Rate(3, 3600), per_workspace=Rate(20, 3600)),
    pages=Allowance(per_person=Rate(2, 3600), per_workspace=Rate(5, 3600)),
    turns=Allowance(per_person=Rate(4, 3600), per_workspace=Rate(6, 3600)),
)


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
def engine() -> RecordingEngine:
    return RecordingEngine()


def build(
    clock: FakeClock,
    limiter: MemoryLimiter,
    engine: RecordingEngine,
    gateway: FakeGateway,
    *,
    hosted: FakeHostedCheckout | None = None,
    limits: Limits = LIMITS,
) -> ConversationService:
    refs = (f"ref-{n}" for n in itertools.count(1))
    return ConversationService(
        store=MemoryStore(clock),
        engine=engine,
        quick_engine=RecordingEngine(),
        gateway=gateway,
        hosted=hosted,
        limiter=limiter,
        limits=limits,
        clock=clock,
        new_ref=lambda: next(refs),
    )


@pytest.fixture
def service(
    clock: FakeClock, limiter: MemoryLimiter, engine: RecordingEngine, gateway: FakeGateway
) -> ConversationService:
    return build(clock, limiter, engine, gateway)


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

    assert closed == CloseForm(messages.LIMITS_UNAVAILABLE["cards"])
    assert gateway.keys == []


def test_an_invalid_form_costs_nothing(service: ConversationService) -> None:
    person = slack_user()
    for _ in range(5):
        (form,) = service.open_form(person)
        assert isinstance(form, OpenCardForm)
        service.submit_card(person, form.form_ref, **{**GOOD, "number": "1234"})

    assert submit(service)[0] == ConfirmCard(VISA)


def test_past_a_persons_turn_budget_the_model_is_not_asked(
    service: ConversationService, engine: RecordingEngine
) -> None:
    person = slack_user()
    for n in range(4):
        service.message(person, f"pay invoice {n}")

    (refused,) = service.message(person, "are you there?")

    assert isinstance(refused, Reply)
    assert "about 15 minutes" in refused.text  # an hour / 4
    assert engine.seen == [f"pay invoice {n}" for n in range(4)]


def test_the_workspace_turn_ceiling_holds_for_everyone_in_it(
    service: ConversationService, engine: RecordingEngine
) -> None:
    for n in range(10):
        service.message(slack_user("T1", f"U{n}"), "hello")
    service.message(slack_user("T2", "U0"), "hello")

    assert len(engine.seen) == 7  # 6 from T1's budget, then T2's first
    assert "taking a short break" in str(service.message(slack_user("T1", "U99"), "hi"))


def test_a_turn_carrying_a_card_number_costs_no_turn(
    service: ConversationService, engine: RecordingEngine, limiter: MemoryLimiter
) -> None:
    # It is answered by the quick (rule) engine inside the ack: no model call to limit.
    service.message(slack_user(), "my card is 4242 4242 4242 4242")

    assert engine.seen == []
    assert limiter.tats == {}


def test_turns_are_unlimited_when_they_cost_no_model_call(
    clock: FakeClock, limiter: MemoryLimiter, engine: RecordingEngine, gateway: FakeGateway
) -> None:
    service = build(clock, limiter, engine, gateway, limits=Limits(turns=None))
    for _ in range(100):
        service.message(slack_user(), "hello")

    assert len(engine.seen) == 100
    assert limiter.tats == {}


def test_a_limiter_outage_fails_open_for_turns(
    service: ConversationService, engine: RecordingEngine, limiter: MemoryLimiter
) -> None:
    limiter.down = True

    service.message(slack_user(), "pay invoice INV-1")

    assert engine.seen == ["pay invoice INV-1"]


def test_past_a_persons_page_budget_no_page_is_made(
    clock: FakeClock, limiter: MemoryLimiter, engine: RecordingEngine, gateway: FakeGateway
) -> None:
    hosted = FakeHostedCheckout()
    service = build(clock, limiter, engine, gateway, hosted=hosted)
    person = slack_user()
    for _ in range(2):
        offered = service.open_checkout(person, return_url="")
        assert any(isinstance(effect, OfferCheckout) for effect in offered)

    (refused,) = service.open_checkout(person, return_url="")

    assert isinstance(refused, Reply)
    assert "card pages were opened" in refused.text
    assert "about 30 minutes" in refused.text
    assert len(hosted.opened) == 2


def test_a_limiter_outage_fails_closed_for_pages(
    clock: FakeClock, limiter: MemoryLimiter, engine: RecordingEngine, gateway: FakeGateway
) -> None:
    hosted = FakeHostedCheckout()
    service = build(clock, limiter, engine, gateway, hosted=hosted)
    limiter.down = True

    (refused,) = service.open_checkout(slack_user(), return_url="")

    assert refused == Reply(messages.LIMITS_UNAVAILABLE["pages"])
    assert hosted.opened == []


@pytest.mark.parametrize("budget", ["turns", "cards", "pages", "charges"])
def test_every_refusal_says_when_to_try_again(budget: str) -> None:
    assert "about a minute" in messages.over_limit(budget, 1)  # type: ignore[arg-type]
    assert "about 2 minutes" in messages.over_limit(budget, 61)  # type: ignore[arg-type]
