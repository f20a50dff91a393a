"""The pure conversation state machine: (session, event) -> (session, effects), no I/O.

Engines (rules or LLM) only propose a `Decision`; this module decides what
happens. It never sees card data: user text arrives redacted, and a card
submission arrives as "the form `ref` was submitted", not as its contents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot import messages
from bot.cancellation import is_cancel
from bot.charging import ChargePolicy, idempotency_key
from bot.models import (
    Charge,
    CheckoutLink,
    Decision,
    NextStep,
    PaymentRecord,
    Receipt,
    ReplyAddress,
    Session,
    Slots,
    State,
    Terms,
    TermsAcceptance,
)

PENDING_TIMEOUT_SECONDS = 60
"""A submission still marked pending after this long was abandoned (a crashed request)."""

_ACTIVE = frozenset({State.COLLECTING, State.AWAITING_CARD, State.CONFIRMING, State.FAILED})


# Events -------------------------------------------------------------------


@dataclass(frozen=True)
class UserMessage:
    """A DM turn: `text` is already redacted; `decision` is the engine's proposal."""

    text: str
    decision: Decision
    pan_removed: bool = False
    reply_to: ReplyAddress | None = None
    """Where the person's chat is, on surfaces that need one to reach them later."""


@dataclass(frozen=True)
class CardFormRequested:
    """`/pay [args]` or the secure-entry button: open the card form."""

    slots: Slots = field(default_factory=Slots)


@dataclass(frozen=True)
class CardSubmitted:
    """The card form `form_ref` was submitted and its fields passed local validation."""

    form_ref: str


@dataclass(frozen=True)
class CardSaved:
    """The payment service saved the card on the user's customer `customer_id`."""

    payment: PaymentRecord
    customer_id: str | None = None


@dataclass(frozen=True)
class CardNeedsAuthentication:
    """The issuer wants the cardholder to confirm the card (3-D Secure) on `url` first."""

    setup_id: str
    customer_id: str
    url: str


@dataclass(frozen=True)
class SetupSucceeded:
    """The provider says the card setup `setup_id` succeeded after authentication."""

    setup_id: str
    payment: PaymentRecord


@dataclass(frozen=True)
class SetupFailed:
    """The provider says the card setup `setup_id` failed; `message` is safe to show."""

    setup_id: str
    message: str


@dataclass(frozen=True)
class CardDeclined:
    """The payment service rejected the card; the user can correct and resubmit."""

    field: str
    message: str


@dataclass(frozen=True)
class PaymentFailed:
    """The payment service was unavailable or refused us; nothing was saved."""

    message: str


@dataclass(frozen=True)
class CheckoutRequested:
    """`/pay` or the secure button when cards are entered on the provider's own page."""

    slots: Slots = field(default_factory=Slots)
    reply_to: ReplyAddress | None = None
    """Where the page's outcome is to be told, on surfaces that need one (see `UserMessage`)."""


@dataclass(frozen=True)
class CheckoutOpened:
    """The page asked for by the claim on form `form_ref`, attempt `attempt`, is open."""

    link: CheckoutLink
    form_ref: str
    attempt: int


@dataclass(frozen=True)
class CheckoutCompleted:
    """The provider says the hosted page `checkout_id` saved this card."""

    checkout_id: str
    reference: str
    payment: PaymentRecord


@dataclass(frozen=True)
class CheckoutExpired:
    checkout_id: str


@dataclass(frozen=True)
class CancelRequested:
    pass


@dataclass(frozen=True)
class StatusRequested:
    pass


@dataclass(frozen=True)
class HelpRequested:
    pass


@dataclass(frozen=True)
class ForgetRequested:
    pass


@dataclass(frozen=True)
class TermsAccepted:
    """The person pressed Accept under the terms."""


@dataclass(frozen=True)
class TermsDeclined:
    """The person pressed Decline under the terms."""


@dataclass(frozen=True)
class PayPressed:
    """The person pressed Pay on the offer `key`: the only event that may charge a card."""

    key: str


@dataclass(frozen=True)
class ChargeSucceeded:
    """The provider says the charge for offer `key` succeeded (its word, never ours)."""

    key: str
    receipt: Receipt


@dataclass(frozen=True)
class ChargeNeedsAuthentication:
    """The issuer wants the cardholder to confirm the charge for offer `key` on `url`."""

    key: str
    intent_id: str
    url: str


@dataclass(frozen=True)
class ChargeDeclined:
    """The card was declined for offer `key` (or the bank's check failed); nothing charged.
    `message` is safe to show and names no card data."""

    key: str
    message: str
    intent_id: str | None = None


