"""DM messages (`message.im`): ack at once, answer in a lazy listener.

A message that carries a card number is answered inside the ack instead:
Bolt's Lambda runner hands lazy work the whole raw request, and that request
must never hold card data (DESIGN.md, "The spine"). So is a message that shares
files, whose listing in the request nobody screens. A reply inside a thread is
answered in that thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cards import contains_pan
from bot.errors import PaybotError
from bot.machine import Effect, Reply
from bot.models import ChatUser
from handlers.services import EVENT_CLAIM_SECONDS, Services, in_progress_seconds
from handlers.slack import offers, render
from handlers.slack.client import patient
from handlers.slack.copy import WORKING, WORKING_STEPS
from handlers.slack.links import return_url
from handlers.slack.mrkdwn import from_mrkdwn
from handlers.slack.users import chat_user

log = logging.getLogger(__name__)


def status(
    client: WebClient, channel: str, thread_ts: str, text: str, steps: list[str] | None = None
) -> None:
    """The thread's status line ("paybot is working on it…"); "" clears it. Cosmetic: a
    refusal is logged by kind and the turn goes on."""
    try:
        client.assistant_threads_setStatus(
            channel_id=channel, thread_ts=thread_ts, status=text, loading_messages=steps
        )
    except SlackApiError as exc:
        log.info("assistant.threads.setStatus failed: %s", exc.response.get("error", "?"))


FILE_SHARE = "file_share"
"""The subtype of a message that shares files; its text is the message the person wrote."""


def is_user_dm(event: dict[str, Any]) -> bool:
    """A message a person wrote in the bot's DM, in a thread or not, with files or not.

    Not edits, bot messages or other subtypes; nor a file shared without a message,
    which says nothing to answer.
    """
    text = event.get("text")
    subtype = event.get("subtype")
    if subtype == FILE_SHARE and not (isinstance(text, str) and text.strip()):
        return False
    return (
        event.get("channel_type") == "im"
        and subtype in (None, FILE_SHARE)
        and "bot_id" not in event
        and isinstance(event.get("user"), str)
        and isinstance(text, str)
    )


def shares_files(event: dict[str, Any]) -> bool:
    """A person's DM with files attached: answered from its text, the files never read."""
    return is_user_dm(event) and event.get("subtype") == FILE_SHARE


CARD_DATA = "paybot_card_data"
"""Where the DM matchers keep their verdict for the request, so it is reached once."""


def card_matchers(services: Services) -> tuple[Callable[..., bool], Callable[..., bool]]:
    """The DM matchers (carries card data, plain DM), both on one verdict per request.

    A card number split across DMs, or a CVC typed after a removed number, is card data
    only with the turns before it: when the text alone cannot tell, the ack reads the
    session (`ConversationService.holds_card_data`), so such a DM is answered inside
    the ack and never becomes lazy work. Lambda's lazy re-invocation is not decided
    again: it exists only because the ack found no card data.
    """

    def verdict(body: dict[str, Any], event: dict[str, Any], lazy: bool) -> bool:
        text = event["text"]
        if contains_pan(text):
            return True
        if lazy:  # a lazy re-invocation exists only because the ack found no card data
            return False
        team_id = body.get("team_id") or event.get("team") or ""
        try:
            user = chat_user(team_id, event["user"])
            return services.conversation.holds_card_data(user, from_mrkdwn(text))
        except PaybotError as exc:  # answered in the ack, where the failure gets an apology
            log.warning("could not read the session to screen a DM: %s", type(exc).__name__)
            return True

    def carries_card_number(
        body: dict[str, Any], event: dict[str, Any], request: BoltRequest, context: dict[str, Any]
    ) -> bool:
        if not is_user_dm(event):
            return False
        if CARD_DATA not in context:
            context[CARD_DATA] = verdict(body, event, request.lazy_only)
        return bool(context[CARD_DATA])

    def is_plain_dm(
        body: dict[str, Any], event: dict[str, Any], request: BoltRequest, context: dict[str, Any]
    ) -> bool:
        """A DM without card data: the only kind answered by (async) lazy work."""
        return is_user_dm(event) and not carries_card_number(body, event, request, context)

    return carries_card_number, is_plain_dm


LAST_RETRY = 3
"""Slack redelivers an event at most three times (`X-Slack-Retry-Num` 1 to 3)."""


