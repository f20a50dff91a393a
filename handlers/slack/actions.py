"""Buttons in the DM: open the card form, cancel, accept or decline the terms."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cards import contains_pan
from bot.errors import PaybotError
from bot.machine import (
    AskToPay,
    Effect,
    OfferAuthentication,
    OfferClosed,
    Reply,
    SendReceipt,
)
from bot.messages import CANCELLED, TERMS_ACCEPTED, TERMS_DECLINED
from bot.models import ChatUser
from handlers.services import Services
from handlers.slack import offers, render
from handlers.slack.blocks import (
    ACCEPT_TERMS,
    CANCEL_PAYMENT,
    DECLINE_TERMS,
    OPEN_AUTHENTICATION,
    OPEN_CARD_FORM,
    OPEN_CHECKOUT,
    OPEN_RECEIPT,
    OPEN_TERMS,
    PAY,
)
from handlers.slack.client import patient
from handlers.slack.copy import CHARGING, FORM_DID_NOT_OPEN, OFFER_CLOSED
from handlers.slack.links import return_url
from handlers.slack.messages import status
from handlers.slack.mrkdwn import to_mrkdwn
from handlers.slack.users import chat_user


def _channel(body: dict[str, Any], user_id: str) -> str:
    return str((body.get("channel") or {}).get("id") or user_id)


def _thread(body: dict[str, Any]) -> str | None:
    """The thread the pressed message is in, if any: the answer goes there too."""
    thread = (body.get("message") or {}).get("thread_ts")
    return str(thread) if thread else None


def without_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The message's blocks minus its action rows, so a used offer can't be clicked again."""
    return [b for b in message.get("blocks") or [] if b.get("type") != "actions"]


PAYING = "Paying…"
PAID = "✅ Paid: the receipt is below."
WAITING_FOR_BANK = "Waiting for your bank to confirm the payment."
NOT_PAID = "Not paid: see below."


def _pay_outcome(effects: tuple[Effect, ...]) -> str:
    """What became of a Pay press, for the pressed message's note; "" to leave it."""
    if any(isinstance(e, SendReceipt) for e in effects):
        return PAID
    if any(isinstance(e, OfferAuthentication) for e in effects):
        return WAITING_FOR_BANK
    # A decline offers another card; a request Stripe refused offers Pay again. Anything
    # else (a second press while the first is charging, an old offer) leaves the note.
    if any(
        isinstance(e, AskToPay) or (isinstance(e, Reply) and e.offer_card_form) for e in effects
    ):
        return NOT_PAID
    return ""


def settled(
    client: WebClient, body: dict[str, Any], channel: str, fallback: str, *, note: str = ""
) -> None:
    """The pressed message without its buttons (and with `note` under it), so a used offer
    can't be pressed again. If this fails the old buttons stay; the press already counted."""
    message = body.get("message")
    if not message or not message.get("ts"):
        return
    blocks = without_buttons(message)
    text = str(message.get("text") or "paybot")
    if contains_pan(json.dumps(blocks) + text):  # never post back what we didn't send
        text, blocks = to_mrkdwn(fallback), []
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    with contextlib.suppress(SlackApiError):
        client.chat_update(channel=channel, ts=message["ts"], text=text, blocks=blocks)


