"""The issuer's state: its signing keys, the bots registered with it, and the tokens it mints."""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.teams_tokens.recorder import JSON, Recorder

ISSUER = "https://api.botframework.com"
"""The `iss` of every token Bot Framework sends a bot (and the OpenID metadata's issuer)."""
BOT_SCOPE = "https://api.botframework.com/.default"
"""The scope a bot asks Entra for to call the Bot Connector."""
BOT_API_AUDIENCE = "https://api.botframework.com"
MULTI_TENANT = "botframework.com"
"""The tenant a multi-tenant bot asks for its token in."""
BOTFRAMEWORK_TENANT_ID = "d6d49420-f39b-4df7-a1dc-d59a935871db"
"""The directory id behind `botframework.com` (the `tid` of a multi-tenant bot's token)."""
ENDORSEMENTS = ("msteams",)
"""The channels a published key is endorsed for; a bot checks its activity's `channelId`."""
INBOUND_LIFETIME_SECONDS = 3600
ACCESS_TOKEN_LIFETIME_SECONDS = 3599
OPENID_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"


@dataclass(frozen=True)
class App:
    """A bot registered with Entra: its app id, its client secret, and its home tenant.

    `tenant_id` None: a multi-tenant bot, whose token comes from `botframework.com`; else a
    single-tenant bot, whose token comes only from its own tenant.
    """

    app_id: str
    password: str
    tenant_id: str | None = None


@dataclass(frozen=True)
class _SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> _SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(_b64url(secrets.token_bytes(20)), private)

    def jwk(self) -> JSON:
        """The public half as Bot Framework publishes it (x5c, the certificate, left out)."""
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "endorsements": list(ENDORSEMENTS),
        }

    def sign(self, claims: dict[str, Any]) -> str:
        headers = {"typ": "JWT", "kid": self.kid, "x5t": self.kid}
        return jwt.encode(claims, self.private, algorithm="RS256", headers=headers)


class TeamsTokens:
    """Bot Framework's token issuer and the Entra token endpoint a bot gets its own token from.

    Two key pairs: one signs what Bot Framework sends a bot with each activity, and is
    published as the JWKS; the other signs the access tokens the bot gets from Entra, which
    only the connector (`issued_to`) checks, as the real connector does. A third key, never
    published, signs the tokens `mint_inbound(foreign_key=True)` forges. Thread-safe.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        access_token_lifetime: int = ACCESS_TOKEN_LIFETIME_SECONDS,
    ) -> None:
        self._clock = clock
        self.access_token_lifetime = access_token_lifetime
        self._inbound_key = _SigningKey.generate()
        self._access_key = _SigningKey.generate()
        self._foreign_key: _SigningKey | None = None
        self._lock = threading.Lock()
        self._apps: dict[str, App] = {}
        self.recorder = Recorder(redact=("client_secret", "client_assertion"))

    @property
    def kid(self) -> str:
        """The id of the published key that signs inbound tokens."""
        return self._inbound_key.kid

    def now(self) -> float:
        return self._clock()

    def register_app(self, app_id: str, password: str, *, tenant_id: str | None = None) -> App:
        """Register a bot (again: replace its secret and tenant); returns the registration."""
        app = App(app_id, password, tenant_id)
        with self._lock:
            self._apps[app_id] = app
        return app

    def app(self, app_id: str) -> App | None:
        with self._lock:
            return self._apps.get(app_id)

    def reset(self) -> None:
        """Forget recorded requests and queued faults; keys, apps and tokens stay valid."""
        self.recorder.reset()

    def mint_inbound(
        self, app_id: str, service_url: str, *, foreign_key: bool = False, **claims_overrides: Any
    ) -> str:
        """The token Bot Framework sends with an activity for `app_id` from `service_url`.

        Claims: `iss`, `aud` (the app id), `serviceurl`, `nbf`, `iat`, `exp` (an hour on).
        `claims_overrides` replace claims (`exp=...`, `aud=...`, `iss=...`, `serviceurl=...`)
        or, given None, remove them; `foreign_key` signs with a key the JWKS never publishes.
        """
        now = int(self._clock())
        claims: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": now,
            "iat": now,
            "exp": now + INBOUND_LIFETIME_SECONDS,
            "iss": ISSUER,
            "aud": app_id,
        }
        claims.update(claims_overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return self._signer(foreign_key).sign(claims)

    def _signer(self, foreign: bool) -> _SigningKey:
        if not foreign:
            return self._inbound_key
        with self._lock:
            if self._foreign_key is None:
                self._foreign_key = _SigningKey.generate()
            return self._foreign_key

    def issue_access_token(self, app: App, tenant_id: str) -> str:
        """An Entra v1 app-only token for the Bot Connector, as client credentials grant."""
        now = int(self._clock())
        authority = f"https://sts.windows.net/{tenant_id}/"
        claims = {
            "aud": BOT_API_AUDIENCE,
            "iss": authority,
            "iat": now,
            "nbf": now,
            "exp": now + self.access_token_lifetime,
            "appid": app.app_id,
            "appidacr": "1",
            "idp": authority,
            "idtyp": "app",
            "tid": tenant_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{app.app_id}")),
            "uti": _b64url(secrets.token_bytes(16)),
            "ver": "1.0",
        }
        claims["sub"] = claims["oid"]
        return self._access_key.sign(claims)

    def issued_to(self, access_token: str) -> str | None:
        """The app id an unexpired access token from this issuer names; None if not one."""
        try:
            claims = jwt.decode(
                access_token,
                self._access_key.private.public_key(),
                algorithms=["RS256"],
                audience=BOT_API_AUDIENCE,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidTokenError:
            return None
        expires = claims.get("exp")
        app_id = claims.get("appid")
        if not isinstance(expires, int) or expires <= self._clock():
            return None
        if not isinstance(app_id, str) or self.app(app_id) is None:
            return None
        return app_id

    def openid_configuration(self, base_url: str) -> JSON:
        """The OpenID metadata Bot Framework publishes, its keys at `base_url`."""
        return {
            "issuer": ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{base_url}{KEYS_PATH}",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def jwks(self) -> JSON:
        """The published keys: the one that signs inbound tokens."""
        return {"keys": [self._inbound_key.jwk()]}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))
