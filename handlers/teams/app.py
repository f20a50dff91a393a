"""The Teams surface: the Teams SDK's App served by paybot's route table, on one event loop.

The SDK is asynchronous and our transports (WSGI threads, Lambda) are not, so one
event loop runs on a daemon thread per process and each request waits for its
activity there. The SDK validates every inbound token itself (RS256, issuer,
audience = the app id, expiry, and the `serviceurl` claim bound to the activity's
`serviceUrl`); its keys are cached per process. Two checks come first. The SDK
checks the expiry only of a token that has one, so a token without `exp` (Bot
Framework always sets it) is refused here. And the SDK answers 401 whatever made
validation fail, so a keys outage is told apart and answered 503: Teams tries
again, and nothing is ever accepted unchecked.

Building the SDK costs most of a second of imports, so it happens on the first
Teams request or delivery, never in a Slack-only cold start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import jwt

from bot.errors import PaybotError
from bot.machine import Effect
from bot.models import ChatUser
from bot.settings import Settings
from handlers.http import Answer, Request, header, return_url
from handlers.services import Services, lambda_target

if TYPE_CHECKING:
    from microsoft_teams.apps import App
    from microsoft_teams.apps.http.adapter import HttpRequest, HttpResponse, HttpRouteHandler

    from handlers.teams.listeners import Delivery

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
BOT_SCOPE = "https://api.botframework.com/.default"
ISSUER = "https://api.botframework.com"
MULTI_TENANT = "botframework.com"
"""The token authority's tenant for a multi-tenant bot (Bot Framework's own)."""
TURN_SECONDS = 25.0
"""Longest wait for one activity's answer: inside API Gateway's 30 s, past Teams' 15 s (the
replies are posted to the chat by then; only the HTTP answer would be late)."""
KEYS_TIMEOUT_SECONDS = 5.0
RETURN_QUERY = {"surface": "teams"}
DEFERRED_HEADER = "x-paybot-deferred"
"""Marks the Lambda's own re-sent request, which answers a slow turn claimed already."""
"""Tells the return page to send people back to Teams."""

T = TypeVar("T")


class RouteAdapter:
    """The SDK's `HttpServerAdapter`: the routes it registers, for our route table to call."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], HttpRouteHandler] = {}

    def register_route(self, method: str, path: str, handler: HttpRouteHandler) -> None:
        self.routes[(method, path)] = handler

    def serve_static(self, path: str, directory: str) -> None:
        """paybot serves no static files for Teams."""

    async def start(self, port: int) -> None:
        raise NotImplementedError("paybot's transports serve the routes")

    async def stop(self) -> None:
        """Nothing to stop: the transports own the server."""


class _Loop:
    """One event loop on a daemon thread; coroutines from any thread wait on it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="teams-loop", daemon=True).start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)


class BotToken:
    """The bot's own token from Entra (OAuth 2.0 client credentials), cached until near expiry.

    The request Microsoft documents for a Bot Framework bot, made with httpx rather than
    MSAL: MSAL accepts only https authorities it can discover on the internet, so its
    path could never run against a local stand-in, and this one must.
    """

    def __init__(self, login_url: str, app_id: str, password: str) -> None:
        self._login_url = login_url.rstrip("/")
        self._app_id = app_id
        self._password = password
        self._cached: dict[tuple[str, str], tuple[str, float]] = {}

    async def __call__(self, scope: str | list[str], tenant_id: str | None = None) -> str:
        wanted = scope if isinstance(scope, str) else " ".join(scope)
        tenant = tenant_id or MULTI_TENANT
        found = self._cached.get((wanted, tenant))
        if found and found[1] > time.time():
            return found[0]
        form = {
            "grant_type": "client_credentials",
            "client_id": self._app_id,
            "client_secret": self._password,
            "scope": wanted,
        }
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.post(f"{self._login_url}/{tenant}/oauth2/v2.0/token", data=form)
        body = response.json() if response.content else {}
        if response.status_code != 200 or "access_token" not in body:
            # Entra's error code names the fault (a wrong secret, an unknown app); never the secret.
            raise PaybotError(f"Teams bot token refused: {body.get('error', response.status_code)}")
        lifetime = float(body.get("expires_in", 3599))
        self._cached[(wanted, tenant)] = (body["access_token"], time.time() + lifetime - 300)
        return str(body["access_token"])


def _bearer(authorization: str) -> str:
    """The token of an `Authorization: Bearer` header; "" for any other header."""
    return (
        authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
    )


def _without_expiry(raw: str) -> bool:
    """A token that never expires: the SDK checks `exp` only when it is present.

    Bot Framework always sets it, so such a token is forged or broken; the signature is
    left to the SDK, as everything else is.
    """
    if not raw:
        return False  # no token: the SDK refuses it
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False  # not a token at all: the SDK refuses it
    return "exp" not in claims


async def _answered(
    handler: HttpRouteHandler, incoming: HttpRequest, known: Delivery
) -> HttpResponse:
    """The SDK's answer to one activity, with what the route knows of its request."""
    from handlers.teams.listeners import delivery

    delivery.set(known)
    return await handler(incoming)


