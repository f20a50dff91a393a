"""Lambda entry: API Gateway events (HTTP API v2 and REST v1) to the route table.

Redaction is installed before anything else can log. The app is built on the
first request and reused by the container; when `SECRETS_ARN` is set, the
Slack and Stripe keys come from that secret, and a rotated secret (seen once
the cache's max age passes) rebuilds the app. Settings that cannot serve, or a
secret never read, answer 503 with one log line for the operator, not a crash.

A cold start (this module's import, then the first answer) runs without the cyclic
garbage collector (`cold_start`). With SnapStart (serverless.yml's `snapStart`
parameter), the runtime hooks at the end do the cold start's work before the snapshot
and make each restored copy its own: its own random state, the secret read after the
restore.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cold_start() -> Iterator[None]:
    """Run the block without the cyclic collector, then leave what it made out of later
    collections: a cold start only makes objects that live as long as the container, and
    the collector would walk that growing heap over and over (BENCHMARKS.md, cold start).
    """
    if not gc.isenabled():  # the process runs its collector itself
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


with cold_start():  # the import is the cold start's first half
    import base64
    import importlib
    import logging
    import os
    import random
    import threading
    from collections.abc import Mapping
    from typing import Any

    from bot.logs import configure_logging, install_redaction

    install_redaction()

    from snapshot_restore_py import register_after_restore, register_before_snapshot

    from bot.adapters.secrets_manager import CachedSecret, SecretUnavailable
    from bot.settings import Settings, SettingsError, load_settings
    from handlers.bootstrap import build
    from handlers.http import MAX_BODY_BYTES, Answer, Request
    from handlers.routes import Routes, answer, routes
    from handlers.services import lambda_invocation
    from handlers.slack.lazy import ContainedLazyRunner

log = logging.getLogger(__name__)

UNAVAILABLE: Answer = (503, "text/plain", "paybot is unavailable; see its log")


class Container:
    """What one Lambda container keeps between invocations."""

    def __init__(self, environ: Mapping[str, str], *, secret: CachedSecret | None = None) -> None:
        """`secret` defaults to `SECRETS_ARN`'s, read through Secrets Manager."""
        self._environ = dict(environ)
        self._lock = threading.Lock()
        self._built_with: Mapping[str, str] | None = None
        self._routes: Routes | None = None
        self._secret = secret
        self._settings: Settings | None = None
        try:
            settings = load_settings(self._environ)
        except SettingsError as exc:
            configure_logging("INFO")
            log.error("paybot cannot start: %s", exc)
            return
        self._settings = settings
        configure_logging(settings.LOG_LEVEL)
        if secret is None and settings.SECRETS_ARN:
            self._secret = CachedSecret(settings.SECRETS_ARN)

    def routes(self) -> Routes | None:
        """The routes for the current settings; None, its cause logged once, when there are none."""
        if self._settings is None:
            return None
        try:
            values = self._secret.get() if self._secret else {}
        except SecretUnavailable:
            return None  # the secret logs its own failure, once per outage
        with self._lock:
            if values != self._built_with:
                self._build(values)
            return self._routes

    def prepare(self) -> None:
        """Load every module and AWS service model this container's requests may use.

        For the snapshot: what a request would otherwise load on first use (the Stripe
        SDK, the DynamoDB adapters, Bedrock, Teams) is loaded here once. The secret is
        not read, so no snapshot holds a key; `restored` reads it.
        """
        settings = self._settings
        if settings is None:
            return
        for module in _modules_for(settings):
            importlib.import_module(module)
        import boto3

        # botocore keeps each service's model, endpoint rules and partitions after its
        # first client: the clients the requests make later build from that.
        for service in _services_for(settings):
            boto3.client(service)  # type: ignore[call-overload]

    def restored(self) -> None:
        """After a restore: read the secret as it is now, and build."""
        try:
            self.routes()
        except Exception:  # a failed restore fails its invocation: the first request retries
            self._built_with = None
            log.exception("paybot could not build after a restore")

    def _build(self, values: Mapping[str, str]) -> None:
        self._built_with = values
        self._routes = None
        try:
            # Every rule applies to the merged settings: a key the secret was expected
            # to hold and does not is named here, not discovered by a payer.
            wiring = build(load_settings({**self._environ, **values}, secret_merged=True))
        except SettingsError as exc:
            log.error("paybot cannot serve: %s", exc)  # once per configuration
            return
        # Lazy work runs in a second, asynchronous invocation of this function.
        if wiring.app is not None:
            runner = ContainedLazyRunner(wiring.app.logger)
            wiring.app.listener_runner.lazy_listener_runner = runner
        self._routes = routes(wiring)


