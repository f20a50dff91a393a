"""What a person says in a Teams personal chat, and the card buttons they press.

The same conversation as Slack's DMs, through the same service: words are the
dialogue; `pay`, `status`, `cancel`, `forget` and `help` are the commands the app
manifest lists; the card's buttons send `Action.Submit` data. Cards are taken on
Stripe's page only, so `pay` always opens the hosted page.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from microsoft_teams.api.activities.message.message import MessageActivity
from microsoft_teams.api.activities.typing import TypingActivityInput
from microsoft_teams.apps import ActivityContext, App

from bot.cards import contains_pan
from bot.errors import PaybotError
from bot.machine import Effect, Reply
from bot.models import ChatUser, ReplyAddress, Slots
from bot.rules import amount_refusal, extract_slots
from handlers.services import EVENT_CLAIM_SECONDS, Services, in_progress_seconds
from handlers.teams import render
from handlers.teams.copy import NO_IDENTITY, PERSONAL_ONLY

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What the route knows of one activity's request, for the listener to act on."""

    return_url: str
    """Stripe's way back to us (the route sees the host the request came to)."""
    defer: Callable[[], None] | None = None
    """On Lambda: re-send this request to the function, asynchronously, to answer it there."""
    deferred: bool = False
    """This is that re-sent request: its activity was claimed when it first came."""


delivery: ContextVar[Delivery | None] = ContextVar("teams_delivery", default=None)
"""This request's `Delivery` (set by the route, in the task that answers it)."""

_WORDS = frozenset({"status", "cancel", "forget", "help"})


def teams_user(activity: MessageActivity) -> ChatUser | None:
    """The person: their Entra tenant and object id; None when Teams did not say."""
    tenant = activity.conversation.tenant_id or (
        activity.channel_data.tenant.id
        if activity.channel_data and activity.channel_data.tenant
        else None
    )
    person = activity.from_.aad_object_id if activity.from_ else None
    try:
        return ChatUser(surface="teams", tenant_id=tenant or "", user_id=person or "")
    except ValueError:
        return None


def answer(services: Services, activity: MessageActivity, back: str) -> tuple[Effect, ...]:
    """The effects of one activity in a personal chat (runs off the event loop: it blocks)."""
    if activity.conversation.conversation_type != "personal":
        return (Reply(PERSONAL_ONLY),)
    user = teams_user(activity)
    if user is None:
        return (Reply(NO_IDENTITY),)
    address = ReplyAddress(
        conversation_id=activity.conversation.id, service_url=activity.service_url
    )
    conversation = services.conversation
    pressed = activity.value.get(render.ACTION_KEY) if isinstance(activity.value, dict) else None
    if pressed == render.CONFIRM_PAY:
        offer = activity.value.get(render.OFFER_KEY) if isinstance(activity.value, dict) else ""
        return conversation.pay(user, str(offer or ""), return_url=back)
    if pressed == render.PAY:
        return conversation.open_checkout(user, return_url=back, reply_to=address)
    if pressed == render.CANCEL:
        return conversation.cancel(user)
    if pressed == render.ACCEPT_TERMS:
        return conversation.accept_terms(user)
    if pressed == render.DECLINE_TERMS:
        return conversation.decline_terms(user)
    text = (activity.text or "").strip()
    command = _command(text)
    if command is not None:
        commands: dict[str, Callable[[ChatUser], tuple[Effect, ...]]] = {
            "status": conversation.status,
            "cancel": conversation.cancel,
            "forget": conversation.forget,
            "help": conversation.help,
        }
        return commands[command](user)
    slots = _payment(text)
    if slots is not None:
        return conversation.open_checkout(user, slots, return_url=back, reply_to=address)
    return conversation.message(user, text, reply_to=address, return_url=back)


def _command(text: str) -> str | None:
    """`status`, `pay status` and the like: a command word alone; None for anything else."""
    words = text.lower().split()
    if words[:1] == ["pay"]:
        words = words[1:]
    return words[0] if len(words) == 1 and words[0] in _WORDS else None


def _payment(text: str) -> Slots | None:
    """`pay`, `pay 45 USD INV-1001`: the page's slots; None when the words are dialogue."""
    first, _, rest = text.partition(" ")
    if first.lower() != "pay":
        return None
    rest = rest.strip()
    if not rest:
        return Slots()
    slots = extract_slots(rest)
    return slots if slots != Slots() and not amount_refusal(rest) else None