def _lambda_deferral(request: Request) -> Callable[[], None] | None:
    """On Lambda, how to hand this request to a second, asynchronous invocation."""
    event = request.context.get("lambda_request")
    function = lambda_target(str(request.context.get("aws_lambda_invoked_function_arn") or ""))
    if not isinstance(event, dict) or not function:
        return None

    def defer() -> None:
        import boto3

        resent = {**event, "headers": {**event.get("headers", {}), DEFERRED_HEADER: "1"}}
        boto3.client("lambda").invoke(
            FunctionName=function,
            InvocationType="Event",
            Payload=json.dumps(resent).encode(),
        )

    return defer


class TeamsSurface:
    """The Teams SDK app with paybot's listeners; built on first use."""

    def __init__(self, settings: Settings, services: Services) -> None:
        settings.require("TEAMS_APP_ID", "TEAMS_APP_PASSWORD")
        assert settings.TEAMS_APP_ID is not None
        assert settings.TEAMS_APP_PASSWORD is not None
        self._settings = settings
        self._services = services
        self._lock = threading.Lock()
        self._built: tuple[App, RouteAdapter, _Loop] | None = None
        keys_url = re.sub(r"/openidconfiguration$", "/keys", settings.TEAMS_OPENID_METADATA_URL)
        self._keys = jwt.PyJWKClient(keys_url, timeout=int(KEYS_TIMEOUT_SECONDS))

    def _build(self) -> tuple[App, RouteAdapter, _Loop]:
        with self._lock:
            if self._built is None:
                self._built = self._make()
            return self._built

    def _make(self) -> tuple[App, RouteAdapter, _Loop]:
        from microsoft_teams.api.auth.cloud_environment import PUBLIC
        from microsoft_teams.apps import App

        from handlers.teams import listeners

        settings = self._settings
        assert settings.TEAMS_APP_ID is not None
        assert settings.TEAMS_APP_PASSWORD is not None
        cloud = dataclasses.replace(
            PUBLIC,
            login_endpoint=settings.TEAMS_LOGIN_URL.rstrip("/"),
            openid_metadata_url=settings.TEAMS_OPENID_METADATA_URL,
        )
        adapter = RouteAdapter()
        token = BotToken(
            settings.TEAMS_LOGIN_URL,
            settings.TEAMS_APP_ID,
            settings.TEAMS_APP_PASSWORD.get_secret_value(),
        )
        app = App(
            client_id=settings.TEAMS_APP_ID,
            tenant_id=settings.TEAMS_TENANT_ID,
            token=token,
            http_server_adapter=adapter,
            messaging_endpoint=MESSAGES_PATH,
            cloud=cloud,
        )
        listeners.register(app, self._services)
        loop = _Loop()
        loop.run(app.initialize(), timeout=TURN_SECONDS)
        return app, adapter, loop

    def route(self, request: Request) -> Answer:
        """`POST /api/messages`: one activity, validated by the SDK and answered."""
        try:
            body = json.loads(request.body)
        except ValueError:
            return 400, "text/plain", "malformed activity"
        if not isinstance(body, dict):
            return 400, "text/plain", "malformed activity"
        token = _bearer(header(request.headers, "authorization"))
        if _without_expiry(token):
            log.warning("a Teams activity's token has no expiry; refused")
            return 401, "application/json", json.dumps({"error": "Unauthorized"})
        if self._keys_unavailable(token):
            return 503, "text/plain", "try again"
        _app, adapter, loop = self._build()
        handler = adapter.routes[("POST", MESSAGES_PATH)]
        back = return_url(request.headers, public_url=self._services.public_url, query=RETURN_QUERY)
        headers = {name.lower(): value for name, value in request.headers.items()}
        from handlers.teams.listeners import Delivery

        on_lambda = _lambda_deferral(request)
        deferred = on_lambda is not None and headers.get(DEFERRED_HEADER) == "1"
        known = Delivery(
            return_url=back,
            defer=None if deferred else on_lambda,
            deferred=deferred,
        )
        incoming: HttpRequest = {"body": body, "headers": headers}
        try:
            response = loop.run(_answered(handler, incoming, known), TURN_SECONDS)
        except TimeoutError:  # still at work: its replies go to the chat when it is done
            log.warning("a Teams activity outlasted the request; answered before its replies")
            return 200, "application/json", ""
        payload = response["body"]
        return (
            response["status"],
            "application/json",
            "" if payload is None else json.dumps(payload),
        )

    def _keys_unavailable(self, raw: str) -> bool:
        """Whether Bot Framework's signing keys cannot be fetched now (not: the token is bad)."""
        if not raw:
            return False  # no token: the SDK refuses it
        try:
            self._keys.get_signing_key_from_jwt(raw)
        except jwt.PyJWKClientConnectionError:
            log.error("Bot Framework's signing keys are unreachable; activity refused with 503")
            return True
        except jwt.PyJWTError:
            return False  # a malformed token or an unknown key: the SDK refuses it
        return False

    def deliver(self, user: ChatUser, effects: Sequence[Effect]) -> None:
        """A Stripe event's effects, posted in the person's chat through its service URL."""
        from handlers.teams import render

        address = self._services.conversation.reply_address(user)
        if address is None:
            log.error("a Teams conversation changed but its chat is unknown; not delivered")
            return
        app, _, loop = self._build()

        async def send() -> None:
            for activity in render.activities(effects):
                await app.send(address.conversation_id, activity, service_url=address.service_url)

        try:
            loop.run(send(), TURN_SECONDS)
        except Exception as exc:  # the session is updated; only this message is lost, as on Slack
            log.error("could not post to a Teams chat: %s", type(exc).__name__)
            self._services.metrics.count("ProviderErrors", dimension="teams")
