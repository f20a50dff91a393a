"""The agent messaging methods of the Slack stand-in, driven by slack_sdk's WebClient over HTTP.

assistant.threads.setSuggestedPrompts and assistant.threads.setStatus as Slack documents them
for an app in the agent messaging experience (`features.agent_view`).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulator.server import RunningServer, serve_in_thread
from emulator.slack_api import (
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    GENERAL_CHANNEL_ID,
    SlackWorkspace,
    create_app,
)
from emulator.slack_api.manifest import manifest_bot_events, manifest_home_tab_enabled
from emulator.slack_scopes import manifest_bot_scopes

pytestmark = pytest.mark.integration

SCOPES = ("chat:write", "assistant:write", "im:write")
THREAD = "1700000000.000100"
PROMPTS = [
    {"title": "Pay an invoice", "message": "I want to pay invoice INV-1001"},
    {"title": "Check my payment", "message": "What is the status of my payment?"},
]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def workspace(clock: FakeClock) -> SlackWorkspace:
    return SlackWorkspace(clock=clock, scopes=SCOPES)


@pytest.fixture
def server(workspace: SlackWorkspace) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(workspace)) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=f"{server.url}/api/")


@pytest.fixture
def dm(workspace: SlackWorkspace) -> str:
    return workspace.dm_channel(DEFAULT_USER_ID)


def refusal(call: Any, **kwargs: Any) -> dict[str, Any]:
    """What Slack answered to a call the WebClient raised for."""
    with pytest.raises(SlackApiError) as raised:
        call(**kwargs)
    return dict(raised.value.response.data)


def invalid(answer: dict[str, Any]) -> list[str]:
    """The messages of an `invalid_arguments` answer."""
    assert answer["error"] == "invalid_arguments"
    return list(answer["response_metadata"]["messages"])


@contextmanager
def scoped_client(*scopes: str) -> Iterator[tuple[WebClient, SlackWorkspace]]:
    """A client whose token has exactly `scopes`, and its workspace."""
    workspace = SlackWorkspace(scopes=scopes)
    with serve_in_thread(create_app(workspace)) as running:
        yield WebClient(token=DEFAULT_TOKEN, base_url=f"{running.url}/api/"), workspace


# ---------------------------------------------------------------- setSuggestedPrompts


def test_suggested_prompts_show_in_the_dm(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    answer = client.assistant_threads_setSuggestedPrompts(
        channel_id=dm, title="Try one of these", prompts=PROMPTS
    )

    assert answer.data == {"ok": True}
    assert workspace.suggested_prompts(dm) == {"title": "Try one of these", "prompts": PROMPTS}


def test_suggested_prompts_need_no_title(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setSuggestedPrompts(channel_id=dm, prompts=PROMPTS[:1])

    assert workspace.suggested_prompts(dm) == {"title": None, "prompts": PROMPTS[:1]}


def test_new_suggested_prompts_replace_the_old(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setSuggestedPrompts(channel_id=dm, prompts=PROMPTS)

    client.assistant_threads_setSuggestedPrompts(channel_id=dm, prompts=PROMPTS[1:])

    assert workspace.suggested_prompts(dm) == {"title": None, "prompts": PROMPTS[1:]}


def test_form_encoded_prompts_are_read_as_json(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    fields = {"channel_id": dm, "prompts": json.dumps(PROMPTS)}

    assert client.api_call("assistant.threads.setSuggestedPrompts", data=fields)["ok"] is True

    assert workspace.suggested_prompts(dm) == {"title": None, "prompts": PROMPTS}


def test_up_to_four_prompts_are_taken(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    four = [{"title": f"t{n}", "message": f"m{n}"} for n in range(4)]

    client.assistant_threads_setSuggestedPrompts(channel_id=dm, prompts=four)

    assert workspace.suggested_prompts(dm) == {"title": None, "prompts": four}


def test_five_prompts_are_refused_and_nothing_changes(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setSuggestedPrompts(channel_id=dm, prompts=PROMPTS)
    five = [{"title": f"t{n}", "message": f"m{n}"} for n in range(5)]

    answer = refusal(client.assistant_threads_setSuggestedPrompts, channel_id=dm, prompts=five)

    assert invalid(answer) == ["[ERROR] no more than 4 items allowed [json-pointer:/prompts]"]
    assert workspace.suggested_prompts(dm) == {"title": None, "prompts": PROMPTS}


def test_prompts_with_thread_ts_answer_ok_show_nothing_and_are_marked_in_the_call_log(
    client: WebClient, workspace: SlackWorkspace, server: RunningServer, dm: str
) -> None:
    # "Including it in a call for an agent app will cause the call to silently fail."
    answer = client.assistant_threads_setSuggestedPrompts(
        channel_id=dm, thread_ts=THREAD, prompts=PROMPTS
    )

    assert answer.data == {"ok": True}
    assert workspace.suggested_prompts(dm) is None
    (call,) = workspace.calls_to("assistant.threads.setSuggestedPrompts")
    assert (call.ok, call.args["thread_ts"]) == (True, THREAD)
    assert "thread_ts" in (call.note or "")
    with urllib.request.urlopen(f"{server.url}/_emulator/calls") as listed:
        (logged,) = json.loads(listed.read())["calls"]
    assert logged["note"] == call.note


def test_prompts_with_thread_ts_leave_the_shown_prompts_alone(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setSuggestedPrompts(channel_id=dm, prompts=PROMPTS)

    client.assistant_threads_setSuggestedPrompts(
        channel_id=dm, thread_ts=THREAD, prompts=PROMPTS[1:]
    )

    assert workspace.suggested_prompts(dm) == {"title": None, "prompts": PROMPTS}


def test_a_call_the_stand_in_answers_in_full_carries_no_note(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setSuggestedPrompts(channel_id=dm, prompts=PROMPTS)

    (call,) = workspace.calls
    assert call.note is None


def test_prompts_for_an_unknown_channel_are_channel_not_found(client: WebClient) -> None:
    answer = refusal(
        client.assistant_threads_setSuggestedPrompts, channel_id="D0NOWHERE", prompts=PROMPTS
    )

    assert answer["error"] == "channel_not_found"


def test_prompts_name_their_channel_by_id_not_by_user(client: WebClient) -> None:
    answer = refusal(
        client.assistant_threads_setSuggestedPrompts, channel_id=DEFAULT_USER_ID, prompts=PROMPTS
    )

    assert answer["error"] == "channel_not_found"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prompts": PROMPTS}, "[ERROR] missing required field: channel_id"),
        ({"channel_id": "DM"}, "[ERROR] missing required field: prompts"),
        (
            {"channel_id": "DM", "prompts": []},
            "[ERROR] must provide at least 1 item [json-pointer:/prompts]",
        ),
        (
            {"channel_id": "DM", "prompts": {"title": "a"}},
            "[ERROR] must provide an array [json-pointer:/prompts]",
        ),
        (
            {"channel_id": "DM", "prompts": ["hi"]},
            "[ERROR] must provide an object [json-pointer:/prompts/0]",
        ),
        (
            {"channel_id": "DM", "prompts": [{"title": "Pay"}]},
            "[ERROR] missing required field: message [json-pointer:/prompts/0]",
        ),
        (
            {"channel_id": "DM", "prompts": [PROMPTS[0], {"message": "hi"}]},
            "[ERROR] missing required field: title [json-pointer:/prompts/1]",
        ),
        (
            {"channel_id": "DM", "prompts": [{"title": 7, "message": "hi"}]},
            "[ERROR] must be a string [json-pointer:/prompts/0/title]",
        ),
        (
            {"channel_id": 42, "prompts": PROMPTS},
            "[ERROR] must be a string [json-pointer:/channel_id]",
        ),
        (
            {"channel_id": "DM", "prompts": PROMPTS, "title": ["x"]},
            "[ERROR] must be a string [json-pointer:/title]",
        ),
    ],
    ids=[
        "no-channel",
        "no-prompts",
        "empty-prompts",
        "prompts-not-a-list",
        "prompt-not-an-object",
        "prompt-without-message",
        "prompt-without-title",
        "title-not-a-string",
        "channel-not-a-string",
        "list-title-not-a-string",
    ],
)
def test_malformed_prompts_are_invalid_arguments(
    client: WebClient, workspace: SlackWorkspace, dm: str, fields: dict[str, Any], message: str
) -> None:
    sent = {name: dm if value == "DM" else value for name, value in fields.items()}

    answer = refusal(client.api_call, api_method="assistant.threads.setSuggestedPrompts", json=sent)

    assert invalid(answer) == [message]
    assert workspace.suggested_prompts(dm) is None


def test_malformed_prompts_with_thread_ts_are_refused_not_ignored(
    client: WebClient, dm: str
) -> None:
    answer = refusal(
        client.assistant_threads_setSuggestedPrompts, channel_id=dm, thread_ts=THREAD, prompts=[]
    )

    assert answer["error"] == "invalid_arguments"


def test_suggested_prompts_need_assistant_write() -> None:
    with scoped_client("chat:write", "im:history") as (client, _):
        answer = refusal(
            client.assistant_threads_setSuggestedPrompts,
            channel_id=GENERAL_CHANNEL_ID,
            prompts=PROMPTS,
        )

    assert answer == {
        "ok": False,
        "error": "missing_scope",
        "needed": "assistant:write",
        "provided": "chat:write,im:history",
    }


def test_suggested_prompts_name_the_scope_they_accept(client: WebClient, dm: str) -> None:
    answer = client.assistant_threads_setSuggestedPrompts(channel_id=dm, prompts=PROMPTS)

    assert answer.headers["x-accepted-oauth-scopes"] == "assistant:write"


# ---------------------------------------------------------------- setStatus


def test_a_status_shows_in_its_thread(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    answer = client.assistant_threads_setStatus(
        channel_id=dm,
        thread_ts=THREAD,
        status="is checking with Stripe…",
        loading_messages=["Asking the bank…", "Nearly there…"],
    )

    assert answer.data == {"ok": True}
    assert workspace.thread_statuses(dm) == {
        THREAD: {
            "status": "is checking with Stripe…",
            "loading_messages": ["Asking the bank…", "Nearly there…"],
        }
    }


def test_a_status_without_loading_messages_has_none(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="is thinking…")

    assert workspace.thread_statuses(dm) == {
        THREAD: {"status": "is thinking…", "loading_messages": []}
    }


def test_an_empty_status_clears_it(client: WebClient, workspace: SlackWorkspace, dm: str) -> None:
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="is thinking…")

    assert client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="")["ok"]

    assert workspace.thread_statuses(dm) == {}


def test_the_apps_reply_in_the_thread_clears_its_status(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="is thinking…")

    client.chat_postMessage(channel=dm, thread_ts=THREAD, text="Here you are.")

    assert workspace.thread_statuses(dm) == {}


def test_an_ephemeral_reply_in_the_thread_clears_its_status_too(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="is thinking…")

    client.chat_postEphemeral(channel=dm, user=DEFAULT_USER_ID, thread_ts=THREAD, text="Psst.")

    assert workspace.thread_statuses(dm) == {}


@pytest.mark.parametrize(
    "elsewhere", [None, "1700000000.000900"], ids=["top-level", "other-thread"]
)
def test_a_message_outside_the_thread_keeps_its_status(
    client: WebClient, workspace: SlackWorkspace, dm: str, elsewhere: str | None
) -> None:
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="is thinking…")

    client.chat_postMessage(channel=dm, thread_ts=elsewhere, text="Meanwhile…")

    assert set(workspace.thread_statuses(dm)) == {THREAD}


def test_a_failed_reply_keeps_the_status(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="is thinking…")

    broken = [{"type": "section"}]
    refusal(client.chat_postMessage, channel=dm, thread_ts=THREAD, text="x", blocks=broken)

    assert set(workspace.thread_statuses(dm)) == {THREAD}


def test_a_status_lapses_after_two_minutes_without_a_reply(
    client: WebClient, workspace: SlackWorkspace, clock: FakeClock, dm: str
) -> None:
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="is thinking…")

    clock.advance(119)
    assert set(workspace.thread_statuses(dm)) == {THREAD}
    clock.advance(1)
    assert workspace.thread_statuses(dm) == {}


def test_each_thread_has_its_own_status(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    other = "1700000000.000900"
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="is thinking…")
    client.assistant_threads_setStatus(channel_id=dm, thread_ts=other, status="is paying…")

    client.chat_postMessage(channel=dm, thread_ts=THREAD, text="Done.")

    assert workspace.thread_statuses(dm) == {
        other: {"status": "is paying…", "loading_messages": []}
    }


def test_a_status_for_an_unknown_channel_is_channel_not_found(client: WebClient) -> None:
    answer = refusal(
        client.assistant_threads_setStatus, channel_id="D0NOWHERE", thread_ts=THREAD, status="x"
    )

    assert answer["error"] == "channel_not_found"


@pytest.mark.parametrize("thread_ts", ["yesterday", "1700000000", "1700000000.12a"])
def test_a_status_for_a_thread_ts_that_is_no_timestamp_is_invalid_thread_ts(
    client: WebClient, dm: str, thread_ts: str
) -> None:
    answer = refusal(
        client.assistant_threads_setStatus, channel_id=dm, thread_ts=thread_ts, status="x"
    )

    assert answer["error"] == "invalid_thread_ts"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"thread_ts": THREAD, "status": "x"}, "[ERROR] missing required field: channel_id"),
        ({"channel_id": "DM", "status": "x"}, "[ERROR] missing required field: thread_ts"),
        ({"channel_id": "DM", "thread_ts": THREAD}, "[ERROR] missing required field: status"),
        (
            {"channel_id": "DM", "thread_ts": THREAD, "status": 3},
            "[ERROR] must be a string [json-pointer:/status]",
        ),
        (
            {"channel_id": "DM", "thread_ts": 1700000000.0001, "status": "x"},
            "[ERROR] must be a string [json-pointer:/thread_ts]",
        ),
        (
            {"channel_id": "DM", "thread_ts": THREAD, "status": "x", "loading_messages": "wait"},
            "[ERROR] must provide an array [json-pointer:/loading_messages]",
        ),
        (
            {"channel_id": "DM", "thread_ts": THREAD, "status": "x", "loading_messages": ["a", 2]},
            "[ERROR] must be a non-empty string [json-pointer:/loading_messages/1]",
        ),
        (
            {
                "channel_id": "DM",
                "thread_ts": THREAD,
                "status": "x",
                "loading_messages": ["m"] * 11,
            },
            "[ERROR] no more than 10 items allowed [json-pointer:/loading_messages]",
        ),
    ],
    ids=[
        "no-channel",
        "no-thread",
        "no-status",
        "status-not-a-string",
        "thread-ts-a-number",
        "loading-not-a-list",
        "loading-not-strings",
        "eleven-loading-messages",
    ],
)
def test_a_malformed_status_is_invalid_arguments(
    client: WebClient, workspace: SlackWorkspace, dm: str, fields: dict[str, Any], message: str
) -> None:
    sent = {name: dm if value == "DM" else value for name, value in fields.items()}

    answer = refusal(client.api_call, api_method="assistant.threads.setStatus", json=sent)

    assert invalid(answer) == [message]
    assert workspace.thread_statuses(dm) == {}


def test_ten_loading_messages_are_taken(
    client: WebClient, workspace: SlackWorkspace, dm: str
) -> None:
    ten = [f"step {n}" for n in range(10)]

    client.assistant_threads_setStatus(
        channel_id=dm, thread_ts=THREAD, status="is working…", loading_messages=ten
    )

    assert workspace.thread_statuses(dm)[THREAD]["loading_messages"] == ten


@pytest.mark.parametrize("scope", ["chat:write", "assistant:write"])
def test_a_status_takes_either_chat_write_or_assistant_write(scope: str) -> None:
    with scoped_client(scope) as (client, workspace):
        dm = workspace.dm_channel(DEFAULT_USER_ID)

        answer = client.assistant_threads_setStatus(channel_id=dm, thread_ts=THREAD, status="x")

    assert answer["ok"] is True


def test_a_status_without_either_scope_is_missing_scope() -> None:
    with scoped_client("im:history") as (client, workspace):
        dm = workspace.dm_channel(DEFAULT_USER_ID)

        answer = refusal(
            client.assistant_threads_setStatus, channel_id=dm, thread_ts=THREAD, status="x"
        )

    assert (answer["error"], answer["needed"]) == ("missing_scope", "chat:write,assistant:write")


# ---------------------------------------------------------------- the app's manifest


def test_the_manifest_lets_the_app_set_prompts_and_hear_its_tabs_open() -> None:
    # In the agent messaging experience the app learns of an opened DM from app_home_opened
    # and offers prompts with setSuggestedPrompts (assistant:write); the stand-in grants the
    # token manifest.yml's scopes and sends only the events it subscribes to.
    assert "assistant:write" in manifest_bot_scopes()
    assert "app_home_opened" in manifest_bot_events()


def test_events_and_the_home_tab_are_read_from_the_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yml"
    manifest.write_text(
        "features:\n  app_home:\n    home_tab_enabled: true\n"
        "settings:\n  event_subscriptions:\n    bot_events: [message.im, app_home_opened]\n"
    )

    assert manifest_bot_events(manifest) == ("message.im", "app_home_opened")
    assert manifest_home_tab_enabled(manifest) is True


def test_a_manifest_that_says_nothing_subscribes_to_nothing_and_has_no_home_tab(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "manifest.yml"
    manifest.write_text("display_information:\n  name: quiet\n")

    assert manifest_bot_events(manifest) == ()
    assert manifest_home_tab_enabled(manifest) is False


def test_the_workspace_hears_what_it_is_told_to_over_the_manifest() -> None:
    workspace = SlackWorkspace(bot_events=("app_home_opened",), home_tab_enabled=True)

    assert workspace.subscribes_to("app_home_opened")
    assert not workspace.subscribes_to("message.im")
    assert workspace.home_tab_enabled is True
