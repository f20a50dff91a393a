"""The Bot Connector stand-in, over loopback HTTP, called as a Teams bot calls it.

Bearer tokens come from the token issuer stand-in; one test posts with the Teams SDK's own
`ApiClient`, the others post the JSON it sends. What Teams sends the bot is parsed with the
SDK's activity models.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from microsoft_teams.api import ActivityTypeAdapter, ApiClient
from microsoft_teams.api.activities.message.message import MessageActivity, MessageActivityInput
from microsoft_teams.apps.auth.token_validator import JwtValidationOptions, TokenValidator
from microsoft_teams.cards import (
    ActionSet,
    AdaptiveCard,
    Fact,
    FactSet,
    OpenUrlAction,
    SubmitAction,
    SubmitData,
    TextBlock,
)
from microsoft_teams.common import ClientOptions

from emulator.server import RunningServer, serve_in_thread
from emulator.teams_connector import (
    ADAPTIVE_CARD,
    PersonalChat,
    TeamsConnector,
    create_app,
    personal_message,
)
from emulator.teams_tokens import (
    BOTFRAMEWORK_TENANT_ID,
    ISSUER,
    KEYS_PATH,
    Fault,
    TeamsTokens,
)
from emulator.teams_tokens import create_app as tokens_app
from tests.integration.emulator.test_teams_tokens import (
    APP_ID,
    OTHER_APP_ID,
    PASSWORD,
    TENANT_ID,
    launched,
    request_token,
)

pytestmark = pytest.mark.integration

AAD_OBJECT_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
DENIED = {"message": "Authorization has been denied for this request."}


@pytest.fixture
def tokens() -> TeamsTokens:
    issuer = TeamsTokens()
    issuer.register_app(APP_ID, PASSWORD)
    issuer.register_app(OTHER_APP_ID, PASSWORD)
    return issuer


@pytest.fixture
def connector(tokens: TeamsTokens) -> TeamsConnector:
    return TeamsConnector(tokens, APP_ID)


@pytest.fixture
def chat(connector: TeamsConnector) -> PersonalChat:
    return connector.open_personal_chat(TENANT_ID, AAD_OBJECT_ID, user_name="Pat Payer")


@pytest.fixture
def server(connector: TeamsConnector) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(connector)) as running:
        yield running


@pytest.fixture
def token_server(tokens: TeamsTokens) -> Iterator[RunningServer]:
    with serve_in_thread(tokens_app(tokens)) as running:
        yield running


@dataclass
class Bot:
    """The bot's side of the connector at `url`: calls in `chat`, with its own token."""

    url: str
    tokens: TeamsTokens
    chat: PersonalChat

    def auth(self, app_id: str = APP_ID) -> dict[str, str]:
        app = self.tokens.app(app_id)
        assert app is not None
        token = self.tokens.issue_access_token(app, BOTFRAMEWORK_TENANT_ID)
        return {"Authorization": f"Bearer {token}"}

    def call(
        self,
        method: str,
        path: str = "/activities",
        body: object = None,
        *,
        auth: dict[str, str] | None = None,
        conversation_id: str | None = None,
    ) -> httpx.Response:
        url = f"{self.url}/v3/conversations/{conversation_id or self.chat.conversation_id}{path}"
        headers = self.auth() if auth is None else auth
        return httpx.request(method, url, json=body, headers=headers)

    def say(self, text: str, **options: Any) -> httpx.Response:
        return self.call("POST", body={"type": "message", "text": text}, **options)

    def create_conversation(self, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.url}/v3/conversations", json=body, headers=self.auth())


@pytest.fixture
def bot(server: RunningServer, tokens: TeamsTokens, chat: PersonalChat) -> Bot:
    return Bot(server.url, tokens, chat)


def card(*body: dict[str, Any], version: str = "1.5", **extra: Any) -> dict[str, Any]:
    return {"type": "AdaptiveCard", "version": version, "body": list(body), **extra}


def with_card(content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD, "content": content}]}


# ---------------------------------------------------------------- sending


def test_a_message_with_the_bots_token_is_kept_in_its_conversation(
    bot: Bot, connector: TeamsConnector, chat: PersonalChat
) -> None:
    answer = bot.say("hi")

    assert answer.status_code == 201
    (kept,) = connector.activities(chat.conversation_id)
    assert answer.json() == {"id": kept["id"]}
    assert re.fullmatch(r"\d{13}", kept["id"])
    assert kept["text"] == "hi"
    assert kept["from"] == {"id": f"28:{APP_ID}", "name": "paybot"}
    assert kept["recipient"]["id"] == chat.user_id
    assert kept["conversation"]["conversationType"] == "personal"
    assert kept["serviceUrl"] == f"{bot.url}/"


