"""The workspace page's server plays Slack towards an app, and shows the app's answers.

What the page posts becomes the request Slack would send (signed, to the app's Request URL);
the app's HTTP answers and Web API calls change what the page shows. Over real HTTP on
loopback, with the real bot or with a recording stand-in for an app.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web

from bot.settings import load_settings
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID
from emulator.slack_signing import verify
from emulator.stripe_api import StripeEmulator
from emulator.stripe_api import create_app as stripe_app
from handlers.bootstrap import build
from handlers.routes import routes
from handlers.server import QuietHandler, ThreadingWSGIServer, application
from handlers.slack.blocks import CARD_FORM, OPEN_CARD_FORM
from tests.integration.harness import SIGNING_SECRET, app_environment
from tests.integration.workspace_driver import (
    Recorder,
    Workspace,
    http,
    recording_app,
    serve_workspace,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GOOD_VISA = {
    "name": "Ada Lovelace",
    "number": "4242 4242 4242 4242",
    "expiry": "08/30",
    "cvc": "123",
}
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "survey",
    "title": {"type": "plain_text", "text": "Survey"},
    "submit": {"type": "plain_text", "text": "Send"},
    "notify_on_close": True,
    "blocks": [
        {
            "type": "input",
            "block_id": "colour",
            "label": {"type": "plain_text", "text": "Favourite colour"},
            "element": {"type": "plain_text_input", "action_id": "colour"},
        }
    ],
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with recording_app() as recording:
        yield recording


@pytest.fixture
def workspace(recorder: Recorder) -> Iterator[Workspace]:
    """The workspace, pointed at the recording stand-in app."""
    server, driver = serve_workspace(recorder.url)
    with server:
        yield driver


@pytest.fixture
def with_paybot(tmp_path: Path) -> Iterator[Workspace]:
    """The workspace, pointed at the real bot (SQLite, rules), with the Stripe emulator."""
    bot_server = ThreadingWSGIServer(("127.0.0.1", 0), QuietHandler)
    bot_url = f"http://127.0.0.1:{bot_server.server_port}/slack/events"
    server, driver = serve_workspace(bot_url)
    with server, serve_in_thread(stripe_app(StripeEmulator())) as stripe:
        settings = app_environment(
            slack_url=server.url, stripe_url=stripe.url, sqlite_path=tmp_path / "s.db"
        )
        bot_server.set_app(application(routes(build(load_settings(settings)))))
        thread = threading.Thread(target=bot_server.serve_forever, daemon=True)
        thread.start()
        try:
            yield driver
        finally:
            bot_server.shutdown()
            bot_server.server_close()


def open_card_form(page: Workspace) -> None:
    page.say("pay invoice INV-1001 $45")
    (offer,) = page.wait_for_app_messages(1)
    assert page.press(offer).status == 200
    assert page.modal()["view"]["callback_id"] == CARD_FORM


# ---------------------------------------------------------------- the page


def test_the_page_is_served_with_its_test_hooks(workspace: Workspace) -> None:
    page = http(f"{workspace.url}/")

    assert page.status == 200
    for hook in ("composer", "inspector"):
        assert f'data-testid="{hook}"' in page.body
    assert http(f"{workspace.url}/static/app.js").status == 200


def test_the_page_never_receives_the_token_or_the_signing_secret(with_paybot: Workspace) -> None:
    open_card_form(with_paybot)
    with_paybot.submit(GOOD_VISA)
    scripts = re.findall(r'src="(/static/[^"]+)"', http(f"{with_paybot.url}/").body)

    seen = [http(f"{with_paybot.url}{path}").body for path in ["/", "/_workspace/state", *scripts]]

    for text in seen:
        assert with_paybot.slack.token not in text
        assert SIGNING_SECRET not in text


def test_the_page_endpoints_take_only_json(workspace: Workspace) -> None:
    # A form post is what another site could make a browser send without asking.
    answer = http(
        f"{workspace.url}/_workspace/messages",
        b"text=hi",
        content_type="application/x-www-form-urlencoded",
    )

    assert answer.status == 415


def test_a_request_naming_another_host_is_refused(workspace: Workspace) -> None:
    # What a page elsewhere sends after pointing its own name at 127.0.0.1.
    request = urllib.request.Request(f"{workspace.url}/_workspace/state")
    request.add_header("Host", "attacker.example:3000")

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)

    assert refused.value.code == 403


def test_the_web_api_is_served_on_the_same_port(workspace: Workspace) -> None:
    assert workspace.app.auth_test()["ok"] is True


# ---------------------------------------------------------------- what the person does


def test_a_message_reaches_the_app_as_a_signed_message_im_event(
    workspace: Workspace, recorder: Recorder
) -> None:
    workspace.say("hello there")

    ((headers, body),) = recorder.requests
    assert verify(body, headers, SIGNING_SECRET)
    sent = json.loads(body)
    assert sent["type"] == "event_callback"
    assert sent["event"]["type"] == "message"
    assert sent["event"]["channel_type"] == "im"
    assert sent["event"]["user"] == DEFAULT_USER_ID
    assert sent["event"]["text"] == "hello there"


def test_a_message_is_sent_with_slacks_escaping(workspace: Workspace, recorder: Recorder) -> None:
    workspace.say("a <b> & c")

    assert json.loads(recorder.requests[0][1])["event"]["text"] == "a &lt;b&gt; &amp; c"


def test_a_message_shows_on_the_page_as_the_persons(workspace: Workspace) -> None:
    workspace.say("hello there")

    (shown,) = workspace.messages()
    assert (shown["author"], shown["text"], shown["ephemeral"]) == ("you", "hello there", False)


def test_a_slash_command_reaches_the_app_as_slacks_signed_form(
    workspace: Workspace, recorder: Recorder
) -> None:
    workspace.say("/pay status")

    ((headers, body),) = recorder.requests
    assert verify(body, headers, SIGNING_SECRET)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
    assert (form["command"], form["text"], form["user_id"]) == ("/pay", "status", DEFAULT_USER_ID)
    assert form["trigger_id"]
    assert form["response_url"].startswith(f"{workspace.url}/")
    assert workspace.messages() == []  # Slack does not post the command itself


def test_a_slash_command_answer_is_only_visible_to_the_person(
    workspace: Workspace, recorder: Recorder
) -> None:
    recorder.answers.append(web.json_response({"text": "All *quiet*."}))

    workspace.say("/pay status")

    (shown,) = workspace.messages()
    assert (shown["author"], shown["text"], shown["ephemeral"]) == ("app", "All *quiet*.", True)


def test_a_failing_slash_command_is_reported_as_slack_reports_it(
    workspace: Workspace, recorder: Recorder
) -> None:
    recorder.answers.append(web.Response(status=500))

    workspace.say("/pay")

    (shown,) = workspace.messages()
    assert shown["author"] == "slackbot"
    assert shown["text"] == '/pay failed with the error "dispatch_failed"'


def test_a_response_url_answer_is_shown_to_the_person(
    workspace: Workspace, recorder: Recorder
) -> None:
    workspace.say("/pay status")
    form = parse_qs(recorder.requests[0][1].decode())

    answer = http(form["response_url"][0], {"text": "Done later."})

    assert answer.status == 200
    (shown,) = workspace.messages()
    assert (shown["text"], shown["ephemeral"]) == ("Done later.", True)


def test_a_button_press_reaches_the_app_as_block_actions_on_its_message(
    workspace: Workspace, recorder: Recorder
) -> None:
    button = {
        "type": "button",
        "action_id": "go",
        "value": "v1",
        "text": {"type": "plain_text", "text": "Go"},
    }
    blocks = [{"type": "actions", "block_id": "row", "elements": [button]}]
    posted = workspace.app.chat_postMessage(channel=DEFAULT_USER_ID, text="Go?", blocks=blocks)
    (message,) = workspace.messages()

    assert workspace.press(message).status == 200

    payload = recorder.payload()
    assert payload["type"] == "block_actions"
    assert payload["container"]["message_ts"] == posted["ts"]
    assert payload["message"]["text"] == "Go?"
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == ("go", "row", "v1")


def test_closing_a_modal_that_asks_to_be_told_sends_view_closed(
    workspace: Workspace, recorder: Recorder
) -> None:
    opened = workspace.open_modal(MODAL)

    workspace.close()

    assert workspace.modal()["view"] is None
    payload = recorder.payload()
    assert (payload["type"], payload["view"]["id"]) == ("view_closed", opened["id"])


# ---------------------------------------------------------------- what the app answers


def test_views_opened_pushed_and_updated_through_the_web_api_show_on_the_page(
    workspace: Workspace,
) -> None:
    opened = workspace.open_modal(MODAL)
    assert workspace.modal()["view"]["id"] == opened["id"]

    second = {**MODAL, "title": {"type": "plain_text", "text": "Step 2"}}
    trigger_id = workspace.slack.issue_trigger_id(user_id=DEFAULT_USER_ID, view_id=opened["id"])
    pushed = workspace.app.views_push(trigger_id=trigger_id, view=second)["view"]
    assert (workspace.modal()["view"]["id"], workspace.modal()["depth"]) == (pushed["id"], 2)

    third = {**MODAL, "title": {"type": "plain_text", "text": "Step 3"}}
    workspace.app.views_update(view_id=pushed["id"], view=third)
    assert workspace.modal()["view"]["title"]["text"] == "Step 3"


def test_a_submission_reaches_the_app_with_what_was_typed(
    workspace: Workspace, recorder: Recorder
) -> None:
    opened = workspace.open_modal(MODAL)

    workspace.submit({"colour": "teal"})

    payload = recorder.payload()
    assert (payload["type"], payload["view"]["id"]) == ("view_submission", opened["id"])
    assert payload["view"]["state"]["values"]["colour"]["colour"]["value"] == "teal"


def test_an_empty_answer_to_a_submission_closes_the_modal(workspace: Workspace) -> None:
    workspace.open_modal(MODAL)

    workspace.submit({"colour": "teal"})

    assert workspace.modal()["view"] is None


def test_response_action_push_stacks_a_view(workspace: Workspace, recorder: Recorder) -> None:
    opened = workspace.open_modal(MODAL)
    thanks = {"type": "modal", "title": {"type": "plain_text", "text": "Thanks"}, "blocks": []}
    recorder.answers.append(web.json_response({"response_action": "push", "view": thanks}))

    workspace.submit({"colour": "teal"})

    modal = workspace.modal()
    assert (modal["view"]["title"]["text"], modal["depth"]) == ("Thanks", 2)
    assert modal["view"]["previous_view_id"] == opened["id"]


def test_response_action_clear_closes_every_view(workspace: Workspace, recorder: Recorder) -> None:
    workspace.open_modal(MODAL)
    recorder.answers.append(web.json_response({"response_action": "clear"}))

    workspace.submit({"colour": "teal"})

    assert workspace.modal() == {"view": None, "depth": 0, "errors": {}, "notice": None}


def test_a_failed_submission_keeps_the_modal_with_slacks_notice(
    workspace: Workspace, recorder: Recorder
) -> None:
    opened = workspace.open_modal(MODAL)
    recorder.answers.append(web.Response(status=500))

    workspace.submit({"colour": "teal"})

    modal = workspace.modal()
    assert modal["view"]["id"] == opened["id"]
    assert modal["notice"] == "We had some trouble connecting. Try again?"


# ---------------------------------------------------------------- with the real bot


def test_the_bot_answers_a_dm_on_the_page(with_paybot: Workspace) -> None:
    assert with_paybot.say("hi").status == 200

    (reply,) = with_paybot.wait_for_app_messages(1)
    assert reply["text"]
    assert not reply["ephemeral"]


def test_the_bot_accepts_the_signed_requests(with_paybot: Workspace) -> None:
    with_paybot.say("hi")
    with_paybot.wait_for_app_messages(1)

    (delivery,) = [e for e in with_paybot.inspector() if e["direction"] == "to_app"]
    assert (delivery["name"], delivery["status"]) == ("message.im", 200)


def test_pay_status_answers_only_the_person(with_paybot: Workspace) -> None:
    with_paybot.say("/pay status")

    (shown,) = with_paybot.messages()
    assert shown["ephemeral"] is True
    assert shown["text"]


def test_pay_opens_the_card_form(with_paybot: Workspace) -> None:
    with_paybot.say("/pay")

    view = with_paybot.modal()["view"]
    assert view["callback_id"] == CARD_FORM
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels == ["Cardholder name", "Card number", "Expiry (MM/YY)", "CVC"]


def test_the_offer_button_opens_the_card_form(with_paybot: Workspace) -> None:
    with_paybot.say("pay invoice INV-1001 $45")
    (offer,) = with_paybot.wait_for_app_messages(1)
    button = next(b for b in offer["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["action_id"] == OPEN_CARD_FORM

    with_paybot.press(offer)

    assert with_paybot.modal()["view"]["callback_id"] == CARD_FORM


def test_a_bad_card_number_comes_back_as_an_inline_error(with_paybot: Workspace) -> None:
    open_card_form(with_paybot)
    form = with_paybot.modal()["view"]

    with_paybot.submit({**GOOD_VISA, "number": "4242 4242 4242 4241"})

    modal = with_paybot.modal()
    assert modal["view"] == form  # the same view: what was typed stays in the browser
    assert set(modal["errors"]) == {"number"}


def test_a_valid_card_replaces_the_form_and_is_confirmed_in_the_dm(with_paybot: Workspace) -> None:
    open_card_form(with_paybot)
    form = with_paybot.modal()["view"]

    with_paybot.submit(GOOD_VISA)

    result = with_paybot.modal()["view"]
    assert result["id"] == form["id"]
    assert result["callback_id"] != CARD_FORM
    assert not [b for b in result["blocks"] if b["type"] == "input"]
    confirmation = with_paybot.wait_for_app_messages(2)[-1]
    assert "4242" in json.dumps(confirmation)


# ---------------------------------------------------------------- the inspector


def test_the_inspector_masks_the_card_number_and_drops_the_cvc(with_paybot: Workspace) -> None:
    open_card_form(with_paybot)

    with_paybot.submit(GOOD_VISA)

    (submission,) = [e for e in with_paybot.inspector() if e["name"] == "view_submission"]
    values = submission["request"]["view"]["state"]["values"]
    assert values["number"]["number"]["value"] == "•••• 4242"
    assert values["cvc"]["cvc"]["value"] == "[removed]"
    shown = json.dumps(with_paybot.state(), ensure_ascii=False)
    assert "4242424242424242" not in shown
    assert "4242 4242 4242 4242" not in shown


def test_a_card_number_pasted_in_the_dm_is_masked_on_the_page(with_paybot: Workspace) -> None:
    with_paybot.say("my card is 4242-4242-4242-4242")

    shown = json.dumps(with_paybot.state(), ensure_ascii=False)
    assert "4242-4242-4242-4242" not in shown
    assert "my card is •••• 4242" in shown


def test_the_inspector_shows_the_apps_web_api_calls_with_status_and_timing(
    with_paybot: Workspace,
) -> None:
    with_paybot.say("hi")
    with_paybot.wait_for_app_messages(1)

    (post,) = [e for e in with_paybot.inspector() if e["name"] == "chat.postMessage"]
    assert (post["direction"], post["status"], post["ok"]) == ("from_app", 200, True)
    assert post["duration"] >= 0
    assert post["at"] > 0
    assert post["request"]["channel"]


# ---------------------------------------------------------------- python -m emulator


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_python_m_emulator_serves_the_page_then_stops_cleanly(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    environment = {**os.environ, "SQLITE_PATH": str(tmp_path / "s.db")}
    environment.pop("STRIPE_SECRET_KEY", None)
    command = [sys.executable, "-m", "emulator", "--port", "0", "--bot-port", "0"]
    errors = (tmp_path / "stderr.txt").open("w+")
    process = subprocess.Popen(
        [*command, "--stripe-port", "0"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    try:
        url = ready_url(process)
        assert http(f"{url}/").status == 200

        process.send_signal(stop_signal)

        code = process.wait(timeout=20)
        printed = (tmp_path / "stderr.txt").read_text()
        assert code == 0, printed
        assert "Traceback" not in printed
    finally:
        stop(process)
        errors.close()


def stop(process: subprocess.Popen[str]) -> None:
    """End `process` as Ctrl-C would, so that it stops the bot it started; kill only if stuck."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def ready_url(process: subprocess.Popen[str]) -> str:
    """The URL `python -m emulator` prints once the bot answers (it prints nothing before)."""
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found:
            return found.group()
    raise AssertionError(f"python -m emulator exited ({process.wait()}) without printing its URL")
