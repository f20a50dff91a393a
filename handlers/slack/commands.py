"""`/pay` from any channel: answers are ephemeral; the card form opens inside the ack."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient

from bot.cards import contains_pan
from bot.errors import PaybotError
from bot.machine import (
    AskTerms,
    AskToPay,
    CloseOffers,
    OfferAuthentication,
    OfferCheckout,
    SendReceipt,
)
from bot.messages import CHECKOUT_SENT, PAN_WARNING, REFUND_USAGE, TERMS_SENT
from bot.models import Slots
from bot.rules import amount_refusal, extract_slots
from handlers.services import Services
from handlers.slack import offers, render
from handlers.slack.copy import FORM_TIMED_OUT, HELP, UNKNOWN_OPTION
from handlers.slack.links import return_url
from handlers.slack.mrkdwn import from_mrkdwn, to_mrkdwn
from handlers.slack.users import chat_user

_DM_ONLY = (SendReceipt, AskToPay, OfferAuthentication, CloseOffers)
"""Effects that belong in the person's DM, never in an ephemeral answer in a channel."""


def register(app: App, services: Services) -> None:
    conversation = services.conversation
    subcommands = {
        "help": conversation.help,
        "status": conversation.status,
        "cancel": conversation.cancel,
        "forget": conversation.forget,
        "payments": conversation.payments,
    }

    def pay(
        ack: Ack,
        command: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        request: BoltRequest,
    ) -> None:
        try:
            answer(ack, command, client, context, request)
        except PaybotError as exc:
            ack(text=to_mrkdwn(render.apology(exc)))

    def answer(
        ack: Ack,
        command: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        request: BoltRequest,
    ) -> None:
        team_id, user_id = context.team_id or "", context.user_id or ""
        user = chat_user(team_id, user_id)
        text = from_mrkdwn(command.get("text") or "").strip()
        word = text.split(maxsplit=1)[0].lower() if text else ""
        warning = ""
        if contains_pan(text):
            # Never parsed, echoed or kept: answer with the secure form instead.
            text, word, warning = "", "", PAN_WARNING
        if word == "refund":
            args = text.split()[1:]
            if not 1 <= len(args) <= 2:
                ack(text=to_mrkdwn(REFUND_USAGE))
                return
            answer_text, payer, notice = conversation.refund(
                user, args[0], args[1] if len(args) == 2 else ""
            )
            if payer is not None and payer.surface == "slack":
                offers.deliver(conversation, client, payer, payer.user_id, notice)  # their DM
            ack(text=to_mrkdwn(answer_text))
            return
        if word in subcommands:
            effects = subcommands[word](user)
            # A receipt or a payment's next step (status settles a charge) goes to the DM,
            # where the payment is; the command's own answer stays ephemeral.
            in_dm = [e for e in effects if isinstance(e, _DM_ONLY)]
            offers.deliver(conversation, client, user, user_id, in_dm)
            ack(text=render.replies(effects))
            return
        refusal = amount_refusal(text) if text else ""
        if refusal:  # a signed amount, or more decimals than the currency has: say so
            ack(text=to_mrkdwn(refusal))
            return
        slots = extract_slots(text) if text else Slots()
        if text and slots == Slots():
            ack(text=f"{UNKNOWN_OPTION}\n{HELP}")
            return
        back = return_url(
            request.headers,
            public_url=services.public_url,
            team_id=team_id,
            payload=command,
        )
        trigger = str(command.get("trigger_id") or "")
        entry = offers.card_entry(conversation, client, user, trigger, slots=slots, return_url=back)
        effects = entry.effects
        if any(isinstance(e, OfferCheckout) for e in effects):
            offers.deliver(conversation, client, user, user_id, effects)  # a bearer link: DM only
            ack(text=to_mrkdwn("\n".join(filter(None, (warning, CHECKOUT_SENT)))))
        elif any(isinstance(e, AskTerms) for e in effects):
            offers.deliver(conversation, client, user, user_id, effects)  # the card follows there
            ack(text=to_mrkdwn("\n".join(filter(None, (warning, TERMS_SENT)))))
        elif entry.opened is None:  # a refusal, a card being saved: said here
            ack(text=render.replies(effects))
        elif entry.opened:
            ack(text=to_mrkdwn(warning)) if warning else ack()
        else:
            ack(text=FORM_TIMED_OUT)

    app.command("/pay")(pay)
