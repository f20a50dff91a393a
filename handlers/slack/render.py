"""Turn the service's effects into Slack Web API calls and Bolt acks."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import PaybotError
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
from bot.messages import (
    AUTHENTICATE,
    AUTHENTICATE_PAYMENT,
    OFFER_CHECKOUT,
    TERMS_ASKED,
    confirmation,
    paid,
    pay_question,
)
from handlers.slack.blocks import (
    authentication_blocks,
    card_modal,
    checkout_blocks,
    confirmation_blocks,
    pay_blocks,
    receipt_blocks,
    reply_blocks,
    result_view,
    terms_blocks,
)
from handlers.slack.copy import HELP
from handlers.slack.mrkdwn import to_mrkdwn

log = logging.getLogger(__name__)


def apology(exc: PaybotError) -> str:
    """Log a failure by kind (never by content) and return what the user may be told."""
    log.error("request failed: %s", type(exc).__name__)
    return exc.user_message


def fallback_text(text: str) -> str:
    """The notification text Slack shows where blocks can't be (first line, no emphasis)."""
    return to_mrkdwn(text.split("\n", 1)[0]).replace("*", "")[:300]


Posted = tuple[str, str, list[dict[str, Any]]]
"""A message as posted: its channel, its ts, its blocks."""


def post(
    client: WebClient, channel: str, effects: Iterable[Effect], *, thread_ts: str | None = None
) -> list[Posted]:
    """Post each reply or confirmation in `channel` (a DM id, or a user id for their DM).

    `thread_ts`: answer inside that thread (the one the person wrote in).
    Returns the messages Slack took, in order.
    """
    posted: list[Posted] = []

    def _post(text: str, blocks: list[dict[str, Any]]) -> None:
        sent = _send(client, channel, text, blocks, thread_ts)
        if sent is not None:
            posted.append((sent[0], sent[1], blocks))

    for effect in effects:
        if isinstance(effect, ShowHelp):
            blocks = reply_blocks(HELP, offer_card_form=False)
            _post(fallback_text(HELP), blocks)
        elif isinstance(effect, Reply):
            blocks = reply_blocks(effect.text, offer_card_form=effect.offer_card_form)
            _post(fallback_text(effect.text), blocks)
        elif isinstance(effect, ConfirmCard):
            text = confirmation(effect.payment)
            blocks = confirmation_blocks(effect.payment)
            _post(fallback_text(text), blocks)
        elif isinstance(effect, OfferCheckout):
            blocks = checkout_blocks(effect.url, effect.slots, effect.charge, lead=effect.lead)
            _post(fallback_text(effect.lead or OFFER_CHECKOUT), blocks)
        elif isinstance(effect, OfferAuthentication):
            blocks = authentication_blocks(effect.url, for_payment=effect.for_payment)
            text = AUTHENTICATE_PAYMENT if effect.for_payment else AUTHENTICATE
            _post(fallback_text(text), blocks)
        elif isinstance(effect, AskToPay):
            text = pay_question(effect.charge)
            _post(fallback_text(text), pay_blocks(effect.charge))
        elif isinstance(effect, SendReceipt):
            text = paid(effect.receipt)
            _post(fallback_text(text), receipt_blocks(effect.receipt))
        elif isinstance(effect, AskTerms):
            _post(fallback_text(TERMS_ASKED), terms_blocks(effect.url))
    return posted


def _send(
    client: WebClient,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]],
    thread_ts: str | None = None,
) -> tuple[str, str] | None:
    """The posted message's channel and ts; None when Slack refused it."""
    try:
        sent = client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
        )
    except SlackApiError as exc:
        # The user's state is saved; only this message is lost. Say which, never what.
        log.error("chat.postMessage failed: %s", exc.response.get("error", "unknown_error"))
        return None
    return str(sent.get("channel") or channel), str(sent.get("ts") or "")


def open_form(client: WebClient, trigger_id: str, effect: OpenCardForm) -> str | None:
    """Open the card modal: its view id; None when Slack refused (e.g. the 3 s trigger
    expired)."""
    try:
        opened = client.views_open(
            trigger_id=trigger_id, view=card_modal(effect.form_ref, effect.slots)
        )
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error", "unknown_error"))
        return None
    return str((opened.get("view") or {}).get("id") or "")


def close_form(client: WebClient, view_id: str, text: str) -> None:
    """Replace an open card modal with `text` and only a close button."""
    try:
        client.views_update(view_id=view_id, view=result_view(text))
    except SlackApiError as exc:
        log.warning("views.update failed: %s", exc.response.get("error", "unknown_error"))


def replies(effects: Iterable[Effect]) -> str:
    """All reply texts joined as mrkdwn, for answers in one message (slash commands)."""
    texts = []
    for effect in effects:
        if isinstance(effect, ShowHelp):
            texts.append(HELP)
        elif isinstance(effect, Reply):
            texts.append(effect.text)
    return to_mrkdwn("\n".join(texts))


def view_response(effects: Iterable[Effect]) -> dict[str, Any] | None:
    """The `view_submission` ack body for these effects, if they change the modal."""
    for effect in effects:
        if isinstance(effect, FieldErrors):
            return {"response_action": "errors", "errors": dict(effect.errors)}
        if isinstance(effect, ConfirmCard):
            view = result_view(confirmation(effect.payment), title="Card saved")
            return {"response_action": "update", "view": view}
        if isinstance(effect, CloseForm):
            return {"response_action": "update", "view": result_view(effect.text)}
    return None
