"""What the bot says when the state machine, not the engine, has the last word.

Written once for every chat surface, in chat markdown: `**bold**`, `` `code` ``,
Unicode emoji, no surface's name. A command is a code span of its words
(`` `pay status` ``); each surface shows it as its people type it (Slack:
`/pay status`). Supplied values (a reference, an email, a brand, the model's
reply) go in as they are: each surface escapes for its own markup when it
renders, so none can become a mention or a link. Help is not text here but the
`ShowHelp` effect, because what to type differs by surface.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

from bot.cards import mask
from bot.limits import Budget
from bot.models import Charge, PaymentRecord, Receipt, Session, Slots, State
from bot.money import format_amount

HELP_TURN = "I explained how paying with me works."
"""The bot's turn in the history when help was shown (each surface words help itself)."""
PAN_WARNING = (
    "⚠️ Please don't paste card numbers in chat. I removed it and didn't keep it. "
    "Use the secure button instead."
)
CANCELLED = "Okay, cancelled. Nothing was saved."
NOTHING_TO_CANCEL = "There's nothing to cancel right now."
CONFIRM_CANCEL = "Do you want to stop this payment? Say **cancel** to stop, or carry on."
CANCEL_TOO_LATE = "Your card is being saved right now, so it can't be cancelled."
OFFER_CARD_FORM = (
    "Use the secure button below to enter your card. The number never appears in this chat."
)
FORM_STALE = "This card form is no longer active. Type `pay` to open a new one."
IN_PROGRESS = "Your card is already being saved. You'll get a confirmation in a moment."
ALREADY_DONE = "This card has already been saved."
FORGOTTEN = "Done. I've deleted everything I kept about you."
CHECKOUT_EXPIRED = (
    "That secure card link expired before a card was saved. Type `pay` for a new one."
)
HOSTED_INSTEAD = (
    "Card entry isn't available in this form, and nothing was saved. "
    "I've sent you a secure Stripe link in our direct messages instead."
)
CHECKOUT_SENT = "I've sent you a secure link in our direct messages."
OFFER_CHECKOUT = (
    "Use the secure button below to enter your card on Stripe's own page. "
    "The link is just for you: please don't share it."
)
CHECKOUT_LINK = "The button opens Stripe's own page, just for you: please don't share the link."
"""Said after the turn's own words when they lead the hosted page's offer."""
TRY_AGAIN = "Nothing was saved. You can try again with the secure button."
BANK_DECLINED = "Your bank didn't confirm the card."
AUTHENTICATE = (
    "Your bank wants you to confirm this card. Use the button below: it opens your "
    "bank's check on Stripe's page. The link is just for you: please don't share it."
)
AUTHENTICATE_SENT = (
    "Your bank wants you to confirm this card. I've sent you a secure link in our direct messages."
)
CARD_ENTRY_UNAVAILABLE = (
    "Card entry isn't available right now, and nothing was saved. "
    "Please let the team that runs paybot know."
)
LIMITS_UNAVAILABLE: dict[Budget, str] = {
    "cards": (
        "I can't take cards right now, and nothing was sent to the payment provider. "
        "Please try again in a few minutes."
    ),
    "pages": (
        "I can't open the card page right now. Nothing was sent to the payment provider. "
        "Please try again in a few minutes."
    ),
    "charges": (
        "I can't take payments right now, and nothing was charged. "
        "Please try again in a few minutes."
    ),
}
"""What a person is told when the limits cannot be read, for the budgets that fail closed."""

_OVER_LIMIT: dict[Budget, str] = {
    "turns": "You've sent me a lot of messages in a short time, so I'm taking a short break.",
    "cards": "Several cards were tried here in a short time, so card entry is paused.",
    "pages": "Several card pages were opened here in a short time, so card entry is paused.",
    "charges": "Several payments were tried here in a short time, so payments are paused.",
}


