"""Slack's agent messaging experience and the App Home, through the served app.

With SLACK_AGENT_VIEW on, the Messages tab gets suggested prompts (each one a message the
existing flow answers), a DM is answered in the thread it started with a status there
while it is worked on, and the Home tab shows the person's own card and payment. With it
off, the classic DM is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import messages
from emulator import slack_requests
from handlers.slack.blocks import HOME_FORGET, HOME_PAY, OPEN_CARD_FORM
from handlers.slack.mrkdwn import to_mrkdwn
from tests.integration.harness import Paybot, running_paybot
from tests.integration.test_slack_flow import session_of

CARD = {"number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123", "name": "Ada Lovelace"}


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch, SLACK_AGENT_VIEW="true") as running:
        yield running


def open_tab(paybot: Paybot, tab: str) -> None:
    request = slack_requests.app_home_opened(
        user_id=paybot.user_id, channel_id=paybot.dm_channel, tab=tab
    )
    assert paybot.send(request).status == 200


def dm(paybot: Paybot, text: str) -> str:
    """The person writes `text` in the DM; the ts of their message."""
    request = slack_requests.message_im_event(
        user_id=paybot.user_id, channel_id=paybot.dm_channel, text=text
    )
    assert paybot.send(request).status == 200
    return str(request.data["event"]["ts"])


def replies_in(paybot: Paybot, thread: str) -> list[dict[str, Any]]:
    return [m for m in paybot.bot_messages() if m.get("thread_ts") == thread]


def home_press(paybot: Paybot, action_id: str) -> None:
    view = paybot.slack.home_view(paybot.user_id)
    assert view is not None, "no Home tab was published"
    block_id, value = next(
        (block["block_id"], element["value"])
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == action_id
    )
    request = slack_requests.block_actions(
        user_id=paybot.user_id,
        action_id=action_id,
        value=value,
        block_id=block_id,
        trigger_id=paybot.slack.issue_trigger_id(user_id=paybot.user_id),
        view=view,
    )
    assert paybot.send(request).status == 200


def test_opening_the_messages_tab_sets_three_prompts_for_the_dm(agent: Paybot) -> None:
    open_tab(agent, "messages")
    agent.wait_until(lambda: agent.slack.suggested_prompts(agent.dm_channel) is not None)
    shown = agent.slack.suggested_prompts(agent.dm_channel)
    assert shown is not None
    assert [p["title"] for p in shown["prompts"]] == [
        "Pay an invoice",
        "What card do you have on file?",
        "Forget my details",
    ]
    (call,) = agent.slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert "thread_ts" not in call.args  # an agent app's call with one silently fails


def test_each_suggested_prompt_runs_the_existing_flow(agent: Paybot, tmp_path: Path) -> None:
    open_tab(agent, "messages")
    agent.wait_until(lambda: agent.slack.suggested_prompts(agent.dm_channel) is not None)
    prompts = agent.slack.suggested_prompts(agent.dm_channel)["prompts"]  # type: ignore[index]
    pay, card, forget = (p["message"] for p in prompts)

    asked = dm(agent, pay)
    agent.wait_until(lambda: bool(replies_in(agent, asked)))
    assert OPEN_CARD_FORM in json.dumps(replies_in(agent, asked))  # the card entry, offered

    status = dm(agent, card)
    agent.wait_until(lambda: bool(replies_in(agent, status)))
    expected = messages.status(session_of(agent, tmp_path))
    assert to_mrkdwn(expected) in json.dumps(replies_in(agent, status), ensure_ascii=False)

    forgotten = dm(agent, forget)
    agent.wait_until(lambda: bool(replies_in(agent, forgotten)))
    assert messages.FORGOTTEN.split(".")[0] in json.dumps(replies_in(agent, forgotten))
    assert session_of(agent, tmp_path) is None


def test_a_dm_is_answered_in_its_thread_with_a_status_until_then(agent: Paybot) -> None:
    asked = dm(agent, "I need to pay invoice INV-1001, $45")
    agent.wait_until(lambda: bool(replies_in(agent, asked)))
    (offer,) = replies_in(agent, asked)
    assert OPEN_CARD_FORM in json.dumps(offer["blocks"])
    methods = [c.method for c in agent.slack.calls]
    status = methods.index("assistant.threads.setStatus")
    assert status < methods.index("chat.postMessage")  # the status came first
    (set_status,) = agent.slack.calls_to("assistant.threads.setStatus")
    assert set_status.args["thread_ts"] == asked
    assert agent.slack.thread_statuses(agent.dm_channel) == {}  # the reply cleared it


def test_the_home_tab_shows_the_persons_card_and_payment(agent: Paybot) -> None:
    open_tab(agent, "home")
    agent.wait_until(lambda: agent.slack.home_view(agent.user_id) is not None)
    empty = json.dumps(agent.slack.home_view(agent.user_id))
    assert "none yet" in empty
    assert HOME_FORGET not in empty  # nothing kept, nothing to forget

    agent.pay("45 USD INV-1001")
    assert agent.submit(CARD).status == 200
    agent.wait_until(lambda: any("4242" in m["text"] for m in agent.bot_messages()))
    open_tab(agent, "home")
    agent.wait_until(lambda: "4242" in json.dumps(agent.slack.home_view(agent.user_id)))
    home = json.dumps(agent.slack.home_view(agent.user_id), ensure_ascii=False)
    assert "Visa •••• 4242, expires 12/2030" in home
    assert "4242 4242" not in home


def test_home_buttons_open_the_card_form_and_forget_the_person(
    agent: Paybot, tmp_path: Path
) -> None:
    agent.dm("I need to pay invoice INV-1001, $45")
    agent.wait_for_bot_messages(1)
    open_tab(agent, "home")
    agent.wait_until(lambda: agent.slack.home_view(agent.user_id) is not None)
    assert "INV-1001" in json.dumps(agent.slack.home_view(agent.user_id))

    home_press(agent, HOME_PAY)
    agent.wait_until(lambda: bool(agent.slack.views(agent.user_id)))
    assert "INV-1001" in json.dumps(agent.card_form()["blocks"])

    home_press(agent, HOME_FORGET)
    agent.wait_until(lambda: session_of(agent, tmp_path) is None)
    agent.wait_until(lambda: "none yet" in json.dumps(agent.slack.home_view(agent.user_id)))


def test_without_the_agent_view_the_classic_dm_is_unchanged(paybot: Paybot) -> None:
    open_tab(paybot, "messages")
    asked = dm(paybot, "I need to pay invoice INV-1001, $45")
    (reply,) = paybot.wait_for_bot_messages(1)
    paybot.wait_for_quiet()
    assert "thread_ts" not in reply  # answered in the DM itself, as before
    assert asked != reply["ts"]
    assert paybot.slack.calls_to("assistant.threads.setSuggestedPrompts") == []
    assert paybot.slack.calls_to("assistant.threads.setStatus") == []
