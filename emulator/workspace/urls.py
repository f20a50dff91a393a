"""The page and its endpoints over HTTP, on this machine only, and `main`."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from emulator import slack_api
from emulator.slack_api import DEFAULT_TOKEN, DEFAULT_USER_ID, SlackWorkspace
from emulator.workspace.page import Json, sse
from emulator.workspace.ui import SLACK_TIMEOUT_SECONDS, AppEndpoint, InvalidAction, WorkspaceUI

if TYPE_CHECKING:
    from emulator.workspace.teams import TeamsChat, TeamsEndpoint

STATIC = Path(__file__).with_name("static")
HEARTBEAT_SECONDS = 15.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

UI = web.AppKey("workspace_ui", WorkspaceUI)


async def _page_request(request: web.Request) -> Json:
    """The JSON body of a call from the page; JSON only, so other sites cannot post forms here."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send application/json")
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def _base_url(request: web.Request) -> str:
    """This server's own address, as the app must reach it (never a name the page chose)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    port = sockname[1] if sockname else 80
    return f"http://127.0.0.1:{port}"


@web.middleware
async def _this_machine_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request for another host name: no page elsewhere gets in by renaming us."""
    if not is_loopback(f"http://{request.host}"):
        raise web.HTTPForbidden(text="this workspace answers only on 127.0.0.1")
    return await handler(request)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[UI].snapshot())


async def _events(request: web.Request) -> web.StreamResponse:
    ui = request.app[UI]
    stream = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await stream.prepare(request)
    queue = ui.hub.listen()
    try:
        await stream.write(sse("snapshot", ui.snapshot()))
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                event = b": still here\n\n"
            if event is None:
                break
            await stream.write(event)
    except ConnectionResetError:
        pass  # the page went away
    finally:
        ui.hub.forget(queue)
    return stream


