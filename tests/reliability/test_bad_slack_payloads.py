"""Every Slack surface, fed hostile content and odd shapes: no 5xx, no traceback, clear answers.

The served app (SQLite, rule engine) gets signed requests over HTTP, as from
Slack. Content is generated; shapes that Slack itself never sends are listed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot import messages
from bot.card_form import FIELDS
from bot.cards import contains_pan
from bot.messages import PAN_WARNING
from emulator import slack_requests
from emulator.slack_api import GENERAL_CHANNEL_ID
from emulator.slack_requests import SlackRequest
from handlers.slack.blocks import CANCEL_PAYMENT, OPEN_CARD_FORM, reply_blocks
from handlers.slack.mrkdwn import to_mrkdwn
from tests.integration.harness import Paybot, Response, running_paybot
from tests.reliability.adversarial import hostile_text, pan_rendering

SLACK = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
VALID_CARD = {"name": "Ada Lovelace", "number": "4242424242424242", "expiry": "08/30", "cvc": "123"}
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paybot]:
    """One served app for every generated example of this module (each payer has a session)."""
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        running_paybot(tmp_path_factory.mktemp("payloads"), monkeypatch) as paybot,
    ):
        yield paybot


def assert_no_server_error(answer: Response) -> None:
    assert answer.status < 500, f"HTTP {answer.status}: {answer.body[:300]!r}"
    assert "Traceback" not in answer.body
    assert 'File "' not in answer.body
    assert not contains_pan(answer.body)


def json_request(data: Any) -> SlackRequest:
    return SlackRequest(body=json.dumps(data).encode(), content_type=JSON_TYPE, data={})


def form_request(fields: Mapping[str, str]) -> SlackRequest:
    return SlackRequest(body=urlencode(fields).encode(), content_type=FORM_TYPE, data=fields)


def interactivity_request(payload: Any) -> SlackRequest:
    return form_request({"payload": json.dumps(payload)})


# --- content: generated --------------------------------------------------------------------


@SLACK
@given(text=hostile_text())
def test_a_dm_of_any_text_is_acked_and_answered_exactly_once(served: Paybot, text: str) -> None:
    before = len(served.bot_messages())
    answer = served.dm(text)
    assert_no_server_error(answer)
    replies = served.wait_for_bot_messages(before + 1)
    assert len(replies) == before + 1
    said = replies[-1]["text"] + json.dumps(replies[-1].get("blocks"), ensure_ascii=False)
    assert not contains_pan(said)
    if contains_pan(text):
        assert PAN_WARNING in replies[-1]["text"]


@SLACK
@given(text=hostile_text(), subtype=st.sampled_from(["message_changed", "bot_message", None]))
def test_a_dm_event_the_app_ignores_is_acked_and_not_answered(
    served: Paybot, text: str, subtype: str | None
) -> None:
    before = len(served.bot_messages())
    request = slack_requests.message_im_event(
        user_id=served.user_id,
        channel_id=served.dm_channel,
        text=text,
        subtype=subtype,
        bot_id="B0OTHERBOT" if subtype is None else None,
    )
    assert_no_server_error(served.send(request))
    assert len(served.bot_messages()) == before


@SLACK
@given(text=hostile_text())
def test_pay_with_any_text_answers_clearly(served: Paybot, text: str) -> None:
    request = slack_requests.slash_command(
        text=text,
        user_id=served.user_id,
        channel_id=GENERAL_CHANNEL_ID,
        trigger_id=served.slack.issue_trigger_id(user_id=served.user_id),
    )
    answer = served.send(request)
    assert_no_server_error(answer)
    assert answer.status == 200
    if contains_pan(text):
        assert PAN_WARNING in answer.body


@SLACK
@given(
    action_id=st.sampled_from([OPEN_CARD_FORM, CANCEL_PAYMENT]),
    value=hostile_text(),
    block_id=hostile_text(),
    message_text=hostile_text(),
    in_message=st.booleans(),
)
def test_a_button_press_with_any_content_answers_without_a_server_error(
    served: Paybot,
    action_id: str,
    value: str,
    block_id: str,
    message_text: str,
    in_message: bool,
) -> None:
    message = {
        "type": "message",
        "user": slack_requests.BOT_USER_ID,
        "bot_id": slack_requests.BOT_ID,
        "ts": slack_requests.new_ts(),
        "text": message_text,
        "blocks": reply_blocks(message_text[:3000] or "x", offer_card_form=True),
    }
    request = slack_requests.block_actions(
        user_id=served.user_id,
        action_id=action_id,
        value=value,
        block_id=block_id,
        trigger_id=served.slack.issue_trigger_id(user_id=served.user_id),
        channel_id=served.dm_channel,
        message=message if in_message else None,
        is_ephemeral=not in_message,
    )
    answer = served.send(request)
    assert_no_server_error(answer)
    assert answer.status == 200


@pytest.fixture(scope="module")
def card_form(served: Paybot) -> dict[str, Any]:
    served.pay("45 USD INV-1001")
    return served.card_form()


_FIELD_VALUE = st.one_of(st.none(), hostile_text(), pan_rendering())


@SLACK
@given(values=st.fixed_dictionaries({name: _FIELD_VALUE for name in FIELDS}))
def test_a_card_form_with_any_values_answers_inline_or_closes(
    served: Paybot, card_form: dict[str, Any], values: dict[str, str | None]
) -> None:
    answer = served.submit(values, view=card_form)  # type: ignore[arg-type]
    assert_no_server_error(answer)
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] in {"errors", "update"}
    if body["response_action"] == "errors":
        assert body["errors"]
        assert set(body["errors"]) <= set(FIELDS)


@SLACK
@given(private_metadata=st.one_of(hostile_text(), st.integers(), st.none(), st.lists(st.text())))
def test_a_card_form_whose_reference_is_not_ours_is_refused_and_nothing_is_tokenized(
    served: Paybot, card_form: dict[str, Any], private_metadata: Any
) -> None:
    stripe_calls = len(served.stripe.requests)
    answer = served.submit(VALID_CARD, view={**card_form, "private_metadata": private_metadata})
    assert_no_server_error(answer)
    shown = json.dumps(answer.json())
    assert to_mrkdwn(messages.FORM_STALE) in shown or messages.ALREADY_DONE in shown
    assert len(served.stripe.requests) == stripe_calls


GARBAGE = {
    "words": "garbage",
    "emoji": "\U0001f4b3\U0001f4b3\U0001f4b3",
    "zero-width only": "\u200b\u200c\u200d",
    "40,000 characters": "x" * 40_000,
    "right-to-left override": "\u202e4242",
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_in_the_card_form_is_answered_inline_on_each_field(
    served: Paybot, card_form: dict[str, Any], garbage: str
) -> None:
    answer = served.submit(dict.fromkeys(FIELDS, garbage), view=card_form)
    assert_no_server_error(answer)
    body = answer.json()
    assert body["response_action"] == "errors"
    assert {"number", "expiry", "cvc"} <= set(body["errors"]) <= set(FIELDS)  # "garbage" is a name
    assert all(isinstance(message, str) and message for message in body["errors"].values())


# --- shapes: listed ------------------------------------------------------------------------


def _dm_event(paybot: Paybot, **event: Any) -> dict[str, Any]:
    body = dict(
        slack_requests.message_im_event(
            user_id=paybot.user_id, channel_id=paybot.dm_channel, text="hi"
        ).data
    )
    body["event"] = {**body["event"], **event}
    return body


def _command(paybot: Paybot, **changes: str | None) -> dict[str, str]:
    fields = dict(
        slack_requests.slash_command(
            text="",
            user_id=paybot.user_id,
            channel_id=GENERAL_CHANNEL_ID,
            trigger_id=paybot.slack.issue_trigger_id(user_id=paybot.user_id),
        ).data
    )
    fields.update({k: v for k, v in changes.items() if v is not None})
    return {k: v for k, v in fields.items() if changes.get(k, "") is not None}


def _press(paybot: Paybot, **changes: Any) -> dict[str, Any]:
    payload = dict(
        slack_requests.block_actions(
            user_id=paybot.user_id,
            action_id=OPEN_CARD_FORM,
            value="open",
            block_id="card_offer",
            trigger_id=paybot.slack.issue_trigger_id(user_id=paybot.user_id),
            channel_id=paybot.dm_channel,
        ).data
    )
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def _submission(paybot: Paybot, state: Any) -> dict[str, Any]:
    view = {"type": "modal", "callback_id": "card_form", "private_metadata": "ref", "blocks": []}
    payload = dict(
        slack_requests.view_submission(
            view=view, values={}, user_id=paybot.user_id, trigger_id="1.2.3"
        ).data
    )
    payload["view"] = {**payload["view"], "state": state}
    return payload


def _forged(paybot: Paybot, request: SlackRequest) -> Response:
    return paybot.send(request, secret="not-the-signing-secret")


FORGED: dict[str, SlackRequest] = {
    "body that is not JSON": SlackRequest(body=b"{", content_type=JSON_TYPE, data={}),
    "JSON array body": json_request([1, 2]),
    "interactivity payload that is not JSON": form_request({"payload": "{"}),
}


@pytest.mark.parametrize("request_", FORGED.values(), ids=FORGED.keys())
def test_a_malformed_body_with_a_forged_signature_is_refused_not_a_server_error(
    served: Paybot, request_: SlackRequest
) -> None:
    answer = _forged(served, request_)
    assert answer.status == 401, f"HTTP {answer.status}: {answer.body[:200]!r}"


NEVER_SENT_BY_SLACK: dict[str, Callable[[Paybot], SlackRequest]] = {
    "DM event without team_id": lambda p: json_request(
        {k: v for k, v in _dm_event(p).items() if k != "team_id"}
    ),
    "DM event whose text is a number": lambda p: json_request(_dm_event(p, text=45)),
    "DM event without a user": lambda p: json_request(_dm_event(p, user=None)),
    "/pay without a text field": lambda p: form_request(_command(p, text=None)),
    "button press without a channel": lambda p: interactivity_request(_press(p, channel=None)),
    "button press without a trigger_id": lambda p: interactivity_request(
        _press(p, trigger_id=None)
    ),
    "card form without state": lambda p: interactivity_request(_submission(p, state=None)),
    "card form whose value is a number": lambda p: interactivity_request(
        _submission(p, {"values": {"number": {"number": {"type": "x", "value": 4242}}}})
    ),
    "card form whose element is a string": lambda p: interactivity_request(
        _submission(p, {"values": {"number": {"number": "4242"}}})
    ),
    "DM event from a 100-character user id": lambda p: json_request(_dm_event(p, user="U" * 100)),
    "DM event from an empty team id": lambda p: json_request({**_dm_event(p), "team_id": ""}),
    "card form that is a string": lambda p: interactivity_request(
        {**_submission(p, None), "view": "card_form"}
    ),
    "payload whose user id is a number": lambda p: interactivity_request(
        {**_submission(p, None), "user": {"id": 45}}
    ),
    "event that is a string": lambda p: json_request({**_dm_event(p), "event": "message"}),
    "DM event whose channel is a number": lambda p: json_request(_dm_event(p, channel=45)),
    "DM with a card number and no channel": lambda p: json_request(
        {
            **_dm_event(p, text="4242 4242 4242 4242"),
            "event": {
                k: v
                for k, v in _dm_event(p, text="4242 4242 4242 4242")["event"].items()
                if k != "channel"
            },
        }
    ),
    "/pay without a trigger_id": lambda p: form_request(_command(p, trigger_id=None)),
    "/pay without a user_id": lambda p: form_request(_command(p, user_id=None)),
    "card form whose block state is a string": lambda p: interactivity_request(
        _submission(p, {"values": {"number": "4242"}})
    ),
    "card form whose values are a list": lambda p: interactivity_request(
        _submission(p, {"values": [1]})
    ),
}


STILL_A_SERVER_ERROR = [
    pytest.param(
        lambda p: json_request(_dm_event(p, user=45)),
        id="DM event whose user is a number",
    ),
    pytest.param(
        lambda p: form_request(_command(p, user_id="U" * 100)),
        id="/pay from a 100-character user id",
    ),
    pytest.param(
        lambda p: interactivity_request(_press(p, actions=[])),
        id="button press with no actions",
    ),
    pytest.param(
        lambda p: interactivity_request(_press(p, actions="open_card_form")),
        id="button press whose actions are a string",
    ),
    pytest.param(
        lambda p: interactivity_request(
            _press(
                p, message={"ts": "1.2", "blocks": ["x"]}, actions=[{"action_id": CANCEL_PAYMENT}]
            )
        ),
        id="button press whose message blocks are strings",
    ),
]


@pytest.mark.parametrize(
    "build",
    [
        *(pytest.param(build, id=name) for name, build in NEVER_SENT_BY_SLACK.items()),
        *STILL_A_SERVER_ERROR,
    ],
)
def test_a_signed_payload_of_a_shape_slack_never_sends_gets_no_server_error(
    served: Paybot, build: Callable[[Paybot], SlackRequest]
) -> None:
    assert_no_server_error(served.send(build(served)))


@pytest.mark.parametrize("surface", ["/pay", "DM"])
def test_a_currency_typed_on_a_turkish_keyboard_is_answered(served: Paybot, surface: str) -> None:
    text = "45 \u0130NR INV-77"  # "45 İNR INV-77": caps lock on a Turkish keyboard
    before = len(served.bot_messages())
    if surface == "/pay":
        answer = served.pay(text)
        assert_no_server_error(answer)
        assert "INV-77" in json.dumps(served.card_form()["blocks"])
    else:
        assert_no_server_error(served.dm(f"pay {text}"))
        served.wait_until(lambda: len(served.bot_messages()) > before, timeout=3)
        assert "INV-77" in served.bot_messages()[-1]["text"]


# --- shapes: generated ---------------------------------------------------------------------

MUTATIONS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # a failure needs no shrinking to be read
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def mutated(draw: st.DrawFn, value: Any) -> Any:
    """`value` with some keys, anywhere inside, dropped or given a value of the wrong type."""
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            change = draw(st.sampled_from(["keep", "keep", "keep", "drop", "wrong type"]))
            if change == "wrong type":
                kept[key] = draw(_WRONG)
            elif change == "keep":
                kept[key] = mutated(draw, item)
        return kept
    if isinstance(value, list):
        return [mutated(draw, item) for item in value]
    return value


def test_a_mutated_slash_command_gets_no_server_error(served: Paybot) -> None:
    @MUTATIONS
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        fields = mutated(data.draw, _command(served))
        request = form_request({key: str(value) for key, value in fields.items()})
        assert_no_server_error(served.send(request))

    check()


MUTATED_SHAPES: dict[str, Callable[[Paybot], Any]] = {
    "DM event": lambda p: (json_request, _dm_event(p)),
    "button press": lambda p: (interactivity_request, _press(p)),
    "card form submission": lambda p: (
        interactivity_request,
        _submission(p, {"values": {"number": {"number": {"type": "x", "value": "4242"}}}}),
    ),
}


@pytest.mark.parametrize("shape", MUTATED_SHAPES.values(), ids=MUTATED_SHAPES.keys())
def test_a_mutated_payload_gets_no_server_error(
    served: Paybot, shape: Callable[[Paybot], Any]
) -> None:
    encode, original = shape(served)

    @MUTATIONS
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        assert_no_server_error(served.send(encode(mutated(data.draw, original))))

    check()
