"""A Bot Framework token issuer and Entra token endpoint stand-in, for a Teams bot's two tokens.

Inbound: Bot Framework signs each activity it sends a bot with an RS256 JWT (`iss`
`https://api.botframework.com`, `aud` the app id, `serviceurl`); `TeamsTokens.mint_inbound`
makes one, and the server publishes its key where the bot looks for it:
`GET /v1/.well-known/openidconfiguration` (the metadata) and `GET /v1/.well-known/keys` (the
JWKS; the Teams SDK derives this address from the metadata one). Outbound: the bot gets its
own token from Entra with the client credentials grant, `POST /{tenant}/oauth2/v2.0/token`
(`emulator.teams_tokens.entra`), and shows it to the connector (`emulator.teams_connector`),
which asks `TeamsTokens.issued_to` whose it is.

The bot reaches it through two settings: the login URL (this server's address) and the
OpenID metadata URL. Faults (`/_emulator/faults`, routes `openid`, `keys`, `token`; in
process `tokens.recorder.inject(Fault(route="keys", status=503))`) delay, answer an error
status, or drop the connection. Run alone:
`python -m emulator.teams_tokens --port 3004 --app-id ID --app-password SECRET`.
"""

from emulator.teams_tokens.entra import EntraError, token_answer
from emulator.teams_tokens.models import (
    BOT_SCOPE,
    BOTFRAMEWORK_TENANT_ID,
    ISSUER,
    KEYS_PATH,
    MULTI_TENANT,
    OPENID_PATH,
    App,
    TeamsTokens,
)
from emulator.teams_tokens.recorder import Answer, Exchange, Fault
from emulator.teams_tokens.urls import TOKEN_PATH, create_app, main

__all__ = [
    "BOTFRAMEWORK_TENANT_ID",
    "BOT_SCOPE",
    "ISSUER",
    "KEYS_PATH",
    "MULTI_TENANT",
    "OPENID_PATH",
    "TOKEN_PATH",
    "Answer",
    "App",
    "EntraError",
    "Exchange",
    "Fault",
    "TeamsTokens",
    "create_app",
    "main",
    "token_answer",
]