def over_limit(budget: Budget, retry_after: float) -> str:
    """A request refused by an abuse limit (`bot.limits`), and when to try again."""
    minutes = max(1, math.ceil(retry_after / 60))
    when = "a minute" if minutes == 1 else f"{minutes} minutes"
    untouched = {
        "turns": "",
        "cards": " Nothing was sent to the payment provider.",
        "pages": " Nothing was sent to the payment provider.",
        "charges": " Nothing was charged.",
    }[budget]
    return f"{_OVER_LIMIT[budget]} Please try again in about {when}.{untouched}"


TERMS_ASKED = (
    "Before you enter a card, please read the terms of payment and accept them. "
    "I can't take a card until you do."
)
TERMS_ACCEPTED = "Thanks, you've accepted the terms. You can enter your card now."
TERMS_ACCEPTED_IDLE = (
    "Thanks, you've accepted the terms. Tell me what you'd like to pay whenever you're ready."
)
TERMS_ALREADY_ACCEPTED = (
    "You've already accepted the terms. To stop a payment, type `pay cancel`; to have me "
    "forget you and your acceptance, `pay forget`."
)
TERMS_DECLINED = (
    "No problem. Without accepting the terms I can't take a card, so I've stopped here. "
    "Nothing was saved or charged."
)
TERMS_FIRST = (
    "Please accept the terms of payment first: they're in our direct messages. "
    "Nothing was sent to the payment provider."
)
TERMS_SENT = "Before we go on, please accept the terms: I've sent them in our direct messages."
NO_TERMS = "There are no terms to accept here. Tell me what you'd like to pay."

FORGET_WAIT = (
    "Your card is being saved right now. Once I've confirmed it, type `pay forget` again "
    "and I'll delete everything I kept about you."
)
SAVED_NOT_RECORDED = (
    "Stripe saved this card, but our conversation had already been deleted, "
    "so I kept no record of it here."
)
SUBMISSION_ENDED = (
    "This payment ended while your card was with the payment service. "
    "Nothing was saved; type `pay` to start again."
)


AMOUNT_SIGNED = (
    "I can't take a negative or signed amount, so I didn't keep it. "
    "What would you like to pay, for example `45.00 USD`?"
)


def amount_decimals(currency: str | None, places: int) -> str:
    """Why an amount with more decimals than its currency has was not taken (nor rounded)."""
    what = f"{currency} amounts" if currency else "Amounts"
    rule = "have no decimals" if places == 0 else f"have at most {places} decimals"
    return f"{what} {rule}, so I didn't keep that one. What would you like to pay?"


def summary(slots: Slots) -> str:
    """One line naming what the user is paying, or "" when nothing is known yet."""
    parts = []
    if slots.amount is not None:
        parts.append(f"**{format_amount(slots.amount, slots.currency)}**")
    if slots.reference:
        parts.append(f"for invoice **{slots.reference}**")
    return ("Paying " + " ".join(parts) + ".") if parts else ""


def confirmation(payment: PaymentRecord) -> str:
    """The DM sent once a card is saved: brand and last four, and the expiry Stripe returned."""
    return (
        f"✅ {mask(payment.brand, payment.last4)} saved "
        f"(expires {payment.exp_month:02d}/{payment.exp_year}). "
        f"Reference: `{payment.payment_method_id}`."
    )


def confirmation_turn(payment: PaymentRecord) -> str:
    """The confirmation as the bot's turn in the history, which the store keeps and the
    model reads: brand, last four and reference, never the expiry."""
    return (
        f"✅ {mask(payment.brand, payment.last4)} saved. Reference: `{payment.payment_method_id}`."
    )


