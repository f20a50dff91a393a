"""The connector's state: the personal chats it knows, what the bot posted in them, its answers."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from microsoft_teams.api.activities import TypingActivityInput
from microsoft_teams.api.activities.message.message import MessageActivityInput

from emulator.teams_connector.activities import PersonalChat, message_id, timestamp
from emulator.teams_connector.checks import BadArgument, TooBig, check_activity
from emulator.teams_tokens import Answer, Exchange, TeamsTokens
from emulator.teams_tokens.recorder import JSON, Recorder

DENIED = "Authorization has been denied for this request."
NOT_INSTALLED = "Bot is not installed in user's personal scope"


class ConnectorError(Exception):
    """The connector's error answer: `{"error": {"code", "message"}}` with a status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def answer(self) -> Answer:
        return Answer(self.status, {"error": {"code": self.code, "message": self.message}})


class Unauthorized(Exception):
    """No bearer token, or one not issued to this bot: 401 with ASP.NET's plain message."""

    def answer(self) -> Answer:
        return Answer(401, {"message": DENIED})


class TeamsConnector:
    """The Bot Connector service of one bot (`app_id`) in Teams; thread-safe.

    It answers only a bearer token that `tokens` issued to `app_id`, and keeps every
    message activity posted per conversation, as the chat shows them (an update replaces
    the activity in place; typing indicators are only in the request log).
    """

    def __init__(
        self,
        tokens: TeamsTokens,
        app_id: str,
        *,
        bot_name: str = "paybot",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = tokens
        self.app_id = app_id
        self.bot_name = bot_name
        self._clock = clock
        self._lock = threading.Lock()
        self._chats: dict[str, PersonalChat] = {}
        self._activities: dict[str, list[JSON]] = {}
        self._last_id = 0
        self.recorder = Recorder()

    # ----- the test's side: chats, what was posted, the log -----

    def open_personal_chat(
        self, tenant_id: str, aad_object_id: str, *, user_name: str = "Pat Payer"
    ) -> PersonalChat:
        """The person's chat with the bot (they have one: asking again returns it)."""
        with self._lock:
            for chat in self._chats.values():
                if (chat.tenant_id, chat.aad_object_id) == (tenant_id, aad_object_id):
                    return chat
            chat = PersonalChat.new(
                tenant_id=tenant_id,
                aad_object_id=aad_object_id,
                user_name=user_name,
                app_id=self.app_id,
                bot_name=self.bot_name,
            )
            self._chats[chat.conversation_id] = chat
            self._activities[chat.conversation_id] = []
            return chat

    @property
    def conversations(self) -> list[PersonalChat]:
        """Every chat the connector knows, oldest first."""
        with self._lock:
            return list(self._chats.values())

    def chat(self, conversation_id: str) -> PersonalChat | None:
        with self._lock:
            return self._chats.get(conversation_id)

    def activities(self, conversation_id: str) -> list[JSON]:
        """What the bot posted in the conversation, oldest first, as it now stands."""
        with self._lock:
            return copy.deepcopy(self._activities.get(conversation_id, []))

    @property
    def requests(self) -> list[Exchange]:
        """Every request answered, oldest first."""
        return self.recorder.log.entries

    def subscribe(self, callback: Callable[[Exchange], None]) -> Callable[[], None]:
        """Call `callback` after each request is logged; returns the unsubscribe function."""
        return self.recorder.log.subscribe(callback)

    def reset(self) -> None:
        """Forget posted activities, requests and faults; the chats stay."""
        with self._lock:
            for posted in self._activities.values():
                posted.clear()
        self.recorder.reset()

    # ----- the bot's side: the Bot Connector REST API v3 -----

    def send(
        self,
        conversation_id: str,
        payload: object,
        *,
        authorization: str | None,
        service_url: str,
        reply_to_id: str | None = None,
    ) -> Answer:
        """`POST /v3/conversations/{id}/activities[/{replyToId}]`: 201 `{"id"}`."""
        try:
            self._authorize(authorization)
            chat = self._known_chat(conversation_id)
            activity = _checked(payload)
        except (Unauthorized, ConnectorError) as refused:
            return refused.answer()
        if not isinstance(activity, MessageActivityInput):
            return Answer(201)  # a typing indicator: Teams answers it with no id
        assert isinstance(payload, dict)
        if reply_to_id is not None:
            payload = {**payload, "replyToId": reply_to_id}
        with self._lock:
            stored = self._stamped(chat, payload, service_url, self._next_id())
            self._activities[conversation_id].append(stored)
        return Answer(201, {"id": stored["id"]})

    def update(
        self,
        conversation_id: str,
        activity_id: str,
        payload: object,
        *,
        authorization: str | None,
        service_url: str,
    ) -> Answer:
        """`PUT /v3/conversations/{id}/activities/{activityId}`: 200 `{"id"}`."""
        try:
            self._authorize(authorization)
            chat = self._known_chat(conversation_id)
            activity = _checked(payload)
            if not isinstance(activity, MessageActivityInput):
                raise ConnectorError(400, "BadArgument", "Only a message activity can be updated.")
            assert isinstance(payload, dict)
            with self._lock:
                posted = self._activities[conversation_id]
                index = self._index(posted, activity_id)
                earlier = posted[index]
                stored = self._stamped(chat, payload, service_url, activity_id)
                stored["timestamp"] = earlier["timestamp"]
                if "replyToId" in earlier:
                    stored["replyToId"] = earlier["replyToId"]
                posted[index] = stored
        except (Unauthorized, ConnectorError) as refused:
            return refused.answer()
        return Answer(200, {"id": activity_id})

    def delete(
        self, conversation_id: str, activity_id: str, *, authorization: str | None
    ) -> Answer:
        """`DELETE /v3/conversations/{id}/activities/{activityId}`: 200, no body."""
        try:
            self._authorize(authorization)
            self._known_chat(conversation_id)
            with self._lock:
                posted = self._activities[conversation_id]
                del posted[self._index(posted, activity_id)]
        except (Unauthorized, ConnectorError) as refused:
            return refused.answer()
        return Answer(200)

    def create_conversation(
        self, payload: object, *, authorization: str | None, service_url: str
    ) -> Answer:
        """`POST /v3/conversations`: the person's existing personal chat, 201 `{"id"}`.

        The member is named by their `29:` id or their Entra object id; the tenant by
        `tenantId` or `channelData.tenant.id`. An `activity`, if given, is posted in it.
        """
        try:
            self._authorize(authorization)
            chat = self._chat_for(payload)
        except (Unauthorized, ConnectorError) as refused:
            return refused.answer()
        assert isinstance(payload, dict)
        body: JSON = {"id": chat.conversation_id}
        if payload.get("activity") is not None:
            sent = self.send(
                chat.conversation_id,
                payload["activity"],
                authorization=authorization,
                service_url=service_url,
            )
            if sent.status != 201:
                return sent
            if sent.body is not None:
                body["activityId"] = sent.body["id"]
        return Answer(201, body)

    # ----- inside -----

    def _authorize(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or self.tokens.issued_to(token.strip()) != self.app_id:
            raise Unauthorized()

    def _known_chat(self, conversation_id: str) -> PersonalChat:
        chat = self.chat(conversation_id)
        if chat is None:
            raise ConnectorError(404, "ConversationNotFound", "Conversation not found.")
        return chat

    def _chat_for(self, payload: object) -> PersonalChat:
        if not isinstance(payload, dict):
            raise ConnectorError(400, "BadArgument", "The request body must be a JSON object.")
        members = payload.get("members")
        if payload.get("isGroup") or not isinstance(members, list) or len(members) != 1:
            message = "A personal conversation is created with exactly one member."
            raise ConnectorError(400, "BadArgument", message)
        member = members[0].get("id") if isinstance(members[0], dict) else None
        channel_data = payload.get("channelData")
        tenant = payload.get("tenantId") or _tenant_of(channel_data)
        if not isinstance(member, str) or not isinstance(tenant, str):
            raise ConnectorError(400, "BadArgument", "The member's id and the tenant are required.")
        for chat in self.conversations:
            if chat.tenant_id == tenant and member in (chat.user_id, chat.aad_object_id):
                return chat
        raise ConnectorError(403, "Forbidden", NOT_INSTALLED)

    def _next_id(self) -> str:
        """A message id: epoch milliseconds, never twice (the caller holds the lock)."""
        self._last_id = max(self._last_id + 1, int(message_id(self._clock())))
        return str(self._last_id)

    def _stamped(
        self, chat: PersonalChat, payload: dict[str, Any], service_url: str, activity_id: str
    ) -> JSON:
        """The activity as the chat keeps it: what the bot sent, stamped by the service."""
        stored = copy.deepcopy(payload)
        stored.update(
            id=activity_id,
            timestamp=timestamp(self._clock()),
            channelId="msteams",
            serviceUrl=service_url,
            conversation=chat.conversation(),
            recipient=chat.user(),
        )
        stored["from"] = chat.bot()
        return stored

    @staticmethod
    def _index(posted: list[JSON], activity_id: str) -> int:
        for index, activity in enumerate(posted):
            if activity["id"] == activity_id:
                return index
        raise ConnectorError(404, "ActivityNotFound", f"Activity {activity_id} not found.")


def _checked(payload: object) -> MessageActivityInput | TypingActivityInput:
    """The SDK's parse of the activity, or the connector's 400 or 413."""
    try:
        return check_activity(payload)
    except TooBig as refused:
        raise ConnectorError(413, "MessageSizeTooBig", str(refused)) from None
    except BadArgument as refused:
        raise ConnectorError(400, "BadArgument", str(refused)) from None


def _tenant_of(channel_data: object) -> object:
    if isinstance(channel_data, dict) and isinstance(channel_data.get("tenant"), dict):
        return channel_data["tenant"].get("id")
    return None
