"""Requests built and signed as Slack sends them, routed by a real Bolt app to its listeners."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from emulator import slack_requests as slack
from emulator.server import RunningServer, serve_in_thread
from emulator.slack_api import DEFAULT_TOKEN, DEFAULT_USER_ID, SlackWorkspace, create_app
from emulator.slack_requests import APP_ID, BOT_USER_ID, TEAM_ID, SlackRequest
from emulator.slack_signing import signature, signature_headers, verify

pytestmark = pytest.mark.integration

SIGNING_SECRET = "emulator-signing-secret"
CARD_FORM: dict[str, Any] = {
    "type": "modal",
    "callback_id": "card_form",
    "private_metadata": "session-ref-1",
    "notify_on_close": True,
    "title": {"type": "plain_text", "text": "Pay by card"},
    "submit": {"type": "plain_text", "text": "Pay"},
    "blocks": [
        {
            "type": "input",
            "block_id": "cardholder",
            "label": {"type": "plain_text", "text": "Name on card"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
        {
            "type": "input",
            "block_id": "expiry",
            "label": {"type": "plain_text", "text": "Expiry (MM/YY)"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
    ],
}

# Slack's worked example: docs.slack.dev/authentication/verifying-requests-from-slack
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = 1531420618
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


@pytest.fixture
def workspace() -> SlackWorkspace:
    return SlackWorkspace()


@pytest.fixture
def server(workspace: SlackWorkspace) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(workspace)) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=f"{server.url}/api/")


@pytest.fixture
def heard() -> list[dict[str, Any]]:
    """Bodies the listeners received, in order."""
    return []


@pytest.fixture
def app(client: WebClient, heard: list[dict[str, Any]]) -> App:
    """A real Bolt app (its auth.test goes to the emulator) with one listener per surface."""
    bolt = App(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)

    def record(ack: Any, body: dict[str, Any]) -> None:
        ack()
        heard.append(body)

    bolt.event("message")(record)
    bolt.event("app_home_opened")(record)
    bolt.command("/pay")(record)
    bolt.action("open_card_form")(record)
    bolt.view("card_form")(record)
    bolt.view_closed("card_form")(record)
    return bolt


def dispatch(
    app: App, request: SlackRequest, secret: str = SIGNING_SECRET, **signed: Any
) -> BoltResponse:
    """Deliver a request to the app the way its HTTP adapter would."""
    headers: dict[str, str | Sequence[str]] = {**request.headers(secret, **signed)}
    return app.dispatch(BoltRequest(body=request.body.decode(), headers=headers))


def flip_one_bit(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


# ---------------------------------------------------------------- signing


def test_the_signature_matches_slacks_published_example() -> None:
    assert signature(DOC_BODY, DOC_SECRET, DOC_TIMESTAMP) == DOC_SIGNATURE


def test_signed_headers_pass_slack_sdks_verifier() -> None:
    body = slack.url_verification("abc").body

    headers = signature_headers(body, SIGNING_SECRET)

    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)


def test_one_flipped_body_bit_fails_slack_sdks_verifier() -> None:
    body = slack.url_verification("abc").body
    headers = signature_headers(body, SIGNING_SECRET)

    assert not SignatureVerifier(SIGNING_SECRET).is_valid_request(flip_one_bit(body), headers)


def test_one_flipped_signature_bit_fails_slack_sdks_verifier() -> None:
    body = slack.url_verification("abc").body
    headers = signature_headers(body, SIGNING_SECRET)
    digest = headers["X-Slack-Signature"].removeprefix("v0=")
    headers["X-Slack-Signature"] = "v0=" + ("1" if digest[0] == "0" else "0") + digest[1:]

    assert not SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)


def test_verify_accepts_a_fresh_signature_under_any_header_case() -> None:
    body = b'{"type":"event_callback"}'
    headers = {name.lower(): value for name, value in signature_headers(body, "s").items()}

    assert verify(body, headers, "s")


def test_verify_refuses_a_signature_older_than_five_minutes() -> None:
    body = b'{"type":"event_callback"}'
    sent_at = int(time.time())
    headers = signature_headers(body, "s", timestamp=sent_at)

    assert not verify(body, headers, "s", now=sent_at + 301)


# ---------------------------------------------------------------- routing through Bolt


def test_url_verification_is_answered_by_bolt_with_the_challenge(app: App) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"

    response = dispatch(app, slack.url_verification(challenge))

    assert response.status == 200
    assert json.loads(response.body) == {"challenge": challenge}


def test_a_dm_reaches_the_message_listener(
    app: App, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    dm = workspace.dm_channel(DEFAULT_USER_ID)
    request = slack.message_im_event(user_id=DEFAULT_USER_ID, channel_id=dm, text="I want to pay")

    response = dispatch(app, request)

    assert response.status == 200
    [body] = heard
    assert body["event_id"] == request.data["event_id"]
    assert (body["event"]["channel_type"], body["event"]["text"]) == ("im", "I want to pay")


def test_the_bots_own_dm_message_is_ignored_by_bolt(
    app: App, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    dm = workspace.dm_channel(DEFAULT_USER_ID)
    echo = slack.message_im_event(
        user_id=workspace.bot_user_id, bot_id=workspace.bot_id, channel_id=dm, text="Hi!"
    )

    response = dispatch(app, echo)

    assert response.status == 200
    assert heard == []


def test_a_redelivered_event_carries_slacks_retry_headers(
    app: App, workspace: SlackWorkspace
) -> None:
    request = slack.message_im_event(
        user_id=DEFAULT_USER_ID, channel_id=workspace.dm_channel(DEFAULT_USER_ID), text="hi"
    )

    headers = request.headers(SIGNING_SECRET, retry_num=1)

    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")


def test_a_slash_command_reaches_the_command_listener(
    app: App, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    trigger_id = workspace.issue_trigger_id(user_id=DEFAULT_USER_ID)
    request = slack.slash_command(
        text="45 USD INV-1001",
        user_id=DEFAULT_USER_ID,
        channel_id=workspace.dm_channel(DEFAULT_USER_ID),
        trigger_id=trigger_id,
        response_url="http://127.0.0.1:9/commands/T0EMULATOR/1/x",
    )

    dispatch(app, request)

    [body] = heard
    assert (body["command"], body["text"], body["trigger_id"]) == (
        "/pay",
        "45 USD INV-1001",
        trigger_id,
    )
    assert body["channel_name"] == "directmessage"


def test_a_button_in_a_message_reaches_the_action_listener(
    app: App, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    request = slack.block_actions(
        user_id=DEFAULT_USER_ID,
        channel_id=workspace.dm_channel(DEFAULT_USER_ID),
        action_id="open_card_form",
        block_id="offer",
        value="session-ref-1",
        trigger_id=workspace.issue_trigger_id(user_id=DEFAULT_USER_ID),
        message_ts="1700000000.000100",
    )

    dispatch(app, request)

    [body] = heard
    assert body["container"]["message_ts"] == "1700000000.000100"
    assert body["actions"][0]["value"] == "session-ref-1"
    assert body["response_url"].startswith("https://hooks.slack.com/actions/")


def test_a_button_in_an_ephemeral_message_arrives_without_the_message(
    app: App, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    request = slack.block_actions(
        user_id=DEFAULT_USER_ID,
        channel_id=workspace.dm_channel(DEFAULT_USER_ID),
        action_id="open_card_form",
        block_id="offer",
        value="session-ref-1",
        trigger_id=workspace.issue_trigger_id(),
        is_ephemeral=True,
    )

    dispatch(app, request)

    [body] = heard
    assert body["container"]["is_ephemeral"] is True
    assert "message" not in body


def test_a_button_in_a_modal_reaches_the_action_listener(
    app: App, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    view = slack.full_view(CARD_FORM)
    request = slack.block_actions(
        user_id=DEFAULT_USER_ID,
        action_id="open_card_form",
        block_id="help",
        value="x",
        trigger_id=workspace.issue_trigger_id(),
        view=view,
    )

    dispatch(app, request)

    [body] = heard
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert body["view"]["id"] == view["id"]


def test_a_submission_reaches_the_view_listener_with_slacks_state_shape(
    app: App, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    request = slack.view_submission(
        view=CARD_FORM,
        values={"cardholder": "Ada Lovelace", "expiry": {"value": "12/30"}},
        user_id=DEFAULT_USER_ID,
        trigger_id=workspace.issue_trigger_id(),
    )

    dispatch(app, request)

    [body] = heard
    assert body["view"]["state"]["values"] == {
        "cardholder": {"value": {"type": "plain_text_input", "value": "Ada Lovelace"}},
        "expiry": {"value": {"type": "plain_text_input", "value": "12/30"}},
    }
    assert body["view"]["private_metadata"] == "session-ref-1"


def test_a_submission_reports_inputs_left_empty_as_none() -> None:
    request = slack.view_submission(
        view=CARD_FORM, values={"cardholder": "Ada"}, user_id=DEFAULT_USER_ID, trigger_id="1.2.3"
    )

    assert request.data["view"]["state"]["values"]["expiry"] == {
        "value": {"type": "plain_text_input", "value": None}
    }


def test_a_submission_naming_a_block_the_view_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="no_such_block"):
        slack.view_submission(
            view=CARD_FORM,
            values={"no_such_block": "x"},
            user_id=DEFAULT_USER_ID,
            trigger_id="1.2.3",
        )


def test_a_modal_opened_through_the_emulator_is_submitted_with_its_id_and_hash(
    app: App, client: WebClient, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    opened = client.views_open(trigger_id=workspace.issue_trigger_id(), view=CARD_FORM)["view"]
    request = slack.view_submission(
        view=workspace.view(opened["id"]) or {},
        values={"cardholder": "Ada Lovelace"},
        user_id=DEFAULT_USER_ID,
        trigger_id=workspace.issue_trigger_id(),
    )

    dispatch(app, request)

    [body] = heard
    assert (body["view"]["id"], body["view"]["hash"]) == (opened["id"], opened["hash"])


def test_closing_a_modal_reaches_the_view_closed_listener(
    app: App, heard: list[dict[str, Any]]
) -> None:
    dispatch(app, slack.view_closed(view=CARD_FORM, user_id=DEFAULT_USER_ID))

    [body] = heard
    assert (body["type"], body["view"]["callback_id"], body["is_cleared"]) == (
        "view_closed",
        "card_form",
        False,
    )


def test_a_request_signed_with_another_secret_is_refused_by_bolt(app: App) -> None:
    response = dispatch(app, slack.url_verification("abc"), secret="not-the-secret")

    assert response.status == 401


def test_a_request_signed_six_minutes_ago_is_refused_by_bolt(app: App) -> None:
    stale = int(time.time()) - 360

    response = dispatch(app, slack.url_verification("abc"), timestamp=stale)

    assert response.status == 401


# ---------------------------------------------------------------- the app's tabs (App Home)

HOME: dict[str, Any] = {
    "type": "home",
    "callback_id": "home",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Your payments*"}},
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_card_form",
                    "value": "home",
                    "text": {"type": "plain_text", "text": "Enter card securely"},
                }
            ],
        },
    ],
}


def test_opening_the_messages_tab_reaches_the_app_home_opened_listener(
    app: App, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    dm = workspace.dm_channel(DEFAULT_USER_ID)
    request = slack.app_home_opened(user_id=DEFAULT_USER_ID, channel_id=dm, tab="messages")

    response = dispatch(app, request)

    assert response.status == 200
    [body] = heard
    assert body["event"] == {
        "type": "app_home_opened",
        "user": DEFAULT_USER_ID,
        "channel": dm,
        "tab": "messages",
        "event_ts": request.data["event"]["event_ts"],
    }


def test_app_home_opened_comes_in_slacks_event_callback_envelope(workspace: SlackWorkspace) -> None:
    dm = workspace.dm_channel(DEFAULT_USER_ID)

    data = slack.app_home_opened(
        user_id=DEFAULT_USER_ID, channel_id=dm, event_ts="1700000000.000200"
    ).data

    assert (data["type"], data["team_id"], data["api_app_id"]) == (
        "event_callback",
        TEAM_ID,
        APP_ID,
    )
    assert data["event_id"].startswith("Ev")
    assert data["event_time"] == 1700000000
    [authorization] = data["authorizations"]
    assert (authorization["user_id"], authorization["is_bot"]) == (BOT_USER_ID, True)
    context = data["event_context"].removeprefix("4-")
    decoded = json.loads(base64.urlsafe_b64decode(context + "=" * (-len(context) % 4)))
    assert decoded == {"et": "app_home_opened", "tid": TEAM_ID, "aid": APP_ID, "cid": dm}


def test_app_home_opened_is_signed_as_slack_signs(workspace: SlackWorkspace) -> None:
    request = slack.app_home_opened(
        user_id=DEFAULT_USER_ID, channel_id=workspace.dm_channel(DEFAULT_USER_ID)
    )

    headers = request.headers(SIGNING_SECRET)

    assert headers["Content-Type"] == "application/json"
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(request.body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(request.body, headers)


def test_opening_the_home_tab_carries_the_view_last_published(
    app: App, client: WebClient, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    published = client.views_publish(user_id=DEFAULT_USER_ID, view=HOME)["view"]
    request = slack.app_home_opened(
        user_id=DEFAULT_USER_ID,
        channel_id=workspace.dm_channel(DEFAULT_USER_ID),
        tab="home",
        view=published,
    )

    dispatch(app, request)

    [body] = heard
    assert body["event"]["tab"] == "home"
    assert body["event"]["view"] == published


def test_the_home_tab_before_any_view_was_published_comes_without_one(
    workspace: SlackWorkspace,
) -> None:
    dm = workspace.dm_channel(DEFAULT_USER_ID)

    event = slack.app_home_opened(user_id=DEFAULT_USER_ID, channel_id=dm, tab="home").data["event"]

    assert "view" not in event


def test_only_the_home_tab_carries_a_view() -> None:
    with pytest.raises(ValueError, match="only the Home tab"):
        slack.app_home_opened(user_id=DEFAULT_USER_ID, channel_id="D1", tab="messages", view=HOME)


def test_there_is_no_third_tab() -> None:
    with pytest.raises(ValueError, match="tab must be"):
        slack.app_home_opened(user_id=DEFAULT_USER_ID, channel_id="D1", tab="about")  # type: ignore[arg-type]


def test_a_button_in_the_home_tab_reaches_the_action_listener_from_the_view(
    app: App, client: WebClient, workspace: SlackWorkspace, heard: list[dict[str, Any]]
) -> None:
    published = client.views_publish(user_id=DEFAULT_USER_ID, view=HOME)["view"]
    request = slack.block_actions(
        user_id=DEFAULT_USER_ID,
        action_id="open_card_form",
        block_id="home_actions",
        value="home",
        trigger_id=workspace.issue_trigger_id(user_id=DEFAULT_USER_ID),
        view=published,
    )

    dispatch(app, request)

    [body] = heard
    assert body["container"] == {"type": "view", "view_id": published["id"]}
    assert (body["view"]["type"], body["view"]["id"]) == ("home", published["id"])
    assert not {"channel", "message", "response_url"} & set(body)
