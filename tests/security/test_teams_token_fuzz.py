"""Bot Framework tokens, forged every way we know: none is accepted, none changes anything.

Each family mutates a genuine token (or the activity it came with) as an attacker could:
the algorithm, the key id, the signature, the claims, the encoding. The activities are a
plain message and a card-button press, so both paths into the service are covered. A
genuine token through the same harness is answered, so a refusal here means the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.teams.harness import APP_ID, TeamsPaybot, running_teams

Mutation = Callable[[TeamsPaybot, dict[str, Any]], str]
"""Given the running system and the activity, the bearer token to send with it."""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    head, body, signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(head), decode(body), signature


def assemble(header: dict[str, Any], claims: dict[str, Any], signature: str) -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), signature])


def genuine(teams: TeamsPaybot, **claims: Any) -> str:
    return teams.tokens.mint_inbound(APP_ID, teams.service_url, **claims)


def resigned_claims(**changes: Any) -> Mutation:
    """The genuine signature kept, the claims changed under it."""

    def mutate(teams: TeamsPaybot, _: dict[str, Any]) -> str:
        header, claims, signature = parts(genuine(teams))
        return assemble(header, {**claims, **changes}, signature)

    return mutate


def header_changed(**changes: Any) -> Mutation:
    def mutate(teams: TeamsPaybot, _: dict[str, Any]) -> str:
        header, claims, signature = parts(genuine(teams))
        return assemble({**header, **changes}, claims, signature)

    return mutate


def hs256_with_the_public_key(teams: TeamsPaybot, _: dict[str, Any]) -> str:
    """The classic confusion: HMAC keyed with the published RSA key's modulus."""
    header, claims, _ = parts(genuine(teams))
    header["alg"] = "HS256"
    key = json.dumps(teams.tokens.jwks()["keys"][0]).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def unsigned(teams: TeamsPaybot, _: dict[str, Any]) -> str:
    header, claims, _ = parts(genuine(teams))
    return assemble({**header, "alg": "none"}, claims, "")


def flipped_signature(teams: TeamsPaybot, _: dict[str, Any]) -> str:
    head, body, signature = genuine(teams).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{b64(bytes(raw))}"


def for_another_chat(teams: TeamsPaybot, activity: dict[str, Any]) -> str:
    activity["serviceUrl"] = "https://smba.trafficmanager.net/emea/"
    return genuine(teams)


NOW = int(time.time())
FAMILIES: dict[str, Mutation] = {
    "no token": lambda teams, _: "",
    "garbage": lambda teams, _: "not-a-token",
    "two segments": lambda teams, _: ".".join(genuine(teams).split(".")[:2]),
    "four segments": lambda teams, _: genuine(teams) + ".AAAA",
    "empty signature": lambda teams, _: genuine(teams).rsplit(".", 1)[0] + ".",
    "flipped signature bit": flipped_signature,
    "alg none": unsigned,
    "alg HS256 keyed with the public key": hs256_with_the_public_key,
    "unknown kid": header_changed(kid="not-a-published-key"),
    "no kid": header_changed(kid=None),
    "foreign key": lambda teams, _: genuine(teams, foreign_key=True),
    "audience swapped under the signature": resigned_claims(aud="another-bot"),
    "serviceurl swapped under the signature": resigned_claims(serviceurl="https://evil.example/"),
    "expiry extended under the signature": resigned_claims(exp=NOW + 86400),
    "another audience": lambda teams, _: genuine(teams, aud="11111111-2222-3333-4444-555555555555"),
    "audience list without us": lambda teams, _: genuine(teams, aud=["someone-else"]),
    "another issuer": lambda teams, _: genuine(
        teams, iss="https://login.microsoftonline.com/x/v2.0"
    ),
    "no issuer": lambda teams, _: genuine(teams, iss=None),
    "expired": lambda teams, _: genuine(teams, exp=NOW - 600, nbf=NOW - 4200),
    "no expiry": lambda teams, _: genuine(teams, exp=None),
    "not yet valid": lambda teams, _: genuine(teams, nbf=NOW + 3600),
    "other serviceurl": lambda teams, _: genuine(teams, serviceurl="https://evil.example/"),
    "no serviceurl": lambda teams, _: genuine(teams, serviceurl=None),
    "activity moved to another service url": for_another_chat,
}
KINDS = {
    "message": lambda teams: teams.message(text="pay 45 USD INV-1001"),
    "card press": lambda teams: teams.message(value={"paybot": "pay"}),
}


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamsPaybot]:
    monkeypatch = pytest.MonkeyPatch()
    try:
        with running_teams(tmp_path_factory.mktemp("fuzz"), monkeypatch) as running:
            yield running
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_forged_token_is_refused_and_changes_nothing(
    teams: TeamsPaybot, family: str, kind: str
) -> None:
    activity = KINDS[kind](teams)
    token = FAMILIES[family](teams, activity)
    posted, checkouts = len(teams.posted()), len(teams.stripe.checkout_sessions)

    answer = teams.post(activity, token=token)

    assert answer.status == 401, answer
    assert len(teams.posted()) == posted
    assert len(teams.stripe.checkout_sessions) == checkouts


def test_the_genuine_token_is_answered_by_the_same_harness(teams: TeamsPaybot) -> None:
    before = len(teams.posted())
    assert teams.post(KINDS["message"](teams)).status == 200
    teams.wait_until(lambda: len(teams.posted()) > before)
