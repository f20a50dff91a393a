"""The Lambda entry's SnapStart hooks, run as Lambda runs them, in a fresh process.

Lambda runs the before-snapshot hooks (in the reverse order of registration) once, snapshots
the process, and runs the after-restore hooks in each copy it starts from the snapshot.
Here one process stands for both: it runs the before-snapshot hooks, the secret is rotated
(as it may be in the days between a snapshot and a restore), and the after-restore hooks
run twice from the same random state, as two copies of one snapshot would. The copy then
answers a request signed with the rotated key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import boto3
import pytest

from emulator.server import serve_in_thread
from emulator.slack_api import SlackWorkspace
from emulator.slack_api import create_app as slack_app
from tests.deploy.environment import PROJECT_ROOT

OLD_KEY = "signing-secret-at-snapshot"
NEW_KEY = "signing-secret-rotated-since"

COPY = """
import json, random, sys, time
from snapshot_restore_py import get_after_restore, get_before_snapshot

from handlers import aws_lambda

for hook, args, kwargs in reversed(get_before_snapshot()):
    hook(*args, **kwargs)
loaded_before = sorted(sys.modules)
snapshot = random.getstate()

import boto3
from emulator import slack_requests
from emulator.slack_api import DEFAULT_USER_ID, GENERAL_CHANNEL_ID

secret = json.loads(sys.argv[1])
boto3.client("secretsmanager").put_secret_value(
    SecretId=secret["arn"], SecretString=json.dumps(secret["rotated"])
)

draws = []
for _ in range(2):  # two copies of the one snapshot
    random.setstate(snapshot)
    for hook, args, kwargs in get_after_restore():
        hook(*args, **kwargs)
    draws.append(random.random())

request = slack_requests.slash_command(
    text="help", user_id=DEFAULT_USER_ID, channel_id=GENERAL_CHANNEL_ID, trigger_id="t"
)
signed = request.headers(secret["rotated"]["SLACK_SIGNING_SECRET"], timestamp=int(time.time()))
event = {
    "version": "2.0",
    "rawPath": "/slack/events",
    "headers": {k.lower(): v for k, v in signed.items()},
    "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
    "body": request.body.decode(),
    "isBase64Encoded": False,
}

class Context:  # invoked through the alias, as API Gateway invokes a SnapStart version
    function_name = "paybot-test-slack"
    invoked_function_arn = (
        "arn:aws:lambda:us-east-1:123456789012:function:paybot-test-slack:snapstart"
    )

answer = aws_lambda.handler(event, Context())
print(json.dumps({"loaded_before": loaded_before, "draws": draws, "status": answer["statusCode"]}))
"""


@pytest.fixture(scope="module")
def restored(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What one snapshot's copies did: the modules loaded before the snapshot, a number
    each copy drew after its restore, and the status of the request the copy answered."""
    workspace = SlackWorkspace()
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    keys = {"SLACK_BOT_TOKEN": workspace.token, "SLACK_SIGNING_SECRET": OLD_KEY}
    name = f"paybot/snapstart-{uuid.uuid4().hex}"
    arn = secrets.create_secret(Name=name, SecretString=json.dumps(keys))["ARN"]
    rotated = {**keys, "SLACK_SIGNING_SECRET": NEW_KEY}
    with serve_in_thread(slack_app(workspace)) as slack:
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "STRIPE_"))},
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_server,
            "SECRETS_ARN": arn,
            "SLACK_API_URL": f"{slack.url}/api/",
            "SESSION_STORE": "sqlite",
            "SQLITE_PATH": str(tmp_path_factory.mktemp("snapstart") / "sessions.db"),
            "DIALOGUE_ENGINE": "rules",
        }
        done = subprocess.run(
            [sys.executable, "-c", COPY, json.dumps({"arn": arn, "rotated": rotated})],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_restored_copy_serves_with_the_secret_as_it_is_after_the_restore(
    restored: dict[str, Any],
) -> None:
    # The secret held another signing key when the snapshot was taken.
    assert restored["status"] == 200


def test_each_restored_copy_draws_its_own_random_numbers(restored: dict[str, Any]) -> None:
    first, second = restored["draws"]

    assert first != second


def test_the_snapshot_holds_what_later_requests_would_load(restored: dict[str, Any]) -> None:
    loaded = set(restored["loaded_before"])

    assert {"stripe", "bot.adapters.stripe_gateway", "bot.adapters.sqlite_store"} <= loaded
    assert {"handlers.bootstrap", "handlers.slack.app"} <= loaded
    assert not {m for m in loaded if m.startswith("microsoft_teams")}  # Teams is off