@dataclass(frozen=True)
class ChargeNotMade:
    """The provider refused or did not answer the charge request for offer `key` (not a
    decline). The offer stands: pressing Pay again sends the same idempotency key."""

    key: str
    message: str


Event = (
    UserMessage
    | CardFormRequested
    | CardSubmitted
    | CardSaved
    | CardNeedsAuthentication
    | SetupSucceeded
    | SetupFailed
    | CardDeclined
    | PaymentFailed
    | CheckoutRequested
    | CheckoutOpened
    | CheckoutCompleted
    | CheckoutExpired
    | CancelRequested
    | StatusRequested
    | HelpRequested
    | ForgetRequested
    | TermsAccepted
    | TermsDeclined
    | PayPressed
    | ChargeSucceeded
    | ChargeNeedsAuthentication
    | ChargeDeclined
    | ChargeNotMade
)


# Effects ------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """Say `text` to the user; with the secure-entry and cancel buttons if `offer_card_form`."""

    text: str
    offer_card_form: bool = False


@dataclass(frozen=True)
class ShowHelp:
    """Explain what the bot does and how to use it, in the words of the person's surface."""


@dataclass(frozen=True)
class OpenCardForm:
    """Open the card modal; its private_metadata is `form_ref` and nothing else."""

    form_ref: str
    slots: Slots


@dataclass(frozen=True)
class SaveCard:
    """Send the submitted card to the payment service under `idempotency_key`."""

    idempotency_key: str


@dataclass(frozen=True)
class FieldErrors:
    """Show these messages inline on the card form, keyed by field name."""

    errors: dict[str, str]


@dataclass(frozen=True)
class CloseForm:
    """Replace the card form with a final view saying `text`."""

    text: str


@dataclass(frozen=True)
class ConfirmCard:
    """The card is saved: confirm in the DM and on the form (brand and last four only)."""

    payment: PaymentRecord


@dataclass(frozen=True)
class ForgetSession:
    pass


OfferEnd = Literal["saved", "paid", "cancelled", "forgotten", "superseded", "closed"]
"""Why an offer's message no longer takes presses."""


@dataclass(frozen=True)
class CloseOffers:
    """Update these posted offers in place to say why they ended, with no live buttons."""

    posts: tuple[str, ...]
    why: OfferEnd


@dataclass(frozen=True)
class OfferClosed:
    """A button on an ended offer was pressed: tell the presser, and close that message."""

    post: str


@dataclass(frozen=True)
class OpenCheckout:
    """Open a provider-hosted card page for the form `form_ref` under `idempotency_key`;
    with `charge`, a page that takes that payment (PAYMENT_MODE=charge)."""

    form_ref: str
    idempotency_key: str
    charge: Charge | None = None


@dataclass(frozen=True)
class OfferCheckout:
    """Post the hosted page's link in the DM (a bearer link: never in a channel)."""

    url: str
    slots: Slots
    charge: Charge | None = None
    """The payment the page takes, when it takes one."""
    lead: str = ""
    """Words to say before the offer (the turn that made it), if any."""


@dataclass(frozen=True)
class OfferAuthentication:
    """Post the link to the bank's confirmation page in the DM (a bearer link: DM only)."""

    url: str
    for_payment: bool = False
    """The bank confirms a charge (PAYMENT_MODE=charge), not the saving of a card."""


@dataclass(frozen=True)
class AskToPay:
    """Show the payment's summary (amount, reference, card) with Pay and Cancel buttons."""

    charge: Charge


@dataclass(frozen=True)
class ChargeCard:
    """Charge the offer's card under `idempotency_key` (the service does it, once)."""

    charge: Charge
    idempotency_key: str


@dataclass(frozen=True)
class SendReceipt:
    """The provider says the payment succeeded: send the person its receipt."""

    receipt: Receipt


@dataclass(frozen=True)
class ExpireCheckout:
    """Close a hosted page whose link must stop working."""

    checkout_id: str


@dataclass(frozen=True)
class AskTerms:
    """Show the terms' link with Accept and Decline buttons; no card entry until accepted."""

    url: str


@dataclass(frozen=True)
class RecordTerms:
    """Keep this acceptance beyond the session (until the person asks to be forgotten)."""

    acceptance: TermsAcceptance


