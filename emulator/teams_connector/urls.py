"""The connector over HTTP: the Bot Connector REST API v3 routes, control routes, and `main`."""

from __future__ import annotations

import http
import json
from collections.abc import Sequence

from aiohttp import web

from emulator.control import add_control_routes, json_object
from emulator.teams_connector.activities import new_tenant_id, personal_message
from emulator.teams_connector.models import TeamsConnector
from emulator.teams_tokens import TeamsTokens
from emulator.teams_tokens import create_app as tokens_app
from emulator.teams_tokens.recorder import JSON, add_fault_routes, recording_middleware
from emulator.teams_tokens.urls import base_url, command_line, register_from, serve

CONNECTOR = web.AppKey("teams_connector", TeamsConnector)
CONVERSATIONS_PATH = "/v3/conversations"
ACTIVITIES_PATH = "/v3/conversations/{conversationId}/activities"
ACTIVITY_PATH = "/v3/conversations/{conversationId}/activities/{activityId}"
DEFAULT_APP_ID = "00000000-0000-0000-0000-00000000b07f"
DEFAULT_APP_PASSWORD = "emulator-secret"


def service_url(request: web.Request) -> str:
    """The connector's address as Teams gives it in `serviceUrl`: with a trailing slash."""
    return f"{base_url(request)}/"


async def _payload(request: web.Request) -> object:
    """The posted JSON; None when the body is not JSON (the connector answers 400)."""
    try:
        return json.loads(await request.text())
    except ValueError:
        return None


async def _activities(request: web.Request) -> web.Response:
    """Send, reply (an `activityId` in the path), update (PUT) and delete (DELETE)."""
    connector = request.app[CONNECTOR]
    conversation_id = request.match_info["conversationId"]
    activity_id = request.match_info.get("activityId")
    authorization = request.headers.get("Authorization")
    if request.method == "DELETE":
        assert activity_id is not None
        answer = connector.delete(conversation_id, activity_id, authorization=authorization)
        return answer.response()
    payload, url = await _payload(request), service_url(request)
    if request.method == "PUT":
        assert activity_id is not None
        answer = connector.update(
            conversation_id, activity_id, payload, authorization=authorization, service_url=url
        )
    else:
        answer = connector.send(
            conversation_id,
            payload,
            authorization=authorization,
            service_url=url,
            reply_to_id=activity_id,
        )
    return answer.response()


async def _create_conversation(request: web.Request) -> web.Response:
    answer = request.app[CONNECTOR].create_conversation(
        await _payload(request),
        authorization=request.headers.get("Authorization"),
        service_url=service_url(request),
    )
    return answer.response()


async def _get_activities(request: web.Request) -> web.Response:
    conversation_id = request.query.get("conversation", "")
    return web.json_response({"activities": request.app[CONNECTOR].activities(conversation_id)})


async def _get_conversations(request: web.Request) -> web.Response:
    chats = request.app[CONNECTOR].conversations
    return web.json_response({"conversations": [chat.to_json() for chat in chats]})


async def _post_personal_chat(request: web.Request) -> web.Response:
    body = await json_object(request)
    chat = request.app[CONNECTOR].open_personal_chat(
        str(body.get("tenant_id") or new_tenant_id()),
        str(body.get("aad_object_id") or new_tenant_id()),
        user_name=str(body.get("user_name") or "Pat Payer"),
    )
    return web.json_response(chat.to_json())


async def _post_personal_message(request: web.Request) -> web.Response:
    """The activity a person's message (or card press) makes, and the token to post it with."""
    body = await json_object(request)
    connector = request.app[CONNECTOR]
    chat = connector.chat(str(body.get("conversation_id", "")))
    if chat is None:
        raise web.HTTPNotFound(text="no such conversation")
    url = service_url(request)
    try:
        activity = personal_message(
            chat,
            service_url=url,
            text=body.get("text"),
            value=body.get("value"),
            reply_to_id=body.get("reply_to_id"),
        )
    except ValueError as refused:
        raise web.HTTPBadRequest(text=str(refused)) from None
    token = connector.tokens.mint_inbound(connector.app_id, url)
    return web.json_response({"activity": activity, "token": token})


def _fault_body(status: int) -> JSON:
    code = http.HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    return {"error": {"code": code, "message": f"Injected HTTP {status}."}}


def create_app(connector: TeamsConnector) -> web.Application:
    """The v3 routes (named `create_conversation`, `send`, `reply`, `update`, `delete` for
    faults) and control endpoints under `/_emulator/`: `requests`, `reset`, `faults`,
    `activities?conversation=ID`, `conversations`, `personal_chats` (open one) and
    `personal_messages` (the activity a person's message makes, with its inbound token)."""
    app = web.Application(middlewares=[recording_middleware(connector.recorder, _fault_body)])
    app[CONNECTOR] = connector
    app.router.add_post(CONVERSATIONS_PATH, _create_conversation, name="create_conversation")
    app.router.add_post(ACTIVITIES_PATH, _activities, name="send")
    app.router.add_post(ACTIVITY_PATH, _activities, name="reply")
    app.router.add_put(ACTIVITY_PATH, _activities, name="update")
    app.router.add_delete(ACTIVITY_PATH, _activities, name="delete")
    add_control_routes(
        app,
        requests=lambda: {"requests": [entry.to_json() for entry in connector.requests]},
        reset=connector.reset,
        reset_answer={"ok": True},
    )
    add_fault_routes(app, connector.recorder)
    app.router.add_get("/_emulator/activities", _get_activities)
    app.router.add_get("/_emulator/conversations", _get_conversations)
    app.router.add_post("/_emulator/personal_chats", _post_personal_chat)
    app.router.add_post("/_emulator/personal_messages", _post_personal_message)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a connector, and the token issuer its bot gets tokens from, until interrupted."""
    parser = command_line("emulator.teams_connector", 3005)
    parser.add_argument("--tokens-port", type=int, default=3004, help="the token issuer's port")
    parser.add_argument("--bot-name", default="paybot")
    parser.set_defaults(app_id=DEFAULT_APP_ID, app_password=DEFAULT_APP_PASSWORD)
    options = parser.parse_args(argv)
    tokens = TeamsTokens()
    register_from(options, tokens)
    connector = TeamsConnector(tokens, options.app_id, bot_name=options.bot_name)
    serve(
        options.host,
        [
            ("Bot Connector emulator", create_app(connector), options.port),
            ("Bot Framework token issuer emulator", tokens_app(tokens), options.tokens_port),
        ],
    )


if __name__ == "__main__":
    main()
