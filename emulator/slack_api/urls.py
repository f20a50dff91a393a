"""The Web API over HTTP at `/api/<method>`, the control routes, and `main`."""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from emulator.control import add_control_routes
from emulator.slack_api.models import DEFAULT_TOKEN, JSON_ARGS, Args, SlackWorkspace
from emulator.slack_requests import TEAM_ID

WORKSPACE = web.AppKey("workspace", SlackWorkspace)
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


async def _read_args(request: web.Request) -> tuple[Args, str | None, str | None]:
    """The call's arguments, the token it presented, and a transport-level error, if any."""
    args: Args = dict(request.query)
    header = request.headers.get("Authorization", "")
    token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else None
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return args, token, "invalid_json"
            if not isinstance(body, dict):
                return args, token, "invalid_json"
            body.pop("token", None)  # with JSON, Slack reads the token only from the header
            args.update(body)
        elif request.content_type in _FORM_TYPES:
            form = await request.post()
            args.update({key: value for key, value in form.items() if isinstance(value, str)})
        else:
            return args, token, "invalid_post_type"
    presented = args.pop("token", None)
    if token is None and isinstance(presented, str):
        token = presented
    for name in JSON_ARGS:
        if isinstance(args.get(name), str):
            with contextlib.suppress(ValueError):  # the method reports it in Slack's words
                args[name] = json.loads(args[name])
    return args, token, None


async def _api_method(request: web.Request) -> web.Response:
    args, token, body_error = await _read_args(request)
    workspace = request.app[WORKSPACE]
    answer = workspace.call(request.match_info["method"], args, token=token, body_error=body_error)
    headers = {"X-Slack-Req-Id": secrets.token_hex(16), **answer.headers}
    return web.json_response(answer.body, status=answer.status, headers=headers)


async def _json_object(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


async def _post_trigger_id(request: web.Request) -> web.Response:
    body = await _json_object(request)
    trigger_id = request.app[WORKSPACE].issue_trigger_id(
        user_id=body.get("user_id"), view_id=body.get("view_id")
    )
    return web.json_response({"trigger_id": trigger_id})


async def _post_fault(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if not isinstance(body.get("method"), str):
        raise web.HTTPBadRequest(text="`method` is required")
    request.app[WORKSPACE].inject(
        body["method"],
        error=str(body.get("error", "ratelimited")),
        count=body.get("count", 1),
        retry_after=int(body.get("retry_after", 1)),
        status=body.get("status"),
    )
    return web.json_response({"ok": True})


async def _get_messages(request: web.Request) -> web.Response:
    channel_id = request.query.get("channel", "")
    return web.json_response({"messages": request.app[WORKSPACE].messages(channel_id)})


async def _get_views(request: web.Request) -> web.Response:
    return web.json_response({"views": request.app[WORKSPACE].views(request.query.get("user"))})


def create_app(workspace: SlackWorkspace) -> web.Application:
    """The Web API at `/api/<method>` and control endpoints under `/_emulator/`."""
    app = web.Application()
    app[WORKSPACE] = workspace
    app.router.add_route("GET", "/api/{method}", _api_method)
    app.router.add_route("POST", "/api/{method}", _api_method)
    add_control_routes(
        app,
        requests=lambda: {"calls": [call.to_json() for call in workspace.calls]},
        reset=workspace.reset,
        reset_answer={"ok": True},
        older_requests_paths=("/_emulator/calls",),
    )
    app.router.add_post("/_emulator/trigger_ids", _post_trigger_id)
    app.router.add_post("/_emulator/faults", _post_fault)
    app.router.add_get("/_emulator/messages", _get_messages)
    app.router.add_get("/_emulator/views", _get_views)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serve one workspace until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator.slack_api", description=sys.modules[__package__ or ""].__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bot token to accept")
    parser.add_argument("--team-id", default=TEAM_ID)
    parser.add_argument(
        "--scopes", help="the token's bot scopes, comma separated (default: manifest.yml's)"
    )
    options = parser.parse_args(argv)
    scopes = [s.strip() for s in options.scopes.split(",") if s.strip()] if options.scopes else None
    workspace = SlackWorkspace(token=options.token, team_id=options.team_id, scopes=scopes)
    print(f"Slack Web API emulator: http://{options.host}:{options.port}/api/", flush=True)
    web.run_app(create_app(workspace), host=options.host, port=options.port, print=None)


if __name__ == "__main__":
    main()