Effect = (
    Reply
    | ShowHelp
    | OpenCardForm
    | SaveCard
    | FieldErrors
    | CloseForm
    | ConfirmCard
    | ForgetSession
    | OpenCheckout
    | OfferCheckout
    | OfferAuthentication
    | ExpireCheckout
    | AskTerms
    | RecordTerms
    | AskToPay
    | ChargeCard
    | SendReceipt
    | CloseOffers
    | OfferClosed
)


@dataclass(frozen=True)
class Context:
    """What a transition may know of the world: the time and a fresh opaque id."""

    now: int
    ttl_seconds: int
    new_ref: str
    terms: Terms | None = None
    """The terms to accept before any card entry; None when the deployment has none."""
    charging: ChargePolicy | None = None
    """PAYMENT_MODE=charge: a saved card is charged on the person's confirmation."""


@dataclass(frozen=True)
class Outcome:
    session: Session
    effects: tuple[Effect, ...]


def transition(session: Session, event: Event, ctx: Context) -> Outcome:
    """Decide the next session and the effects for one event."""
    outcome = _closing_offers(session, _dispatch(session, event, ctx))
    if isinstance(event, ForgetRequested):
        return outcome
    return Outcome(outcome.session.evolve(expires_at=ctx.now + ctx.ttl_seconds), outcome.effects)


def _dispatch(session: Session, event: Event, ctx: Context) -> Outcome:
    match event:
        case UserMessage():
            return _on_message(session, event, ctx)
        case CardFormRequested():
            return _on_form_requested(session, event, ctx)
        case CardSubmitted():
            return _on_submitted(session, event, ctx)
        case CardSaved():
            return _on_saved(session, event.payment, event.customer_id, ctx)
        case CardNeedsAuthentication():
            return _on_needs_authentication(session, event)
        case SetupSucceeded():
            return _on_setup_succeeded(session, event, ctx)
        case SetupFailed():
            return _on_setup_failed(session, event)
        case CardDeclined():
            return Outcome(
                session.evolve(pending_since=None), (FieldErrors({event.field: event.message}),)
            )
        case PaymentFailed():
            failed = session.evolve(state=State.FAILED, pending_since=None)
            return Outcome(failed, (CloseForm(event.message), Reply(event.message, True)))
        case CheckoutRequested():
            return _on_checkout_requested(session, event, ctx)
        case CheckoutOpened():
            return _on_checkout_opened(session, event)
        case CheckoutCompleted():
            return _on_checkout_completed(session, event, ctx)
        case CheckoutExpired():
            return _on_checkout_expired(session, event)
        case CancelRequested():
            return _cancel(session, ctx)
        case StatusRequested():
            return Outcome(session, (Reply(messages.status(session)),))
        case HelpRequested():
            return Outcome(session, (ShowHelp(),))
        case ForgetRequested():
            return _forget(session, ctx)
        case TermsAccepted():
            return _on_terms_accepted(session, ctx)
        case TermsDeclined():
            return _on_terms_declined(session, ctx)
        case PayPressed():
            return _on_pay(session, event, ctx)
        case ChargeSucceeded():
            return _on_charge_succeeded(session, event)
        case ChargeNeedsAuthentication():
            return _on_charge_needs_authentication(session, event)
        case ChargeDeclined():
            return _on_charge_declined(session, event, ctx)
        case ChargeNotMade():
            return _on_charge_not_made(session, event)


def takes_offers(session: Session) -> bool:
    """Whether the conversation is under way, so that an offer posted now can stand."""
    return session.state in _ACTIVE


def offer_stands(session: Session, post: str) -> bool:
    """Whether a press on the offer posted as `post` may still act.

    A tracked offer stands while the session tracks it. An untracked one stands while the
    payment is under way if it was posted after every tracked one: the newest offer, its
    tracking not yet written (or lost). Surfaces name their posts so that a later post
    sorts after an earlier one.
    """
    if post in session.offer_posts:
        return True
    return session.state in _ACTIVE and all(post > tracked for tracked in session.offer_posts)


def _offers_end(before: Session, outcome: Outcome) -> OfferEnd | None:
    """Why `outcome` ends the offers `before` had posted; None while they stand.

    A new offer does not end them here: the surface closes the ones it replaces once the
    new one is posted (`ConversationService.offers_posted`).
    """
    effects = outcome.effects
    if any(isinstance(e, ForgetSession) for e in effects):
        return "forgotten"
    if any(isinstance(e, SendReceipt) for e in effects):
        return "paid"
    if any(isinstance(e, ConfirmCard) for e in effects):
        return "saved"
    if outcome.session.state is State.CANCELLED and before.state is not State.CANCELLED:
        return "cancelled"
    return None


