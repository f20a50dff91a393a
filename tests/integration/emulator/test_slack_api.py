"""The Slack Web API emulator, driven by the real `slack_sdk.WebClient` over loopback HTTP."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml  # type: ignore[import-untyped]
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from emulator.server import RunningServer, serve_in_thread
from emulator.slack_api import (
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    GENERAL_CHANNEL_ID,
    ApiCall,
    SlackWorkspace,
    create_app,
    user_object,
)
from emulator.slack_scopes import MANIFEST, manifest_bot_scopes

pytestmark = pytest.mark.integration

OTHER_USER_ID = "U0EMUOTHER"
MANIFEST_SCOPES = manifest_bot_scopes()
EXTRA_SCOPES = ("im:write", "users:read", "users:read.email")
"""Beyond the manifest's, so the methods paybot does not call can be exercised here too."""
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "card_form",
    "private_metadata": "session-ref-1",
    "title": {"type": "plain_text", "text": "Pay by card"},
    "submit": {"type": "plain_text", "text": "Pay"},
    "blocks": [
        {
            "type": "input",
            "block_id": "cardholder",
            "label": {"type": "plain_text", "text": "Name on card"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Stands in for the `time` module inside slack_sdk's retry handlers: records, never waits."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def workspace(clock: FakeClock) -> SlackWorkspace:
    other = user_object(OTHER_USER_ID, "sam", real_name="Sam Other")
    payer = user_object(DEFAULT_USER_ID, "pat", real_name="Pat Payer", email="pat@example.com")
    return SlackWorkspace(clock=clock, users=[payer, other], scopes=MANIFEST_SCOPES + EXTRA_SCOPES)


@pytest.fixture
def server(workspace: SlackWorkspace) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(workspace)) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=f"{server.url}/api/")


def refusal(call: Any, *args: Any, **kwargs: Any) -> SlackApiError:
    """The SlackApiError a WebClient call raises."""
    with pytest.raises(SlackApiError) as raised:
        call(*args, **kwargs)
    return raised.value


def control(server: RunningServer, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call a control endpoint (GET without a body, POST with one)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{server.url}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def raw_post(server: RunningServer, method: str, body: bytes, content_type: str) -> Any:
    """POST a body exactly as given, bypassing WebClient's encoding choices."""
    request = urllib.request.Request(
        f"{server.url}/api/{method}", data=body, headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


# ---------------------------------------------------------------- auth


def test_auth_test_names_the_bot_user_and_team(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    answer = client.auth_test()

    assert answer["user_id"] == workspace.bot_user_id
    assert answer["bot_id"] == workspace.bot_id
    assert answer["team_id"] == "T0EMULATOR"


def test_a_wrong_token_is_invalid_auth(server: RunningServer) -> None:
    stranger = WebClient(token="xoxb-not-the-token", base_url=f"{server.url}/api/")

    error = refusal(stranger.auth_test)

    assert error.response["error"] == "invalid_auth"


def test_a_token_form_field_authenticates(server: RunningServer) -> None:
    body = urlencode({"token": DEFAULT_TOKEN}).encode()

    answer = raw_post(server, "auth.test", body, "application/x-www-form-urlencoded")

    assert answer["ok"] is True


def test_a_token_inside_a_json_body_is_not_authed(server: RunningServer) -> None:
    body = json.dumps({"token": DEFAULT_TOKEN}).encode()

    answer = raw_post(server, "auth.test", body, "application/json")

    assert answer == {"ok": False, "error": "not_authed"}


def test_an_unknown_method_is_unknown_method(client: WebClient) -> None:
    error = refusal(client.api_call, "chat.teleport")

    assert error.response["error"] == "unknown_method"


# ---------------------------------------------------------------- chat


def test_post_message_stores_it_in_the_channel(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    answer = client.chat_postMessage(channel=GENERAL_CHANNEL_ID, text="hello")

    assert re.fullmatch(r"\d{10}\.\d{6}", answer["ts"])
    assert answer["message"]["bot_id"] == workspace.bot_id
    [stored] = workspace.messages(GENERAL_CHANNEL_ID)
    assert (stored["ts"], stored["text"], stored["is_ephemeral"]) == (answer["ts"], "hello", False)


def test_post_message_to_a_user_id_lands_in_their_dm(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    answer = client.chat_postMessage(channel=DEFAULT_USER_ID, text="hi")

    assert answer["channel"] == workspace.dm_channel(DEFAULT_USER_ID)
    assert answer["channel"].startswith("D")


def test_post_message_to_an_unknown_channel_is_channel_not_found(client: WebClient) -> None:
    error = refusal(client.chat_postMessage, channel="C0NOWHERE", text="hello")

    assert error.response["error"] == "channel_not_found"


def test_post_message_without_text_or_blocks_is_no_text(client: WebClient) -> None:
    error = refusal(client.api_call, "chat.postMessage", json={"channel": GENERAL_CHANNEL_ID})

    assert error.response["error"] == "no_text"


def test_form_encoded_blocks_are_decoded(client: WebClient, workspace: SlackWorkspace) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    params = {"channel": GENERAL_CHANNEL_ID, "text": "hi", "blocks": json.dumps(blocks)}

    client.api_call("chat.postMessage", params=params)

    [stored] = workspace.messages(GENERAL_CHANNEL_ID)
    assert stored["blocks"][0]["text"] == {"type": "mrkdwn", "text": "*hi*"}
    assert stored["blocks"][0]["block_id"]


def test_post_ephemeral_is_stored_marked_for_its_user(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    dm = workspace.dm_channel(DEFAULT_USER_ID)

    answer = client.chat_postEphemeral(channel=dm, user=DEFAULT_USER_ID, text="only you")

    [stored] = workspace.messages(dm)
    assert stored["ts"] == answer["message_ts"]
    assert (stored["is_ephemeral"], stored["ephemeral_user"]) == (True, DEFAULT_USER_ID)


def test_post_ephemeral_to_someone_outside_the_dm_is_user_not_in_channel(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    dm = workspace.dm_channel(DEFAULT_USER_ID)

    error = refusal(client.chat_postEphemeral, channel=dm, user=OTHER_USER_ID, text="psst")

    assert error.response["error"] == "user_not_in_channel"


def test_update_replaces_the_text_of_the_bots_message(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    posted = client.chat_postMessage(channel=GENERAL_CHANNEL_ID, text="Pending")

    answer = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Paid")

    assert (answer["ts"], answer["text"]) == (posted["ts"], "Paid")
    [stored] = workspace.messages(GENERAL_CHANNEL_ID)
    assert stored["text"] == "Paid"
    assert stored["edited"]["user"] == workspace.bot_user_id


def test_update_of_an_unknown_ts_is_message_not_found(client: WebClient) -> None:
    error = refusal(client.chat_update, channel=GENERAL_CHANNEL_ID, ts="1.000001", text="x")

    assert error.response["error"] == "message_not_found"


# ---------------------------------------------------------------- conversations and users


def test_conversations_open_gives_one_dm_per_user(client: WebClient) -> None:
    first = client.conversations_open(users=DEFAULT_USER_ID)

    again = client.conversations_open(users=DEFAULT_USER_ID)

    assert first["channel"]["id"].startswith("D")
    assert again["channel"]["id"] == first["channel"]["id"]
    assert again["already_open"] is True


def test_conversations_open_for_an_unknown_user_is_user_not_found(client: WebClient) -> None:
    error = refusal(client.conversations_open, users="U0NOBODY")

    assert error.response["error"] == "user_not_found"


def test_users_info_returns_the_configured_user(client: WebClient) -> None:
    answer = client.users_info(user=DEFAULT_USER_ID)

    assert answer["user"]["real_name"] == "Pat Payer"
    assert answer["user"]["profile"]["email"] == "pat@example.com"


def test_users_info_for_an_unknown_user_is_user_not_found(client: WebClient) -> None:
    error = refusal(client.users_info, user="U0NOBODY")

    assert error.response["error"] == "user_not_found"


# ---------------------------------------------------------------- views and triggers


def test_trigger_ids_look_like_slacks(workspace: SlackWorkspace) -> None:
    assert re.fullmatch(r"\d{13}\.\d{13}\.[0-9a-f]{32}", workspace.issue_trigger_id())


def test_views_open_with_a_fresh_trigger_returns_the_view_as_slack_reports_it(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    trigger_id = workspace.issue_trigger_id(user_id=DEFAULT_USER_ID)

    view = client.views_open(trigger_id=trigger_id, view=MODAL)["view"]

    assert re.fullmatch(r"V[A-Z0-9]+", view["id"])
    assert view["root_view_id"] == view["id"]
    assert re.fullmatch(r"\d{10}\.[0-9a-f]{8}", view["hash"])
    assert view["private_metadata"] == "session-ref-1"
    assert workspace.views(DEFAULT_USER_ID) == [view]


def test_a_trigger_opens_only_one_view(client: WebClient, workspace: SlackWorkspace) -> None:
    trigger_id = workspace.issue_trigger_id()
    client.views_open(trigger_id=trigger_id, view=MODAL)

    error = refusal(client.views_open, trigger_id=trigger_id, view=MODAL)

    assert error.response["error"] == "exchanged_trigger_id"


def test_a_trigger_works_until_three_seconds_have_passed(
    client: WebClient, workspace: SlackWorkspace, clock: FakeClock
) -> None:
    trigger_id = workspace.issue_trigger_id()
    clock.advance(2.9)

    assert client.views_open(trigger_id=trigger_id, view=MODAL)["ok"] is True


def test_a_trigger_older_than_three_seconds_is_expired(
    client: WebClient, workspace: SlackWorkspace, clock: FakeClock
) -> None:
    trigger_id = workspace.issue_trigger_id()
    clock.advance(3.1)

    error = refusal(client.views_open, trigger_id=trigger_id, view=MODAL)

    assert error.response["error"] == "expired_trigger_id"


def test_a_trigger_the_workspace_never_issued_is_invalid(client: WebClient) -> None:
    made_up = "1234567890123.1234567890123.0123456789abcdef0123456789abcdef"

    error = refusal(client.views_open, trigger_id=made_up, view=MODAL)

    assert error.response["error"] == "invalid_trigger_id"


def test_views_open_without_a_title_is_invalid_arguments(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    untitled = {key: value for key, value in MODAL.items() if key != "title"}

    error = refusal(client.views_open, trigger_id=workspace.issue_trigger_id(), view=untitled)

    assert error.response["error"] == "invalid_arguments"
    assert "title" in error.response["response_metadata"]["messages"][0]


def test_views_update_with_the_current_hash_replaces_the_view(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    opened = client.views_open(trigger_id=workspace.issue_trigger_id(), view=MODAL)["view"]
    done = {**MODAL, "title": {"type": "plain_text", "text": "Paid"}}

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=done)["view"]

    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    assert workspace.view(opened["id"]) == updated


def test_views_update_with_a_stale_hash_is_hash_conflict(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    opened = client.views_open(trigger_id=workspace.issue_trigger_id(), view=MODAL)["view"]
    client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)

    error = refusal(client.views_update, view_id=opened["id"], hash=opened["hash"], view=MODAL)

    assert error.response["error"] == "hash_conflict"


def test_views_update_finds_a_view_by_external_id(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    labelled = {**MODAL, "external_id": "session-ref-1"}
    opened = client.views_open(trigger_id=workspace.issue_trigger_id(), view=labelled)["view"]

    updated = client.views_update(external_id="session-ref-1", view=MODAL)["view"]

    assert updated["id"] == opened["id"]


def test_views_update_of_an_unknown_view_is_not_found(client: WebClient) -> None:
    error = refusal(client.views_update, view_id="V0NOWHERE", view=MODAL)

    assert error.response["error"] == "not_found"


def test_views_push_stacks_on_the_modal_the_trigger_came_from(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    root = client.views_open(trigger_id=workspace.issue_trigger_id(), view=MODAL)["view"]
    trigger_id = workspace.issue_trigger_id(view_id=root["id"])

    pushed = client.views_push(trigger_id=trigger_id, view=MODAL)["view"]

    assert (pushed["root_view_id"], pushed["previous_view_id"]) == (root["id"], root["id"])


# ---------------------------------------------------------------- faults


def test_an_injected_ratelimit_is_a_429_with_retry_after(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    workspace.inject("chat.postMessage", error="ratelimited", count=1, retry_after=7)

    error = refusal(client.chat_postMessage, channel=GENERAL_CHANNEL_ID, text="hi")

    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"


def test_the_rate_limit_retry_handler_waits_retry_after_then_succeeds(
    server: RunningServer, workspace: SlackWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_time = FakeSleep()
    monkeypatch.setattr(builtin_handlers, "time", fake_time)
    retrying = WebClient(
        token=DEFAULT_TOKEN,
        base_url=f"{server.url}/api/",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    workspace.inject("chat.postMessage", error="ratelimited", count=1, retry_after=2)

    answer = retrying.chat_postMessage(channel=GENERAL_CHANNEL_ID, text="hi")

    assert answer["ok"] is True
    [waited] = fake_time.slept
    assert 2 <= waited < 3


def test_an_injected_error_fails_only_the_calls_it_counts(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    workspace.inject("views.open", error="expired_trigger_id", count=1)

    error = refusal(client.views_open, trigger_id=workspace.issue_trigger_id(), view=MODAL)
    later = client.views_open(trigger_id=workspace.issue_trigger_id(), view=MODAL)

    assert (error.response["error"], later["ok"]) == ("expired_trigger_id", True)


def test_faults_can_be_injected_over_http(server: RunningServer, client: WebClient) -> None:
    control(server, "/_emulator/faults", {"method": "users.info", "error": "fatal_error"})

    error = refusal(client.users_info, user=DEFAULT_USER_ID)

    assert error.response["error"] == "fatal_error"


# ---------------------------------------------------------------- recording and control


def test_every_call_is_recorded_with_its_outcome_and_without_the_token(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    client.chat_postMessage(channel=GENERAL_CHANNEL_ID, text="hello")
    refusal(client.users_info, user="U0NOBODY")

    first, second = workspace.calls

    assert (first.method, first.args, first.ok) == (
        "chat.postMessage",
        {"channel": GENERAL_CHANNEL_ID, "text": "hello"},
        True,
    )
    assert (second.method, second.ok, second.error) == ("users.info", False, "user_not_found")
    assert first.duration >= 0


def test_calls_are_listed_at_the_control_endpoint(server: RunningServer, client: WebClient) -> None:
    client.auth_test()

    listed = control(server, "/_emulator/calls")["calls"]

    assert [(call["method"], call["ok"], call["status"]) for call in listed] == [
        ("auth.test", True, 200)
    ]


def test_calls_are_also_the_request_log_every_stand_in_serves(
    server: RunningServer, client: WebClient
) -> None:
    client.auth_test()

    assert control(server, "/_emulator/requests") == control(server, "/_emulator/calls")
    assert len(control(server, "/_emulator/requests")["calls"]) == 1


def test_reset_forgets_calls_and_messages(
    server: RunningServer, client: WebClient, workspace: SlackWorkspace
) -> None:
    client.chat_postMessage(channel=GENERAL_CHANNEL_ID, text="hello")

    control(server, "/_emulator/reset", {})

    assert workspace.calls == []
    assert workspace.messages(GENERAL_CHANNEL_ID) == []


def test_a_trigger_issued_over_http_opens_a_view(server: RunningServer, client: WebClient) -> None:
    issued = control(server, "/_emulator/trigger_ids", {"user_id": DEFAULT_USER_ID})

    assert client.views_open(trigger_id=issued["trigger_id"], view=MODAL)["ok"] is True


def test_subscribers_hear_each_call_as_it_is_recorded(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    heard: list[ApiCall] = []
    unsubscribe = workspace.subscribe(heard.append)

    client.auth_test()
    unsubscribe()
    client.auth_test()

    assert [call.method for call in heard] == ["auth.test"]


# ---------------------------------------------------------------- scopes


@pytest.fixture
def manifest_client() -> Iterator[WebClient]:
    """A client whose token has exactly the bot scopes manifest.yml declares."""
    with serve_in_thread(create_app(SlackWorkspace())) as running:
        yield WebClient(token=DEFAULT_TOKEN, base_url=f"{running.url}/api/")


def test_the_token_has_the_manifests_bot_scopes_by_default() -> None:
    declared = yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"]

    assert SlackWorkspace().scopes == tuple(declared)
    assert {"chat:write", "commands", "im:history"} <= set(declared)


def test_auth_test_names_the_tokens_scopes_in_x_oauth_scopes(manifest_client: WebClient) -> None:
    answer = manifest_client.auth_test()

    assert answer.headers["x-oauth-scopes"] == ",".join(MANIFEST_SCOPES)


def test_every_answer_to_the_token_names_its_scopes(manifest_client: WebClient) -> None:
    posted = manifest_client.chat_postMessage(channel=GENERAL_CHANNEL_ID, text="hi")
    refused = refusal(manifest_client.chat_postMessage, channel="C0NOWHERE", text="hi")

    assert posted.headers["x-oauth-scopes"] == ",".join(MANIFEST_SCOPES)
    assert posted.headers["x-accepted-oauth-scopes"] == "chat:write"
    assert refused.response.headers["x-oauth-scopes"] == ",".join(MANIFEST_SCOPES)


def test_a_method_outside_the_tokens_scopes_is_missing_scope(manifest_client: WebClient) -> None:
    error = refusal(manifest_client.users_info, user=DEFAULT_USER_ID)

    assert error.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "users:read",
        "provided": ",".join(MANIFEST_SCOPES),
    }


def test_opening_a_dm_needs_im_write_and_slack_names_every_conversation_scope(
    manifest_client: WebClient,
) -> None:
    error = refusal(manifest_client.conversations_open, users=DEFAULT_USER_ID)

    assert error.response["error"] == "missing_scope"
    assert error.response["needed"] == "channels:write,groups:write,mpim:write,im:write"


def test_views_need_no_scope() -> None:
    unscoped = SlackWorkspace(scopes=())
    with serve_in_thread(create_app(unscoped)) as running:
        client = WebClient(token=DEFAULT_TOKEN, base_url=f"{running.url}/api/")

        opened = client.views_open(trigger_id=unscoped.issue_trigger_id(), view=MODAL)
        refused = refusal(client.chat_postMessage, channel=GENERAL_CHANNEL_ID, text="hi")

    assert opened["ok"] is True
    assert (refused.response["needed"], refused.response["provided"]) == ("chat:write", "")


def test_users_info_shows_the_email_only_with_users_read_email() -> None:
    without_email = SlackWorkspace(scopes=("users:read",))
    with serve_in_thread(create_app(without_email)) as running:
        client = WebClient(token=DEFAULT_TOKEN, base_url=f"{running.url}/api/")

        user = client.users_info(user=DEFAULT_USER_ID)["user"]

    assert "email" not in user["profile"]
    assert user["real_name"] == "Pat Payer"


# ---------------------------------------------------------------- Block Kit

BAD_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "fine"}},
    {"type": "section"},
]


@pytest.mark.parametrize("method", ["chat_postMessage", "chat_postEphemeral"])
def test_invalid_blocks_are_refused_and_nothing_is_posted(
    client: WebClient, workspace: SlackWorkspace, method: str
) -> None:
    dm = workspace.dm_channel(DEFAULT_USER_ID)
    call = getattr(client, method)

    error = refusal(call, channel=dm, user=DEFAULT_USER_ID, text="hi", blocks=BAD_BLOCKS)

    assert error.response["error"] == "invalid_blocks"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] text or fields attribute must be specified [json-pointer:/blocks/1]"
    ]
    assert workspace.messages(dm) == []


def test_chat_update_with_invalid_blocks_keeps_the_message(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    posted = client.chat_postMessage(channel=GENERAL_CHANNEL_ID, text="Pending")

    error = refusal(
        client.chat_update, channel=posted["channel"], ts=posted["ts"], text="x", blocks=BAD_BLOCKS
    )

    assert error.response["error"] == "invalid_blocks"
    assert workspace.messages(GENERAL_CHANNEL_ID)[0]["text"] == "Pending"


def test_a_message_with_more_than_50_blocks_is_refused(client: WebClient) -> None:
    divider = {"type": "divider"}

    error = refusal(
        client.chat_postMessage, channel=GENERAL_CHANNEL_ID, text="x", blocks=[divider] * 51
    )

    assert (
        "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"
        in (error.response["response_metadata"]["messages"])
    )


def test_an_invalid_modal_is_invalid_arguments_with_slacks_messages(
    client: WebClient, workspace: SlackWorkspace
) -> None:
    long_title = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}

    error = refusal(client.views_open, trigger_id=workspace.issue_trigger_id(), view=long_title)

    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] title must be between 1 and 24 characters [json-pointer:/view]"
    ]


@pytest.mark.parametrize("method", ["views_update", "views_push"])
def test_views_update_and_push_check_the_view_too(
    client: WebClient, workspace: SlackWorkspace, method: str
) -> None:
    opened = client.views_open(trigger_id=workspace.issue_trigger_id(), view=MODAL)["view"]
    broken = {**MODAL, "blocks": [{"type": "input", "label": {"type": "plain_text", "text": "x"}}]}
    where = {"view_id": opened["id"]} if method == "views_update" else {}
    trigger = {} if where else {"trigger_id": workspace.issue_trigger_id(view_id=opened["id"])}

    error = refusal(getattr(client, method), view=broken, **where, **trigger)

    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] missing required field: element [json-pointer:/view/blocks/0]"
    ]


def test_views_publish_shows_a_home_tab(client: WebClient) -> None:
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }

    first = client.views_publish(user_id=DEFAULT_USER_ID, view=home)["view"]
    again = client.views_publish(user_id=DEFAULT_USER_ID, view=home, hash=first["hash"])["view"]

    assert first["type"] == "home"
    assert again["id"] == first["id"]


def test_views_publish_refuses_a_modal(client: WebClient) -> None:
    error = refusal(client.views_publish, user_id=DEFAULT_USER_ID, view=MODAL)

    assert error.response["error"] == "invalid_arguments"
    assert (
        "[ERROR] must be one of home [json-pointer:/view/type]"
        in (error.response["response_metadata"]["messages"])
    )