def _modules_for(settings: Settings) -> list[str]:
    """The modules `settings`' requests import on first use."""
    modules = [
        "bot.adapters.stripe_gateway",
        "bot.adapters.stripe_checkout",
        "bot.adapters.stripe_charges",
        "bot.adapters.stripe_webhook",
    ]
    if settings.SESSION_STORE == "dynamodb":
        modules += [
            "bot.adapters.dynamodb_store",
            "bot.adapters.dynamodb_limits",
            "bot.adapters.dynamodb_audit",
        ]
    else:
        modules += ["bot.adapters.sqlite_store"]
    if settings.DIALOGUE_ENGINE == "bedrock":
        modules += ["bot.adapters.bedrock_engine"]
    if settings.TEAMS_APP_ID:
        modules += [
            "microsoft_teams.apps",
            "microsoft_teams.api.auth.cloud_environment",
            "handlers.teams.app",
            "handlers.teams.listeners",
            "handlers.teams.render",
        ]
    return modules


def _services_for(settings: Settings) -> list[str]:
    """The AWS services `settings`' requests call: lazy work invokes this function."""
    services = ["lambda"]
    if settings.SECRETS_ARN:
        services.append("secretsmanager")
    if settings.SESSION_STORE == "dynamodb":
        services.append("dynamodb")
    if settings.DIALOGUE_ENGINE == "bedrock":
        services.append("bedrock-runtime")
    return services


_container: Container | None = None
_container_lock = threading.Lock()
_cold = True


def _current() -> Container:
    global _container
    with _container_lock:
        if _container is None:
            _container = Container(os.environ)
        return _container


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda function's entry point: every route in `handlers.routes`."""
    global _cold
    if not _cold:
        return _handle(event, context)
    _cold = False
    with cold_start():  # the first answer builds the app: the rest of the cold start
        return _handle(event, context)


def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    table = _current().routes()
    if table is None:
        return _response(UNAVAILABLE)
    body = _raw_body(event)
    if body is None:
        return _response((400, "text/plain", "body is not valid base64"))
    if len(body) > MAX_BODY_BYTES:  # API Gateway allows 10 MB; Slack sends far less
        return _response((413, "text/plain", "request body too large"))
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    # Bolt re-sends this event to run lazy work (`handlers.slack.lazy`). It goes with the
    # body as text, decoded once here (base64 would hide a card number from redaction and
    # from any reader of the invoke payload), and with the `headers` REST (v1) events lack.
    lazy_event = {
        **event,
        "headers": headers,
        "body": body.decode("utf-8", "replace"),
        "isBase64Encoded": False,
    }
    request = Request(
        method=_method(event),
        path=str(event.get("rawPath") or event.get("path") or ""),
        headers=headers,
        body=body,
        query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
        context={
            "aws_lambda_function_name": getattr(context, "function_name", ""),
            "aws_lambda_invoked_function_arn": getattr(context, "invoked_function_arn", ""),
            "lambda_request": lazy_event,
        },
    )
    with lambda_invocation(context):  # a claim lasts as long as this invocation may run
        return _response(answer(table, request))


def _method(event: dict[str, Any]) -> str:
    """HTTP API (v2) and REST API (v1) events keep the method in different places."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    return str(http.get("method") or context.get("httpMethod") or event.get("httpMethod") or "")


def _raw_body(event: dict[str, Any]) -> bytes | None:
    """The body exactly as sent: signatures are over these bytes (API Gateway may base64 it)."""
    body = str(event.get("body") or "")
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body)
    except ValueError:  # binascii.Error: not what API Gateway sends
        return None


def _response(answered: Answer) -> dict[str, Any]:
    status, content_type, body = answered
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}


# --- SnapStart ---------------------------------------------------------------------------
# Lambda runs these only for a version published with SnapStart (serverless.yml,
# `snapStart`): before the snapshot is taken, and in each copy restored from it.


def before_snapshot() -> None:
    """The cold start's work, once, for every copy: settings, imports, service models."""
    with cold_start():
        _current().prepare()
    # Nothing waits on a collection here. Only what lives goes into the snapshot, frozen:
    # a copy's collections never walk the snapshot's heap (nor page it in after a restore).
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def after_restore() -> None:
    """Make this copy its own, and current: every copy starts from the same memory."""
    random.seed()  # from os.urandom: no two copies draw the same numbers (retry jitter, ...)
    with cold_start():
        _current().restored()


register_before_snapshot(before_snapshot)
register_after_restore(after_restore)