CHARGE_IN_PROGRESS = (
    "Your payment is being processed. I'll send your receipt here as soon as the payment "
    "service confirms it."
)
CHARGE_TOO_LATE = "Your payment is being processed right now, so it can't be cancelled."
CHARGE_AWAITS_BANK = (
    "This payment is waiting for you to confirm it with your bank (use the link I sent). "
    "If you don't, nothing is charged."
)
FORGET_WAIT_CHARGE = (
    "A payment of yours is still being processed. Once it's settled, type `pay forget` again "
    "and I'll delete everything I kept about you."
)
SAVED_WHAT_TO_PAY = (
    "What would you like to pay? Tell me the amount and the invoice, "
    "for example `45.00 USD for INV-1001`."
)
PAY_STALE = "This payment offer is closed. Tell me what you'd like to pay to start a new one."
ALREADY_PAID = "This payment is already paid: your receipt is in our direct messages."
AUTHENTICATE_PAYMENT = (
    "Your bank wants you to confirm this payment. Use the button below: it opens your "
    "bank's check on Stripe's page. Nothing is charged until you do. "
    "The link is just for you: please don't share it."
)
AUTHENTICATE_PAYMENT_FAILED = "Your bank didn't confirm the payment."
CHARGE_NOT_MADE = (
    "The payment service couldn't take this payment just now, and nothing was charged. "
    "Press **Pay** to try again: you can't be charged twice."
)
CHARGE_UNANSWERED = (
    "I couldn't get an answer from the payment service. If the payment went through, "
    "I'll send your receipt here. Pressing **Pay** again is safe: you can't be charged twice."
)
CHARGE_DECLINED = "The card was declined."


REFUND_NOT_ALLOWED = (
    "Sorry, only this workspace's payment admins can refund payments. "
    "I've noted the request; please ask one of them."
)
REFUND_USAGE = (
    "To refund, type `pay refund <payment id or invoice> [amount]`, for example "
    "`pay refund pi_123 10.00` or `pay refund INV-1001` for the whole payment."
)


def refund_not_found(target: str) -> str:
    return f"I found no paid payment `{target}` in this workspace. Nothing was refunded."


def refund_ambiguous(target: str) -> str:
    return (
        f"Several paid payments have the reference `{target}`. Refund one by its payment id "
        "(`pi_…`, on its receipt). Nothing was refunded."
    )


def refund_too_much(paid_amount: str, left: str) -> str:
    return f"That's more than is left to refund of {paid_amount} ({left}). Nothing was refunded."


def refund_made(amount: str, reference: str, intent_id: str, refund_id: str) -> str:
    """The admin's answer once Stripe has taken the refund."""
    return (
        f"Refund of **{amount}** for invoice **{reference}** (`{intent_id}`) sent to Stripe: "
        f"`{refund_id}`. The payer has been told."
    )


def refund_notice(amount: str, reference: str, card: str) -> str:
    """The payer's DM when a refund is made."""
    return (
        f"↩️ A refund of **{amount}** for invoice **{reference}** is on its way to {card}. "
        "It can take 5 to 10 days to show on your statement."
    )


def refund_confirmed(amount: str, reference: str, card: str) -> str:
    """The payer's DM when Stripe reports the refund."""
    return f"✅ Stripe confirmed the refund of **{amount}** for invoice **{reference}** to {card}."


NO_PAYMENTS = "You haven't paid anything with me yet."
PAYMENTS_OFF = "Payments aren't taken here: I only save cards."


def payments_list(paid: list[tuple[str, str, str, str]]) -> str:
    """Your last payments: (date, amount, reference, payment id) each, newest first."""
    lines = [
        f"• {when}: **{amount}** for invoice **{reference}** (`{intent}`)"
        for when, amount, reference, intent in paid
    ]
    return "Your last payments:\n" + "\n".join(lines)


def offer_payment_page(charge: Charge) -> str:
    """The hosted page that takes the payment: it is confirmed there, with Stripe's button."""
    amount = format_amount(charge.amount, charge.currency)
    return (
        f"Use the secure button below to pay **{amount}** on Stripe's own page: you confirm "
        "the payment there, and I'll send your receipt here. "
        "The link is just for you: please don't share it."
    )


