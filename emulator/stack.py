"""The app's settings for a stack of emulators: what points the product at their base URLs."""

from __future__ import annotations

from pathlib import Path

from emulator.slack_api import DEFAULT_TOKEN

SIGNING_SECRET = "paybot-test-signing-secret"
STRIPE_KEY = "sk_test_paybot"


def app_environment(
    *,
    slack_url: str,
    stripe_url: str | None,
    sqlite_path: Path | None,
    token: str = DEFAULT_TOKEN,
    signing_secret: str = SIGNING_SECRET,
    stripe_key: str = STRIPE_KEY,
    log_level: str | None = "DEBUG",
    **overrides: str,
) -> dict[str, str]:
    """What the app reads to use the Slack at `slack_url` and the Stripe at `stripe_url`.

    Sessions are kept in SQLite at `sqlite_path`. None leaves a setting out, for the app to
    take from elsewhere: the Stripe it is given, its own session store, its own log level.
    `overrides` are further settings, and win over these.
    """
    environment = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": f"{slack_url}/api/",
    }
    if stripe_url is not None:
        environment |= {"STRIPE_SECRET_KEY": stripe_key, "STRIPE_API_BASE": stripe_url}
    if sqlite_path is not None:
        environment |= {"SESSION_STORE": "sqlite", "SQLITE_PATH": str(sqlite_path)}
    if log_level is not None:
        environment["LOG_LEVEL"] = log_level
    return {**environment, **overrides}
