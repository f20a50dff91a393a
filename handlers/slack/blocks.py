"""Block Kit builders for the Slack surface: messages, the card modal, and its results.

Nothing here ever receives card data: the card modal is built from an opaque
form reference and non-card slots; confirmations from Stripe's answer.

Texts arrive as the core's chat markdown and become mrkdwn in `_section`
(`mrkdwn.to_mrkdwn`), which escapes them whole: a reference, a brand or the
model's reply can never become a mention or a link here.
"""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.cards import mask
from bot.models import Charge, PaymentRecord, Receipt, Session, Slots
from bot.money import format_amount
from handlers.slack.mrkdwn import to_mrkdwn

OPEN_CARD_FORM = "open_card_form"
OPEN_CHECKOUT = "open_checkout"
OPEN_AUTHENTICATION = "open_authentication"
CANCEL_PAYMENT = "cancel_payment"
OPEN_TERMS = "open_terms"
ACCEPT_TERMS = "accept_terms"
DECLINE_TERMS = "decline_terms"
PAY = "pay"
OPEN_RECEIPT = "open_receipt"
HOME_PAY = "home_pay"
HOME_REPLACE_CARD = "home_replace_card"
HOME_FORGET = "home_forget"
CARD_FORM = "card_form"
"""Action ids of the buttons, and the card modal's callback id."""

Block = dict[str, Any]

_INPUTS: tuple[tuple[str, str, str, str, int, int], ...] = (
    # block/action id, label, placeholder, hint, min, max length
    ("name", "Cardholder name", "As printed on the card", "", 1, 100),
    ("number", "Card number", "1234 5678 9012 3456", "", 12, 30),
    ("expiry", "Expiry (MM/YY)", "MM/YY", "", 4, 9),
    ("cvc", "CVC", "3 or 4 digits", "The security code: 4 digits on the front for Amex.", 3, 4),
)


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": to_mrkdwn(text)}}


def reply_blocks(text: str, *, offer_card_form: bool) -> list[Block]:
    """A DM reply; with the secure-entry and cancel buttons when the card form is on offer."""
    blocks = [_section(text)]
    if offer_card_form:
        blocks.append(
            {
                "type": "actions",
                "block_id": "card_offer",
                "elements": [
                    {
                        "type": "button",
                        "action_id": OPEN_CARD_FORM,
                        "text": _text("Enter card securely"),
                        "style": "primary",
                        "value": "open",
                    },
                    _cancel_button(),
                ],
            }
        )
    return blocks


def _cancel_button() -> Block:
    return {
        "type": "button",
        "action_id": CANCEL_PAYMENT,
        "text": _text("Cancel"),
        "style": "danger",
        "value": "cancel",
    }


def checkout_blocks(
    url: str, slots: Slots, charge: Charge | None = None, *, lead: str = ""
) -> list[Block]:
    """The DM offering Stripe's own card page: a link button (a bearer link: DM only); with
    `charge`, the page takes that payment. `lead`: the turn's words, said first."""
    offer = messages.OFFER_CHECKOUT if charge is None else messages.offer_payment_page(charge)
    if lead and charge is None:
        offer = messages.CHECKOUT_LINK
    text = "\n".join(part for part in (lead or messages.summary(slots), offer) if part)
    title = "Enter card on Stripe" if charge is None else "Pay on Stripe"
    link = {
        "type": "button",
        "action_id": OPEN_CHECKOUT,
        "text": _text(title),
        "style": "primary",
        "url": url,
    }
    return [
        _section(text),
        {"type": "actions", "block_id": "checkout_offer", "elements": [link, _cancel_button()]},
    ]


def terms_blocks(url: str) -> list[Block]:
    """The terms to accept before any card entry: their page, Accept and Decline."""
    read = {
        "type": "button",
        "action_id": OPEN_TERMS,
        "text": _text("Read the terms"),
        "url": url,
    }
    accept = {
        "type": "button",
        "action_id": ACCEPT_TERMS,
        "text": _text("Accept"),
        "style": "primary",
        "value": "accept",
    }
    decline = {
        "type": "button",
        "action_id": DECLINE_TERMS,
        "text": _text("Decline"),
        "value": "decline",
    }
    return [
        _section(messages.TERMS_ASKED),
        {"type": "actions", "block_id": "terms", "elements": [read, accept, decline]},
    ]


def authentication_blocks(url: str, *, for_payment: bool = False) -> list[Block]:
    """The DM with the bank's confirmation page for a card or a payment (a bearer link:
    DM only)."""
    link = {
        "type": "button",
        "action_id": OPEN_AUTHENTICATION,
        "text": _text("Confirm with your bank"),
        "style": "primary",
        "url": url,
    }
    if for_payment:  # the payment can't be cancelled here: unconfirmed, it is never charged
        return [
            _section(messages.AUTHENTICATE_PAYMENT),
            {"type": "actions", "block_id": "authentication", "elements": [link]},
        ]
    return [
        _section(messages.AUTHENTICATE),
        {"type": "actions", "block_id": "authentication", "elements": [link, _cancel_button()]},
    ]


