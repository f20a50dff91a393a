"""What Teams sends a bot: a personal chat's ids, and the activity for a message in it.

Ids as a real personal chat has them: the conversation `a:1…`, the person's Bot Framework
id `29:1…` (both opaque base64url), the bot's `28:<app id>`, and message ids that are
epoch milliseconds. The activities parse with the Teams SDK's own models
(`microsoft_teams.api.ActivityTypeAdapter`), as the bot's SDK parses them.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from emulator.teams_tokens.recorder import JSON

CHANNEL_ID = "msteams"
LOCALE = "en-US"
TIMEZONE = "Europe/London"


@dataclass(frozen=True)
class PersonalChat:
    """A one-to-one chat between a person and the bot, with the ids Teams gives it."""

    conversation_id: str
    tenant_id: str
    user_id: str
    aad_object_id: str
    user_name: str
    bot_id: str
    bot_name: str

    @classmethod
    def new(
        cls, *, tenant_id: str, aad_object_id: str, user_name: str, app_id: str, bot_name: str
    ) -> PersonalChat:
        return cls(
            conversation_id=f"a:1{secrets.token_urlsafe(96)}",
            tenant_id=tenant_id,
            user_id=f"29:1{secrets.token_urlsafe(64)}",
            aad_object_id=aad_object_id,
            user_name=user_name,
            bot_id=bot_id(app_id),
            bot_name=bot_name,
        )

    def conversation(self) -> JSON:
        """The activity's `conversation`."""
        return {
            "conversationType": "personal",
            "tenantId": self.tenant_id,
            "id": self.conversation_id,
        }

    def user(self) -> JSON:
        """The person as an activity names them (`from` of theirs, `recipient` of the bot's)."""
        return {"id": self.user_id, "name": self.user_name, "aadObjectId": self.aad_object_id}

    def bot(self) -> JSON:
        """The bot as an activity names it."""
        return {"id": self.bot_id, "name": self.bot_name}

    def to_json(self) -> JSON:
        return asdict(self)


def bot_id(app_id: str) -> str:
    """The bot's id in Teams conversations."""
    return f"28:{app_id}"


def new_tenant_id() -> str:
    """A directory id, as Entra's are: a GUID."""
    return str(uuid.uuid4())


def message_id(now: float) -> str:
    """A Teams message id: the epoch milliseconds it was sent at."""
    return str(int(now * 1000))


def timestamp(now: float) -> str:
    """UTC, milliseconds, `Z`: how Teams stamps an activity."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def personal_message(
    chat: PersonalChat,
    *,
    service_url: str,
    text: str | None = None,
    value: object = None,
    app_id: str | None = None,
    reply_to_id: str | None = None,
    now: float | None = None,
) -> JSON:
    """The activity Teams posts to the bot when the person writes `text` in `chat`.

    With `value` instead: their press of an Adaptive Card `Action.Submit`, whose `data`
    (merged with the card's inputs) it is; `reply_to_id` names the card's message. `app_id`,
    if given, must be the chat's bot.
    """
    if app_id is not None and bot_id(app_id) != chat.bot_id:
        raise ValueError(f"{chat.conversation_id} is a chat with {chat.bot_id}, not {app_id}")
    if (text is None) == (value is None):
        raise ValueError("a message carries either text or a card's submitted value")
    sent = time.time() if now is None else now
    local = datetime.fromtimestamp(sent, tz=ZoneInfo(TIMEZONE))
    channel_data: JSON = {"tenant": {"id": chat.tenant_id}}
    activity: JSON = {
        "type": "message",
        "id": message_id(sent),
        "timestamp": timestamp(sent),
        "localTimestamp": local.isoformat(timespec="milliseconds"),
        "localTimezone": TIMEZONE,
        "serviceUrl": service_url,
        "channelId": CHANNEL_ID,
        "from": chat.user(),
        "conversation": chat.conversation(),
        "recipient": chat.bot(),
        "textFormat": "plain",
        "locale": LOCALE,
    }
    if text is not None:
        activity["text"] = text
    else:
        activity["value"] = value
        channel_data["source"] = {"name": "message"}
    if reply_to_id is not None:
        activity["replyToId"] = reply_to_id
        channel_data["legacy"] = {"replyToId": reply_to_id}
    activity["entities"] = [
        {
            "type": "clientInfo",
            "locale": LOCALE,
            "country": "US",
            "platform": "Web",
            "timezone": TIMEZONE,
        }
    ]
    activity["channelData"] = channel_data
    return activity
