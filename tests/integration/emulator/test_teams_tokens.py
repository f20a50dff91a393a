"""The Bot Framework token issuer and Entra token endpoint stand-in, over loopback HTTP.

Inbound tokens are checked the way a bot checks them: with PyJWT against the served keys,
and with the Teams SDK's own `TokenValidator`. The token endpoint is called as a bot calls
it, form-encoded, and answers in Entra's shapes.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.apps.auth.token_validator import JwtValidationOptions, TokenValidator

from emulator.server import RunningServer, serve_in_thread
from emulator.teams_tokens import (
    BOT_SCOPE,
    BOTFRAMEWORK_TENANT_ID,
    ISSUER,
    KEYS_PATH,
    OPENID_PATH,
    TeamsTokens,
    create_app,
)

pytestmark = pytest.mark.integration

APP_ID = "5b3c1a2e-7d4f-4e6a-9b8c-0d1e2f3a4b5c"
PASSWORD = "bot-secret-value"
OTHER_APP_ID = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SINGLE_TENANT_APP_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
GUID = re.compile(r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$")
LEEWAY = 300
"""The Teams SDK's clock tolerance: a token must be this far past its expiry to be refused."""


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def tokens() -> TeamsTokens:
    issuer = TeamsTokens()
    issuer.register_app(APP_ID, PASSWORD)
    issuer.register_app(SINGLE_TENANT_APP_ID, PASSWORD, tenant_id=TENANT_ID)
    return issuer


@pytest.fixture(scope="module")
def server(tokens: TeamsTokens) -> Iterator[RunningServer]:
    with serve_in_thread(create_app(tokens)) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(tokens: TeamsTokens) -> None:
    tokens.reset()


def keys_url(server: RunningServer) -> str:
    return f"{server.url}{KEYS_PATH}"


def validator(server: RunningServer) -> TokenValidator:
    """The SDK's validator as a bot configures it, pointed at the served keys."""
    options = JwtValidationOptions(
        valid_issuers=[ISSUER], valid_audiences=[APP_ID], jwks_uri=keys_url(server)
    )
    return TokenValidator(options)


TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": APP_ID,
    "client_secret": PASSWORD,
    "scope": BOT_SCOPE,
}
"""What a multi-tenant bot posts for its Bot Connector token."""


def request_token(url: str, tenant: str = "botframework.com", **form: str) -> httpx.Response:
    """Ask the token endpoint at `url` for a token, as a bot does (form-encoded)."""
    return httpx.post(f"{url}/{tenant}/oauth2/v2.0/token", data={**TOKEN_FORM, **form})


@contextlib.contextmanager
def launched(module: str, *args: str, sites: int = 1) -> Iterator[list[str]]:
    """`python -m module args` with `--port 0`: the addresses it prints; on leaving, it is
    interrupted and must stop cleanly."""
    command = [sys.executable, "-m", module, "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(sites)]
        urls = [found[0] for line in lines if (found := re.search(r"http://[\d.]+:\d+", line))]
        assert len(urls) == sites, lines
        yield urls
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 0
        assert "Traceback" not in errors
    finally:
        process.kill()


def control(server: RunningServer, path: str, body: dict[str, Any] | None = None) -> Any:
    if body is None:
        return httpx.get(f"{server.url}{path}").json()
    return httpx.post(f"{server.url}{path}", json=body).json()


# ---------------------------------------------------------------- metadata and keys


def test_the_metadata_is_bot_frameworks_and_names_the_served_keys(server: RunningServer) -> None:
    metadata = httpx.get(f"{server.url}{OPENID_PATH}").json()

    assert metadata == {
        "issuer": "https://api.botframework.com",
        "authorization_endpoint": "https://invalid.botframework.com",
        "jwks_uri": keys_url(server),
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
    }


def test_the_keys_are_rsa_signing_keys_endorsed_for_teams(
    server: RunningServer, tokens: TeamsTokens
) -> None:
    (key,) = httpx.get(keys_url(server)).json()["keys"]

    assert key["kty"] == "RSA"
    assert key["use"] == "sig"
    assert key["kid"] == tokens.kid
    assert key["e"] == "AQAB"
    assert "msteams" in key["endorsements"]


def test_pyjwt_verifies_a_minted_inbound_token_with_the_served_keys(
    server: RunningServer, tokens: TeamsTokens
) -> None:
    token = tokens.mint_inbound(APP_ID, SERVICE_URL)

    signing_key = jwt.PyJWKClient(keys_url(server)).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, signing_key.key, algorithms=["RS256"], audience=APP_ID, issuer=ISSUER
    )

    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"], header["typ"]) == ("RS256", tokens.kid, "JWT")
    assert claims["serviceurl"] == SERVICE_URL
    assert claims["nbf"] <= time.time() < claims["exp"]
    assert claims["exp"] - claims["iat"] == 3600


