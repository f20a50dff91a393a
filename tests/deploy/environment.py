"""Where the Serverless Framework runs in these tests, and with what environment."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVERLESS = PROJECT_ROOT / "node_modules" / ".bin" / "serverless"
VENV = PROJECT_ROOT / ".venv"
STAGE = "test"
REGION = "us-east-1"


def serverless_environment(**overrides: str) -> dict[str, str]:
    """The environment a `serverless` command runs in here.

    No AWS identity but dummy credentials (packaging needs none; nothing is
    deployed), no telemetry or notices, and this project's virtualenv first on
    PATH, so `python3` is the one with the project's dependencies. Proxy and
    pip settings pass through.
    """
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "SLS_", "SERVERLESS_"))
    }
    return {
        **kept,
        "PATH": os.pathsep.join([str(VENV / "bin"), kept.get("PATH", os.defpath)]),
        "VIRTUAL_ENV": str(VENV),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        **overrides,
    }
