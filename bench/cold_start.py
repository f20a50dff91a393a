"""Cold start: a fresh process imports the Lambda handler and serves one request.

Compared, in the same run and interleaved so both see the same machine noise,
with the floor: a fresh process that only runs
`from slack_bolt.adapter.aws_lambda import SlackRequestHandler`.
The request is `/pay help` as API Gateway (HTTP API v2) delivers it, against
DynamoDB on moto server and the Slack emulator, as on Lambda.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loopback import AWS_CREDENTIALS, create_sessions_table, moto_server
from emulator import slack_requests
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, GENERAL_CHANNEL_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
FLOOR = "from slack_bolt.adapter.aws_lambda import SlackRequestHandler"
OURS = """
import json, sys
from handlers.aws_lambda import handler

class Context:
    function_name = "paybot-bench-slack"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:paybot-bench-slack"

response = handler(json.load(open(sys.argv[1])), Context())
assert response["statusCode"] == 200, response
"""


@dataclass(frozen=True)
class ColdStart:
    runs: int
    floor_ms: float
    ours_ms: float

    @property
    def ratio(self) -> float:
        return self.ours_ms / self.floor_ms


def _event(workspace: SlackWorkspace) -> dict[str, Any]:
    request = slack_requests.slash_command(
        text="help",
        user_id=DEFAULT_USER_ID,
        channel_id=GENERAL_CHANNEL_ID,
        trigger_id=workspace.issue_trigger_id(),
    )
    headers = {k.lower(): v for k, v in request.headers(SECRET, timestamp=int(time.time())).items()}
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": request.body.decode(),
        "isBase64Encoded": False,
    }


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def measure(runs: int = 15) -> ColdStart:
    """Median wall time of `runs` fresh processes each, ours and the floor, interleaved."""
    workspace = SlackWorkspace()
    with (
        moto_server() as dynamodb_url,
        serve_in_thread(slack_app(workspace)) as slack,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {
            **os.environ,
            **AWS_CREDENTIALS,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_LAMBDA_FUNCTION_NAME": "paybot-bench-slack",
            "SESSIONS_TABLE": "paybot-bench",
            "SLACK_BOT_TOKEN": workspace.token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": f"{slack.url}/api/",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        create_sessions_table(dynamodb_url, "paybot-bench")
        floor, ours = [], []
        event_file = Path(tmp) / "event.json"
        for _ in range(runs + 1):  # the first pair warms the disk cache and is dropped
            event_file.write_text(json.dumps(_event(workspace)))
            floor.append(_timed([sys.executable, "-c", FLOOR], env))
            ours.append(_timed([sys.executable, "-c", OURS, str(event_file)], env))
    return ColdStart(runs, statistics.median(floor[1:]), statistics.median(ours[1:]))


if __name__ == "__main__":
    result = measure()
    print(
        f"cold start: ours {result.ours_ms:.0f} ms, floor {result.floor_ms:.0f} ms, "
        f"ratio {result.ratio:.2f}x (median of {result.runs})"
    )
