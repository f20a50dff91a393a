"""The App Home: its Messages tab (Slack's agent messaging experience) and its Home tab.

Opening the Messages tab sets three suggested prompts, each a message the existing flow
answers; opening the Home tab publishes the person's own page (`blocks.home_view`), whose
buttons open the card entry or forget the person.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import PaybotError
from bot.machine import Reply
from bot.models import ChatUser
from handlers.services import Services
from handlers.slack import offers, render
from handlers.slack.blocks import HOME_FORGET, HOME_PAY, HOME_REPLACE_CARD, home_view
from handlers.slack.copy import FORM_DID_NOT_OPEN, SUGGESTED_PROMPTS
from handlers.slack.links import return_url
from handlers.slack.users import chat_user

log = logging.getLogger(__name__)


def suggest(client: WebClient, channel: str) -> None:
    """The Messages tab's suggested prompts. No `thread_ts`: in the agent messaging
    experience Slack silently drops a call that names one."""
    with contextlib.suppress(SlackApiError):
        client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, title="Try one of these", prompts=list(SUGGESTED_PROMPTS)
        )


def publish(client: WebClient, services: Services, user: ChatUser) -> None:
    """The person's Home tab, as their conversation stands now."""
    try:
        session = services.conversation.current(user)
    except PaybotError as exc:  # their details can't be read: leave the tab as it was
        log.warning("home tab not refreshed: %s", type(exc).__name__)
        return
    try:
        client.views_publish(user_id=user.user_id, view=home_view(session))
    except SlackApiError as exc:
        log.warning("views.publish failed: %s", exc.response.get("error", "unknown_error"))


def register(app: App, services: Services) -> None:
    conversation = services.conversation

    def opened(ack: Ack, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        try:
            user = chat_user(context.team_id, context.user_id or event.get("user"))
        except PaybotError:
            return
        if event.get("tab") == "home":
            publish(client, services, user)
        elif event.get("tab") == "messages" and services.agent_view and event.get("channel"):
            suggest(client, str(event["channel"]))

    def card_entry(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        request: BoltRequest,
    ) -> None:
        """Pay an invoice, or Replace card: the card entry this deployment uses."""
        ack()
        team_id, user_id = context.team_id or "", context.user_id or ""
        back = return_url(
            request.headers, public_url=services.public_url, team_id=team_id, payload=body
        )
        try:
            user = chat_user(team_id, user_id)
            trigger = str(body.get("trigger_id") or "")
            entry = offers.card_entry(conversation, client, user, trigger, return_url=back)
        except PaybotError as exc:
            render.post(client, user_id, (Reply(render.apology(exc)),))
            return
        if entry.opened is False:  # Slack refused it (the trigger expired): nothing kept
            again = (Reply(FORM_DID_NOT_OPEN, offer_card_form=True),)
            offers.deliver(conversation, client, user, user_id, again)
        else:  # the form is open; or a link, the terms, a refusal: the person's DM
            offers.deliver(conversation, client, user, user_id, entry.effects)

    def forget(ack: Ack, client: WebClient, context: BoltContext) -> None:
        ack()
        user_id = context.user_id or ""
        try:
            user = chat_user(context.team_id, user_id)
            effects = conversation.forget(user)
        except PaybotError as exc:
            render.post(client, user_id, (Reply(render.apology(exc)),))
            return
        offers.deliver(conversation, client, user, user_id, effects)
        publish(client, services, user)

    app.event("app_home_opened")(opened)
    app.action(HOME_PAY)(card_entry)
    app.action(HOME_REPLACE_CARD)(card_entry)
    app.action(HOME_FORGET)(forget)
