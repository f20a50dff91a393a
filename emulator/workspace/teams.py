"""Teams towards the app: a person's 1:1 chat with the bot, beside the Slack DM on the page.

What the person types, or an Adaptive Card `Action.Submit` they press, becomes the activity
Teams sends (`emulator.teams_connector.personal_message`), posted to the app's messaging
endpoint with a freshly minted Bot Framework token. What the app posts back reaches the Bot
Connector stand-in; every request it answers updates the chat on the page (a
`teams_message` event per new, edited or deleted message, `teams_typing` for a typing
indicator), and the inspector lists both ways. The person's own text is shown with card
numbers masked, as the Slack DM shows it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from emulator.teams_connector import (
    ADAPTIVE_CARD,
    PersonalChat,
    TeamsConnector,
    new_tenant_id,
    personal_message,
)
from emulator.teams_tokens import Exchange
from emulator.workspace.masking import mask_card_numbers
from emulator.workspace.page import EventHub, Json, Page, since_ms
from emulator.workspace.ui import InvalidAction

TEAMS_TIMEOUT_SECONDS = 15.0  # how long Teams waits for a bot's answer
PERSON_OBJECT_ID = "8c2f4e61-0d7b-4c55-9a3e-5b1f7d2a9e04"  # Pat Payer's Entra object id


@dataclass(frozen=True)
class TeamsEndpoint:
    """Where the app takes Teams' activities, and the connector it posts its replies to."""

    url: str
    """The app's messaging endpoint, e.g. http://127.0.0.1:3001/api/messages."""
    connector: TeamsConnector
    service_url: str
    """The connector's address as activities name it (`serviceUrl`, with a trailing slash)."""
    timeout: float = TEAMS_TIMEOUT_SECONDS