def pay_blocks(charge: Charge) -> list[Block]:
    """The payment's summary with Pay (which alone charges), another card, and Cancel."""
    pay = {
        "type": "button",
        "action_id": PAY,
        "text": _text(f"Pay {format_amount(charge.amount, charge.currency)}"),
        "style": "primary",
        "value": charge.key,
    }
    another = {
        "type": "button",
        "action_id": OPEN_CARD_FORM,
        "text": _text("Use another card"),
        "value": "another",
    }
    return [
        _section(messages.pay_question(charge)),
        {"type": "actions", "block_id": "pay_offer", "elements": [pay, another, _cancel_button()]},
    ]


def receipt_blocks(receipt: Receipt) -> list[Block]:
    """The receipt: amount, reference, card (brand and last four), date, Stripe's payment
    id, and Stripe's own receipt page when it gave one."""
    fields = [
        ("Amount", format_amount(receipt.amount, receipt.currency)),
        ("Invoice", receipt.reference),
        ("Card", mask(receipt.brand, receipt.last4)),
        ("Date", messages.paid_on(receipt)),
        ("Payment", f"`{receipt.intent_id}`"),
    ]
    blocks: list[Block] = [
        {"type": "header", "text": _text("Payment received")},
        _section(messages.paid(receipt)),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{to_mrkdwn(value)}"}
                for label, value in fields
            ],
        },
    ]
    if receipt.receipt_url:
        link = {
            "type": "button",
            "action_id": OPEN_RECEIPT,
            "text": _text("View receipt"),
            "url": receipt.receipt_url,
        }
        blocks.append({"type": "actions", "block_id": "receipt", "elements": [link]})
    return blocks


def card_modal(form_ref: str, slots: Slots) -> dict[str, Any]:
    """The card form; `private_metadata` is the opaque form reference and nothing else."""
    intro = messages.summary(slots) or "Enter the card you'd like to use."
    blocks: list[Block] = [_section(intro)]
    for block_id, label, placeholder, hint, min_length, max_length in _INPUTS:
        element = {
            "type": "plain_text_input",
            "action_id": block_id,
            "placeholder": _text(placeholder),
            "min_length": min_length,
            "max_length": max_length,
        }
        block: Block = {
            "type": "input",
            "block_id": block_id,
            "label": _text(label),
            "element": element,
        }
        if hint:
            block["hint"] = _text(hint)
        blocks.append(block)
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": ":lock: Your card goes straight to our payment provider. "
                    "We keep only the brand and last four digits.",
                }
            ],
        }
    )
    return {
        "type": "modal",
        "callback_id": CARD_FORM,
        "private_metadata": form_ref,
        "title": _text("Enter card"),
        "submit": _text("Save card"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def result_view(text: str, *, title: str = "Card") -> dict[str, Any]:
    """A final modal view with a message and only a close button."""
    return {
        "type": "modal",
        "callback_id": "card_result",
        "title": _text(title),
        "close": _text("Done"),
        "blocks": [_section(text)],
    }


def confirmation_blocks(payment: PaymentRecord) -> list[Block]:
    """The DM confirmation: brand, last four, expiry and Stripe's id; nothing more."""
    return [_section(messages.confirmation(payment))]


def home_view(session: Session | None) -> dict[str, Any]:
    """The person's App Home tab: their card on file (brand, last four, expiry), where their
    payment stands, and buttons to pay, replace the card or be forgotten. Slack shows each
    person only their own Home tab."""
    card = session.payment if session is not None else None
    on_file = (
        f"*Card on file:* {mask(card.brand, card.last4)}, expires "
        f"{card.exp_month:02d}/{card.exp_year}"
        if card is not None
        else "*Card on file:* none yet."
    )
    buttons: list[Block] = [
        {
            "type": "button",
            "action_id": HOME_PAY,
            "text": _text("Pay an invoice"),
            "style": "primary",
            "value": "pay",
        }
    ]
    if card is not None:
        buttons.append(
            {
                "type": "button",
                "action_id": HOME_REPLACE_CARD,
                "text": _text("Replace card"),
                "value": "replace",
            }
        )
    if session is not None:
        buttons.append(
            {
                "type": "button",
                "action_id": HOME_FORGET,
                "text": _text("Forget me"),
                "style": "danger",
                "value": "forget",
                "confirm": {
                    "title": _text("Forget your details?"),
                    "text": _text(
                        "This deletes what paybot keeps about you: your conversation and "
                        "your card on file. Payments already made stay at Stripe."
                    ),
                    "confirm": _text("Forget me"),
                    "deny": _text("Keep them"),
                    "style": "danger",
                },
            }
        )
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": _text("paybot")},
            _section(on_file),
            _section(f"*Your payment:* {messages.status(session)}"),
            {"type": "actions", "block_id": "home_actions", "elements": buttons},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "Only you can see this page."}],
            },
        ],
    }
