"""The one place conversation logic runs: load, decide, act, save (DESIGN.md, "Architecture").

Surface-agnostic: callers pass a `ChatUser` and text in and render the effects
that come back. Card data enters only through `submit_card` and never leaves this call.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from bot import messages
from bot.cancellation import is_forget
from bot.card_form import CardFormInvalid, validate_card_form
from bot.cards import ScreenedTurn, contains_pan, mask, may_continue_card_data, screen_turn
from bot.charging import ChargePolicy, minor_units
from bot.errors import (
    CardEntryUnavailable,
    CardRejected,
    ChargeUnanswered,
    PaybotError,
    PaymentUnavailable,
    RefundRefused,
    SessionConflict,
)
from bot.limits import DEFAULT_LIMITS, Allowance, Budget, Limits
from bot.machine import (
    CancelRequested,
    CardDeclined,
    CardFormRequested,
    CardNeedsAuthentication,
    CardSaved,
    CardSubmitted,
    ChargeCard,
    ChargeDeclined,
    ChargeNeedsAuthentication,
    ChargeNotMade,
    ChargeSucceeded,
    CheckoutCompleted,
    CheckoutExpired,
    CheckoutOpened,
    CheckoutRequested,
    CloseForm,
    CloseOffers,
    ConfirmCard,
    Context,
    Effect,
    Event,
    ExpireCheckout,
    FieldErrors,
    ForgetRequested,
    ForgetSession,
    HelpRequested,
    OfferCheckout,
    OfferClosed,
    OpenCardForm,
    OpenCheckout,
    Outcome,
    PaymentFailed,
    PayPressed,
    RecordTerms,
    Reply,
    SaveCard,
    SetupFailed,
    SetupSucceeded,
    StatusRequested,
    TermsAccepted,
    TermsDeclined,
    UserMessage,
    offer_stands,
    takes_offers,
    transition,
)
from bot.metrics import NO_METRICS, Metrics, decline_code
from bot.models import (
    MAX_OFFER_POSTS,
    MAX_TURN_CHARS,
    REFERENCE_PATTERN,
    AuditAction,
    AuditRecord,
    CardSetup,
    Charge,
    ChargeResult,
    ChatUser,
    ReplyAddress,
    Session,
    Slots,
    Terms,
    Turn,
)
from bot.money import format_amount, within_limits
from bot.ports import (
    AuditLog,
    DialogueEngine,
    HostedCheckout,
    PaymentCharger,
    PaymentGateway,
    RateLimiter,
    SessionStore,
)

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
        limiter: RateLimiter | None = None,
        limits: Limits = DEFAULT_LIMITS,
        terms: Terms | None = None,
        charger: PaymentCharger | None = None,
        charging: ChargePolicy | None = None,
        audit: AuditLog | None = None,
        admins: frozenset[str] = frozenset(),
        metrics: Metrics = NO_METRICS,
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
        self._limiter = limiter
        self._limits = limits
        self._terms = terms
        self._charger = charger
        self._charging = charging
        self._audit = audit
        self._admins = admins
        self._metrics = metrics
        self._ttl = ttl_seconds
        self._clock = clock
        self._new_ref = new_ref
        self._saved: dict[str, Session] = {}
        """The sessions this process wrote last, by person: the write that tracks the offer
        a turn just posted starts from it instead of reading the store again (a stale
        copy only costs a refused conditional write, then a read)."""
        self._saved_lock = threading.Lock()

    def message(
        self,
        user: ChatUser,
        text: str,
        *,
        reply_to: ReplyAddress | None = None,
        return_url: str = "",
    ) -> tuple[Effect, ...]:
        """A DM from the user; card data in it, or completed by it, is removed before use.

        `reply_to`: where the person's chat is, on surfaces that need it to reach them later.
        `return_url`: where the hosted card page sends the person back, when one is offered.
        """
        effects = self._answer(user, text, reply_to)
        return self._with_page(user, effects, return_url=return_url, reply_to=reply_to)

    def _answer(
        self, user: ChatUser, text: str, reply_to: ReplyAddress | None
    ) -> tuple[Effect, ...]:
        current, screened = self._screened(user, text)
        # Card data was looked for in the whole text; the rest of the turn reads at most
        # MAX_TURN_CHARS of it (what the history keeps, and what the engines may cost).
        said = screened.text[:MAX_TURN_CHARS]
        if is_forget(said):  # asked in so many words: as `/pay forget`, never the model's call
            return self._run(user, ForgetRequested(), first=current).effects
        # One engine call per turn: on a write conflict the machine re-decides
        # against the fresh session, but the engine's proposal is reused.
        engine = self._quick_engine if screened.removed else self._engine
        if engine is self._engine and self._limits.turns is not None:
            refused = self._over_budget(user, "turns", self._limits.turns, fail_closed=False)
            if refused is not None:  # nothing reaches the model
                return (Reply(refused),)
        self._metrics.count("Turns", dimension=user.surface)
        decision = engine.respond(current, said)
        event = UserMessage(said, decision, pan_removed=screened.removed, reply_to=reply_to)
        return self._run(user, event, first=current).effects

    def _with_page(
        self,
        user: ChatUser,
        effects: tuple[Effect, ...],
        *,
        return_url: str,
        reply_to: ReplyAddress | None,
    ) -> tuple[Effect, ...]:
        """`effects`, a card-entry offer made one step on the hosted page: its link itself.

        With CARD_ENTRY=hosted the page is opened as the offer is made, and the offer's
        words lead the message with the page's link; when no page can be made (a limit,
        the terms first, Stripe down), the words come without a button, then the reason.
        Without a `return_url` (Stripe's page needs one) the offer keeps its button, which
        makes the page when pressed.
        """
        offer = next((e for e in effects if isinstance(e, Reply) and e.offer_card_form), None)
        hosted = self._card_entry == "hosted" and self._hosted is not None
        if offer is None or not hosted or not return_url:
            return effects
        page = self.open_checkout(user, return_url=return_url, reply_to=reply_to)
        link = next((e for e in page if isinstance(e, OfferCheckout)), None)
        instead = (
            (dataclasses.replace(link, lead=offer.text),)
            if link is not None
            else (Reply(offer.text), *page)
        )
        others = tuple(e for e in page if e is not link) if link is not None else ()
        done: list[Effect] = []
        for effect in effects:
            done.extend(instead if effect is offer else (effect,))
        return (*done, *others)

    def current(self, user: ChatUser) -> Session | None:
        """The person's conversation as stored, if any (reads, never writes)."""
        return self._store.get(user)

    def offer_stands(self, user: ChatUser, post: str) -> bool:
        """Whether a press on the offer posted as `post` may still act (reads, never writes)."""
        found = self._store.get(user)
        return found is not None and offer_stands(found, post)

    def offers_posted(self, user: ChatUser, posts: Sequence[str]) -> CloseOffers | None:
        """Track `posts` as the conversation's live offers, in place of the ones before.

        Returns what the surface should close in place: the offers they replace; or the
        posts themselves when the conversation ended while they were being posted (a
        cancel pressed at once, forgotten, expired), so that none of them stays live.
        """
        tracked = tuple(posts)[-MAX_OFFER_POSTS:]
        current = self._saved.get(user.key)  # as this turn wrote it: no read, mostly
        for _ in range(MAX_CONFLICT_RETRIES):
            current = current or self._store.get(user)
            if current is None or not takes_offers(current):
                return CloseOffers(tuple(posts), "closed")
            if current.offer_posts == tracked:
                return None
            try:
                self._remember(
                    self._store.save(
                        current.evolve(offer_posts=tracked), expected_version=current.version
                    )
                )
            except SessionConflict:
                current = None
                continue
            replaced = tuple(post for post in current.offer_posts if post not in tracked)
            return CloseOffers(replaced, "superseded") if replaced else None
        raise SessionConflict(f"gave up after {MAX_CONFLICT_RETRIES} conflicting writes")

    def holds_card_data(self, user: ChatUser, text: str) -> bool:
        """Whether `message` would remove card data from this DM; reads, never writes.

        The session is read only when the text alone cannot tell (see
        `cards.may_continue_card_data`), so most DMs cost no read here.
        """
        if contains_pan(text):
            return True
        if not may_continue_card_data(text):
            return False
        found = self._store.get(user)
        return screen_turn(text, _user_turns(found) if found else ()).removed

    def _screened(self, user: ChatUser, text: str) -> tuple[Session, ScreenedTurn]:
        """The session, and the DM read with the person's recent turns (cards.screen_turn).

        When the DM completes a card number begun earlier, the earlier turns lose their
        part of it in the store first, so that no later write (a retry after a conflict
        included) can start from the history that still held it.
        """
        current = self._load(user)
        for _ in range(MAX_CONFLICT_RETRIES):
            screened = screen_turn(text, _user_turns(current))
            if screened.earlier == _user_turns(current):
                return current, screened
            try:
                scrubbed = _with_user_turns(current, screened.earlier)
                return self._store.save(scrubbed, expected_version=current.version), screened
            except SessionConflict:
                current = self._load(user)
        raise SessionConflict(f"gave up after {MAX_CONFLICT_RETRIES} conflicting writes")

    def request_card(
        self,
        user: ChatUser,
        slots: Slots | None = None,
        *,
        return_url: str = "",
        post: str | None = None,
        show: Callable[[OpenCardForm], bool] | None = None,
    ) -> tuple[Effect, ...]:
        """Offer the card entry this deployment uses: the modal, or the hosted page.

        `post` and `show`: as for `open_form`.
        """
        if self._card_entry != "hosted":
            return self.open_form(user, slots, post=post, show=show)
        if self._hosted is None:
            return self._hosted_unavailable()
        if post is not None and not self.offer_stands(user, post):
            return (OfferClosed(post),)
        return self.open_checkout(user, slots, return_url=return_url)

    def open_checkout(
        self,
        user: ChatUser,
        slots: Slots | None = None,
        *,
        return_url: str,
        reply_to: ReplyAddress | None = None,
    ) -> tuple[Effect, ...]:
        """Open a provider-hosted card page and offer its link."""
        if self._hosted is None:
            return self._hosted_unavailable()
        refused = self._over_budget(user, "pages", self._limits.pages, fail_closed=True)
        if refused is not None:  # no page is made
            return (Reply(refused),)
        claimed = self._run(user, CheckoutRequested(slots or Slots(), reply_to))
        request = next((e for e in claimed.effects if isinstance(e, OpenCheckout)), None)
        if request is None:
            return claimed.effects
        try:
            link = self._hosted.open(
                user=user,
                customer_id=claimed.session.customer_id,
                reference=request.form_ref,
                return_url=return_url,
                idempotency_key=request.idempotency_key,
                charge=request.charge,
            )
        except PaymentUnavailable as exc:
            self._metrics.count("ProviderErrors", dimension="stripe")
            return (Reply(exc.user_message),)
        opened = CheckoutOpened(link, request.form_ref, claimed.session.attempt)
        try:
            return self._run(user, opened).effects
        except PaybotError:
            self._hosted.expire(link.checkout_id)  # a page no session tracks must not stay open
            raise

    def checkout_event(self, checkout_id: str) -> tuple[ChatUser | None, tuple[Effect, ...]]:
        """A hosted page changed: re-read it from the provider and act. Returns (user, effects)."""
        assert self._hosted is not None
        outcome = self._hosted.outcome(checkout_id)
        if outcome.status == "complete" and outcome.intent_id is not None:
            # A payment page: the PaymentIntent, re-read, says whether it is paid.
            return self.charge_event(outcome.intent_id)
        event: Event
        if outcome.status == "complete" and outcome.payment is not None:
            event = CheckoutCompleted(checkout_id, outcome.reference, outcome.payment)
        elif outcome.status == "expired":
            event = CheckoutExpired(checkout_id)
        else:
            return outcome.user, ()
        if outcome.user is None:
            log.warning("checkout page without paybot's ids on its customer; ignored")
            return None, ()
        return outcome.user, self._run(outcome.user, event).effects

    def open_form(
        self,
        user: ChatUser,
        slots: Slots | None = None,
        *,
        post: str | None = None,
        show: Callable[[OpenCardForm], bool] | None = None,
    ) -> tuple[Effect, ...]:
        """Open the card modal, unless this deployment takes cards on the hosted page only.

        `post`: the offer whose button was pressed; a press on an ended offer opens nothing
        (`OfferClosed`). `show`: opens the modal on the surface, False when it could not.
        Given, the modal opens right after the one read, before the session is written:
        a modal's trigger lasts 3 seconds, and the write need not come first. When `show`
        fails nothing is written and nothing returned.
        """
        if self._card_entry == "hosted":
            return self._hosted_unavailable()
        event = CardFormRequested(slots or Slots())
        current = self._load(user)
        if post is not None and not offer_stands(current, post):
            return (OfferClosed(post),)
        if show is None:
            return self._run(user, event, first=current).effects
        ctx = self._context()  # the write below decides with the same form ref
        decided = transition(current, event, ctx).effects
        form = next((e for e in decided if isinstance(e, OpenCardForm)), None)
        if form is None:  # the terms first, a card being saved: nothing to open
            return self._run(user, event, first=current).effects
        if not show(form):
            return ()
        return self._run(user, event, first=current, ctx=ctx).effects

    def cancel(self, user: ChatUser, *, post: str | None = None) -> tuple[Effect, ...]:
        return self._pressed(user, post, CancelRequested())

    def _pressed(self, user: ChatUser, post: str | None, event: Event) -> tuple[Effect, ...]:
        """`event`, from a press on the offer `post` (None: not a press): nothing but
        `OfferClosed` when that offer ended. One read serves the check and the event."""
        current = self._load(user)
        if post is not None and not offer_stands(current, post):
            return (OfferClosed(post),)
        return self._run(user, event, first=current).effects

    def status(self, user: ChatUser) -> tuple[Effect, ...]:
        """Where the person's payment stands; a charge still awaiting an answer is re-read
        from the provider first (the webhook may have been missed), and its outcome said."""
        current = self._load(user)
        charge = current.charge
        if charge is None or not charge.intent_id or charge.status not in _AWAITED:
            return transition(current, StatusRequested(), self._context()).effects
        settled: tuple[Effect, ...] = ()
        try:
            _, settled = self.charge_event(charge.intent_id)
        except PaybotError as exc:
            log.warning("could not re-read a charge: %s", type(exc).__name__)
        return (*settled, *self._peek(user, StatusRequested()))

    def pay(
        self, user: ChatUser, key: str, *, return_url: str = "", post: str | None = None
    ) -> tuple[Effect, ...]:
        """The person pressed Pay on offer `key` (posted as `post`): claim it, then charge
        it once."""
        current = self._load(user)
        if post is not None and not offer_stands(current, post):
            return (OfferClosed(post),)
        claimed = self._run(user, PayPressed(key), first=current)
        request = next((e for e in claimed.effects if isinstance(e, ChargeCard)), None)
        if request is None:  # an old offer, a second press, a charge in progress
            return claimed.effects
        charge, session = request.charge, claimed.session
        refused = self._over_budget(user, "charges", self._limits.charges, fail_closed=True)
        if refused is None and (self._charger is None or session.customer_id is None):
            log.error("PAYMENT_MODE=charge without a payment provider or a customer")
            refused = messages.CHARGE_NOT_MADE
        if refused is None and not self._audited(
            _offer_record("charge_attempted", _offer_fact(charge), charge, user, actor=str(user))
        ):
            refused = messages.LIMITS_UNAVAILABLE["charges"]  # no charge without its record
        if refused is not None:
            return self._run(user, ChargeNotMade(charge.key, refused)).effects
        assert self._charger is not None
        assert session.customer_id is not None
        event: Event
        try:
            result = self._charger.charge(
                charge,
                user=user,
                customer_id=session.customer_id,
                return_url=return_url,
                idempotency_key=request.idempotency_key,
            )
        except PaymentUnavailable as exc:
            self._metrics.count("ProviderErrors", dimension="stripe")
            unanswered = isinstance(exc, ChargeUnanswered)
            detail = "unanswered" if unanswered else "refused"
            self._audited(
                _offer_record(
                    "charge_failed",
                    f"{_offer_fact(charge)}:{detail}",
                    charge,
                    user,
                    actor="stripe",
                    detail=detail,
                )
            )
            text = messages.CHARGE_UNANSWERED if unanswered else messages.CHARGE_NOT_MADE
            event = ChargeNotMade(charge.key, text)
        else:
            answer = self._charge_answer(result, charge.key)
            if answer is None:  # with the provider still: its webhook settles it
                return (Reply(messages.CHARGE_IN_PROGRESS),)
            event = answer
        return self._run(user, event).effects

    def payments(self, user: ChatUser) -> tuple[Effect, ...]:
        """`pay payments`: the person's own last 10 payments, as the provider lists them."""
        if self._charger is None:
            return (Reply(messages.PAYMENTS_OFF),)
        try:
            paid = self._charger.paid_by(user, limit=PAYMENTS_LISTED)
        except PaymentUnavailable as exc:
            return (Reply(exc.user_message),)
        if not paid:
            return (Reply(messages.NO_PAYMENTS),)
        rows = [
            (
                messages.day(payment.paid_at or 0),
                format_amount(payment.amount, payment.currency),
                payment.reference or "-",
                payment.intent_id,
            )
            for payment in paid
        ]
        return (Reply(messages.payments_list(rows)),)

    def refund(
        self, admin: ChatUser, target: str, amount_text: str = ""
    ) -> tuple[str, ChatUser | None, tuple[Effect, ...]]:
        """`pay refund <payment id or reference> [amount]` from `admin`: refund a paid
        payment in their workspace, wholly or in part. Returns (the admin's answer, the
        payer, what the payer is told). Every refused and made refund is audited."""
        if not self._may_refund(admin):
            self._audited(
                AuditRecord(
                    id=f"refund_refused:{self._new_ref()}",
                    at=0,
                    action="refund_refused",
                    actor=str(admin),
                    payer="",
                    detail="not_an_admin",
                )
            )
            return messages.REFUND_NOT_ALLOWED, None, ()
        amount = _refund_amount(amount_text)
        if (amount_text and amount is None) or not _REFERENCE_OR_ID.match(target):
            return messages.REFUND_USAGE, None, ()
        paid = self._refundable(admin, target)
        if isinstance(paid, str):
            return paid, None, ()
        assert paid.user is not None
        left = paid.amount - paid.refunded
        if amount is not None and (amount > left or not within_limits(amount, paid.currency)):
            shown = format_amount(paid.amount, paid.currency)
            return messages.refund_too_much(shown, format_amount(left, paid.currency)), None, ()
        assert self._charger is not None
        asked = amount if amount is not None else left
        key = (
            f"paybot-refund-{paid.intent_id}-{minor_units(asked, paid.currency)}"
            f"-{minor_units(paid.refunded, paid.currency)}"
        )
        try:
            made = self._charger.refund(
                paid.intent_id,
                amount=amount,
                currency=paid.currency,
                by=admin,
                idempotency_key=key,
            )
        except RefundRefused as exc:
            return f"Stripe refused the refund: {exc.user_message} Nothing was refunded.", None, ()
        action: AuditAction = "refund_created" if made.status != "failed" else "refund_failed"
        self._audited(
            _payment_record(
                action,
                made.refund_id,
                paid,
                actor=str(admin),
                amount=made.amount,
                refund_id=made.refund_id,
            )
        )
        shown = format_amount(made.amount, made.currency)
        reference = paid.reference or paid.intent_id
        card = mask(paid.brand or "card", paid.last4 or "0000")
        notice = (Reply(messages.refund_notice(shown, reference, card)),)
        answer = messages.refund_made(shown, reference, paid.intent_id, made.refund_id)
        return answer, paid.user, notice

    def refund_event(self, charge_id: str) -> tuple[ChatUser | None, tuple[Effect, ...]]:
        """Stripe reports a charge refunded (`charge.refunded`): audit it, tell the payer."""
        if self._charger is None:
            return None, ()
        paid = self._charger.refunded_charge(charge_id)
        if paid.user is None:
            log.warning("refund of a payment without paybot's ids in its metadata; ignored")
            return None, ()
        refunded = format_amount(paid.refunded, paid.currency)
        fact = f"{charge_id}:{minor_units(paid.refunded, paid.currency)}"
        self._audited(_payment_record("refund_succeeded", fact, paid, amount=paid.refunded))
        card = mask(paid.brand or "card", paid.last4 or "0000")
        text = messages.refund_confirmed(refunded, paid.reference or paid.intent_id, card)
        return paid.user, (Reply(text),)

    def _may_refund(self, user: ChatUser) -> bool:
        return user.surface == "slack" and user.user_id in self._admins

    def _refundable(self, admin: ChatUser, target: str) -> ChargeResult | str:
        """The paid payment `target` names in `admin`'s workspace, or what to answer."""
        if self._charger is None:
            return messages.CHARGE_NOT_MADE
        try:
            if target.startswith("pi_"):
                found = [self._charger.charge_outcome(target)]
            else:
                found = self._charger.paid_for(target, user=admin)
        except PaymentUnavailable as exc:
            return exc.user_message
        ours = [
            paid
            for paid in found
            if paid.status == "succeeded"
            and paid.user is not None
            and paid.user.scope == admin.scope
        ]
        if not ours:
            return messages.refund_not_found(target)
        if len(ours) > 1:
            return messages.refund_ambiguous(target)
        return ours[0]

    def charge_event(self, intent_id: str) -> tuple[ChatUser | None, tuple[Effect, ...]]:
        """A charge changed (a webhook, the return from the bank's page, a re-read): read
        it from the provider, the only truth, and act. Returns (user, effects)."""
        if self._charger is None:
            log.warning("a charge event arrived while PAYMENT_MODE=save; ignored")
            return None, ()
        result = self._charger.charge_outcome(intent_id)
        if result.user is None or result.key is None:
            log.warning("payment without paybot's ids in its metadata; ignored")
            return None, ()
        event = self._charge_answer(result, result.key)
        if event is None:
            return result.user, ()
        return result.user, self._run(result.user, event).effects

    def _charge_answer(self, result: ChargeResult, key: str) -> Event | None:
        """The provider's answer to a charge as the machine's event; recorded in the audit
        trail (once per fact). None while the provider has no final word."""
        action: AuditAction
        event: Event
        if result.status == "succeeded":
            receipt = result.receipt()
            if receipt is None:
                raise PaymentUnavailable("stripe: a succeeded payment without its details")
            action, event = "charge_succeeded", ChargeSucceeded(key, receipt)
        elif result.status == "requires_action" and result.authenticate_url:
            action = "charge_requires_action"
            event = ChargeNeedsAuthentication(key, result.intent_id, result.authenticate_url)
        elif result.status == "declined":
            self._metrics.count("CardDeclines", dimension=decline_code(result.code))
            message = _decline_message(result)
            action, event = "charge_failed", ChargeDeclined(key, message, result.intent_id or None)
        else:
            return None
        failed = action == "charge_failed"
        fact = (result.intent_id or key) + (f":{result.code}" if failed else "")
        detail = result.code if failed else None
        self._audited(_payment_record(action, fact, result, detail=detail))
        return event

    def _audited(self, record: AuditRecord) -> bool:
        """Append `record`, stamped with the time now, to the audit trail; False only when
        the trail cannot be written (a record already there is the same fact: True)."""
        if self._audit is None:
            return True
        try:
            self._audit.append(record.model_copy(update={"at": int(self._clock())}))
        except PaybotError as exc:
            log.error(
                "audit trail unavailable (%s); %s not recorded", type(exc).__name__, record.action
            )
            return False
        return True

    def help(self, user: ChatUser) -> tuple[Effect, ...]:
        return self._peek(user, HelpRequested())

    def forget(self, user: ChatUser) -> tuple[Effect, ...]:
        return self._run(user, ForgetRequested()).effects

    def accept_terms(self, user: ChatUser, *, post: str | None = None) -> tuple[Effect, ...]:
        """The person accepted the terms: kept until they are forgotten; card entry offered."""
        return self._pressed(user, post, TermsAccepted())

    def decline_terms(self, user: ChatUser, *, post: str | None = None) -> tuple[Effect, ...]:
        return self._pressed(user, post, TermsDeclined())

    def submit_card(
        self,
        user: ChatUser,
        form_ref: str,
        *,
        name: str,
        number: str,
        expiry: str,
        cvc: str,
        return_url: str = "",
    ) -> tuple[Effect, ...]:
        """The card modal was submitted: validate, claim, save with the provider, record."""
        if self._card_entry == "hosted":
            # A form opened before the deployment changed: its card is never sent anywhere.
            log.error("a card form was submitted while CARD_ENTRY=hosted; refused")
            return (CloseForm(messages.CARD_ENTRY_UNAVAILABLE),)
        try:
            card = validate_card_form(
                name=name, number=number, expiry=expiry, cvc=cvc, now=self._now_utc()
            )
        except CardFormInvalid as exc:
            return (FieldErrors(exc.errors),)
        claimed = self._run(user, CardSubmitted(form_ref))
        save = next((e for e in claimed.effects if isinstance(e, SaveCard)), None)
        if save is None:  # a stale form, a duplicate: answered without a card leaving
            return claimed.effects
        paused = self._card_paused(user)  # only a submission that would reach the provider
        if paused is not None:
            return self._record(user, PaymentFailed(paused), claimed.session)
        result: Event
        try:
            setup = self._gateway.save_card(
                card,
                user=user,
                customer_id=claimed.session.customer_id,
                return_url=return_url,
                idempotency_key=save.idempotency_key,
            )
            result = _saved_or_waiting(setup)
        except CardRejected as exc:
            result = CardDeclined(_FORM_FIELD.get(exc.field, "number"), exc.user_message)
            self._metrics.count("CardDeclines", dimension=decline_code(exc.code))
            self._count_decline(user)
        except CardEntryUnavailable as exc:
            if self._hosted is not None:
                return self._hosted_instead(user, claimed.session, return_url)
            result = PaymentFailed(exc.user_message)
        except PaymentUnavailable as exc:
            self._metrics.count("ProviderErrors", dimension="stripe")
            result = PaymentFailed(exc.user_message)
        return self._record(user, result, claimed.session)

    def _card_paused(self, user: ChatUser) -> str | None:
        """Why card entry is paused for `user` (too many cards tried), or None to go on."""
        return self._over_budget(user, "cards", self._limits.cards, fail_closed=True)

    def _over_budget(
        self, user: ChatUser, budget: Budget, allowance: Allowance, *, fail_closed: bool
    ) -> str | None:
        """Take one from `user`'s and their workspace's `budget`: None if both allow it,
        else what to tell the person. When the buckets cannot be read, `fail_closed`
        refuses the request; otherwise it goes on. Either way the outage is logged.
        """
        if self._limiter is None:
            return None
        buckets = (
            ("person", f"{budget}#{user.key}", allowance.per_person),
            ("workspace", f"{budget}#{user.surface}#{user.scope}", allowance.per_workspace),
        )
        try:
            for whose, key, rate in buckets:
                taken = self._limiter.take(key, rate)
                if not taken.allowed:
                    log.warning("%s over the %s limit; refused", budget, whose)
                    self._metrics.count("RateLimited", dimension=budget)
                    return messages.over_limit(budget, taken.retry_after)
        except PaybotError as exc:
            verdict = "refused" if fail_closed else "allowed"
            log.error("rate limits unavailable (%s); %s %s", type(exc).__name__, budget, verdict)
            return messages.LIMITS_UNAVAILABLE[budget] if fail_closed else None
        return None

    def _count_decline(self, user: ChatUser) -> None:
        """A declined card costs its person one more card: card testing is mostly declines."""
        if self._limiter is None:
            return
        try:
            self._limiter.take(f"cards#{user.key}", self._limits.cards.per_person)
        except PaybotError as exc:
            log.warning("could not count a decline against its limit: %s", type(exc).__name__)

    def _hosted_instead(
        self, user: ChatUser, claimed: Session, return_url: str
    ) -> tuple[Effect, ...]:
        """This Stripe account refuses raw card numbers: offer its own page instead."""
        failed = PaymentFailed(messages.HOSTED_INSTEAD)
        try:
            self._run(user, failed, first=claimed, recreate=False)
        except _SessionGone:
            return (CloseForm(messages.SUBMISSION_ENDED),)
        offer = self.open_checkout(user, return_url=return_url)
        return (CloseForm(messages.HOSTED_INSTEAD), *offer)

    def setup_event(self, setup_id: str) -> tuple[ChatUser | None, tuple[Effect, ...]]:
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
            return outcome.user, ()
        if outcome.user is None:
            log.warning("card setup without paybot's ids on its customer; ignored")
            return None, ()
        return outcome.user, self._run(outcome.user, event).effects

    def _record(self, user: ChatUser, result: Event, claimed: Session) -> tuple[Effect, ...]:
        """Save what the payment service answered, starting from the session we just wrote."""
        try:
            return self._run(user, result, first=claimed, recreate=False).effects
        except _SessionGone:
            # Forgotten (or expired) while the provider answered: never write it back.
            log.info("a card submission ended after its session was deleted; not recorded")
            if isinstance(result, CardSaved):
                self._metrics.count("CardsSaved", dimension=user.surface)
                return (ConfirmCard(result.payment), Reply(messages.SAVED_NOT_RECORDED))
            return (CloseForm(messages.SUBMISSION_ENDED),)
        except PaybotError:
            if not isinstance(result, CardSaved):
                raise
            # Stripe saved the card but we could not record it: still tell the truth. The
            # claim stays pending until it goes stale; the user sees the card as saved.
            log.error("a saved card could not be recorded in the session store")
            self._metrics.count("CardsSaved", dimension=user.surface)
            return (ConfirmCard(result.payment),)

    def _hosted_unavailable(self) -> tuple[Effect, ...]:
        # Never the modal instead: a hosted deployment promised card numbers never reach us.
        log.error(
            "CARD_ENTRY=hosted but Stripe's hosted page is not configured; card entry refused"
        )
        return (Reply(messages.CARD_ENTRY_UNAVAILABLE),)

    def _carry_out(self, outcome: Outcome, session: Session) -> Outcome:
        """Do what `outcome` asks of the service itself (close hosted pages, keep an
        acceptance of the terms); the edge never sees those effects."""
        kept = []
        for effect in outcome.effects:
            if isinstance(effect, OpenCardForm | OfferCheckout):
                self._metrics.count("CardFormsOpened", dimension=session.surface)
            elif isinstance(effect, ConfirmCard):
                self._metrics.count("CardsSaved", dimension=session.surface)
            if isinstance(effect, RecordTerms):
                self._store.put_terms(session.user, effect.acceptance)
            elif not isinstance(effect, ExpireCheckout):
                kept.append(effect)
            elif self._hosted is not None:
                self._hosted.expire(effect.checkout_id)
        return Outcome(session, tuple(kept))

    def _remember(self, saved: Session) -> Session:
        with self._saved_lock:
            self._saved.pop(saved.user.key, None)
            self._saved[saved.user.key] = saved
            while len(self._saved) > REMEMBERED_SESSIONS:
                del self._saved[next(iter(self._saved))]  # the oldest first
        return saved

    def _load(self, user: ChatUser) -> Session:
        found = self._store.get(user)
        if found is not None:
            return found
        fresh = Session.new(user)
        if self._terms is None:
            return fresh
        # The session expired (or never was), but an acceptance of the terms outlives it.
        return fresh.evolve(terms=self._store.get_terms(user))

    def reply_address(self, user: ChatUser) -> ReplyAddress | None:
        """Where `user`'s chat is, as their surface last gave it; None if never given."""
        found = self._store.get(user)
        return found.reply_to if found else None

    def _context(self) -> Context:
        return Context(
            now=int(self._clock()),
            ttl_seconds=self._ttl,
            new_ref=self._new_ref(),
            terms=self._terms,
            charging=self._charging,
        )

    def _now_utc(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    def _peek(self, user: ChatUser, event: Event) -> tuple[Effect, ...]:
        """Answer a read-only event without writing (no session is created for it)."""
        return transition(self._load(user), event, self._context()).effects

    def _run(
        self,
        user: ChatUser,
        event: Event,
        *,
        first: Session | None = None,
        recreate: bool = True,
        ctx: Context | None = None,
    ) -> Outcome:
        """Decide and write `event` from `first` (or the stored session), re-reading on conflicts.

        With `recreate=False`, a session deleted since `first` was read is not written
        back (a fresh one would start at a lower version): `_SessionGone` is raised instead.
        `ctx`: decide in this context (its time and fresh ref) on every try.
        """
        current = first or self._load(user)
        for _ in range(MAX_CONFLICT_RETRIES):
            outcome = transition(current, event, ctx or self._context())
            if any(isinstance(effect, ForgetSession) for effect in outcome.effects):
                self._store.delete(user)
                with self._saved_lock:
                    self._saved.pop(user.key, None)
                return self._carry_out(outcome, outcome.session)
            if outcome.session.evolve(expires_at=current.expires_at) == current:
                # Nothing changed but the expiry: no write, no contention.
                return self._carry_out(outcome, outcome.session)
            try:
                saved = self._remember(
                    self._store.save(outcome.session, expected_version=current.version)
                )
            except SessionConflict:
                log.info("session write conflict on %s; re-reading", type(event).__name__)
                current = self._load(user)
                if not recreate and first is not None and current.version < first.version:
                    raise _SessionGone() from None
                continue
            return self._carry_out(outcome, saved)
        raise SessionConflict(f"gave up after {MAX_CONFLICT_RETRIES} conflicting writes")


REMEMBERED_SESSIONS = 256
"""How many people's last-written sessions a process keeps (`ConversationService._saved`)."""

PAYMENTS_LISTED = 10
"""How many of a person's payments `pay payments` lists."""

_AWAITED = frozenset({"charging", "requires_action"})
"""Charge statuses whose outcome the provider has yet to tell us."""


def _offer_record(
    action: AuditAction,
    fact: str,
    charge: Charge,
    payer: ChatUser,
    *,
    actor: str,
    detail: str | None = None,
) -> AuditRecord:
    """A record of what became of the offer `charge` before the provider charged anything
    (its attempt, a request that failed); `at` is stamped when it is appended."""
    return AuditRecord(
        id=f"{action}:{fact}",
        at=0,
        action=action,
        actor=actor,
        payer=str(payer),
        amount=charge.amount,
        currency=charge.currency,
        reference=charge.reference,
        brand=charge.card.brand if charge.card else None,
        last4=charge.card.last4 if charge.card else None,
        detail=detail,
    )


def _payment_record(
    action: AuditAction,
    fact: str,
    paid: ChargeResult,
    *,
    actor: str = "stripe",
    amount: Decimal | None = None,
    refund_id: str | None = None,
    detail: str | None = None,
) -> AuditRecord:
    """A record of a payment as the provider tells it (`amount`: of a refund, if one);
    `at` is stamped when it is appended."""
    return AuditRecord(
        id=f"{action}:{fact}",
        at=0,
        action=action,
        actor=actor,
        payer=str(paid.user) if paid.user else "",
        amount=paid.amount if amount is None else amount,
        currency=paid.currency,
        reference=paid.reference,
        intent_id=paid.intent_id or None,
        refund_id=refund_id,
        brand=paid.brand,
        last4=paid.last4,
        detail=detail,
    )


_REFERENCE_OR_ID = re.compile(REFERENCE_PATTERN)


def _refund_amount(text: str) -> Decimal | None:
    """`10`, `10.00`, `$10.00` as an amount above zero; None when absent or not one."""
    cleaned = text.strip().lstrip("$€£¥")
    try:
        amount = Decimal(cleaned) if cleaned else None
    except ArithmeticError:
        return None
    return amount if amount is not None and amount.is_finite() and amount > 0 else None


def _offer_fact(charge: Charge) -> str:
    """An offer's attempt as an audit record's id names it: no platform id (a Teams GUID's
    digits can read as a card number), nothing a person typed but the reference."""
    return f"{charge.reference}:{charge.attempt}:{charge.key}"


def _decline_message(result: ChargeResult) -> str:
    if result.code == "payment_intent_authentication_failure":
        return messages.AUTHENTICATE_PAYMENT_FAILED
    return result.message or messages.CHARGE_DECLINED


class _SessionGone(Exception):
    """The session a card submission claimed was deleted before its answer was recorded."""


def _saved_or_waiting(setup: CardSetup) -> Event:
    if setup.payment is not None:
        return CardSaved(setup.payment, setup.customer_id)
    if setup.authenticate_url:
        return CardNeedsAuthentication(setup.setup_id, setup.customer_id, setup.authenticate_url)
    raise PaymentUnavailable("the payment service answered neither saved nor a next step")


def _user_turns(session: Session) -> tuple[str, ...]:
    return tuple(turn.text for turn in session.history if turn.role == "user")


def _with_user_turns(session: Session, texts: tuple[str, ...]) -> Session:
    """`session` with its user turns' texts replaced, in order; the bot's turns kept."""
    replacements = iter(texts)
    history = tuple(
        Turn(role="user", text=next(replacements)) if turn.role == "user" else turn
        for turn in session.history
    )
    return session.evolve(history=history)
