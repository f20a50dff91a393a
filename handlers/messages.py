"""DM messages (`message.im`): ack at once, answer in a lazy listener.

A message that carries a card number is answered inside the ack instead:
Bolt's Lambda runner hands lazy work the whole raw request, and that request
must never hold card data (DESIGN.md section 1).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient

from bot.cards import contains_pan
from bot.errors import PaybotError
from bot.machine import Effect, Reply
from handlers import render
from handlers.services import EVENT_CLAIM_SECONDS, Services

log = logging.getLogger(__name__)


def is_user_dm(event: dict[str, Any]) -> bool:
    """A plain message a person typed in the bot's DM: no edits, no bots, no other subtypes."""
    return (
        event.get("channel_type") == "im"
        and "subtype" not in event
        and "bot_id" not in event
        and isinstance(event.get("user"), str)
        and isinstance(event.get("text"), str)
    )


def carries_card_number(event: dict[str, Any]) -> bool:
    return is_user_dm(event) and contains_pan(event["text"])


def is_plain_dm(event: dict[str, Any]) -> bool:
    """A DM without a card number: the only kind answered by (async) lazy work."""
    return is_user_dm(event) and not contains_pan(event["text"])


LAST_RETRY = 3
"""Slack redelivers an event at most three times (`X-Slack-Retry-Num` 1 to 3)."""


def register(app: App, services: Services) -> None:
    def first_delivery(body: dict[str, Any], event: dict[str, Any], request: BoltRequest) -> bool:
        """Claim the event before any listener runs; a repeat matches only the catch-all.

        While the ledger is down the error becomes a 500, so Slack delivers the event
        again later (no reply is sent that a redelivery could repeat); on Slack's last
        try the event is answered regardless.
        """
        if request.lazy_only:
            return True  # Lambda's re-invocation of a delivery that was claimed already
        event_id = body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"
        try:
            claimed = services.ledger.claim(f"slack:{event_id}", ttl_seconds=EVENT_CLAIM_SECONDS)
        except PaybotError:
            retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
            if retry.isdigit() and int(retry) >= LAST_RETRY:
                return True
            raise
        if not claimed:
            log.info("duplicate delivery of %s ignored", event_id)
        return claimed

    def answer_later(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        answer(body, event, render.patient(client))  # async: there is time to honour Retry-After

    def answer(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        team_id = body.get("team_id") or event.get("team") or ""
        effects: tuple[Effect, ...]
        try:
            effects = services.conversation.message(team_id, event["user"], event["text"])
        except PaybotError as exc:
            effects = (Reply(render.apology(exc)),)
        render.post(client, event["channel"], effects)

    def answer_now(
        ack: Ack, body: dict[str, Any], event: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        answer(body, event, client)

    def ack_only(ack: Ack) -> None:
        ack()

    def ignore(ack: Ack) -> None:
        ack()  # edits, bot messages, joins: acknowledged so Slack doesn't retry, then dropped

    app.event("message", matchers=[carries_card_number, first_delivery])(answer_now)
    app.event("message", matchers=[is_plain_dm, first_delivery])(ack=ack_only, lazy=[answer_later])
    app.event("message")(ignore)
