"""The issuer over HTTP: OpenID metadata, keys, Entra's token endpoint, control routes, `main`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from aiohttp import web

from emulator.control import add_control_routes, json_object
from emulator.teams_tokens.entra import token_answer
from emulator.teams_tokens.models import KEYS_PATH, OPENID_PATH, TeamsTokens
from emulator.teams_tokens.recorder import JSON, add_fault_routes, recording_middleware

TOKENS = web.AppKey("teams_tokens", TeamsTokens)
TOKEN_PATH = "/{tenant}/oauth2/v2.0/token"


def base_url(request: web.Request) -> str:
    """This server's own address as the caller reached it, e.g. http://127.0.0.1:3004."""
    return f"{request.scheme}://{request.host}"


async def _openid_configuration(request: web.Request) -> web.Response:
    return web.json_response(request.app[TOKENS].openid_configuration(base_url(request)))


async def _keys(request: web.Request) -> web.Response:
    return web.json_response(request.app[TOKENS].jwks())


async def _token(request: web.Request) -> web.Response:
    form: dict[str, str] = {}
    if request.content_type == "application/x-www-form-urlencoded":
        posted = await request.post()
        form = {name: value for name, value in posted.items() if isinstance(value, str)}
    return token_answer(request.app[TOKENS], request.match_info["tenant"], form).response()


async def _post_app(request: web.Request) -> web.Response:
    body = await json_object(request)
    app_id, password, tenant_id = body.get("app_id"), body.get("password"), body.get("tenant_id")
    if not (isinstance(app_id, str) and isinstance(password, str)):
        raise web.HTTPBadRequest(text="`app_id` and `password` are required")
    if tenant_id is not None and not isinstance(tenant_id, str):
        raise web.HTTPBadRequest(text="`tenant_id` must be a string")
    request.app[TOKENS].register_app(app_id, password, tenant_id=tenant_id)
    return web.json_response({"app_id": app_id, "tenant_id": tenant_id})


async def _post_inbound_token(request: web.Request) -> web.Response:
    body = await json_object(request)
    app_id, service_url = body.get("app_id"), body.get("service_url")
    if not (isinstance(app_id, str) and isinstance(service_url, str)):
        raise web.HTTPBadRequest(text="`app_id` and `service_url` are required")
    return web.json_response({"token": request.app[TOKENS].mint_inbound(app_id, service_url)})


def _fault_body(status: int) -> JSON:
    error = "temporarily_unavailable" if status >= 500 else "invalid_request"
    return {"error": error, "error_description": f"Injected HTTP {status}."}


def create_app(tokens: TeamsTokens) -> web.Application:
    """The metadata, keys and token routes, and control endpoints under `/_emulator/`:
    `requests`, `reset`, `faults` (routes `openid`, `keys`, `token`), `apps` (register a
    bot) and `inbound_tokens` (mint the token an activity to a bot carries)."""
    app = web.Application(middlewares=[recording_middleware(tokens.recorder, _fault_body)])
    app[TOKENS] = tokens
    app.router.add_get(OPENID_PATH, _openid_configuration, name="openid")
    app.router.add_get(KEYS_PATH, _keys, name="keys")
    app.router.add_post(TOKEN_PATH, _token, name="token")
    add_control_routes(
        app,
        requests=lambda: {"requests": [entry.to_json() for entry in tokens.recorder.log.entries]},
        reset=tokens.reset,
        reset_answer={"ok": True},
    )
    add_fault_routes(app, tokens.recorder)
    app.router.add_post("/_emulator/apps", _post_app)
    app.router.add_post("/_emulator/inbound_tokens", _post_inbound_token)
    return app


def command_line(package: str, port: int) -> argparse.ArgumentParser:
    """`python -m package`: `--host`, `--port`, and the bot to register at start."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {package}",
        description=sys.modules[package].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port, help=f"0: any free one (default {port})")
    parser.add_argument("--app-id", help="register this bot (its Microsoft App ID)")
    parser.add_argument("--app-password", help="the bot's client secret")
    parser.add_argument("--tenant-id", help="a single-tenant bot's tenant (default: multi-tenant)")
    return parser


def register_from(options: argparse.Namespace, tokens: TeamsTokens) -> None:
    """Register the bot the command line names, if it names one."""
    if options.app_id:
        if not options.app_password:
            raise SystemExit("--app-password is required with --app-id")
        tokens.register_app(options.app_id, options.app_password, tenant_id=options.tenant_id)


Site = tuple[str, web.Application, int]
"""What to serve: a label to print with the address, the app, the port (0: any free one)."""


async def _serve_forever(host: str, sites: Sequence[Site]) -> None:
    runners: list[web.AppRunner] = []
    try:
        for label, app, port in sites:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            runners.append(runner)
            await web.TCPSite(runner, host, port).start()
            print(f"{label}: http://{host}:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def serve(host: str, sites: Sequence[Site]) -> None:
    """Serve each app on its port, printing where, until interrupted."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(host, sites))


def main(argv: Sequence[str] | None = None) -> None:
    """Serve one issuer until interrupted."""
    options = command_line("emulator.teams_tokens", 3004).parse_args(argv)
    tokens = TeamsTokens()
    register_from(options, tokens)
    serve(options.host, [("Bot Framework token issuer emulator", create_app(tokens), options.port)])


if __name__ == "__main__":
    main()
