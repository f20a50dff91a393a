"""Slack: the bot token works and has manifest.yml's scopes; the signing secret is set."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from bot.settings import Settings
from handlers.doctor.report import Check, fail, mask, ok, warn

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
BOT_SCOPES = ("assistant:write", "chat:write", "commands", "im:history")
"""manifest.yml's bot scopes, for where the file is not at hand; a test keeps the two equal."""

SCOPES_HEADER = "x-oauth-scopes"
TIMEOUT_SECONDS = 10

_AUTH_FIX = (
    "copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page into "
    "SLACK_BOT_TOKEN, reinstalling the app to the workspace if it was removed"
)
_SCOPE_PATH = ("oauth_config", "scopes", "bot")
_KEY = re.compile(r"^([A-Za-z_][\w-]*):\s*(.*)$")
_COMMENT = re.compile(r"\s+#.*$")


def check_slack(settings: Settings, *, manifest: Path = MANIFEST) -> list[Check]:
    """The token's identity and scopes through `auth.test`, then the signing secret."""
    return [*_token_checks(settings, manifest), _signing_secret(settings)]


def _token_checks(settings: Settings, manifest: Path) -> list[Check]:
    if settings.SLACK_BOT_TOKEN is None:
        return [fail("slack token", "SLACK_BOT_TOKEN is not set", _AUTH_FIX)]
    token = settings.SLACK_BOT_TOKEN.get_secret_value()
    client = WebClient(token=token, base_url=settings.SLACK_API_URL, timeout=TIMEOUT_SECONDS)
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") or "unknown error"
        return [fail("slack token", f"Slack refused the bot token ({error})", _AUTH_FIX)]
    except (SlackClientError, OSError) as exc:
        fix = "check SLACK_API_URL and this machine's network access to it"
        detail = f"cannot reach Slack at {settings.SLACK_API_URL} ({type(exc).__name__})"
        return [fail("slack token", detail, fix)]
    return [_identity(answer, mask(token)), scope_check(answer.headers, manifest_scopes(manifest))]


def _identity(answer: SlackResponse, masked: str) -> Check:
    who = f"{masked} is {answer.get('user')} in workspace {answer.get('team')}"
    if not answer.get("bot_id"):
        fix = "use the app's Bot User OAuth Token (xoxb-…), not a user token"
        return warn("slack token", f"{who}, but not a bot token", fix)
    return ok("slack token", f"{who} (auth.test)")


def scope_check(headers: Mapping[str, object], needed: tuple[str, ...]) -> Check:
    """The scopes Slack lists in `x-oauth-scopes` (any letter case) against `needed`."""
    granted = next((v for k, v in headers.items() if k.lower() == SCOPES_HEADER), None)
    if not isinstance(granted, str):
        detail = f"Slack did not say which scopes the token has; the bot needs {', '.join(needed)}"
        return warn("slack scopes", detail)
    missing = [scope for scope in needed if scope not in {s.strip() for s in granted.split(",")}]
    if missing:
        fix = (
            "add them to the app (OAuth & Permissions, or update it from manifest.yml) "
            "and reinstall it to the workspace"
        )
        return fail("slack scopes", f"the bot token lacks {', '.join(missing)}", fix)
    return ok("slack scopes", f"the token has every scope manifest.yml asks for ({granted})")


def _signing_secret(settings: Settings) -> Check:
    if settings.SLACK_SIGNING_SECRET is None:
        detail = "SLACK_SIGNING_SECRET is not set, so every request from Slack would be refused"
        fix = "copy the Signing Secret from the app's Basic Information page"
        return fail("slack signing secret", detail, fix)
    return ok("slack signing secret", "SLACK_SIGNING_SECRET is set")


def manifest_scopes(path: Path = MANIFEST) -> tuple[str, ...]:
    """The bot scopes `path` declares; `BOT_SCOPES` when it is absent or declares none."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return BOT_SCOPES
    return bot_scopes(text) or BOT_SCOPES


def bot_scopes(manifest: str) -> tuple[str, ...]:
    """`oauth_config.scopes.bot` of a YAML app manifest, as a block or a flow list.

    Only that list is read (PyYAML is not a runtime dependency).
    """
    path: list[tuple[int, str]] = []
    found: list[str] = []
    for raw in manifest.splitlines():
        line = _COMMENT.sub("", raw).rstrip()
        content = line.lstrip()
        if not content or content.startswith("#"):
            continue
        indent = len(line) - len(content)
        if content.startswith("- "):
            if tuple(key for _, key in path) == _SCOPE_PATH:
                found.append(_scalar(content[2:]))
            continue
        key = _KEY.match(content)
        if key is None:
            continue
        path = [(i, k) for i, k in path if i < indent] + [(indent, key.group(1))]
        value = key.group(2)
        if tuple(k for _, k in path) == _SCOPE_PATH and value.startswith("["):
            found.extend(_scalar(item) for item in value.strip("[]").split(",") if item.strip())
    return tuple(found)


def _scalar(text: str) -> str:
    return text.strip().strip("\"'")
