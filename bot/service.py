"""The one place conversation logic runs: load, decide, act, save (DESIGN.md section 2).

Slack-agnostic: callers pass ids and text in and render the effects that come
back. Card data enters only through `submit_card` and never leaves this call.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import ValidationError

from bot import messages
from bot.card_form import CardFormInvalid, validate_card_form
from bot.cards import REDACTED, contains_pan
from bot.errors import (
    CardEntryUnavailable,
    CardRejected,
    PaybotError,
    PaymentUnavailable,
    SessionConflict,
)
from bot.machine import (
    CancelRequested,
    CardDeclined,
    CardFormRequested,
    CardNeedsAuthentication,
    CardSaved,
    CardSubmitted,
    CheckoutCompleted,
    CheckoutExpired,
    CheckoutOpened,
    CheckoutRequested,
    CloseForm,
    ConfirmCard,
    Context,
    Effect,
    Event,
    ExpireCheckout,
    FieldErrors,
    ForgetRequested,
    ForgetSession,
    HelpRequested,
    OpenCheckout,
    Outcome,
    PaymentFailed,
    Reply,
    SaveCard,
    SetupFailed,
    SetupSucceeded,
    StatusRequested,
    UserMessage,
    transition,
)
from bot.models import CardSetup, Session, Slots
from bot.ports import DialogueEngine, HostedCheckout, PaymentGateway, SessionStore

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 8
"""Optimistic-locking retries per event; each retry re-reads, so progress is guaranteed."""

# Stripe names the expiry month and year separately; our form has one expiry field.
_FORM_FIELD = {"exp_month": "expiry", "exp_year": "expiry", "number": "number", "cvc": "cvc"}


class ConversationService:
    """Runs events for one user through the state machine, with optimistic locking."""

    def __init__(
        self,
        *,
        store: SessionStore,
        engine: DialogueEngine,
        gateway: PaymentGateway,
        hosted: HostedCheckout | None = None,
        card_entry: str = "modal",
        quick_engine: DialogueEngine | None = None,
        ttl_seconds: int = 3600,
        clock: Callable[[], float] = time.time,
        new_ref: Callable[[], str] = lambda: secrets.token_urlsafe(12),
    ) -> None:
        self._store = store
        self._engine = engine
        # Turns that carried a card number are answered inside Slack's 3 s ack
        # (they may never become async work), so they need an engine that is fast.
        self._quick_engine = quick_engine or engine
        self._gateway = gateway
        self._hosted = hosted
        self._card_entry = card_entry
        self._ttl = ttl_seconds
        self._clock = clock
        self._new_ref = new_ref

    def message(self, team_id: str, user_id: str, text: str) -> tuple[Effect, ...]:
        """A DM from the user; any card number in it is removed before anything sees it."""
        pan_removed = contains_pan(text)
        # A message that held a card number may hold its CVC and expiry too: none of it
        # is kept or shown to the engine, only the fact that a number was removed.
        safe_text = REDACTED if pan_removed else text
        current = self._load(team_id, user_id)
        # One engine call per turn: on a write conflict the machine re-decides
        # against the fresh session, but the engine's proposal is reused.
        engine = self._quick_engine if pan_removed else self._engine
        decision = engine.respond(current, safe_text)
        event = UserMessage(safe_text, decision, pan_removed=pan_removed)
        return self._run(team_id, user_id, event, first=current).effects

    def request_card(
        self, team_id: str, user_id: str, slots: Slots | None = None, *, return_url: str = ""
    ) -> tuple[Effect, ...]:
        """Offer the card entry this deployment uses: the modal, or the hosted page."""
        if self._card_entry == "hosted" and self._hosted is not None:
            return self.open_checkout(team_id, user_id, slots, return_url=return_url)
        return self.open_form(team_id, user_id, slots)

    def open_checkout(
        self, team_id: str, user_id: str, slots: Slots | None = None, *, return_url: str
    ) -> tuple[Effect, ...]:
        """Open a provider-hosted card page and offer its link."""
        assert self._hosted is not None
        claimed = self._run(team_id, user_id, CheckoutRequested(slots or Slots()))
        request = next((e for e in claimed.effects if isinstance(e, OpenCheckout)), None)
        if request is None:
            return claimed.effects
        try:
            link = self._hosted.open(
                team_id=team_id,
                user_id=user_id,
                customer_id=claimed.session.customer_id,
                reference=request.form_ref,
                return_url=return_url,
                idempotency_key=request.idempotency_key,
            )
        except PaymentUnavailable as exc:
            return (Reply(exc.user_message),)
        return self._run(team_id, user_id, CheckoutOpened(link)).effects

    def checkout_event(self, checkout_id: str) -> tuple[str, tuple[Effect, ...]]:
        """A hosted page changed: re-read it from the provider and act. Returns (user, effects)."""
        assert self._hosted is not None
        outcome = self._hosted.outcome(checkout_id)
        event: Event
        if outcome.status == "complete" and outcome.payment is not None:
            event = CheckoutCompleted(checkout_id, outcome.reference, outcome.payment)
        elif outcome.status == "expired":
            event = CheckoutExpired(checkout_id)
        else:
            return outcome.user_id, ()
        if not (outcome.team_id and outcome.user_id):
            log.warning("checkout page without Slack ids in its customer; ignored")
            return "", ()
        return outcome.user_id, self._run(outcome.team_id, outcome.user_id, event).effects

    def open_form(
        self, team_id: str, user_id: str, slots: Slots | None = None
    ) -> tuple[Effect, ...]:
        return self._run(team_id, user_id, CardFormRequested(slots or Slots())).effects

    def cancel(self, team_id: str, user_id: str) -> tuple[Effect, ...]:
        return self._run(team_id, user_id, CancelRequested()).effects

    def status(self, team_id: str, user_id: str) -> tuple[Effect, ...]:
        return self._peek(team_id, user_id, StatusRequested())

    def help(self, team_id: str, user_id: str) -> tuple[Effect, ...]:
        return self._peek(team_id, user_id, HelpRequested())

    def forget(self, team_id: str, user_id: str) -> tuple[Effect, ...]:
        return self._run(team_id, user_id, ForgetRequested()).effects

    def submit_card(
        self,
        team_id: str,
        user_id: str,
        form_ref: str,
        *,
        name: str,
        number: str,
        expiry: str,
        cvc: str,
        return_url: str = "",
    ) -> tuple[Effect, ...]:
        """The card modal was submitted: validate, claim, save with the provider, record."""
        try:
            card = validate_card_form(
                name=name, number=number, expiry=expiry, cvc=cvc, now=self._now_utc()
            )
        except CardFormInvalid as exc:
            return (FieldErrors(exc.errors),)
        claimed = self._run(team_id, user_id, CardSubmitted(form_ref))
        save = next((e for e in claimed.effects if isinstance(e, SaveCard)), None)
        if save is None:
            return claimed.effects
        result: Event
        try:
            setup = self._gateway.save_card(
                card,
                team_id=team_id,
                user_id=user_id,
                customer_id=claimed.session.customer_id,
                return_url=return_url,
                idempotency_key=save.idempotency_key,
            )
            result = _saved_or_waiting(setup)
        except CardRejected as exc:
            result = CardDeclined(_FORM_FIELD.get(exc.field, "number"), exc.user_message)
        except CardEntryUnavailable as exc:
            if self._hosted is None:
                return self._run(team_id, user_id, PaymentFailed(exc.user_message)).effects
            # This Stripe account refuses raw card numbers: offer its own page instead.
            self._run(team_id, user_id, PaymentFailed(messages.HOSTED_INSTEAD))
            offer = self.open_checkout(team_id, user_id, return_url=return_url)
            return (CloseForm(messages.HOSTED_INSTEAD), *offer)
        except PaymentUnavailable as exc:
            result = PaymentFailed(exc.user_message)
        return self._record(team_id, user_id, result, claimed.session)

    def setup_event(self, setup_id: str) -> tuple[str, tuple[Effect, ...]]:
        """A card setup changed (the bank's check ended): re-read it and act.

        Returns (user, effects); acting twice on one outcome (the webhook and the
        return page both report it) yields the effects once.
        """
        outcome = self._gateway.setup_outcome(setup_id)
        event: Event
        if outcome.status == "succeeded" and outcome.payment is not None:
            event = SetupSucceeded(setup_id, outcome.payment)
        elif outcome.status == "failed":
            event = SetupFailed(setup_id, outcome.message or messages.BANK_DECLINED)
        else:
            return outcome.user_id, ()
        if not (outcome.team_id and outcome.user_id):
            log.warning("card setup without paybot's ids on its customer; ignored")
            return "", ()
        return outcome.user_id, self._run(outcome.team_id, outcome.user_id, event).effects

    def _record(
        self, team_id: str, user_id: str, result: Event, claimed: Session
    ) -> tuple[Effect, ...]:
        """Save what the payment service answered, starting from the session we just wrote."""
        try:
            return self._run(team_id, user_id, result, first=claimed).effects
        except PaybotError:
            if not isinstance(result, CardSaved):
                raise
            # Stripe saved the card but we could not record it: still tell the truth. The
            # claim stays pending until it goes stale; the user sees the card as saved.
            log.error("a saved card could not be recorded in the session store")
            return (ConfirmCard(result.payment),)

    def _expire_pages(self, outcome: Outcome, session: Session) -> Outcome:
        """Close the hosted pages `outcome` asks to; the edge never sees those effects."""
        kept = []
        for effect in outcome.effects:
            if not isinstance(effect, ExpireCheckout):
                kept.append(effect)
            elif self._hosted is not None:
                self._hosted.expire(effect.checkout_id)
        return Outcome(session, tuple(kept))

    def _load(self, team_id: str, user_id: str) -> Session:
        found = self._store.get(team_id=team_id, user_id=user_id)
        if found is not None:
            return found
        try:
            return Session(team_id=team_id, user_id=user_id)
        except ValidationError:
            raise PaybotError("a request without valid Slack team and user ids") from None

    def _context(self) -> Context:
        return Context(now=int(self._clock()), ttl_seconds=self._ttl, new_ref=self._new_ref())

    def _now_utc(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    def _peek(self, team_id: str, user_id: str, event: Event) -> tuple[Effect, ...]:
        """Answer a read-only event without writing (no session is created for it)."""
        return transition(self._load(team_id, user_id), event, self._context()).effects

    def _run(
        self, team_id: str, user_id: str, event: Event, *, first: Session | None = None
    ) -> Outcome:
        current = first or self._load(team_id, user_id)
        for _ in range(MAX_CONFLICT_RETRIES):
            outcome = transition(current, event, self._context())
            if any(isinstance(effect, ForgetSession) for effect in outcome.effects):
                self._store.delete(team_id=team_id, user_id=user_id)
                return self._expire_pages(outcome, outcome.session)
            if outcome.session.evolve(expires_at=current.expires_at) == current:
                return outcome  # nothing changed but the expiry: no write, no contention
            try:
                saved = self._store.save(outcome.session, expected_version=current.version)
            except SessionConflict:
                log.info("session write conflict on %s; re-reading", type(event).__name__)
                current = self._load(team_id, user_id)
                continue
            return self._expire_pages(outcome, saved)
        raise SessionConflict(f"gave up after {MAX_CONFLICT_RETRIES} conflicting writes")


def _saved_or_waiting(setup: CardSetup) -> Event:
    if setup.payment is not None:
        return CardSaved(setup.payment, setup.customer_id)
    if setup.authenticate_url:
        return CardNeedsAuthentication(setup.setup_id, setup.customer_id, setup.authenticate_url)
    raise PaymentUnavailable("the payment service answered neither saved nor a next step")