def claim_key(body: dict[str, Any], event: dict[str, Any]) -> str:
    """The ledger's name for this delivery's event."""
    return f"slack:{event_id_of(body, event)}"


def event_id_of(body: dict[str, Any], event: dict[str, Any]) -> str:
    return str(body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}")


def register(app: App, services: Services) -> None:
    def first_delivery(invocations: int) -> Callable[..., bool]:
        """A matcher that claims the event; `invocations` to answer it (2: a lazy one too)."""

        def claims_it(body: dict[str, Any], event: dict[str, Any], request: BoltRequest) -> bool:
            """Claim the event before any listener runs; a repeat matches only the catch-all.

            While the ledger is down the error becomes a 500, so Slack delivers the event
            again later (no reply is sent that a redelivery could repeat); on Slack's last
            try the event is answered regardless.
            """
            if request.lazy_only:
                return True  # Lambda's re-invocation of a delivery that was claimed already
            event_id = event_id_of(body, event)
            try:
                claimed = services.ledger.claim(
                    claim_key(body, event),
                    ttl_seconds=EVENT_CLAIM_SECONDS,
                    in_progress_seconds=in_progress_seconds(invocations=invocations),
                )
            except PaybotError:
                retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
                if retry.isdigit() and int(retry) >= LAST_RETRY:
                    return True
                raise
            if not claimed:
                log.info("duplicate delivery of %s ignored", event_id)
            return claimed

        return claims_it

    def answer_later(
        body: dict[str, Any], event: dict[str, Any], client: WebClient, request: BoltRequest
    ) -> None:
        # async: there is time to honour Retry-After, and to show the thread a status
        answer(body, event, patient(client), request, working=services.agent_view)

    def answer(
        body: dict[str, Any],
        event: dict[str, Any],
        client: WebClient,
        request: BoltRequest,
        *,
        working: bool = False,
    ) -> None:
        """Answer the event, then complete its claim; a failure releases it for a redelivery.

        With the agent messaging experience the answer goes in the thread the person's
        message started, with a status there until it comes (`working`).
        """
        key = claim_key(body, event)
        thread = event.get("thread_ts") or (event.get("ts") if services.agent_view else None)
        if working and thread:
            status(client, event["channel"], thread, WORKING, WORKING_STEPS)
        team_id = body.get("team_id") or event.get("team") or ""
        back = return_url(
            request.headers, public_url=services.public_url, team_id=team_id, payload=body
        )
        user: ChatUser | None = None
        effects: tuple[Effect, ...]
        try:
            try:
                user = chat_user(team_id, event["user"])
                text = from_mrkdwn(event["text"])
                effects = services.conversation.message(user, text, return_url=back)
            except PaybotError as exc:
                effects = (Reply(render.apology(exc)),)
            said = offers.deliver(
                services.conversation, client, user, event["channel"], effects, thread_ts=thread
            )
            if working and thread and not said:  # Slack clears a status only on a reply
                status(client, event["channel"], thread, "")
        except Exception:
            _release(key)
            raise
        try:
            services.ledger.complete(key)
        except PaybotError as exc:  # answered; the claim lapses with its in-progress expiry
            log.warning("could not complete %s: %s", key, type(exc).__name__)

    def _release(key: str) -> None:
        try:
            services.ledger.release(key)
        except PaybotError as exc:  # the claim lapses with its in-progress expiry instead
            log.warning("could not release %s: %s", key, type(exc).__name__)

    def answer_now(
        ack: Ack,
        body: dict[str, Any],
        event: dict[str, Any],
        client: WebClient,
        request: BoltRequest,
    ) -> None:
        ack()
        answer(body, event, client, request)

    def ack_only(ack: Ack) -> None:
        ack()

    def ignore(ack: Ack) -> None:
        ack()  # edits, bot messages, joins: acknowledged so Slack doesn't retry, then dropped

    carries_card_number, is_plain_dm = card_matchers(services)
    app.event("message", matchers=[carries_card_number, first_delivery(1)])(answer_now)
    # The raw request lists the files (names, links, a snippet's preview of its text) and
    # nothing screens those for card data, so it never becomes lazy work either.
    app.event("message", matchers=[shares_files, first_delivery(1)])(answer_now)
    app.event("message", matchers=[is_plain_dm, first_delivery(2)])(
        ack=ack_only, lazy=[answer_later]
    )
    app.event("message")(ignore)
