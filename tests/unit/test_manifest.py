"""manifest.yml matches the code: scopes, command, events and interactivity."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import App

from bot.service import ConversationService
from handlers.services import Services
from handlers.slack.app import register_listeners
from tests.fakes import FakeGateway, MemoryLedger, MemoryStore, RecordingEngine

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "https://REPLACE_WITH_YOUR_URL/slack/events"

# The bot scope each Web API method we call needs (views.* need none: a trigger id suffices).
METHOD_SCOPES: dict[str, str | None] = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "views_open": None,
    "views_update": None,
    "views_push": None,
    "views_publish": None,
    "assistant_threads_setSuggestedPrompts": "assistant:write",
    # Takes chat:write or assistant:write (Slack's changelog, 2026-03-05): chat:write is had.
    "assistant_threads_setStatus": "chat:write",
}
EVENT_SCOPES = {"message.im": "im:history", "app_home_opened": None}


class RecordingApp(App):
    """A real Bolt app that also notes what was registered."""

    def __init__(self) -> None:
        super().__init__(token="xoxb-test", signing_secret="s", token_verification_enabled=False)
        self.registered: dict[str, list[Any]] = {
            "command": [],
            "event": [],
            "action": [],
            "view": [],
        }

    def command(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        self.registered["command"].append(command)
        return super().command(command, *args, **kwargs)

    def event(self, event: Any, *args: Any, **kwargs: Any) -> Any:
        self.registered["event"].append(event)
        return super().event(event, *args, **kwargs)

    def action(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        self.registered["action"].append(constraints)
        return super().action(constraints, *args, **kwargs)

    def view(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        self.registered["view"].append(constraints)
        return super().view(constraints, *args, **kwargs)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "manifest.yml").read_text()))


@pytest.fixture(scope="module")
def registered() -> dict[str, list[Any]]:
    app = RecordingApp()
    conversation = ConversationService(
        store=MemoryStore(), engine=RecordingEngine(), gateway=FakeGateway()
    )
    register_listeners(app, Services(conversation, MemoryLedger()))
    return app.registered


def web_api_methods_called() -> set[str]:
    """Every `client.<method>(...)` call in the Slack edge and the routes shared with it."""
    called = set()
    for path in [*(ROOT / "handlers").glob("*.py"), *(ROOT / "handlers" / "slack").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "client"
            ):
                called.add(node.func.attr)
    return called


def test_every_web_api_method_called_has_a_known_scope() -> None:
    called = web_api_methods_called()
    assert called, "the scan found no Web API calls, so it checks nothing"
    assert called <= set(METHOD_SCOPES), f"add the scope of {called - set(METHOD_SCOPES)}"


def test_bot_scopes_are_exactly_what_the_code_needs(
    manifest: dict[str, Any], registered: dict[str, list[Any]]
) -> None:
    needed = {METHOD_SCOPES[m] for m in web_api_methods_called()} - {None}
    needed |= {EVENT_SCOPES[e] for e in manifest["settings"]["event_subscriptions"]["bot_events"]}
    needed -= {None}
    if registered["command"]:
        needed.add("commands")
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def test_slash_commands_match_the_registered_listeners(
    manifest: dict[str, Any], registered: dict[str, list[Any]]
) -> None:
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == set(registered["command"]) == {"/pay"}


def test_bot_events_match_the_registered_listeners(
    manifest: dict[str, Any], registered: dict[str, list[Any]]
) -> None:
    assert set(registered["event"]) == {"message", "app_home_opened"}
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "message.im",
        "app_home_opened",
    ]


def test_interactivity_is_on_because_buttons_and_the_modal_are_used(
    manifest: dict[str, Any], registered: dict[str, list[Any]]
) -> None:
    assert registered["action"]
    assert registered["view"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_the_app_home_messages_tab_is_writable(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False


def test_the_home_tab_is_on_because_the_app_publishes_it(manifest: dict[str, Any]) -> None:
    assert "views_publish" in web_api_methods_called()
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_the_agent_messaging_experience_is_declared_with_a_description(
    manifest: dict[str, Any],
) -> None:
    agent = manifest["features"]["agent_view"]
    assert agent["agent_description"].strip()
    assert "assistant_view" not in manifest["features"]  # the older experience, not both
    assert "assistant_threads_setSuggestedPrompts" in web_api_methods_called()


def test_every_request_url_is_the_one_marked_placeholder(manifest: dict[str, Any]) -> None:
    urls = [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert set(urls) == {PLACEHOLDER}


def test_pay_has_a_description_and_usage_hint(manifest: dict[str, Any]) -> None:
    (pay,) = manifest["features"]["slash_commands"]
    assert pay["description"]
    assert "status" in pay["usage_hint"]
