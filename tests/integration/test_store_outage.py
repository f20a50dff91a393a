"""When the session store is down, every surface answers politely; nothing crashes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from slack_bolt import App, BoltRequest

from bot.errors import StoreUnavailable
from bot.models import ChatUser
from bot.rules import RuleEngine
from bot.service import ConversationService
from bot.settings import load_settings
from emulator import slack_requests
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, GENERAL_CHANNEL_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from handlers.services import Services
from handlers.slack.app import build_slack_app
from tests.fakes import FakeGateway, MemoryStore
from tests.integration.harness import SIGNING_SECRET, app_environment

CARD = {"name": "Ada", "number": "4242424242424242", "expiry": "08/30", "cvc": "123"}


class DownStore(MemoryStore):
    def get(self, user: ChatUser) -> None:
        raise StoreUnavailable("DynamoDB GetItem failed: ServiceUnavailable")


class DownLedger:
    def claim(self, event_id: str, *, ttl_seconds: int, in_progress_seconds: int) -> bool:
        raise StoreUnavailable("DynamoDB PutItem failed: ServiceUnavailable")

    def complete(self, event_id: str) -> None:
        raise StoreUnavailable("DynamoDB UpdateItem failed: ServiceUnavailable")

    def release(self, event_id: str) -> None:
        raise StoreUnavailable("DynamoDB DeleteItem failed: ServiceUnavailable")


@pytest.fixture
def setup(tmp_path) -> Iterator[tuple[App, SlackWorkspace]]:  # type: ignore[no-untyped-def]
    workspace = SlackWorkspace()
    with serve_in_thread(slack_app(workspace)) as server:
        settings = load_settings(
            app_environment(
                slack_url=server.url, stripe_url="http://127.0.0.1:9", sqlite_path=tmp_path / "x"
            )
        )
        conversation = ConversationService(
            store=DownStore(), engine=RuleEngine(), gateway=FakeGateway()
        )
        yield build_slack_app(settings, Services(conversation, DownLedger())), workspace


def dispatch(
    app: App, request: slack_requests.SlackRequest, *, retry_num: int | None = None
) -> tuple[int, str]:
    headers = request.headers(SIGNING_SECRET, retry_num=retry_num)
    response = app.dispatch(BoltRequest(body=request.body.decode(), headers=headers))
    return response.status, response.body


def test_pay_says_something_went_wrong(setup: tuple[App, SlackWorkspace]) -> None:
    app, workspace = setup
    status, body = dispatch(
        app,
        slack_requests.slash_command(
            text="",
            user_id=DEFAULT_USER_ID,
            channel_id=GENERAL_CHANNEL_ID,
            trigger_id=workspace.issue_trigger_id(),
        ),
    )
    assert status == 200
    assert "Nothing was saved" in body


def test_a_card_submission_says_nothing_was_saved(setup: tuple[App, SlackWorkspace]) -> None:
    app, _ = setup
    view = {"type": "modal", "callback_id": "card_form", "private_metadata": "ref", "blocks": []}
    view["blocks"] = [
        {"type": "input", "block_id": n, "element": {"type": "plain_text_input", "action_id": n}}
        for n in CARD
    ]
    status, body = dispatch(
        app,
        slack_requests.view_submission(
            view=view, values=CARD, user_id=DEFAULT_USER_ID, trigger_id="1.2.3"
        ),
    )
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "update"
    assert "Nothing was saved" in json.dumps(answer["view"])
    assert "4242" not in body


def test_a_dm_is_refused_so_that_slack_delivers_it_again(
    setup: tuple[App, SlackWorkspace],
) -> None:
    app, workspace = setup
    channel = workspace.dm_channel(DEFAULT_USER_ID)
    request = slack_requests.message_im_event(
        user_id=DEFAULT_USER_ID, channel_id=channel, text="hi"
    )
    status, _ = dispatch(app, request)
    assert status == 500
    assert workspace.messages(channel) == []


def test_on_slacks_last_try_a_dm_gets_an_apology_instead_of_silence(
    setup: tuple[App, SlackWorkspace],
) -> None:
    app, workspace = setup
    channel = workspace.dm_channel(DEFAULT_USER_ID)
    request = slack_requests.message_im_event(
        user_id=DEFAULT_USER_ID, channel_id=channel, text="my card 4242 4242 4242 4242"
    )
    status, _ = dispatch(app, request, retry_num=3)
    assert status == 200
    (message,) = workspace.messages(channel)
    assert "Nothing was saved" in message["text"]
