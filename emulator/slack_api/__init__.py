"""A Slack Web API stand-in: the methods paybot calls, with Slack's answers, errors and limits.

`SlackWorkspace` holds the state (thread-safe) and answers calls; `create_app` serves it at
`/api/<method>`, so `slack_sdk.WebClient(base_url=f"{url}/api/")` talks to it unchanged, and
adds control endpoints under `/_emulator/`. Run alone: `python -m emulator.slack_api --port 3001`.

The token carries the bot scopes manifest.yml declares (or those given to `SlackWorkspace`):
a method needing another answers `missing_scope` (`emulator.slack_scopes`), and every answer to
the token names them in `x-oauth-scopes`. Blocks and views are checked with slack_sdk's Block
Kit models (`emulator.slack_blocks`): invalid blocks answer `invalid_blocks`, an invalid view
`invalid_arguments`, each with Slack's `response_metadata.messages`. The app is one in Slack's
agent messaging experience (`emulator.slack_api.assistant`); which events it hears and whether
it has a Home tab also come from manifest.yml (`emulator.slack_api.manifest`).
"""

from emulator.slack_api.models import (
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    GENERAL_CHANNEL_ID,
    ApiAnswer,
    ApiCall,
    SlackWorkspace,
    user_object,
)
from emulator.slack_api.urls import create_app, main

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "GENERAL_CHANNEL_ID",
    "ApiAnswer",
    "ApiCall",
    "SlackWorkspace",
    "create_app",
    "main",
    "user_object",
]
