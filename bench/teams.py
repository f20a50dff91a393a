"""Teams: what serving it costs a cold container, and what it adds to the Lambda package.

Cold start: fresh processes import the Lambda entry and answer one request each, as API
Gateway (HTTP API v2) delivers it, interleaved: a Teams activity (`status`, signed as Bot
Framework signs it, answered in the chat through the Bot Connector stand-in) against the
Slack baseline, `/pay help`, in the same process image and settings. The difference is
the Teams SDK's imports and its app, which a container builds on its first Teams request
only; a Slack-only deployment never loads it (`tests/unit/test_boundaries.py`).

Package: `serverless package`'s zip, with the part that only Teams needs summed from its
top-level entries.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cold_start import OURS, _timed
from bench.cold_start import _event as slack_event
from emulator.server import serve_in_thread
from emulator.slack_api import SlackWorkspace
from emulator.slack_api import create_app as slack_app
from emulator.teams_connector import TeamsConnector, new_tenant_id, personal_message
from emulator.teams_connector import create_app as connector_app
from emulator.teams_tokens import OPENID_PATH, TeamsTokens
from emulator.teams_tokens import create_app as tokens_app

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
PASSWORD = "bench-teams-password"
SECRET = "bench-signing-secret"
TEAMS_ONLY = (
    "dependency_injector", "cryptography", "microsoft_teams", "fastapi", "starlette", "uvicorn",
    "msal", "opentelemetry", "jwt", "httpx", "httpcore", "h11", "anyio", "sniffio", "dotenv",
    "pydantic_settings", "click", "cffi", "_cffi_backend", "pycparser", "annotated_doc",
)  # fmt: skip
"""Top-level entries of the zip that only the Teams surface brings (with their dist-info)."""


@dataclass(frozen=True)
class TeamsCost:
    runs: int
    slack_ms: float
    teams_ms: float
    zip_mb: float
    unzipped_mb: float
    teams_unzipped_mb: float

    @property
    def ratio(self) -> float:
        return self.teams_ms / self.slack_ms


def _teams_event(
    tokens: TeamsTokens, connector: TeamsConnector, service_url: str
) -> dict[str, Any]:
    chat = connector.open_personal_chat(new_tenant_id(), "0d4c1c9e-7a43-4d3c-9f5e-2b7f0a1e6c55")
    activity = personal_message(chat, service_url=service_url, text="status", app_id=APP_ID)
    token = tokens.mint_inbound(APP_ID, service_url)
    return {
        "version": "2.0",
        "routeKey": "POST /api/messages",
        "rawPath": "/api/messages",
        "headers": {"content-type": "application/json", "authorization": f"Bearer {token}"},
        "requestContext": {"http": {"method": "POST", "path": "/api/messages"}},
        "body": json.dumps(activity),
        "isBase64Encoded": False,
    }


def cold_starts(runs: int = 9) -> tuple[float, float]:
    """Median wall time of fresh processes answering a Slack request, and a Teams one."""
    workspace, tokens = SlackWorkspace(), TeamsTokens()
    tokens.register_app(APP_ID, PASSWORD)
    connector = TeamsConnector(tokens, APP_ID)
    with (
        serve_in_thread(slack_app(workspace)) as slack,
        serve_in_thread(tokens_app(tokens)) as issuer,
        serve_in_thread(connector_app(connector)) as teams,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {
            **os.environ,
            "AWS_LAMBDA_FUNCTION_NAME": "paybot-bench-slack",
            "SESSION_STORE": "sqlite",
            "SQLITE_PATH": str(Path(tmp) / "sessions.db"),
            "SLACK_BOT_TOKEN": workspace.token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": f"{slack.url}/api/",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_WEBHOOK_SECRET": "whsec_bench",
            "TEAMS_APP_ID": APP_ID,
            "TEAMS_APP_PASSWORD": PASSWORD,
            "TEAMS_LOGIN_URL": issuer.url,
            "TEAMS_OPENID_METADATA_URL": f"{issuer.url}{OPENID_PATH}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        slack_ms, teams_ms = [], []
        slack_file, teams_file = Path(tmp) / "slack.json", Path(tmp) / "teams.json"
        for _ in range(runs + 1):  # the first pair warms the disk cache and is dropped
            slack_file.write_text(json.dumps(slack_event(workspace)))
            teams_file.write_text(json.dumps(_teams_event(tokens, connector, f"{teams.url}/")))
            slack_ms.append(_timed([sys.executable, "-c", OURS, str(slack_file)], env))
            teams_ms.append(_timed([sys.executable, "-c", OURS, str(teams_file)], env))
    return statistics.median(slack_ms[1:]), statistics.median(teams_ms[1:])


def package_sizes() -> tuple[float, float, float]:
    """The zip's size, unzipped size, and the unzipped size of what only Teams needs (MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npx", "serverless", "package", "--stage", "bench", "--package", tmp],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        path = Path(tmp) / "paybot.zip"
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
        unzipped = sum(entry.file_size for entry in entries)
        teams = sum(
            entry.file_size
            for entry in entries
            if entry.filename.split("/")[0].split("-")[0].split(".")[0] in TEAMS_ONLY
        )
        return path.stat().st_size / 1e6, unzipped / 1e6, teams / 1e6


def measure(runs: int = 9) -> TeamsCost:
    slack_ms, teams_ms = cold_starts(runs)
    zipped, unzipped, teams = package_sizes()
    return TeamsCost(runs, slack_ms, teams_ms, zipped, unzipped, teams)


if __name__ == "__main__":
    cost = measure()
    print(
        f"teams cold start: {cost.teams_ms:.0f} ms, slack {cost.slack_ms:.0f} ms, "
        f"ratio {cost.ratio:.2f}x (median of {cost.runs}); package {cost.zip_mb:.1f} MB zipped, "
        f"{cost.unzipped_mb:.1f} MB unzipped, of which Teams {cost.teams_unzipped_mb:.1f} MB"
    )