def _closing_offers(before: Session, outcome: Outcome) -> Outcome:
    """`outcome`, first closing the offers it ends (see `_offers_end`)."""
    why = _offers_end(before, outcome) if before.offer_posts else None
    if why is None:
        return outcome
    closed = outcome.session.evolve(offer_posts=())
    return Outcome(closed, (CloseOffers(before.offer_posts, why), *outcome.effects))


def _say(session: Session, text: str, *, offer: bool = False, **changes: object) -> Outcome:
    updated = session.evolve(card_form_offered=offer, **changes).with_turn("bot", text)
    return Outcome(updated, (Reply(text, offer_card_form=offer),))


def _fresh(session: Session) -> Session:
    """A new conversation after a finished one: keep only the saved card record."""
    return Session(
        surface=session.surface,
        tenant_id=session.tenant_id,
        user_id=session.user_id,
        payment=session.payment,
        charge=session.charge,
        customer_id=session.customer_id,
        reply_to=session.reply_to,
        terms=session.terms,
        history=session.history,
        version=session.version,
        expires_at=session.expires_at,
    )


def _addressed(session: Session, reply_to: ReplyAddress | None) -> Session:
    """`session` reachable at `reply_to` from now on, when one is given."""
    if reply_to is None or reply_to == session.reply_to:
        return session
    return session.evolve(reply_to=reply_to)


def _on_message(session: Session, event: UserMessage, ctx: Context) -> Outcome:
    session = _addressed(session, event.reply_to).with_turn("user", event.text)
    if is_cancel(event.text, card_form_offered=session.card_form_offered):
        return _cancel(session, ctx)
    if session.state in (State.IDLE, State.COMPLETED, State.CANCELLED):
        session = _fresh(session).evolve(state=State.COLLECTING)
    decision = event.decision
    slots = session.slots.merged(decision.slots)
    step = NextStep.OFFER_CARD_FORM if event.pan_removed else decision.next_step
    reply = decision.reply
    if event.pan_removed and messages.PAN_WARNING not in reply:
        reply = f"{messages.PAN_WARNING}\n{reply}"
    if step is NextStep.CANCEL:  # only the user's own words can cancel
        return _say(session, messages.CONFIRM_CANCEL, slots=slots)
    if step is NextStep.HELP:
        helped = session.evolve(card_form_offered=False, slots=slots)
        return Outcome(helped.with_turn("bot", messages.HELP_TURN), (ShowHelp(),))
    if step is NextStep.OFFER_CARD_FORM and _terms_due(session, ctx):
        return _ask_terms(session.evolve(slots=slots), ctx, reply)
    if step is NextStep.OFFER_CARD_FORM and not event.pan_removed:
        if _charge_in_flight(session, ctx):
            return _say(session, messages.CHARGE_IN_PROGRESS, slots=slots)
        if _may_propose(session.evolve(slots=slots), ctx):  # the card on file: ask to pay
            return _propose(session.evolve(slots=slots), ctx)
    if step is NextStep.OFFER_CARD_FORM:
        return _say(
            session,
            reply,
            offer=True,
            slots=slots,
            state=State.AWAITING_CARD,
            form_ref=session.form_ref or ctx.new_ref,
        )
    return _say(session, reply, slots=slots)


def _on_form_requested(session: Session, event: CardFormRequested, ctx: Context) -> Outcome:
    if session.pending_since is not None and not _stale(session, ctx):
        return _say(session, messages.IN_PROGRESS)
    if _charge_in_flight(session, ctx):
        return _say(session, messages.CHARGE_IN_PROGRESS)
    if session.state not in _ACTIVE:
        session = _fresh(session)
    if _terms_due(session, ctx):
        return _ask_terms(session.evolve(slots=session.slots.merged(event.slots)), ctx)
    updated = session.evolve(
        state=State.AWAITING_CARD,
        slots=session.slots.merged(event.slots),
        form_ref=session.form_ref or ctx.new_ref,
        card_form_offered=False,
        pending_since=None,
    )
    assert updated.form_ref is not None
    return Outcome(updated, (OpenCardForm(updated.form_ref, updated.slots),))


