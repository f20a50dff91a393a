"""The workspace page in Slack's agent messaging experience: the app's tabs and threads.

Opening the Messages or Home tab sends the app a signed `app_home_opened`; the Home tab shows
the view the app published and its buttons reach the app; the app's suggested prompts, its
status line and its replies in threads show on the page. Over real HTTP on loopback, with a
recording stand-in for an app.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.server import RunningServer
from emulator.slack_api import DEFAULT_USER_ID
from emulator.slack_signing import verify
from tests.integration.harness import SIGNING_SECRET
from tests.integration.workspace_driver import (
    Recorder,
    Workspace,
    http,
    recording_app,
    serve_workspace,
)

pytestmark = pytest.mark.integration

AGENT_APP: dict[str, Any] = {
    "scopes": ("chat:write", "assistant:write", "im:history"),
    "bot_events": ("message.im", "app_home_opened"),
    "home_tab_enabled": True,
}
HOME: dict[str, Any] = {
    "type": "home",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Your payments*"}},
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "new_payment",
                    "value": "from_home",
                    "text": {"type": "plain_text", "text": "New payment"},
                }
            ],
        },
    ],
}
MODAL: dict[str, Any] = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "New payment"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Amount?"}}],
}
PROMPTS = [
    {"title": "Pay an invoice", "message": "pay invoice INV-1001 $45"},
    {"title": "Fish & chips", "message": "pay <3 for fish & chips"},
]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with recording_app() as recording:
        yield recording


@pytest.fixture
def workspace(recorder: Recorder) -> Iterator[Workspace]:
    """The workspace for an agent app that hears app_home_opened and has a Home tab."""
    server, driver = serve_workspace(recorder.url, **AGENT_APP)
    with server:
        yield driver


def workspace_for(recorder: Recorder, **app: Any) -> tuple[RunningServer, Workspace]:
    """The workspace for an agent app configured otherwise by `app`."""
    return serve_workspace(recorder.url, **{**AGENT_APP, **app})


def delivered_event(recorder: Recorder, index: int = -1) -> dict[str, Any]:
    """The event of a delivery, once its signature is checked."""
    headers, body = recorder.requests[index]
    assert verify(body, headers, SIGNING_SECRET)
    return dict(json.loads(body)["event"])


def person_says(workspace: Workspace, recorder: Recorder, text: str) -> str:
    """The person writes `text`; the ts Slack gave their message."""
    assert workspace.say(text).status == 200
    return str(delivered_event(recorder)["ts"])


# ---------------------------------------------------------------- the tabs


def test_the_dm_starts_on_the_messages_tab_with_nothing_from_the_app_yet(
    workspace: Workspace,
) -> None:
    state = workspace.state()

    assert (state["tab"], state["home_tab"]) == ("messages", True)
    assert (state["home_view"], state["suggested_prompts"], state["statuses"]) == (None, None, {})


def test_the_page_has_the_messages_and_home_tabs(workspace: Workspace) -> None:
    page = http(f"{workspace.url}/").body

    for hook in ("tab-messages", "tab-home", "home", "prompts"):
        assert f'data-testid="{hook}"' in page
    assert http(f"{workspace.url}/static/agent.js").status == 200


def test_opening_the_messages_tab_sends_the_app_a_signed_app_home_opened(
    workspace: Workspace, recorder: Recorder
) -> None:
    assert workspace.open_tab("messages").status == 200

    event = delivered_event(recorder)
    assert event == {
        "type": "app_home_opened",
        "user": DEFAULT_USER_ID,
        "channel": workspace.ui.dm_channel,
        "tab": "messages",
        "event_ts": event["event_ts"],
    }
    (delivery,) = [e for e in workspace.inspector() if e["direction"] == "to_app"]
    assert (delivery["name"], delivery["status"]) == ("app_home_opened", 200)


def test_opening_the_home_tab_sends_the_view_the_app_published(
    workspace: Workspace, recorder: Recorder
) -> None:
    published = workspace.app.views_publish(user_id=DEFAULT_USER_ID, view=HOME)["view"]

    assert workspace.open_tab("home").status == 200

    event = delivered_event(recorder)
    assert (event["tab"], event["view"]["id"], event["view"]["type"]) == (
        "home",
        published["id"],
        "home",
    )
    assert workspace.state()["tab"] == "home"


def test_the_home_tab_opened_before_any_view_was_published_sends_none(
    workspace: Workspace, recorder: Recorder
) -> None:
    workspace.open_tab("home")

    event = delivered_event(recorder)
    assert event["tab"] == "home"
    assert "view" not in event


def test_an_app_not_subscribed_to_app_home_opened_hears_nothing_but_the_tab_opens(
    recorder: Recorder,
) -> None:
    server, workspace = workspace_for(recorder, bot_events=("message.im",))
    with server:
        assert workspace.open_tab("home").status == 200

        assert workspace.state()["tab"] == "home"
    assert recorder.requests == []


def test_an_app_without_a_home_tab_cannot_have_it_opened(recorder: Recorder) -> None:
    server, workspace = workspace_for(recorder, home_tab_enabled=False)
    with server:
        answer = workspace.open_tab("home")

        assert answer.status == 409
        assert (workspace.state()["tab"], workspace.state()["home_tab"]) == ("messages", False)
    assert recorder.requests == []


@pytest.mark.parametrize("tab", ["about", "", 3, None])
def test_a_tab_is_messages_or_home(workspace: Workspace, recorder: Recorder, tab: Any) -> None:
    assert workspace.open_tab(tab).status == 400
    assert recorder.requests == []


# ---------------------------------------------------------------- the Home tab


def test_a_view_published_for_the_person_shows_in_the_home_tab(workspace: Workspace) -> None:
    published = workspace.app.views_publish(user_id=DEFAULT_USER_ID, view=HOME)["view"]

    shown = workspace.state()["home_view"]
    assert shown == published
    assert [block["type"] for block in shown["blocks"]] == ["section", "actions"]


def test_a_republished_view_replaces_the_home_tab(workspace: Workspace) -> None:
    workspace.app.views_publish(user_id=DEFAULT_USER_ID, view=HOME)
    again = {**HOME, "blocks": HOME["blocks"][:1]}

    workspace.app.views_publish(user_id=DEFAULT_USER_ID, view=again)

    assert len(workspace.state()["home_view"]["blocks"]) == 1


def test_a_button_in_the_home_tab_reaches_the_app_from_the_home_view(
    workspace: Workspace, recorder: Recorder
) -> None:
    published = workspace.app.views_publish(user_id=DEFAULT_USER_ID, view=HOME)["view"]

    assert workspace.press_home().status == 200

    headers, body = recorder.requests[-1]
    assert verify(body, headers, SIGNING_SECRET)
    payload = recorder.payload()
    assert payload["type"] == "block_actions"
    assert payload["container"] == {"type": "view", "view_id": published["id"]}
    assert payload["view"]["type"] == "home"
    assert not {"channel", "message", "response_url"} & set(payload)
    (action,) = payload["actions"]
    assert (action["action_id"], action["value"]) == ("new_payment", "from_home")


def test_the_trigger_of_a_home_tab_press_opens_a_modal_on_the_page(
    workspace: Workspace, recorder: Recorder
) -> None:
    workspace.app.views_publish(user_id=DEFAULT_USER_ID, view=HOME)
    workspace.press_home()

    opened = workspace.app.views_open(trigger_id=recorder.payload()["trigger_id"], view=MODAL)

    assert workspace.modal()["view"]["id"] == opened["view"]["id"]


def test_a_press_in_a_view_that_is_not_shown_is_refused(
    workspace: Workspace, recorder: Recorder
) -> None:
    workspace.app.views_publish(user_id=DEFAULT_USER_ID, view=HOME)
    body = {"view_id": "V0NOTSHOWN", "block_id": "home_actions", "index": 0}

    assert http(f"{workspace.url}/_workspace/actions", body).status == 409
    assert recorder.requests == []


# ---------------------------------------------------------------- suggested prompts


def test_the_apps_suggested_prompts_show_in_the_messages_tab(workspace: Workspace) -> None:
    workspace.app.assistant_threads_setSuggestedPrompts(
        channel_id=workspace.ui.dm_channel, title="Try", prompts=PROMPTS
    )

    assert workspace.state()["suggested_prompts"] == {"title": "Try", "prompts": PROMPTS}


def test_clicking_a_suggested_prompt_sends_its_message_as_the_persons(
    workspace: Workspace, recorder: Recorder
) -> None:
    workspace.app.assistant_threads_setSuggestedPrompts(
        channel_id=workspace.ui.dm_channel, prompts=PROMPTS
    )

    assert workspace.click_prompt(1).status == 200

    event = delivered_event(recorder)
    assert (event["type"], event["channel_type"], event["user"]) == (
        "message",
        "im",
        DEFAULT_USER_ID,
    )
    assert "thread_ts" not in event
    assert event["text"] == "pay &lt;3 for fish &amp; chips"  # as Slack's client escapes it
    (shown,) = workspace.messages()
    assert (shown["author"], shown["text"], shown["ts"]) == ("you", event["text"], event["ts"])


@pytest.mark.parametrize("index", [2, -1])
def test_clicking_a_prompt_that_is_not_there_is_refused(
    workspace: Workspace, recorder: Recorder, index: int
) -> None:
    workspace.app.assistant_threads_setSuggestedPrompts(
        channel_id=workspace.ui.dm_channel, prompts=PROMPTS
    )

    assert workspace.click_prompt(index).status == 409
    assert recorder.requests == []


def test_prompts_sent_with_thread_ts_do_not_show_and_the_inspector_says_why(
    workspace: Workspace,
) -> None:
    workspace.app.assistant_threads_setSuggestedPrompts(
        channel_id=workspace.ui.dm_channel, thread_ts="1700000000.000100", prompts=PROMPTS
    )

    assert workspace.state()["suggested_prompts"] is None
    (entry,) = [e for e in workspace.inspector() if e["name"].startswith("assistant.")]
    assert entry["ok"] is True
    assert "thread_ts" in entry["note"]


# ---------------------------------------------------------------- threads and status


def test_the_persons_message_on_the_page_has_the_ts_slack_sent_the_app(
    workspace: Workspace, recorder: Recorder
) -> None:
    ts = person_says(workspace, recorder, "hi")

    (shown,) = workspace.messages()
    assert (shown["ts"], shown["thread_ts"]) == (ts, None)


def test_the_apps_reply_in_a_thread_shows_as_part_of_that_thread(
    workspace: Workspace, recorder: Recorder
) -> None:
    ts = person_says(workspace, recorder, "hi")

    workspace.app.chat_postMessage(channel=workspace.ui.dm_channel, thread_ts=ts, text="Hello!")

    mine, reply = workspace.messages()
    assert (reply["author"], reply["text"], reply["thread_ts"]) == ("app", "Hello!", ts)
    assert mine["thread_ts"] is None


def test_a_status_shows_under_its_thread_until_the_app_replies_there(
    workspace: Workspace, recorder: Recorder
) -> None:
    ts = person_says(workspace, recorder, "pay invoice INV-1001 $45")
    dm = workspace.ui.dm_channel

    workspace.app.assistant_threads_setStatus(
        channel_id=dm, thread_ts=ts, status="is checking with Stripe…", loading_messages=["…"]
    )
    assert workspace.state()["statuses"] == {
        ts: {"status": "is checking with Stripe…", "loading_messages": ["…"]}
    }

    workspace.app.chat_postMessage(channel=dm, thread_ts=ts, text="Saved.")
    assert workspace.state()["statuses"] == {}


def test_an_empty_status_takes_the_line_off_the_page(
    workspace: Workspace, recorder: Recorder
) -> None:
    ts = person_says(workspace, recorder, "hi")
    dm = workspace.ui.dm_channel
    workspace.app.assistant_threads_setStatus(channel_id=dm, thread_ts=ts, status="is thinking…")

    workspace.app.assistant_threads_setStatus(channel_id=dm, thread_ts=ts, status="")

    assert workspace.state()["statuses"] == {}


def test_an_app_not_subscribed_to_message_im_is_not_sent_the_persons_messages(
    recorder: Recorder,
) -> None:
    server, workspace = workspace_for(recorder, bot_events=("app_home_opened",))
    with server:
        assert workspace.say("hi").status == 200

        (shown,) = workspace.messages()
        assert shown["text"] == "hi"
    assert recorder.requests == []
