"""A Slack member as the core knows them: a `ChatUser` on the `slack` surface."""

from __future__ import annotations

from pydantic import ValidationError

from bot.errors import PaybotError
from bot.models import ChatUser


def chat_user(team_id: str | None, user_id: str | None) -> ChatUser:
    """The member `user_id` of workspace `team_id`; PaybotError when either is not an id."""
    try:
        return ChatUser(surface="slack", tenant_id=team_id or "", user_id=user_id or "")
    except ValidationError:
        raise PaybotError("a request without valid Slack team and user ids") from None