def _on_submitted(session: Session, event: CardSubmitted, ctx: Context) -> Outcome:
    if session.form_ref is None or event.form_ref != session.form_ref:
        if session.state is State.COMPLETED:
            return Outcome(session, (CloseForm(messages.ALREADY_DONE),))
        return Outcome(session, (CloseForm(messages.FORM_STALE),))
    if session.state is State.COMPLETED:
        return Outcome(session, (CloseForm(messages.ALREADY_DONE),))
    if session.state not in (State.AWAITING_CARD, State.FAILED):
        return Outcome(session, (CloseForm(messages.FORM_STALE),))
    if session.pending_since is not None and not _stale(session, ctx):
        return Outcome(session, (CloseForm(messages.IN_PROGRESS),))
    if _terms_due(session, ctx):  # a form opened before the terms (or their version) came
        return Outcome(session, (CloseForm(messages.TERMS_FIRST),))
    # Each claimed submission is a new attempt, so a corrected resubmission gets a
    # new idempotency key; a duplicate of a pending one never reaches this line.
    attempt = session.attempt + 1
    claimed = session.evolve(state=State.AWAITING_CARD, attempt=attempt, pending_since=ctx.now)
    return Outcome(claimed, (SaveCard(f"paybot-{session.form_ref}-{attempt}"),))


def _on_saved(
    session: Session, payment: PaymentRecord, customer_id: str | None, ctx: Context
) -> Outcome:
    text = messages.confirmation_turn(payment)
    done = session.evolve(
        state=State.COMPLETED,
        payment=payment,
        customer_id=customer_id or session.customer_id,
        pending_since=None,
        setup_id=None,
        form_ref=None,
        card_form_offered=False,
    ).with_turn("bot", text)
    confirmed = (ConfirmCard(payment),)
    if ctx.charging is None:
        return Outcome(done, confirmed)
    if _charge_in_flight(done, ctx):  # a card saved while another payment is with the bank
        return Outcome(done, confirmed)
    if _may_propose(done, ctx):
        return _propose(done, ctx, before=confirmed)
    asked = _say(done, messages.SAVED_WHAT_TO_PAY, state=State.COLLECTING)
    return Outcome(asked.session, (*confirmed, *asked.effects))


def _on_needs_authentication(session: Session, event: CardNeedsAuthentication) -> Outcome:
    waiting = session.evolve(
        state=State.AWAITING_CARD,
        pending_since=None,
        setup_id=event.setup_id,
        customer_id=event.customer_id,
        card_form_offered=False,
    ).with_turn("bot", messages.AUTHENTICATE)
    return Outcome(waiting, (CloseForm(messages.AUTHENTICATE_SENT), OfferAuthentication(event.url)))


def _on_setup_succeeded(session: Session, event: SetupSucceeded, ctx: Context) -> Outcome:
    if session.setup_id != event.setup_id:
        return _on_untracked_save(session, event.payment, ctx)
    return _on_saved(session, event.payment, None, ctx)


def _on_untracked_save(session: Session, payment: PaymentRecord, ctx: Context) -> Outcome:
    """Stripe saved a card on this person's Customer through a page or bank check the
    session no longer tracks (replaced, cancelled, forgotten or expired meanwhile).

    The card is saved all the same, so it is confirmed, never dropped; once only.
    """
    if _confirmed(session, payment):
        return Outcome(session, ())
    saved = _on_saved(session.evolve(checkout_id=None), payment, None, ctx)
    return _closing_checkout(session, saved)


def _confirmed(session: Session, payment: PaymentRecord) -> bool:
    """Whether this card was already confirmed to the person in this session."""
    if session.payment is not None and (
        session.payment.payment_method_id == payment.payment_method_id
    ):
        return True
    # Matched by the PaymentMethod id, which both the turn and the older full
    # confirmation (kept by sessions stored before the expiry left the history) name.
    said = f"`{payment.payment_method_id}`"
    return any(turn.role == "bot" and said in turn.text for turn in session.history)


def _on_setup_failed(session: Session, event: SetupFailed) -> Outcome:
    if session.setup_id != event.setup_id:
        return Outcome(session, ())
    text = f"{event.message} {messages.TRY_AGAIN}"
    return _say(session, text, offer=True, state=State.FAILED, setup_id=None)


def _cancel(
    session: Session,
    ctx: Context,
    *,
    said: str = messages.CANCELLED,
    nothing: str = messages.NOTHING_TO_CANCEL,
) -> Outcome:
    """Stop the payment in progress, saying `said` (or `nothing` when there is none)."""
    if session.pending_since is not None and not _stale(session, ctx):
        return _say(session, messages.CANCEL_TOO_LATE)
    if _charge_in_flight(session, ctx):
        assert session.charge is not None
        if session.charge.status == "requires_action":
            return _say(session, messages.CHARGE_AWAITS_BANK)
        return _say(session, messages.CHARGE_TOO_LATE)
    if session.state not in _ACTIVE:
        return _say(session, nothing)
    charge = session.charge
    if charge is not None and charge.status == "proposed":
        charge = _charge_with(charge, status="cancelled")
    cancelled = _say(
        session,
        said,
        state=State.CANCELLED,
        slots=Slots(),
        form_ref=None,
        pending_since=None,
        checkout_id=None,
        setup_id=None,
        charge=charge,
    )
    return _closing_checkout(session, cancelled)


