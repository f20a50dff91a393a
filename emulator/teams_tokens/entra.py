"""Entra's v2 token endpoint for the client credentials grant, with Entra's error answers.

`POST /{tenant}/oauth2/v2.0/token`, form-encoded `grant_type=client_credentials`,
`client_id`, `client_secret`, `scope`. A token answers 200 with `token_type`, `expires_in`,
`ext_expires_in` and `access_token`. A refusal answers Entra's JSON: `error`,
`error_description` ("AADSTS<code>: <message>" then the trace and correlation ids and the
time, each on its own line), `error_codes`, `timestamp`, `trace_id`, `correlation_id`,
`error_uri`. Statuses as Entra gives them: 401 `invalid_client` for a missing or wrong
secret (AADSTS7000216, AADSTS7000215); 400 otherwise, including `unauthorized_client` for an
app id the tenant does not know (AADSTS700016: Entra answers 400 for it, not 401).

The request is checked before the client is: a bad grant type or scope is told even to a
caller with a wrong secret. Which order real Entra follows is not published; this is ours.
Only Bot Framework's scope is issued here; Entra would also issue, say, a Graph token.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping

from emulator.teams_tokens.models import (
    BOT_SCOPE,
    BOTFRAMEWORK_TENANT_ID,
    MULTI_TENANT,
    TeamsTokens,
)
from emulator.teams_tokens.recorder import Answer

GRANT_TYPE = "client_credentials"
NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class EntraError(Exception):
    """One of Entra's refusals: HTTP status, OAuth `error`, AADSTS code and message."""

    def __init__(self, status: int, error: str, code: int, message: str) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.status = status
        self.error = error
        self.code = code
        self.message = message

    def answer(self, now: float) -> Answer:
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        timestamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(now))
        description = (
            f"AADSTS{self.code}: {self.message}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        )
        body = {
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        return Answer(self.status, body, dict(NO_STORE))


def _missing(parameter: str) -> EntraError:
    message = f"The request body must contain the following parameter: '{parameter}'."
    return EntraError(400, "invalid_request", 900144, message)


def token_answer(tokens: TeamsTokens, tenant: str, form: Mapping[str, str]) -> Answer:
    """What Entra answers a token request to `tenant` carrying `form`."""
    now = tokens.now()
    try:
        tenant_id = _tenant_id(tenant)
        _check_request(form)
        app_id = form["client_id"]
        app = tokens.app(app_id)
        if app is None or (app.tenant_id is not None and app.tenant_id != tenant_id):
            directory = "Bot Framework" if tenant_id == BOTFRAMEWORK_TENANT_ID else tenant
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{app_id}' was not found in the directory"
                f" '{directory}'. This can happen if the application has not been installed by"
                " the administrator of the tenant or consented to by any user in the tenant."
                " You may have sent your authentication request to the wrong tenant.",
            )
        secret = form.get("client_secret")
        if not secret:
            raise EntraError(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the"
                " 'client_credentials' grant type.",
            )
        if secret != app.password:
            raise EntraError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is"
                " the client secret value, not the client secret ID, for a secret added to app"
                f" '{app_id}'.",
            )
    except EntraError as refused:
        return refused.answer(now)
    body = {
        "token_type": "Bearer",
        "expires_in": tokens.access_token_lifetime,
        "ext_expires_in": tokens.access_token_lifetime,
        "access_token": tokens.issue_access_token(app, app.tenant_id or tenant_id),
    }
    return Answer(200, body, dict(NO_STORE))


def _tenant_id(tenant: str) -> str:
    """The directory id `tenant` names: `botframework.com` or a GUID; else AADSTS90002."""
    if tenant == MULTI_TENANT:
        return BOTFRAMEWORK_TENANT_ID
    if _GUID.match(tenant):
        return tenant.lower()
    raise EntraError(
        400,
        "invalid_request",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are"
        " signing into the correct cloud. Check with your subscription administrator, this may"
        " happen if there are no active subscriptions for the tenant.",
    )


def _check_request(form: Mapping[str, str]) -> None:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _missing("grant_type")
    if grant_type != GRANT_TYPE:
        message = f"The app requested an unsupported grant type '{grant_type}'."
        raise EntraError(400, "unsupported_grant_type", 70003, message)
    if not form.get("client_id"):
        raise _missing("client_id")
    scope = form.get("scope")
    if not scope:
        raise _missing("scope")
    if not scope.endswith("/.default"):
        raise EntraError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must"
            " have a scope value with /.default suffixed to the resource identifier"
            " (application ID URI).",
        )
    if scope != BOT_SCOPE:
        raise EntraError(
            400,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid. The scope"
            f" {scope} is not valid.",
        )