def register(app: App, services: Services) -> None:
    conversation = services.conversation

    def tell_closed(
        client: WebClient, body: dict[str, Any], user: ChatUser, channel: str, post: str
    ) -> None:
        """The presser told the offer ended (only they see it); its message closed."""
        with contextlib.suppress(SlackApiError):
            client.chat_postEphemeral(
                channel=channel, user=user.user_id, text=to_mrkdwn(OFFER_CLOSED)
            )
        note = offers.closed_text(offers.kind_of(post), "closed")
        settled(client, body, channel, note, note=note)

    def ended(
        effects: tuple[Effect, ...],
        client: WebClient,
        body: dict[str, Any],
        user: ChatUser,
        channel: str,
    ) -> bool:
        """True (and the presser told, the message closed) when the pressed offer ended."""
        closed = next((e for e in effects if isinstance(e, OfferClosed)), None)
        if closed is not None:
            tell_closed(client, body, user, channel, closed.post)
        return closed is not None

    def open_card_form(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        request: BoltRequest,
    ) -> None:
        ack()
        team_id, user_id = context.team_id or "", context.user_id or ""
        back = return_url(
            request.headers,
            public_url=services.public_url,
            team_id=team_id,
            payload=body,
        )
        try:
            user = chat_user(team_id, user_id)
            entry = offers.card_entry(
                conversation,
                client,
                user,
                str(body.get("trigger_id") or ""),
                return_url=back,
                post=offers.pressed_post(body),
            )
        except PaybotError as exc:
            render.post(client, user_id, (Reply(render.apology(exc)),))
            return
        if ended(entry.effects, client, body, user, _channel(body, user_id)):
            return
        if entry.opened is False:  # Slack refused it (the trigger expired): nothing kept
            again = (Reply(FORM_DID_NOT_OPEN, offer_card_form=True),)
            offers.deliver(conversation, client, user, user_id, again)
        else:  # the form is open; or a reply, a checkout link: the person's DM, nowhere else
            offers.deliver(conversation, client, user, user_id, entry.effects)

    def acknowledge(ack: Ack) -> None:
        ack()  # Slack reports clicks on link buttons too; the browser does the rest

    def settle(
        run: Callable[..., tuple[Effect, ...]], fallback: str
    ) -> Callable[[Ack, dict[str, Any], WebClient, BoltContext], None]:
        """A button that settles its message: `run(user, post=...)`, then the message
        loses its buttons."""

        def pressed(
            ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
        ) -> None:
            ack()
            team_id, user_id = context.team_id or "", context.user_id or ""
            channel = _channel(body, user_id)
            try:
                user = chat_user(team_id, user_id)
                effects = run(user, post=offers.pressed_post(body))
            except PaybotError as exc:
                render.post(client, channel, (Reply(render.apology(exc)),))
                return
            if ended(effects, client, body, user, channel):
                return
            settled(client, body, channel, fallback)
            offers.deliver(conversation, client, user, channel, effects, thread_ts=_thread(body))

        return pressed

    def pay_pressed(ack: Ack) -> None:
        ack()  # the charge runs after the ack (lazy work): a button press holds no card data

    def pay(
        body: dict[str, Any], client: WebClient, context: BoltContext, request: BoltRequest
    ) -> None:
        team_id, user_id = context.team_id or "", context.user_id or ""
        channel = _channel(body, user_id)
        actions = body.get("actions") or [{}]
        key = str(actions[0].get("value") or "") if isinstance(actions[0], dict) else ""
        back = return_url(
            request.headers, public_url=services.public_url, team_id=team_id, payload=body
        )
        thread = _thread(body)
        user: ChatUser | None = None
        try:
            user = chat_user(team_id, user_id)
            settled(client, body, channel, PAYING, note=PAYING)
            if services.agent_view and thread:
                status(client, channel, thread, CHARGING)
            effects = conversation.pay(user, key, return_url=back, post=offers.pressed_post(body))
        except PaybotError as exc:
            effects = (Reply(render.apology(exc)),)
        if user is not None and ended(effects, client, body, user, channel):
            if services.agent_view and thread:
                status(client, channel, thread, "")
            return
        said = offers.deliver(
            conversation, patient(client), user, channel, effects, thread_ts=thread
        )
        if services.agent_view and thread and not said:
            status(client, channel, thread, "")
        outcome = _pay_outcome(effects)
        if outcome:  # the pressed message says how it ended, not "Paying…" for ever
            settled(client, body, channel, outcome, note=outcome)

    app.action(PAY)(ack=pay_pressed, lazy=[pay])
    app.action(OPEN_RECEIPT)(acknowledge)
    app.action(OPEN_CARD_FORM)(open_card_form)
    app.action(OPEN_CHECKOUT)(acknowledge)
    app.action(OPEN_AUTHENTICATION)(acknowledge)
    app.action(OPEN_TERMS)(acknowledge)
    app.action(CANCEL_PAYMENT)(settle(conversation.cancel, CANCELLED))
    app.action(ACCEPT_TERMS)(settle(conversation.accept_terms, TERMS_ACCEPTED))
    app.action(DECLINE_TERMS)(settle(conversation.decline_terms, TERMS_DECLINED))