def pay_question(charge: Charge) -> str:
    """The question Pay answers: the amount, the invoice and the card (brand, last four)."""
    amount = format_amount(charge.amount, charge.currency)
    card = _card(charge)
    return f"Pay **{amount}** for invoice **{charge.reference}** with {card}?"


def _card(charge: Charge) -> str:
    """The charge's card as it may be shown: brand and last four."""
    if charge.card is None:
        return "your card"
    return mask(charge.card.brand, charge.card.last4)


def charge_declined(charge: Charge, reason: str) -> str:
    """A charge the card's bank refused: the card named by brand and last four only."""
    card = _card(charge)
    return (
        f"❌ The payment with {card} didn't go through. {reason} Nothing was charged. "
        "You can try another card with the secure button."
    )


def charge_refused(refusal: str, amount: Decimal, currency: str, ceiling: Decimal | None) -> str:
    """Why a payment can't be taken here (`ChargePolicy.refusal`), and what to say next."""
    if refusal == "amount" and ceiling is not None:
        return (
            f"I can't take a payment of {format_amount(amount, currency)} here: one payment "
            f"can be at most {format_amount(ceiling, currency)}. What amount would you like to pay?"
        )
    return f"I can't take payments in {currency} here. Which currency would you like to pay in?"


def paid(receipt: Receipt) -> str:
    """The receipt's headline: what was paid, for what, with which card."""
    amount = format_amount(receipt.amount, receipt.currency)
    card = mask(receipt.brand, receipt.last4)
    return f"✅ Paid **{amount}** for invoice **{receipt.reference}** with {card}."


def paid_turn(receipt: Receipt) -> str:
    """The receipt as the bot's turn in the history: the headline and Stripe's payment id."""
    return f"{paid(receipt)} Payment `{receipt.intent_id}`."


def paid_on(receipt: Receipt) -> str:
    """The receipt's date, `4 Dec 2026, 14:05 UTC`."""
    return day(receipt.paid_at)


def day(timestamp: int) -> str:
    """`4 Dec 2026, 14:05 UTC`."""
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    return f"{when.day} {when:%b %Y, %H:%M} UTC"


def status(session: Session | None) -> str:
    """Where the user's payment stands, without any card data beyond the last four."""
    if session is None or session.state is State.IDLE:
        return "No payment in progress. Type `pay` to start one."
    line = summary(session.slots)
    text = {
        State.COLLECTING: "We're talking about a payment; no card yet.",
        State.AWAITING_CARD: "Waiting for you to enter your card in the secure form.",
        State.CONFIRMING: "Waiting for you to confirm the payment.",
        State.COMPLETED: "Your card is saved.",
        State.CANCELLED: "The last payment was cancelled.",
        State.FAILED: "The last attempt failed; nothing was saved.",
    }[session.state]
    if session.pending_since is not None:
        text = "Your card is being saved right now."
    elif session.setup_id is not None:
        text = "Waiting for you to confirm the card with your bank (see the link I sent)."
    if session.state is State.COMPLETED and session.payment is not None:
        text = f"{mask(session.payment.brand, session.payment.last4)} is saved."
    charge = session.charge
    if charge is not None and session.state in (State.CONFIRMING, State.COMPLETED):
        return _charge_status(charge) or f"{text} {line}".strip()
    return f"{text} {line}".strip()


def _charge_status(charge: Charge) -> str:
    amount = format_amount(charge.amount, charge.currency)
    what = f"**{amount}** for invoice **{charge.reference}**"
    return {
        "proposed": f"Waiting for you to confirm the payment of {what} (press **Pay**).",
        "charging": f"Your payment of {what} is being processed.",
        "requires_action": (
            f"Your payment of {what} is waiting for you to confirm it with your bank "
            "(see the link I sent)."
        ),
        "succeeded": f"Paid {what} with {_card(charge)}.",
    }.get(charge.status, "")