def _forget(session: Session, ctx: Context) -> Outcome:
    if session.pending_since is not None and not _stale(session, ctx):
        # The submission would record its card after the delete: wait for it instead.
        return Outcome(session, (Reply(messages.FORGET_WAIT),))
    if _charge_in_flight(session, ctx):  # its answer must find the payment it belongs to
        return Outcome(session, (Reply(messages.FORGET_WAIT_CHARGE),))
    forgotten = Outcome(session, (ForgetSession(), Reply(messages.FORGOTTEN)))
    return _closing_checkout(session, forgotten)


def _closing_checkout(before: Session, outcome: Outcome) -> Outcome:
    """`outcome`, plus closing the hosted page `before` had open, if any."""
    if before.checkout_id is None:
        return outcome
    return Outcome(outcome.session, (ExpireCheckout(before.checkout_id), *outcome.effects))


def _on_checkout_requested(session: Session, event: CheckoutRequested, ctx: Context) -> Outcome:
    session = _addressed(session, event.reply_to)
    if _charge_in_flight(session, ctx):
        return _say(session, messages.CHARGE_IN_PROGRESS)
    if session.state not in _ACTIVE:
        session = _fresh(session)
    if _terms_due(session, ctx):
        return _ask_terms(session.evolve(slots=session.slots.merged(event.slots)), ctx)
    attempt = session.attempt + 1
    form_ref = session.form_ref or ctx.new_ref
    slots = session.slots.merged(event.slots)
    charge = None
    if ctx.charging is not None and _payment_known(slots):
        # The page takes the payment: the person confirms its amount on Stripe's page.
        made = _new_charge(session.evolve(slots=slots), ctx)
        if isinstance(made, Outcome):
            return _closing_checkout(session, made)
        charge = made
    updated = session.evolve(
        state=State.AWAITING_CARD,
        slots=slots,
        form_ref=form_ref,
        attempt=attempt,
        card_form_offered=False,
        checkout_id=None,
        charge=charge or session.charge,
    )
    # A new page each time: the old link may have been seen elsewhere, so it closes.
    key = f"paybot-checkout-{form_ref}-{attempt}"
    opened = Outcome(updated, (OpenCheckout(form_ref, key, charge),))
    return _closing_checkout(session, opened)


def _on_checkout_opened(session: Session, event: CheckoutOpened) -> Outcome:
    link = event.link
    still_claimed = (
        session.state is State.AWAITING_CARD
        and session.form_ref == event.form_ref
        and session.attempt == event.attempt
    )
    if not still_claimed:
        # A newer request, a cancel or a forget came while the page was being made:
        # nobody would track it, so its link is closed and never shown.
        return Outcome(session, (ExpireCheckout(link.checkout_id),))
    updated = session.evolve(checkout_id=link.checkout_id, customer_id=link.customer_id)
    charge = session.charge if session.charge and session.charge.status == "proposed" else None
    opened = Outcome(updated, (OfferCheckout(link.url, session.slots, charge),))
    if session.checkout_id == link.checkout_id:
        return opened
    return _closing_checkout(session, opened)


def _on_checkout_completed(session: Session, event: CheckoutCompleted, ctx: Context) -> Outcome:
    if session.checkout_id != event.checkout_id or session.form_ref != event.reference:
        return _on_untracked_save(session, event.payment, ctx)
    return _on_saved(session.evolve(checkout_id=None), event.payment, None, ctx)


def _on_checkout_expired(session: Session, event: CheckoutExpired) -> Outcome:
    if session.checkout_id != event.checkout_id:
        return Outcome(session, ())  # a completed or replaced page: nothing to undo
    return _say(session, messages.CHECKOUT_EXPIRED, checkout_id=None)


def _terms_due(session: Session, ctx: Context) -> bool:
    """Whether the person must accept the terms (as they now stand) before any card entry."""
    return ctx.terms is not None and not (session.terms and session.terms.covers(ctx.terms))