async def test_the_sdks_validator_accepts_a_minted_inbound_token(
    server: RunningServer, tokens: TeamsTokens
) -> None:
    token = tokens.mint_inbound(APP_ID, SERVICE_URL)

    claims = await validator(server).validate_token(token, SERVICE_URL)

    assert claims["aud"] == APP_ID


async def test_the_sdk_finds_the_keys_from_the_metadata_url(
    server: RunningServer, tokens: TeamsTokens
) -> None:
    cloud = with_overrides(PUBLIC, openid_metadata_url=f"{server.url}{OPENID_PATH}")
    sdk = TokenValidator.for_service(APP_ID, cloud=cloud)

    claims = await sdk.validate_token(tokens.mint_inbound(APP_ID, SERVICE_URL), SERVICE_URL)

    assert claims["serviceurl"] == SERVICE_URL


def _expired() -> dict[str, Any]:
    issued = int(time.time()) - 3600 - LEEWAY - 60
    return {"iat": issued, "nbf": issued, "exp": issued + 3600}


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        pytest.param(_expired(), "expired", id="expired"),
        pytest.param({"aud": OTHER_APP_ID}, "(?i)audience", id="another bot's"),
        pytest.param({"iss": "https://sts.windows.net/x/"}, "issuer", id="wrong issuer"),
        pytest.param({"serviceurl": "https://evil.example/"}, "Service URL", id="other service"),
        pytest.param({"serviceurl": None}, "serviceurl", id="no serviceurl"),
        pytest.param({"foreign_key": True}, "signing key", id="unpublished key"),
    ],
)
async def test_the_sdks_validator_refuses_a_bad_inbound_token(
    server: RunningServer, tokens: TeamsTokens, overrides: dict[str, Any], refusal: str
) -> None:
    token = tokens.mint_inbound(APP_ID, SERVICE_URL, **overrides)

    with pytest.raises(jwt.PyJWTError, match=refusal):
        await validator(server).validate_token(token, SERVICE_URL)


# ---------------------------------------------------------------- Entra's token endpoint


def test_the_right_secret_gets_a_bot_connector_token(
    server: RunningServer, tokens: TeamsTokens
) -> None:
    answer = request_token(server.url)

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store, no-cache"
    body = answer.json()
    assert body.keys() == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert (body["token_type"], body["expires_in"], body["ext_expires_in"]) == (
        "Bearer",
        3599,
        3599,
    )
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://api.botframework.com"
    assert claims["appid"] == APP_ID
    assert claims["tid"] == BOTFRAMEWORK_TENANT_ID
    assert tokens.issued_to(body["access_token"]) == APP_ID


def test_a_single_tenant_bot_gets_its_token_from_its_own_tenant(
    server: RunningServer, tokens: TeamsTokens
) -> None:
    answer = request_token(server.url, TENANT_ID, client_id=SINGLE_TENANT_APP_ID)

    token = answer.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["tid"] == TENANT_ID
    assert tokens.issued_to(token) == SINGLE_TENANT_APP_ID


def assert_entra_refusal(answer: httpx.Response, status: int, error: str, code: int) -> None:
    assert answer.status_code == status
    body = answer.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"Trace ID: {body['trace_id']}" in body["error_description"]
    assert GUID.match(body["trace_id"])
    assert GUID.match(body["correlation_id"])
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$", body["timestamp"])
    assert body["error_uri"].endswith(f"?code={code}")


@pytest.mark.parametrize(
    ("tenant", "form", "status", "error", "code"),
    [
        pytest.param(
            "botframework.com",
            {"client_secret": "not-it"},
            401,
            "invalid_client",
            7000215,
            id="wrong secret",
        ),
        pytest.param(
            "botframework.com",
            {"client_secret": ""},
            401,
            "invalid_client",
            7000216,
            id="no secret",
        ),
        pytest.param(
            "botframework.com",
            {"client_id": OTHER_APP_ID},
            400,
            "unauthorized_client",
            700016,
            id="unknown app",
        ),
        pytest.param(
            "botframework.com",
            {"client_id": SINGLE_TENANT_APP_ID},
            400,
            "unauthorized_client",
            700016,
            id="single-tenant bot in Bot Framework's tenant",
        ),
        pytest.param(
            "botframework.com",
            {"scope": "https://graph.microsoft.com/.default"},
            400,
            "invalid_scope",
            70011,
            id="another resource's scope",
        ),
        pytest.param(
            "botframework.com",
            {"scope": "https://api.botframework.com"},
            400,
            "invalid_scope",
            1002012,
            id="scope without /.default",
        ),
        pytest.param(
            "botframework.com",
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
            70003,
            id="another grant type",
        ),
        pytest.param(
            "no-such-tenant.example", {}, 400, "invalid_request", 90002, id="unknown tenant"
        ),
    ],
)
def test_entra_refuses_a_bad_token_request_in_its_own_words(
    server: RunningServer, tenant: str, form: dict[str, str], status: int, error: str, code: int
) -> None:
    answer = request_token(server.url, tenant, **form)

    assert_entra_refusal(answer, status, error, code)
    if "client_id" in form:
        assert form["client_id"] in answer.json()["error_description"]