def typed_by_people(activity: MessageActivity) -> str:
    """Everything in an activity a person (or a tampered client) can write, as one text.

    The rest is Teams': ids, timestamps, addresses. Its message ids are epoch
    milliseconds, 13 digits that pass Luhn one time in ten, so they are left out of
    the search for card numbers rather than mistaken for one.
    """
    said = [activity.text, activity.value, activity.from_.name if activity.from_ else None]
    said += [a.model_dump(mode="json") for a in activity.attachments or []]
    said += [e.model_dump(mode="json") for e in activity.entities or []]
    return json.dumps(said, ensure_ascii=False, default=str)


def is_slow(services: Services, activity: MessageActivity) -> bool:
    """A dialogue turn (it may wait on the model) whose request holds no card data.

    Only these are answered after the request: a card number, a CVC after one, or a
    number split across messages is answered at once, by the fast engine, and never
    handed to later work (on Lambda, an invoke payload).
    """
    text = (activity.text or "").strip()
    pressed = isinstance(activity.value, dict) and activity.value.get(render.ACTION_KEY)
    if pressed or not text or _command(text) is not None or _payment(text) is not None:
        return False
    if activity.conversation.conversation_type != "personal":
        return False
    if contains_pan(typed_by_people(activity)):
        return False
    user = teams_user(activity)
    return user is not None and not services.conversation.holds_card_data(user, text)


def claim_key(activity: MessageActivity) -> str:
    """The ledger's name for an activity: Teams numbers messages per conversation.

    Base32, not hex: a hex digest has runs of decimal digits, and one of 13 or more
    may pass the Luhn check; no stored value may read as a card number.
    """
    said = f"{activity.conversation.id}\n{activity.id}".encode()
    return f"teams:{base64.b32encode(hashlib.sha256(said).digest()[:25]).decode().lower()}"


def register(app: App, services: Services) -> None:
    ledger = services.ledger

    def first_delivery(key: str) -> bool:
        """Claim the activity; False for a redelivery (Teams retries what it thinks failed)."""
        try:
            return ledger.claim(
                key, ttl_seconds=EVENT_CLAIM_SECONDS, in_progress_seconds=in_progress_seconds()
            )
        except PaybotError as exc:  # answering twice beats never answering
            log.warning("could not claim a Teams activity: %s", type(exc).__name__)
            return True

    def settle(key: str, *, done: bool) -> None:
        try:
            if done:
                ledger.complete(key)
            else:
                ledger.release(key)
        except PaybotError as exc:  # the claim lapses with its in-progress expiry instead
            log.warning("could not settle %s: %s", key, type(exc).__name__)

    later: set[asyncio.Task[None]] = set()

    @app.on_message
    async def on_message(ctx: ActivityContext[MessageActivity]) -> None:
        request = delivery.get() or Delivery(return_url="")
        key = claim_key(ctx.activity)
        if not request.deferred:
            if not await asyncio.to_thread(first_delivery, key):
                log.info("duplicate delivery of a Teams activity ignored")
                return
            if await asyncio.to_thread(is_slow, services, ctx.activity):
                await _typing(ctx)  # Teams shows "paybot is typing" until the reply comes
                if request.defer is not None:  # Lambda: a second invocation answers it
                    await asyncio.to_thread(_defer, request.defer, key)
                    return
                # Served: answered after the request, by a task of this process's loop.
                task = asyncio.create_task(finish(ctx, key, request.return_url))
                later.add(task)
                task.add_done_callback(later.discard)
                return
        await finish(ctx, key, request.return_url)

    def _defer(defer: Callable[[], None], key: str) -> None:
        try:
            defer()
        except Exception as exc:  # not re-sent: Teams' retry of the activity may claim it
            log.error("could not defer a Teams turn: %s", type(exc).__name__)
            settle(key, done=False)
            raise

    async def finish(ctx: ActivityContext[MessageActivity], key: str, back: str) -> None:
        """Answer the claimed activity in its chat, then settle its claim."""
        try:
            try:
                effects = await asyncio.to_thread(answer, services, ctx.activity, back)
            except PaybotError as exc:
                log.error("request failed: %s", type(exc).__name__)
                effects = (Reply(exc.user_message),)
            for activity in render.activities(effects):
                await ctx.send(activity)
        except BaseException:
            await asyncio.to_thread(settle, key, done=False)  # a redelivery is answered
            raise
        await asyncio.to_thread(settle, key, done=True)


async def _typing(ctx: ActivityContext[MessageActivity]) -> None:
    try:
        await ctx.send(TypingActivityInput())
    except Exception as exc:  # only the indicator is lost
        log.warning("could not show typing in Teams: %s", type(exc).__name__)
