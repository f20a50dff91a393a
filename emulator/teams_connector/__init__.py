"""A Bot Connector stand-in: the service a Teams bot posts its replies to (its `serviceUrl`).

`TeamsConnector` holds one bot's personal chats and what it posted in them; `create_app`
serves the Bot Connector REST API v3 routes a bot calls: `POST /v3/conversations` (a
person's personal chat), `POST /v3/conversations/{id}/activities` (send, or reply with
`replyToId`, as the Teams SDK does), `POST .../activities/{activityId}` (reply),
`PUT .../activities/{activityId}` (update) and `DELETE .../activities/{activityId}`.

Every call needs `Authorization: Bearer` with an access token `emulator.teams_tokens`
issued to the bot (else 401). An unknown conversation answers 404 `ConversationNotFound`;
an activity the SDK's models refuse, a message with neither text nor attachments, or an
Adaptive Card Teams would not render answers 400 `BadArgument`
(`emulator.teams_connector.checks`); a message past Teams' size limit 413. A message
answers 201 `{"id"}`, an update 200 `{"id"}`, a typing indicator 201 with no body.
`emulator.teams_connector.activities` builds what Teams sends the bot in return. Faults
(`/_emulator/faults`, or `connector.recorder.inject(Fault(...))`) meet the routes `send`,
`reply`, `update`, `delete` and `create_conversation`.

Run alone, with its token issuer: `python -m emulator.teams_connector --port 3005
--tokens-port 3004 --app-id ID --app-password SECRET`.
"""

from emulator.teams_connector.activities import (
    CHANNEL_ID,
    PersonalChat,
    bot_id,
    new_tenant_id,
    personal_message,
)
from emulator.teams_connector.checks import ADAPTIVE_CARD, BadArgument, check_activity, check_card
from emulator.teams_connector.models import ConnectorError, TeamsConnector
from emulator.teams_connector.urls import (
    ACTIVITIES_PATH,
    ACTIVITY_PATH,
    CONVERSATIONS_PATH,
    create_app,
    main,
)

__all__ = [
    "ACTIVITIES_PATH",
    "ACTIVITY_PATH",
    "ADAPTIVE_CARD",
    "CHANNEL_ID",
    "CONVERSATIONS_PATH",
    "BadArgument",
    "ConnectorError",
    "PersonalChat",
    "TeamsConnector",
    "bot_id",
    "check_activity",
    "check_card",
    "create_app",
    "main",
    "new_tenant_id",
    "personal_message",
]