def test_a_json_body_lacks_the_grant_type(server: RunningServer) -> None:
    answer = httpx.post(
        f"{server.url}/botframework.com/oauth2/v2.0/token", json={"grant_type": "x"}
    )

    assert_entra_refusal(answer, 400, "invalid_request", 900144)


def test_issued_to_knows_only_unexpired_access_tokens_of_its_own() -> None:
    clock = FakeClock()
    issuer = TeamsTokens(clock=clock)
    app = issuer.register_app(APP_ID, PASSWORD)
    token = issuer.issue_access_token(app, BOTFRAMEWORK_TENANT_ID)

    assert issuer.issued_to(token) == APP_ID
    assert issuer.issued_to(issuer.mint_inbound(APP_ID, SERVICE_URL)) is None
    assert issuer.issued_to("not-a-token") is None
    assert TeamsTokens().issued_to(token) is None
    clock.now += 3599
    assert issuer.issued_to(token) is None


# ---------------------------------------------------------------- log, faults, control


def test_the_request_log_never_keeps_the_secret(server: RunningServer) -> None:
    request_token(server.url)
    request_token(server.url, client_secret="a-wrong-secret")

    log = control(server, "/_emulator/requests")

    assert [entry["status"] for entry in log["requests"]] == [200, 401]
    assert log["requests"][0]["body"]["client_secret"] == "[redacted]"
    assert PASSWORD not in json.dumps(log)
    assert "a-wrong-secret" not in json.dumps(log)


def test_a_keys_fault_makes_key_fetching_fail_once(
    server: RunningServer, tokens: TeamsTokens
) -> None:
    control(server, "/_emulator/faults", {"route": "keys", "status": 503})
    token = tokens.mint_inbound(APP_ID, SERVICE_URL)

    with pytest.raises(jwt.PyJWKClientConnectionError):
        jwt.PyJWKClient(keys_url(server)).get_signing_key_from_jwt(token)
    assert jwt.PyJWKClient(keys_url(server)).get_signing_key_from_jwt(token).key_id == tokens.kid
    statuses = [
        (e["route"], e["status"]) for e in control(server, "/_emulator/requests")["requests"]
    ]
    assert statuses == [("keys", 503), ("keys", 200)]


async def test_a_dropped_keys_connection_fails_the_sdks_validation(
    server: RunningServer, tokens: TeamsTokens
) -> None:
    control(server, "/_emulator/faults", {"route": "keys", "drop": True, "count": 2})

    with pytest.raises(jwt.PyJWKClientConnectionError):
        await validator(server).validate_token(tokens.mint_inbound(APP_ID, SERVICE_URL))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(keys_url(server))
    (first, second) = control(server, "/_emulator/requests")["requests"]
    assert (first["status"], first["fault"]) == (0, "drop")
    assert second["fault"] == "drop"


def test_a_token_fault_answers_the_status_with_retry_after(server: RunningServer) -> None:
    control(server, "/_emulator/faults", {"route": "token", "status": 429, "retry_after": 7})

    answer = request_token(server.url)

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert request_token(server.url).status_code == 200


def test_reset_forgets_the_log_and_the_faults(server: RunningServer) -> None:
    pending = control(server, "/_emulator/faults", {"route": "*", "count": None})
    assert pending == {"pending_faults": 0}  # an uncounted fault waits for every request
    httpx.get(keys_url(server))

    assert control(server, "/_emulator/reset", {}) == {"ok": True}

    assert httpx.get(keys_url(server)).status_code == 200
    assert len(control(server, "/_emulator/requests")["requests"]) == 1


def test_control_registers_a_bot_and_mints_its_inbound_tokens(server: RunningServer) -> None:
    control(server, "/_emulator/apps", {"app_id": OTHER_APP_ID, "password": "other-secret"})
    minted = control(
        server, "/_emulator/inbound_tokens", {"app_id": OTHER_APP_ID, "service_url": SERVICE_URL}
    )

    signing_key = jwt.PyJWKClient(keys_url(server)).get_signing_key_from_jwt(minted["token"])
    claims = jwt.decode(
        minted["token"], signing_key.key, algorithms=["RS256"], audience=OTHER_APP_ID
    )
    assert claims["serviceurl"] == SERVICE_URL
    answer = request_token(server.url, client_id=OTHER_APP_ID, client_secret="other-secret")
    assert answer.status_code == 200


def test_python_m_serves_the_issuer_until_interrupted() -> None:
    with launched("emulator.teams_tokens", "--app-id", APP_ID, "--app-password", PASSWORD) as (
        url,
    ):
        assert httpx.get(f"{url}{OPENID_PATH}").json()["jwks_uri"] == f"{url}{KEYS_PATH}"
        assert request_token(url).status_code == 200
