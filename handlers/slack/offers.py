"""Offers in the DM that behave like Slack's own apps: one live offer, the rest closed.

An offer is a posted message with buttons a person may still press (the card entry,
Pay, the terms, the bank's check). Each is tracked in the session by its post reference,
`<ts>/<channel>/<kind>[/<thread ts>]`, each ts's dot written as `x`: a ts is 16 digits,
which may pass the Luhn check, and no stored value may read as a card number. A ts is
fixed-width, so a later post sorts after an earlier one (`machine.offer_stands` relies
on it). What follows a closed offer (the confirmation, the receipt) goes in its thread.

When an offer ends (the card saved, the payment made, cancelled, forgotten, or replaced
by a newer offer) its message is updated in place to say so, with no buttons left; a
press on a closed offer gets a short ephemeral answer, no new flow.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import PaybotError
from bot.machine import CloseOffers, Effect, OfferEnd, OpenCardForm
from bot.models import ChatUser, Slots
from bot.service import ConversationService
from handlers.slack import render
from handlers.slack.blocks import (
    ACCEPT_TERMS,
    OPEN_AUTHENTICATION,
    OPEN_CARD_FORM,
    OPEN_CHECKOUT,
    PAY,
)
from handlers.slack.copy import OFFER_ENDS, OFFER_TITLES

log = logging.getLogger(__name__)

_KINDS = {
    PAY: "pay",
    OPEN_CARD_FORM: "card",
    OPEN_CHECKOUT: "card",
    ACCEPT_TERMS: "terms",
    OPEN_AUTHENTICATION: "bank",
}
"""The button that makes a message an offer, and which kind of offer it is."""


def offer_kind(blocks: Iterable[Mapping[str, Any]]) -> str | None:
    """The kind of offer a message's blocks make, or None when they make none."""
    for block in blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements") or ():
            kind = _KINDS.get(str(element.get("action_id") or ""))
            if kind is not None:
                return kind
    return None


def post_ref(channel: str, ts: str, kind: str, thread_ts: str | None = None) -> str:
    ref = f"{ts.replace('.', 'x')}/{channel}/{kind}"
    return f"{ref}/{thread_ts.replace('.', 'x')}" if thread_ts else ref


def _parts(post: str) -> tuple[str, str, str, str | None]:
    """A post reference's channel, ts, kind and thread ts (None: not in a thread)."""
    token, channel, kind, thread = [*post.split("/"), "", "", ""][:4]
    return channel, token.replace("x", "."), kind, thread.replace("x", ".") or None


def pressed_post(body: Mapping[str, Any]) -> str | None:
    """The post reference of the message a button was pressed in; None if it has none
    (an ephemeral message, a modal) or is no offer."""
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    kind = offer_kind(message.get("blocks") or ())
    if not channel or not message.get("ts") or kind is None:
        return None
    thread = message.get("thread_ts")
    return post_ref(channel, str(message["ts"]), kind, str(thread) if thread else None)


def kind_of(post: str) -> str:
    return _parts(post)[2]


def thread_of(post: str) -> str | None:
    return _parts(post)[3]


def closed_text(kind: str, why: OfferEnd) -> str:
    return f":lock: {OFFER_TITLES.get(kind, 'Offer')} {OFFER_ENDS[why]}."


def close(client: WebClient, posts: Sequence[str], why: OfferEnd) -> None:
    """Update each posted offer in place to say it ended, with no buttons left.

    A failed update leaves that message's buttons; a press on it is still refused.
    """
    for post in posts:
        channel, ts, kind, _ = _parts(post)
        if not channel or not ts:
            continue
        text = closed_text(kind, why)
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]
        with contextlib.suppress(SlackApiError):
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def deliver(
    conversation: ConversationService,
    client: WebClient,
    user: ChatUser | None,
    channel: str,
    effects: Sequence[Effect],
    *,
    thread_ts: str | None = None,
) -> bool:
    """Carry out `effects` in `channel`: close the offers they end, post the messages, and
    track the offers posted for `user` (None: a request naming no one), closing the ones
    they replace. True when a message was posted."""
    for effect in effects:
        if isinstance(effect, CloseOffers):
            close(client, effect.posts, effect.why)
            # What ends an offer is said where the offer was: in its thread, if any.
            thread_ts = thread_ts or next(filter(None, map(thread_of, effect.posts)), None)
    said = render.post(client, channel, effects, thread_ts=thread_ts)
    posted = [
        post_ref(channel_id, ts, kind, thread_ts)
        for channel_id, ts, blocks in said
        if ts and (kind := offer_kind(blocks)) is not None
    ]
    if not posted or user is None:
        return bool(said)
    try:
        ended = conversation.offers_posted(user, posted)
    except PaybotError as exc:  # the offer was posted; only its tracking is lost
        log.warning("could not track a posted offer: %s", type(exc).__name__)
        return True
    if ended is not None:
        close(client, ended.posts, ended.why)
    return True


@dataclass(frozen=True)
class CardEntry:
    effects: tuple[Effect, ...]
    opened: bool | None
    """Whether the modal opened; None when there was none to open."""


def card_entry(
    conversation: ConversationService,
    client: WebClient,
    user: ChatUser,
    trigger_id: str,
    *,
    slots: Slots | None = None,
    return_url: str = "",
    post: str | None = None,
) -> CardEntry:
    """The card entry this deployment uses, for a press or a command with `trigger_id`.

    The modal is opened as soon as the session is read, before it is written: the
    trigger lasts 3 seconds. `post`: the offer pressed (a press on an ended one opens
    nothing: `OfferClosed`).
    """
    opened: list[str | None] = []  # the modal's view id, once it was tried

    def show(form: OpenCardForm) -> bool:
        opened.append(render.open_form(client, trigger_id, form))
        return opened[-1] is not None

    try:
        effects = conversation.request_card(
            user, slots, return_url=return_url, post=post, show=show
        )
    except PaybotError as exc:
        view_id = opened[-1] if opened else None
        if not view_id:
            raise
        # The modal opened, but the conversation could not record it: a card typed into
        # it would be refused, so it says what went wrong instead, and nothing else does.
        render.close_form(client, view_id, render.apology(exc))
        return CardEntry((), True)
    return CardEntry(effects, opened[-1] is not None if opened else None)