def _ask_terms(session: Session, ctx: Context, reply: str = "") -> Outcome:
    """Ask for the terms instead of offering card entry; the payment's details are kept."""
    assert ctx.terms is not None
    asked = session.evolve(
        state=State.COLLECTING, card_form_offered=False, pending_since=None
    ).with_turn("bot", "\n".join(part for part in (reply, messages.TERMS_ASKED) if part))
    effects: tuple[Effect, ...] = (AskTerms(ctx.terms.url),)
    return Outcome(asked, (Reply(reply), *effects) if reply else effects)


def _on_terms_accepted(session: Session, ctx: Context) -> Outcome:
    if ctx.terms is None:
        return Outcome(session, (Reply(messages.NO_TERMS),))
    record: tuple[Effect, ...] = ()
    if _terms_due(session, ctx):
        acceptance = TermsAcceptance(
            url=ctx.terms.url, version=ctx.terms.version, accepted_at=ctx.now
        )
        session = session.evolve(terms=acceptance)
        record = (RecordTerms(acceptance),)
    if _may_propose(session, ctx) and session.state in _ACTIVE:
        outcome = _propose(session, ctx)
    elif session.state in _ACTIVE and session.pending_since is None:
        outcome = _say(
            session,
            messages.TERMS_ACCEPTED,
            offer=True,
            state=State.AWAITING_CARD,
            form_ref=session.form_ref or ctx.new_ref,
        )
    else:
        outcome = _say(session, messages.TERMS_ACCEPTED_IDLE)
    return Outcome(outcome.session, (*record, *outcome.effects))


def _on_terms_declined(session: Session, ctx: Context) -> Outcome:
    if not _terms_due(session, ctx):  # an old message's button, after accepting
        return _say(session, messages.TERMS_ALREADY_ACCEPTED)
    return _cancel(session, ctx, said=messages.TERMS_DECLINED, nothing=messages.TERMS_DECLINED)


def _stale(session: Session, ctx: Context) -> bool:
    assert session.pending_since is not None
    return ctx.now - session.pending_since >= PENDING_TIMEOUT_SECONDS


# Charging (PAYMENT_MODE=charge) ---------------------------------------------


def _charge_with(charge: Charge, **changes: object) -> Charge:
    return Charge.model_validate({**dict(charge), **changes})


def _charge_in_flight(session: Session, ctx: Context) -> bool:
    """Whether a charge is with the provider or the cardholder's bank: its answer is due."""
    charge = session.charge
    if charge is None:
        return False
    if charge.status == "requires_action":
        return True
    return charge.status == "charging" and not _charge_stale(charge, ctx)


def _charge_stale(charge: Charge, ctx: Context) -> bool:
    """A charge claim whose worker is gone: pressing Pay again resends its idempotency key."""
    return charge.since is None or ctx.now - charge.since >= PENDING_TIMEOUT_SECONDS


def _payment_known(slots: Slots) -> bool:
    return None not in (slots.amount, slots.currency, slots.reference)


def _may_propose(session: Session, ctx: Context) -> bool:
    """Whether to ask the person to pay now: charging, a card saved, the payment known."""
    return (
        ctx.charging is not None and session.payment is not None and _payment_known(session.slots)
    )


def _new_charge(session: Session, ctx: Context) -> Charge | Outcome:
    """The payment the session's slots describe, offered for the card on file (or for the
    card to be entered on the hosted page); or the refusal, when it is over its ceiling."""
    assert ctx.charging is not None
    slots = session.slots
    assert slots.amount is not None
    assert slots.currency is not None
    assert slots.reference is not None
    refusal = ctx.charging.refusal(slots.amount, slots.currency)
    if refusal is not None:
        text = messages.charge_refused(
            refusal, slots.amount, slots.currency, ctx.charging.max_amounts.get(slots.currency)
        )
        dropped = "amount" if refusal == "amount" else "currency"
        kept = Slots.model_validate({**slots.model_dump(), dropped: None})
        return _say(session, text, state=State.COLLECTING, slots=kept)
    previous = session.charge
    return Charge(
        key=ctx.new_ref,
        attempt=previous.attempt + 1 if previous is not None else 1,
        amount=slots.amount,
        currency=slots.currency,
        reference=slots.reference,
        card=session.payment,
        email=slots.email,
    )


def _propose(session: Session, ctx: Context, *, before: tuple[Effect, ...] = ()) -> Outcome:
    """Show the payment's summary with Pay and Cancel; nothing is charged until Pay."""
    assert session.payment is not None
    made = _new_charge(session, ctx)
    if isinstance(made, Outcome):
        return Outcome(made.session, (*before, *made.effects))
    charge = made
    asked = session.evolve(
        state=State.CONFIRMING,
        charge=charge,
        card_form_offered=False,
        form_ref=None,
        pending_since=None,
    ).with_turn("bot", messages.pay_question(charge))
    return Outcome(asked, (*before, AskToPay(charge)))