@pytest.mark.filterwarnings("ignore:The bot client is deprecated:DeprecationWarning")
async def test_the_sdks_api_client_posts_updates_and_replies(
    server: RunningServer,
    token_server: RunningServer,
    connector: TeamsConnector,
    chat: PersonalChat,
) -> None:
    token = request_token(token_server.url).json()["access_token"]
    conversations = ApiClient(server.url, ClientOptions(token=token)).conversations
    pay = ActionSet(actions=[SubmitAction(title="Pay").with_data(SubmitData("pay"))])
    link = ActionSet(actions=[OpenUrlAction(url="https://pay.example.com/s/1", title="Open")])
    facts = FactSet(facts=[Fact(title="To", value="Acme")])
    pay_card = AdaptiveCard().with_body([TextBlock(text="£12", weight="Bolder"), facts, pay, link])

    sent = await conversations.create_activity(
        chat.conversation_id, MessageActivityInput(text="hi").add_card(pay_card)
    )
    await conversations.update_activity(
        chat.conversation_id, sent.id, MessageActivityInput(text="paid")
    )
    reply = await conversations.reply_to_activity(
        chat.conversation_id, sent.id, MessageActivityInput(text="thanks")
    )

    first, second = connector.activities(chat.conversation_id)
    assert (first["id"], first["text"], "attachments" in first) == (sent.id, "paid", False)
    assert (second["id"], second["text"], second["replyToId"]) == (reply.id, "thanks", sent.id)
    assert [entry.route for entry in connector.requests] == ["send", "update", "send"]
    assert connector.requests[0].body["attachments"][0]["content"]["body"][0]["weight"] == "Bolder"


def test_a_reply_to_an_activity_path_is_kept_as_a_reply(
    bot: Bot, connector: TeamsConnector, chat: PersonalChat
) -> None:
    activity_id = bot.say("a").json()["id"]

    answer = bot.call("POST", f"/activities/{activity_id}", {"type": "message", "text": "b"})

    assert answer.status_code == 201
    assert connector.activities(chat.conversation_id)[1]["replyToId"] == activity_id


def test_a_typing_indicator_answers_without_an_id_and_is_not_a_message(
    bot: Bot, connector: TeamsConnector, chat: PersonalChat
) -> None:
    answer = bot.call("POST", body={"type": "typing"})

    assert (answer.status_code, answer.content) == (201, b"")
    assert connector.activities(chat.conversation_id) == []
    assert connector.requests[0].body == {"type": "typing"}


def test_deleting_an_activity_removes_it_and_then_it_is_not_found(
    bot: Bot, connector: TeamsConnector, chat: PersonalChat
) -> None:
    path = f"/activities/{bot.say('a').json()['id']}"

    assert bot.call("DELETE", path).status_code == 200
    assert connector.activities(chat.conversation_id) == []
    updated = bot.call("PUT", path, {"type": "message", "text": "x"})
    assert (updated.status_code, bot.call("DELETE", path).status_code) == (404, 404)
    assert updated.json()["error"]["code"] == "ActivityNotFound"


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "presented",
    ["nothing", "basic", "garbage", "another bot's token", "an inbound token"],
)
def test_a_request_without_the_bots_own_access_token_is_denied(
    bot: Bot, connector: TeamsConnector, chat: PersonalChat, presented: str
) -> None:
    headers = {
        "nothing": {},
        "basic": {"Authorization": "Basic Ym90OnNlY3JldA=="},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "another bot's token": bot.auth(OTHER_APP_ID),
        "an inbound token": {"Authorization": f"Bearer {bot.tokens.mint_inbound(APP_ID, bot.url)}"},
    }[presented]

    answer = bot.say("hi", auth=headers)

    assert (answer.status_code, answer.json()) == (401, DENIED)
    assert connector.activities(chat.conversation_id) == []


def test_an_unknown_conversation_is_not_found(bot: Bot) -> None:
    answer = bot.say("hi", conversation_id="a:1nosuchchat")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "ConversationNotFound"


TEXT = {"type": "TextBlock", "text": "hello"}


def open_url(url: str | None) -> dict[str, Any]:
    return card(
        actions=[{"type": "Action.OpenUrl", "title": "Go", **({"url": url} if url else {})}]
    )


