"""Turn the service's effects into Teams activities: chat text and Adaptive Cards.

Texts arrive as the core's chat markdown, which Teams renders as it is; what could
make a supplied value (a reference, the model's reply) into a link or markup is
escaped here. Card numbers are never asked for on Teams: the only card entry is
Stripe's page, opened by an `Action.OpenUrl` button.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.cards import AdaptiveCard, OpenUrlAction, SubmitAction, TextBlock

from bot import messages
from bot.cards import mask
from bot.machine import (
    AskTerms,
    AskToPay,
    CloseForm,
    ConfirmCard,
    Effect,
    FieldErrors,
    OfferAuthentication,
    OfferCheckout,
    OpenCardForm,
    Reply,
    SendReceipt,
    ShowHelp,
)
from bot.money import format_amount
from handlers.teams.copy import HELP

log = logging.getLogger(__name__)

ACTION_KEY = "paybot"
"""The key of an `Action.Submit`'s data naming what the press asks for."""
PAY, CANCEL, ACCEPT_TERMS, DECLINE_TERMS = "pay", "cancel", "accept_terms", "decline_terms"
CONFIRM_PAY = "confirm_pay"
"""The Pay button under a payment's summary; its data's `OFFER_KEY` names the offer."""
OFFER_KEY = "offer"

_LINK_BRACKETS = re.compile(r"([\[\]])")


def chat_text(text: str) -> str:
    """Chat markdown for a Teams message: markup kept, links and HTML made literal.

    Teams renders a subset of HTML in messages, and Markdown's `[label](url)`; both are
    escaped, so a supplied value never becomes a disguised link.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _LINK_BRACKETS.sub(r"\\\1", text)


def card_text(text: str) -> TextBlock:
    """Chat markdown in an Adaptive Card's TextBlock (Markdown only, no HTML), links escaped."""
    return TextBlock(text=_LINK_BRACKETS.sub(r"\\\1", text), wrap=True)


def _submit(title: str, action: str) -> SubmitAction:
    return SubmitAction(title=title, data={ACTION_KEY: action})


def _card(*texts: str, actions: list[OpenUrlAction | SubmitAction]) -> MessageActivityInput:
    body = [card_text(text) for text in texts if text]
    card = AdaptiveCard(body=list(body), actions=list(actions))
    return MessageActivityInput().add_card(card)


def activities(effects: Iterable[Effect]) -> list[MessageActivityInput]:
    """The messages that say these effects in a Teams chat, in order."""
    said: list[MessageActivityInput] = []
    for effect in effects:
        if isinstance(effect, ShowHelp):
            said.append(MessageActivityInput(text=chat_text(HELP)))
        elif isinstance(effect, Reply) and effect.offer_card_form:
            actions = [_submit("Pay with card", PAY), _submit("Cancel", CANCEL)]
            said.append(_card(effect.text, actions=list(actions)))
        elif isinstance(effect, Reply):
            said.append(MessageActivityInput(text=chat_text(effect.text)))
        elif isinstance(effect, ConfirmCard):
            said.append(MessageActivityInput(text=chat_text(messages.confirmation(effect.payment))))
        elif isinstance(effect, OfferCheckout):
            charge = effect.charge
            title = "Enter card on Stripe" if charge is None else "Pay on Stripe"
            link = OpenUrlAction(title=title, url=effect.url)
            text = effect.lead or messages.summary(effect.slots)
            offer = (
                messages.OFFER_CHECKOUT if charge is None else messages.offer_payment_page(charge)
            )
            if effect.lead and charge is None:
                offer = messages.CHECKOUT_LINK
            said.append(_card(text, offer, actions=[link, _submit("Cancel", CANCEL)]))
        elif isinstance(effect, OfferAuthentication) and effect.for_payment:
            link = OpenUrlAction(title="Confirm with your bank", url=effect.url)
            said.append(_card(messages.AUTHENTICATE_PAYMENT, actions=[link]))
        elif isinstance(effect, OfferAuthentication):
            link = OpenUrlAction(title="Confirm with your bank", url=effect.url)
            said.append(_card(messages.AUTHENTICATE, actions=[link, _submit("Cancel", CANCEL)]))
        elif isinstance(effect, AskToPay):
            charge = effect.charge
            pay = SubmitAction(
                title=f"Pay {format_amount(charge.amount, charge.currency)}",
                data={ACTION_KEY: CONFIRM_PAY, OFFER_KEY: charge.key},
            )
            buttons: list[OpenUrlAction | SubmitAction] = [
                pay,
                _submit("Use another card", PAY),
                _submit("Cancel", CANCEL),
            ]
            said.append(_card(messages.pay_question(charge), actions=buttons))
        elif isinstance(effect, SendReceipt):
            receipt = effect.receipt
            lines = [
                messages.paid(receipt),
                f"Amount: {format_amount(receipt.amount, receipt.currency)}",
                f"Invoice: {receipt.reference}",
                f"Card: {mask(receipt.brand, receipt.last4)}",
                f"Date: {messages.paid_on(receipt)}",
                f"Payment: `{receipt.intent_id}`",
            ]
            links: list[OpenUrlAction | SubmitAction] = []
            if receipt.receipt_url:
                links.append(OpenUrlAction(title="View receipt", url=receipt.receipt_url))
            said.append(_card("\n\n".join(lines), actions=links))
        elif isinstance(effect, AskTerms):
            choices: list[OpenUrlAction | SubmitAction] = [
                OpenUrlAction(title="Read the terms", url=effect.url),
                _submit("Accept", ACCEPT_TERMS),
                _submit("Decline", DECLINE_TERMS),
            ]
            said.append(_card(messages.TERMS_ASKED, actions=choices))
        elif isinstance(effect, OpenCardForm | CloseForm | FieldErrors):
            # The card modal is Slack's; a Teams chat never shows a card field.
            log.error("a card form effect reached Teams; card entry refused")
            said.append(MessageActivityInput(text=chat_text(messages.CARD_ENTRY_UNAVAILABLE)))
    return said