def _offered(session: Session, key: str) -> Charge | None:
    """The session's charge if `key` names it, else None (an older offer's button)."""
    charge = session.charge
    return charge if charge is not None and charge.key == key else None


def _on_pay(session: Session, event: PayPressed, ctx: Context) -> Outcome:
    charge = _offered(session, event.key)
    if charge is None:
        return Outcome(session, (Reply(messages.PAY_STALE),))
    if charge.status == "succeeded":
        return Outcome(session, (Reply(messages.ALREADY_PAID),))
    if charge.status == "requires_action":
        return Outcome(session, (Reply(messages.CHARGE_AWAITS_BANK),))
    if charge.status == "charging" and not _charge_stale(charge, ctx):
        return Outcome(session, (Reply(messages.CHARGE_IN_PROGRESS),))
    if (
        session.state is not State.CONFIRMING
        or charge.card is None  # a payment for Stripe's own page: it is paid there
        or charge.status not in ("proposed", "charging")
    ):
        return Outcome(session, (Reply(messages.PAY_STALE),))
    # The claim: from here a second press, a redelivery or a retried invocation finds the
    # charge in progress; one whose worker died resends the same idempotency key.
    claimed = _charge_with(charge, status="charging", since=ctx.now)
    paying = session.evolve(charge=claimed, card_form_offered=False)
    return Outcome(paying, (ChargeCard(claimed, idempotency_key(session.user, claimed)),))


def _on_charge_succeeded(session: Session, event: ChargeSucceeded) -> Outcome:
    charge = _offered(session, event.key)
    if charge is None:
        # Paid on an offer this session no longer tracks (replaced, forgotten): money moved,
        # so the receipt is sent all the same; once, by the payment's id in the history.
        said = f"`{event.receipt.intent_id}`"
        if any(turn.role == "bot" and said in turn.text for turn in session.history):
            return Outcome(session, ())
        told = session.with_turn("bot", messages.paid_turn(event.receipt))
        return Outcome(told, (SendReceipt(event.receipt),))
    if charge.status == "succeeded":
        return Outcome(session, ())  # the webhook and the answer both report it: once
    paid = _charge_with(charge, status="succeeded", since=None, intent_id=event.receipt.intent_id)
    changes: dict[str, object] = {"charge": paid, "checkout_id": None}
    if session.state in (State.CONFIRMING, State.AWAITING_CARD):
        changes.update(state=State.COMPLETED, card_form_offered=False, form_ref=None)
    done = session.evolve(**changes).with_turn("bot", messages.paid_turn(event.receipt))
    return Outcome(done, (SendReceipt(event.receipt),))


def _on_charge_needs_authentication(session: Session, event: ChargeNeedsAuthentication) -> Outcome:
    charge = _offered(session, event.key)
    if charge is None or charge.status != "charging":
        return Outcome(session, ())
    waiting = _charge_with(charge, status="requires_action", since=None, intent_id=event.intent_id)
    asked = session.evolve(charge=waiting).with_turn("bot", messages.AUTHENTICATE_PAYMENT)
    return Outcome(asked, (OfferAuthentication(event.url, for_payment=True),))


def _on_charge_declined(session: Session, event: ChargeDeclined, ctx: Context) -> Outcome:
    charge = _offered(session, event.key)
    if charge is None or charge.status not in ("charging", "requires_action"):
        return Outcome(session, ())
    failed = _charge_with(charge, status="failed", since=None, intent_id=event.intent_id)
    text = messages.charge_declined(charge, event.message)
    if session.state is not State.CONFIRMING:
        return _say(session, text, charge=failed)
    return _say(
        session,
        text,
        offer=True,
        state=State.FAILED,
        charge=failed,
        form_ref=session.form_ref or ctx.new_ref,
    )


def _on_charge_not_made(session: Session, event: ChargeNotMade) -> Outcome:
    charge = _offered(session, event.key)
    if charge is None or charge.status != "charging":
        return Outcome(session, ())
    # Same offer, same attempt: pressing Pay again sends the same idempotency key.
    offered = _charge_with(charge, status="proposed", since=None)
    said = session.evolve(charge=offered).with_turn("bot", event.message)
    return Outcome(said, (Reply(event.message), AskToPay(offered)))