@pytest.mark.parametrize(
    ("activity", "says"),
    [
        pytest.param({"text": "hi"}, "type is required", id="no type"),
        pytest.param({"type": "event", "name": "x"}, "'event'", id="event"),
        pytest.param({"type": "message"}, "text or attachments", id="empty message"),
        pytest.param({"type": "message", "text": 5}, "text", id="text not a string"),
        pytest.param(["not", "an", "object"], "JSON object", id="a list"),
        pytest.param(with_card(card(TEXT, version="1.6")), "up to version 1.5", id="card 1.6"),
        pytest.param(with_card({"type": "AdaptiveCard"}), "version is required", id="no version"),
        pytest.param(with_card({**card(), "type": "HeroCard"}), "AdaptiveCard", id="not a card"),
        pytest.param(with_card(card({"type": "Rating"})), "unknown element", id="1.6 element"),
        pytest.param(with_card(card({"type": "TextBlock"})), "requires 'text'", id="no text"),
        pytest.param(with_card(card({**TEXT, "weight": "Heavy"})), "weight", id="bad weight"),
        pytest.param(with_card(open_url(None)), "requires 'url'", id="no url"),
        pytest.param(with_card(open_url("/pay/1")), "absolute", id="relative url"),
        pytest.param(
            with_card(card(actions=[{"type": "Action.Http"}])), "unknown action", id="Action.Http"
        ),
        pytest.param(
            with_card(card({"type": "Container", "items": [{"type": "Input.Text"}]})),
            "body[0].items[0]: Input.Text requires 'id'",
            id="nested input without id",
        ),
        pytest.param(
            with_card(card(actions=[{"type": "Action.ShowCard", "card": card(version="2.0")}])),
            "actions[0].card.version",
            id="shown card too new",
        ),
    ],
)
def test_an_activity_or_card_teams_would_not_take_is_a_bad_argument(
    bot: Bot, connector: TeamsConnector, chat: PersonalChat, activity: object, says: str
) -> None:
    answer = bot.call("POST", body=activity)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadArgument"
    assert says in answer.json()["error"]["message"]
    assert connector.activities(chat.conversation_id) == []


def test_a_card_using_what_teams_renders_is_taken(bot: Bot) -> None:
    shown = {"type": "AdaptiveCard", "body": [TEXT]}  # a shown card needs no version
    content = card(
        {"type": "ColumnSet", "columns": [{"type": "Column", "items": [TEXT]}, {"items": [TEXT]}]},
        {"type": "Container", "items": [{"type": "Image", "url": "https://x.example/a.png"}]},
        {"type": "FactSet", "facts": [{"title": "Amount", "value": "£12.00"}]},
        {"type": "Input.Text", "id": "note", "isVisible": False},
        actions=[
            {"type": "Action.Submit", "title": "Pay", "data": {"action": "pay"}},
            {"type": "Action.Execute", "title": "Refresh", "verb": "refresh"},
            {"type": "Action.ShowCard", "title": "More", "card": shown},
            {"type": "Action.ToggleVisibility", "title": "Note", "targetElements": ["note"]},
            {"type": "Action.OpenUrl", "title": "Mail", "url": "mailto:help@example.com"},
        ],
    )

    answer = bot.call("POST", body=with_card(content))

    assert answer.status_code == 201, answer.text


def test_a_message_past_teams_size_limit_is_too_big(bot: Bot) -> None:
    answer = bot.say("x" * 60_000)

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "MessageSizeTooBig"


# ---------------------------------------------------------------- conversations


@pytest.mark.parametrize("member", ["user_id", "aad_object_id"])
def test_creating_a_conversation_finds_the_persons_personal_chat(
    bot: Bot, chat: PersonalChat, member: str
) -> None:
    answer = bot.create_conversation(
        {
            "bot": {"id": f"28:{APP_ID}"},
            "members": [{"id": getattr(chat, member)}],
            "tenantId": TENANT_ID,
            "channelData": {"tenant": {"id": TENANT_ID}},
            "isGroup": False,
        }
    )

    assert (answer.status_code, answer.json()) == (201, {"id": chat.conversation_id})


def test_creating_a_conversation_with_an_activity_posts_it(
    bot: Bot, connector: TeamsConnector, chat: PersonalChat
) -> None:
    answer = bot.create_conversation(
        {
            "members": [{"id": chat.user_id}],
            "channelData": {"tenant": {"id": TENANT_ID}},
            "activity": {"type": "message", "text": "Your payment went through."},
        }
    )

    (kept,) = connector.activities(chat.conversation_id)
    assert answer.json() == {"id": chat.conversation_id, "activityId": kept["id"]}


def test_a_conversation_with_someone_without_the_bot_is_forbidden(bot: Bot) -> None:
    answer = bot.create_conversation({"members": [{"id": "29:1else"}], "tenantId": TENANT_ID})

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Forbidden"


# ---------------------------------------------------------------- what Teams sends the bot