def _text_field(body: Json, name: str, *, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise web.HTTPBadRequest(text=f"`{name}` must be a non-empty string")
    return value


async def _act(action: Awaitable[None]) -> web.Response:
    try:
        await action
    except InvalidAction as exc:
        raise web.HTTPConflict(text=f"cannot do that: {exc}") from None
    return web.json_response({"ok": True})


async def _post_message(request: web.Request) -> web.Response:
    body = await _page_request(request)
    ui = request.app[UI]
    return await _act(ui.say(_text_field(body, "text"), base_url=_base_url(request)))


async def _post_action(request: web.Request) -> web.Response:
    body = await _page_request(request)
    index = body.get("index", 0)
    if not isinstance(index, int):
        raise web.HTTPBadRequest(text="`index` must be a number")
    press = request.app[UI].press(
        block_id=_text_field(body, "block_id"),
        index=index,
        message_id=_text_field(body, "message_id", required=False),
        view_id=_text_field(body, "view_id", required=False),
        base_url=_base_url(request),
    )
    return await _act(press)


async def _post_tab(request: web.Request) -> web.Response:
    body = await _page_request(request)
    tab = body.get("tab")
    if tab not in ("messages", "home"):
        raise web.HTTPBadRequest(text='`tab` must be "messages" or "home"')
    return await _act(request.app[UI].open_tab(tab))


async def _post_prompt(request: web.Request) -> web.Response:
    body = await _page_request(request)
    index = body.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise web.HTTPBadRequest(text="`index` must be a number")
    return await _act(request.app[UI].send_prompt(index))


async def _post_submission(request: web.Request) -> web.Response:
    body = await _page_request(request)
    values = body.get("values", {})
    if not isinstance(values, dict) or not all(
        isinstance(typed, dict) and all(isinstance(text, str | None) for text in typed.values())
        for typed in values.values()
    ):
        raise web.HTTPBadRequest(text="`values` must map block ids to {action_id: text}")
    return await _act(request.app[UI].submit(_text_field(body, "view_id"), values))


async def _post_close(request: web.Request) -> web.Response:
    body = await _page_request(request)
    return await _act(request.app[UI].close_view(_text_field(body, "view_id")))


def _teams_chat(request: web.Request) -> TeamsChat:
    chat = request.app[UI].teams
    if chat is None:
        raise web.HTTPNotFound(text="Teams is not on in this workspace")
    return chat


async def _post_teams_message(request: web.Request) -> web.Response:
    body = await _page_request(request)
    return await _act(_teams_chat(request).say(_text_field(body, "text")))


async def _post_teams_action(request: web.Request) -> web.Response:
    body = await _page_request(request)
    card, index = body.get("card", 0), body.get("index", 0)
    if not isinstance(card, int) or not isinstance(index, int):
        raise web.HTTPBadRequest(text="`card` and `index` must be numbers")
    press = _teams_chat(request).press(_text_field(body, "activity_id"), card, index)
    return await _act(press)


async def _post_response_url(request: web.Request) -> web.Response:
    body = await _page_request(request)
    if not request.app[UI].respond(request.match_info["token"], body):
        raise web.HTTPNotFound(text="no_service")
    return web.json_response({"ok": True})


def create_app(
    workspace: SlackWorkspace,
    endpoint: AppEndpoint,
    *,
    user_id: str = DEFAULT_USER_ID,
    teams: TeamsEndpoint | None = None,
) -> web.Application:
    """The page, its endpoints under `/_workspace/`, and `slack_api`'s Web API for `workspace`;
    with `teams`, a Teams chat with the app too (the page's `/teams`)."""
    app = slack_api.create_app(workspace)
    app.middlewares.append(_this_machine_only)
    ui = WorkspaceUI(workspace, endpoint, user_id=user_id, teams=teams)
    app[UI] = ui

    async def start(_: web.Application) -> None:
        await ui.start()

    async def end_streams(_: web.Application) -> None:
        ui.hub.close()

    async def close(_: web.Application) -> None:
        await ui.close()

    app.on_startup.append(start)
    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(close)
    app.router.add_get("/", _index)
    app.router.add_get("/teams", _index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/_workspace/state", _state)
    app.router.add_get("/_workspace/events", _events)
    app.router.add_post("/_workspace/messages", _post_message)
    app.router.add_post("/_workspace/actions", _post_action)
    app.router.add_post("/_workspace/tabs", _post_tab)
    app.router.add_post("/_workspace/prompts", _post_prompt)
    app.router.add_post("/_workspace/submissions", _post_submission)
    app.router.add_post("/_workspace/closes", _post_close)
    app.router.add_post("/_workspace/response_urls/{token}", _post_response_url)
    app.router.add_post("/_workspace/teams/messages", _post_teams_message)
    app.router.add_post("/_workspace/teams/actions", _post_teams_action)
    return app


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine: the workspace talks to nothing else."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the workspace for the app at `--bot-url` until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator.workspace",
        description=sys.modules[__package__ or ""].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (default 3000)")
    parser.add_argument(
        "--bot-url", required=True, help="the app's Request URL, e.g. .../slack/events"
    )
    parser.add_argument(
        "--signing-secret",
        default=os.environ.get("SLACK_SIGNING_SECRET"),
        help="the secret to sign requests with (default: $SLACK_SIGNING_SECRET)",
    )
    parser.add_argument(
        "--bot-token",
        default=os.environ.get("SLACK_BOT_TOKEN") or DEFAULT_TOKEN,
        help=f"the token the Web API accepts (default: $SLACK_BOT_TOKEN or {DEFAULT_TOKEN})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=SLACK_TIMEOUT_SECONDS,
        help="seconds the app has to answer (Slack: 3)",
    )
    options = parser.parse_args(argv)
    if not options.signing_secret:
        parser.error("--signing-secret (or SLACK_SIGNING_SECRET) is required")
    if not is_loopback(options.bot_url):
        parser.error("--bot-url must be on this machine (127.0.0.1, localhost or [::1])")
    endpoint = AppEndpoint(options.bot_url, options.signing_secret, options.timeout)
    app = create_app(SlackWorkspace(token=options.bot_token), endpoint)
    url = f"http://127.0.0.1:{options.port}"
    print(f"Slack workspace: {url}", flush=True)
    print(f"Give the app SLACK_API_URL={url}/api/ and SLACK_BOT_TOKEN={options.bot_token}")
    web.run_app(app, host="127.0.0.1", port=options.port, access_log=None, print=None)