class TeamsChat:
    """One person's personal chat with the app; thread-safe (the connector calls in from its
    own server thread)."""

    def __init__(self, endpoint: TeamsEndpoint, page: Page, hub: EventHub, user_name: str) -> None:
        self.endpoint = endpoint
        self.connector = endpoint.connector
        self.chat: PersonalChat = self.connector.open_personal_chat(
            new_tenant_id(), PERSON_OBJECT_ID, user_name=user_name
        )
        self._page = page
        self._hub = hub
        self._lock = threading.Lock()
        self._messages: dict[str, Json] = {}
        self._http: aiohttp.ClientSession | None = None
        self._unsubscribe = self.connector.subscribe(self._on_exchange)

    def snapshot(self) -> Json:
        with self._lock:
            return {
                "messages": list(self._messages.values()),
                "user_name": self.chat.user_name,
                "bot_name": self.chat.bot_name,
            }

    async def close(self) -> None:
        self._unsubscribe()
        if self._http is not None:
            await self._http.close()

    # ------------------------------------------------------------ what the person does

    async def say(self, text: str) -> None:
        """The person sent `text` in the chat."""
        activity = self._activity(text=text)
        shown = {
            "id": f"u:{activity['id']}",
            "author": "you",
            "name": self.chat.user_name,
            "at": activity["timestamp"],
            "text": mask_card_numbers(text),
            "cards": [],
        }
        self._show(shown)
        failure = await self._deliver("message", activity)
        if failure:
            self._show({**shown, "failed": failure})

    async def press(self, activity_id: str, card: int, index: int) -> None:
        """The person pressed action `index` of card `card` in the app's message `activity_id`."""
        posted = next((a for a in self._posted() if a.get("id") == activity_id), None)
        cards = _cards(posted) if posted is not None else []
        actions = cards[card].get("actions") if 0 <= card < len(cards) else None
        action = actions[index] if isinstance(actions, list) and 0 <= index < len(actions) else None
        if not isinstance(action, dict) or action.get("type") != "Action.Submit":
            raise InvalidAction("no such card button")
        data = action.get("data")
        activity = self._activity(value=data if data is not None else {}, reply_to_id=activity_id)
        await self._deliver("card action", activity)

    # ------------------------------------------------------------ what the app posts

    def _on_exchange(self, exchange: Exchange) -> None:
        """The connector answered one of the app's requests: show it, and what it changed."""
        body = exchange.body if isinstance(exchange.body, dict) else {}
        typing = body.get("type") == "typing"
        self._page.record(
            {
                "direction": "from_app",
                "surface": "teams",
                "name": f"Teams: {'typing' if typing else exchange.route}",
                "at": time.time(),
                "status": exchange.status,
                "ok": 200 <= exchange.status < 300,
                "error": exchange.fault,
                "duration": round(exchange.duration_ms, 1),
                "request": body,
            }
        )
        if typing and exchange.status < 300:
            self._hub.publish("teams_typing", {"name": self.chat.bot_name})
        self._sync()

    def _sync(self) -> None:
        """Bring the page's copy of the app's messages in line with the connector's."""
        posted = {f"b:{a['id']}": self._app_message(a) for a in self._posted()}
        with self._lock:
            for message_id, shown in list(self._messages.items()):
                if shown["author"] == "app" and message_id not in posted:
                    del self._messages[message_id]
                    self._hub.publish("teams_message", {"id": message_id, "deleted": True})
            for message_id, message in posted.items():
                if self._messages.get(message_id) != message:
                    self._messages[message_id] = message
                    self._hub.publish("teams_message", message)

    def _app_message(self, activity: Json) -> Json:
        text = activity.get("text")
        return {
            "id": f"b:{activity['id']}",
            "activity_id": activity["id"],
            "author": "app",
            "name": self.chat.bot_name,
            "at": activity.get("timestamp", ""),
            "text": text if isinstance(text, str) else "",
            "format": activity.get("textFormat") or "markdown",
            "cards": _cards(activity),
            "others": [
                str(attachment.get("contentType"))
                for attachment in activity.get("attachments") or []
                if isinstance(attachment, dict) and attachment.get("contentType") != ADAPTIVE_CARD
            ],
        }

    # ------------------------------------------------------------ plumbing

    def _show(self, message: Json) -> None:
        with self._lock:
            self._messages[message["id"]] = message
            self._hub.publish("teams_message", message)

    def _posted(self) -> list[Json]:
        return self.connector.activities(self.chat.conversation_id)

    def _activity(self, **content: Any) -> Json:
        return personal_message(
            self.chat,
            service_url=self.endpoint.service_url,
            app_id=self.connector.app_id,
            **content,
        )

    async def _deliver(self, name: str, activity: Json) -> str | None:
        """POST `activity` as Teams does, and record it; why it failed, or None."""
        entry_id = self._page.record(
            {
                "direction": "to_app",
                "surface": "teams",
                "name": f"Teams: {name}",
                "at": time.time(),
                "status": "…",
                "headers": {"Authorization": "Bearer (a Bot Framework token, minted now)"},
                "request": activity,
            }
        )
        # Signing is CPU work: off the page's event loop, which serves every open page.
        token = await asyncio.to_thread(
            self.connector.tokens.mint_inbound, self.connector.app_id, self.endpoint.service_url
        )
        if self._http is None:  # made here, on the server's loop, and only if needed
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(self.endpoint.timeout))
        started = time.perf_counter()
        try:
            async with self._http.post(
                self.endpoint.url,
                json=activity,
                headers={"Authorization": f"Bearer {token}"},
            ) as answer:
                status, body = answer.status, await answer.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = "timeout" if isinstance(exc, TimeoutError) else "unreachable"
            self._page.record({"status": failure, "duration": since_ms(started)}, entry_id)
            return f"{self.chat.bot_name} did not answer ({failure})"
        ok = 200 <= status < 300
        self._page.record(
            {"status": status, "ok": ok, "duration": since_ms(started), "response": body},
            entry_id,
        )
        return None if ok else f"{self.chat.bot_name} answered HTTP {status}"


def _cards(activity: Json) -> list[Json]:
    """The Adaptive Cards an activity carries, in order."""
    return [
        attachment["content"]
        for attachment in activity.get("attachments") or []
        if isinstance(attachment, dict)
        and attachment.get("contentType") == ADAPTIVE_CARD
        and isinstance(attachment.get("content"), dict)
    ]