def test_a_personal_message_parses_as_the_sdks_message_activity(chat: PersonalChat) -> None:
    activity = personal_message(
        chat, service_url="https://smba.example/emea/", text="pay", app_id=APP_ID
    )

    parsed = ActivityTypeAdapter.validate_python(activity)

    assert isinstance(parsed, MessageActivity)
    assert parsed.text == "pay"
    assert parsed.channel_id == "msteams"
    assert parsed.from_.id == chat.user_id
    assert chat.user_id.startswith("29:1")
    assert parsed.from_.aad_object_id == AAD_OBJECT_ID
    assert parsed.recipient.id == f"28:{APP_ID}"
    assert parsed.conversation.conversation_type == "personal"
    assert parsed.conversation.id.startswith("a:1")
    assert parsed.conversation.tenant_id == TENANT_ID
    assert parsed.channel_data is not None
    assert parsed.channel_data.tenant is not None
    assert parsed.channel_data.tenant.id == TENANT_ID
    assert parsed.entities is not None
    assert parsed.entities[0].type == "clientInfo"
    assert parsed.locale == "en-US"


def test_a_card_press_carries_the_submitted_data_and_no_text(chat: PersonalChat) -> None:
    activity = personal_message(
        chat,
        service_url="https://smba.example/emea/",
        value={"action": "pay"},
        reply_to_id="1700000000000",
    )

    parsed = ActivityTypeAdapter.validate_python(activity)

    assert isinstance(parsed, MessageActivity)
    assert "text" not in activity
    assert parsed.text == ""
    assert parsed.value == {"action": "pay"}
    assert parsed.reply_to_id == "1700000000000"


def test_a_personal_message_for_another_bot_is_refused(chat: PersonalChat) -> None:
    with pytest.raises(ValueError, match="not"):
        personal_message(chat, service_url="https://smba.example/", text="hi", app_id=OTHER_APP_ID)


async def test_control_gives_a_persons_message_with_a_token_the_sdk_accepts(
    server: RunningServer, token_server: RunningServer, chat: PersonalChat
) -> None:
    made = httpx.post(
        f"{server.url}/_emulator/personal_messages",
        json={"conversation_id": chat.conversation_id, "text": "pay"},
    ).json()
    options = JwtValidationOptions(
        valid_issuers=[ISSUER], valid_audiences=[APP_ID], jwks_uri=f"{token_server.url}{KEYS_PATH}"
    )

    claims = await TokenValidator(options).validate_token(
        made["token"], made["activity"]["serviceUrl"]
    )

    assert claims["serviceurl"] == f"{server.url}/"
    assert made["activity"]["conversation"]["id"] == chat.conversation_id


# ---------------------------------------------------------------- faults and control


def test_a_throttling_fault_answers_429_with_retry_after(
    bot: Bot, connector: TeamsConnector, chat: PersonalChat
) -> None:
    fault = {"route": "send", "status": 429, "retry_after": 2}
    httpx.post(f"{bot.url}/_emulator/faults", json=fault)

    throttled, taken = bot.say("a"), bot.say("b")

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert taken.status_code == 201
    assert [a["text"] for a in connector.activities(chat.conversation_id)] == ["b"]


def test_a_dropped_connection_reaches_the_bot_as_a_protocol_error(
    bot: Bot, connector: TeamsConnector
) -> None:
    connector.recorder.inject(Fault(route="send", drop=True))

    with pytest.raises(httpx.RemoteProtocolError):
        bot.say("a")
    assert (connector.requests[0].status, connector.requests[0].fault) == (0, "drop")


def test_reset_forgets_activities_and_requests_but_keeps_the_chats(
    bot: Bot, server: RunningServer, chat: PersonalChat
) -> None:
    bot.say("a")

    assert httpx.post(f"{server.url}/_emulator/reset").json() == {"ok": True}

    assert httpx.get(f"{server.url}/_emulator/requests").json() == {"requests": []}
    activities = httpx.get(
        f"{server.url}/_emulator/activities", params={"conversation": chat.conversation_id}
    ).json()
    assert activities == {"activities": []}
    listed = httpx.get(f"{server.url}/_emulator/conversations").json()["conversations"]
    assert [c["conversation_id"] for c in listed] == [chat.conversation_id]


def test_a_person_has_one_personal_chat(server: RunningServer, chat: PersonalChat) -> None:
    opened = httpx.post(
        f"{server.url}/_emulator/personal_chats",
        json={"tenant_id": TENANT_ID, "aad_object_id": AAD_OBJECT_ID},
    ).json()

    assert opened["conversation_id"] == chat.conversation_id


def test_python_m_serves_the_connector_and_its_token_issuer() -> None:
    args = ("--tokens-port", "0", "--app-id", APP_ID, "--app-password", PASSWORD)

    with launched("emulator.teams_connector", *args, sites=2) as (connector_url, tokens_url):
        token = request_token(tokens_url).json()["access_token"]
        chat = httpx.post(f"{connector_url}/_emulator/personal_chats", json={}).json()
        answer = httpx.post(
            f"{connector_url}/v3/conversations/{chat['conversation_id']}/activities",
            json={"type": "message", "text": "hi"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201
