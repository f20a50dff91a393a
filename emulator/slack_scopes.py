"""Which OAuth scope each Web API method the Slack stand-in serves needs, and the app's own.

A bot token carries the scopes its app was installed with, which for paybot are
`oauth_config.scopes.bot` in manifest.yml. Slack refuses a method the token has no scope for:
`{"ok": false, "error": "missing_scope", "needed": "<scope>", "provided": "<granted, comma
separated>"}`, and names the token's scopes in the `x-oauth-scopes` header of every answer (and
the method's in `x-accepted-oauth-scopes`). Each method's scope is the one its reference page
gives (https://docs.slack.dev/reference/methods/<method>, "Required scopes"):

- chat.postMessage, chat.postEphemeral, chat.update: chat:write (https://docs.slack.dev/reference/scopes/chat.write)
- conversations.open: im:write for a 1:1 DM; a token without it is told
  "channels:write,groups:write,mpim:write,im:write", the scopes of every conversation type
- users.info: users:read; the profile's `email` also needs users:read.email
- auth.test, views.open, views.push, views.update, views.publish: no scope
- assistant.threads.setSuggestedPrompts: assistant:write (https://docs.slack.dev/reference/scopes/assistant.write)
- assistant.threads.setStatus: chat:write or assistant:write; Slack takes either "for the time
  being" and will take only chat:write (https://docs.slack.dev/changelog/2026/03/05/set-status-scope-update)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # a dev dependency, like this stand-in

__all__ = [
    "ASSISTANT_WRITE",
    "MANIFEST",
    "METHOD_SCOPES",
    "USERS_READ_EMAIL",
    "accepted_scopes",
    "manifest_bot_scopes",
    "missing_scope",
]

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
USERS_READ_EMAIL = "users:read.email"
ASSISTANT_WRITE = "assistant:write"

METHOD_SCOPES: Mapping[str, tuple[str, ...]] = {
    "assistant.threads.setStatus": ("chat:write", ASSISTANT_WRITE),
    "assistant.threads.setSuggestedPrompts": (ASSISTANT_WRITE,),
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "conversations.open": ("im:write",),
    "users.info": ("users:read",),
    "views.open": (),
    "views.push": (),
    "views.update": (),
    "views.publish": (),
}
"""Scopes a bot token needs for each method (any one of them); () when none is needed."""

_NEEDED_AS_SLACK_SAYS: Mapping[str, str] = {
    "conversations.open": "channels:write,groups:write,mpim:write,im:write",
}


def manifest_bot_scopes(path: Path = MANIFEST) -> tuple[str, ...]:
    """`oauth_config.scopes.bot` of the app manifest at `path`, in its order."""
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    scopes = manifest.get("oauth_config", {}).get("scopes", {}).get("bot", [])
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise ValueError(f"{path}: oauth_config.scopes.bot is not a list of scopes")
    return tuple(scopes)


def accepted_scopes(method: str) -> str:
    """The scopes `method` accepts, comma separated as Slack lists them ("" for none)."""
    return _NEEDED_AS_SLACK_SAYS.get(method, ",".join(METHOD_SCOPES.get(method, ())))


def missing_scope(method: str, granted: Iterable[str]) -> str | None:
    """The `needed` Slack names when a token with `granted` calls `method`, or None."""
    accepted = METHOD_SCOPES.get(method, ())
    if not accepted or set(accepted) & set(granted):
        return None
    return accepted_scopes(method)
