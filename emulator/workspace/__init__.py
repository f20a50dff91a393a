"""A Slack workspace in the browser: one person's DM with the app, its modals, an inspector.

The page at `/` talks only to this server, which plays Slack towards the app: what the person
does becomes the signed request Slack would send to the app's Request URL (`message.im` events,
slash commands, `block_actions`, `view_submission`, `view_closed`, and `app_home_opened` when
they open the DM's Messages or Home tab, for an app that subscribes to it), and the app's HTTP
answers are applied as Slack applies them. The Slack Web API is served here too
(`/api/<method>`, the `slack_api` emulator), and every call the app makes is pushed to the page
as it happens (Server-Sent Events at `/_workspace/events`).

The DM is shown as in Slack's agent messaging experience: the app's replies in a thread sit
under the message they answer, its suggested prompts (assistant.threads.setSuggestedPrompts)
are chips above the composer that send their message as the person's, its status
(assistant.threads.setStatus) is a line under the thread until it replies there, and the Home
tab shows the view it published (views.publish), buttons and all.

With a `teams` endpoint (`emulator.workspace.teams.TeamsEndpoint`, as `python -m emulator`
gives it), the page's `/teams` is the same person's 1:1 Teams chat with the app: what they type
or press there is posted to the app's `/api/messages` as Teams posts it, and what the app
sends to the Bot Connector stand-in is drawn as Teams draws it (Adaptive Cards included).

Point it at any Bolt app, then give the app `SLACK_API_URL=http://127.0.0.1:3000/api/`::

    python -m emulator.workspace --port 3000 \\
        --bot-url http://127.0.0.1:3001/slack/events --signing-secret S

The page never receives the bot token, the signing secret or a Teams token. What the inspector
keeps has card numbers masked and CVC and expiry values dropped; typed modal values live only in
the request that submits them.
"""

from emulator.workspace.masking import mask_card_numbers, masked
from emulator.workspace.page import EventHub, Page
from emulator.workspace.ui import AppEndpoint, WorkspaceUI, slack_escape
from emulator.workspace.urls import UI, create_app, is_loopback, main

__all__ = [
    "UI",
    "AppEndpoint",
    "EventHub",
    "Page",
    "WorkspaceUI",
    "create_app",
    "is_loopback",
    "main",
    "mask_card_numbers",
    "masked",
    "slack_escape",
]
