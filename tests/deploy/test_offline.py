"""serverless.yml run end to end by serverless-offline: API Gateway's HTTP API and Lambda on
loopback, the real handler in this project's Python, Slack's Web API emulated, DynamoDB and
Secrets Manager on moto server.

A DM is acknowledged by one invocation and answered by a second, lazy one that Bolt starts
through Lambda's Invoke API (AWS_ENDPOINT_URL_LAMBDA), as on AWS. serverless-offline gives
every Python function the same placeholder ARN; the product's lazy runner
(`handlers/slack/lazy.py`) then invokes by the function's own name. A recording pass-through in
front of serverless-offline's Invoke API lets the tests see each invocation.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiohttp import ClientSession, web
from moto.server import ThreadedMotoServer

from bot.adapters.dynamodb_store import SESSION_KEY_PREFIX, create_table
from bot.settings import Settings
from emulator import slack_requests
from emulator.server import RunningServer, serve_in_thread
from emulator.slack_api import DEFAULT_TOKEN, DEFAULT_USER_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from handlers.slack.blocks import CANCEL_PAYMENT, OPEN_CARD_FORM
from tests.deploy.environment import PROJECT_ROOT, REGION, STAGE, serverless_environment

SIGNING_SECRET = "offline-signing-secret"
SESSIONS_TABLE = f"paybot-sessions-{STAGE}"  # serverless.yml: paybot-sessions-<stage>
SLACK_FUNCTION = f"paybot-{STAGE}-slack"
STARTUP_SECONDS = 90
REPLY_SECONDS = 60
# What serverless-offline's Python runner reports as `context.invoked_function_arn`
# for every function: its invoke.py never passes the function's name on.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class InvokeApi:
    """Lambda's Invoke API in front of serverless-offline's: records each invocation and
    passes it on unchanged."""

    lambda_url: str
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        async def invoke(request: web.Request) -> web.Response:
            payload = await request.read()
            self.invocations.append(
                {
                    "function": request.match_info["function"],
                    "type": request.headers.get("X-Amz-Invocation-Type", "RequestResponse"),
                    "event": json.loads(payload or b"{}"),
                }
            )
            name = request.match_info["function"]
            headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-amz")}
            async with (
                ClientSession() as session,
                session.post(
                    f"{self.lambda_url}/2015-03-31/functions/{name}/invocations",
                    data=payload,
                    headers=headers,
                ) as answer,
            ):
                passed_on = {
                    k: v for k, v in answer.headers.items() if k.lower().startswith("x-amz")
                }
                return web.Response(
                    status=answer.status, body=await answer.read(), headers=passed_on
                )

        app = web.Application()
        app.router.add_post("/2015-03-31/functions/{function}/invocations", invoke)
        return app


@dataclass
class Output:
    """A process's combined output, collected by a thread; waits on what it says."""

    lines: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def collect(self, stream: Any) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append("[output closed]\n")
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        def said() -> bool:
            return any(text in line or line == "[output closed]\n" for line in self.lines)

        with self._changed:
            self._changed.wait_for(said, timeout=timeout)
            return any(text in line for line in self.lines)

    def __str__(self) -> str:
        with self._changed:
            return "".join(self.lines)


@dataclass
class Deployment:
    """serverless-offline serving serverless.yml, and the stand-ins around it."""

    url: str
    slack: SlackWorkspace
    invoke_api: InvokeApi
    dynamodb: Any
    output: Output
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        def notify(_: object) -> None:
            with self._changed:
                self._changed.notify_all()

        self.slack.subscribe(notify)

    def post(
        self, request: slack_requests.SlackRequest, *, secret: str = SIGNING_SECRET
    ) -> tuple[int, str]:
        """Send `request` as Slack would, signed with `secret`; the status and the body."""
        http = urllib.request.Request(
            f"{self.url}/slack/events",
            data=request.body,
            headers=request.headers(secret),
            method="POST",
        )
        try:
            with urllib.request.urlopen(http, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        with self._changed:
            if not self._changed.wait_for(condition, timeout=timeout):
                raise AssertionError(f"{what} within {timeout} s; serverless said:\n{self.output}")


def aws_client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """A moto server of this module's own: DynamoDB and Secrets Manager."""
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    access_log.setLevel(level)


@pytest.fixture(scope="module")
def slack() -> Iterator[tuple[SlackWorkspace, RunningServer]]:
    workspace = SlackWorkspace()
    with serve_in_thread(slack_app(workspace)) as server:
        yield workspace, server


def without_settings(environment: dict[str, str]) -> dict[str, str]:
    """`environment` less every paybot setting: they come from serverless.yml and the secret."""
    return {name: value for name, value in environment.items() if name not in Settings.model_fields}


@pytest.fixture(scope="module")
def deployment(
    serverless: Path, moto: str, slack: tuple[SlackWorkspace, RunningServer]
) -> Iterator[Deployment]:
    workspace, slack_server = slack
    dynamodb = aws_client("dynamodb", moto)
    create_table(dynamodb, SESSIONS_TABLE)
    secret_arn = aws_client("secretsmanager", moto).create_secret(
        Name=f"paybot/{STAGE}",
        SecretString=json.dumps(
            {
                "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "STRIPE_SECRET_KEY": "sk_test_offline",
            }
        ),
    )["ARN"]
    http_port, lambda_port = free_port(), free_port()
    invoke_api = InvokeApi(f"http://127.0.0.1:{lambda_port}")
    with serve_in_thread(invoke_api.app()) as invoke_server:
        environment = without_settings(
            serverless_environment(
                AWS_ENDPOINT_URL_DYNAMODB=moto,
                AWS_ENDPOINT_URL_SECRETS_MANAGER=moto,
                AWS_ENDPOINT_URL_LAMBDA=invoke_server.url,
            )
        )
        environment["SLACK_API_URL"] = f"{slack_server.url}/api/"
        command = [
            str(serverless),
            "offline",
            "--stage",
            STAGE,
            "--host",
            "127.0.0.1",
            "--httpPort",
            str(http_port),
            "--lambdaPort",
            str(lambda_port),
            "--noPrependStageInUrl",
            "--noSponsor",
            "--localEnvironment",  # SLACK_API_URL and the AWS endpoints reach the handler
            f"--param=secretArn={secret_arn}",
            "--param=dialogueEngine=rules",
        ]
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: node and every Python it starts
        )
        output = Output()
        assert process.stdout is not None
        threading.Thread(target=output.collect, args=(process.stdout,), daemon=True).start()
        try:
            if not output.wait_for("Server ready", timeout=STARTUP_SECONDS):
                pytest.fail(f"serverless offline did not start:\n{output}", pytrace=False)
            yield Deployment(
                f"http://127.0.0.1:{http_port}", workspace, invoke_api, dynamodb, output
            )
        finally:
            stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    """End serverless-offline and every handler process it started."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(process.pid):
            process.poll()
            time.sleep(0.1)
    process.wait(timeout=10)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def offline(deployment: Deployment) -> Deployment:
    """The running deployment with no messages, invocations or sessions from earlier tests."""
    deployment.slack.reset()
    deployment.invoke_api.invocations.clear()
    for item in deployment.dynamodb.scan(TableName=SESSIONS_TABLE)["Items"]:
        deployment.dynamodb.delete_item(TableName=SESSIONS_TABLE, Key={"pk": item["pk"]})
    return deployment


def bot_messages(deployment: Deployment) -> list[dict[str, Any]]:
    channel = deployment.slack.dm_channel(DEFAULT_USER_ID)
    return [m for m in deployment.slack.messages(channel) if m.get("bot_id")]


def dm(deployment: Deployment, text: str) -> slack_requests.SlackRequest:
    return slack_requests.message_im_event(
        user_id=DEFAULT_USER_ID,
        channel_id=deployment.slack.dm_channel(DEFAULT_USER_ID),
        text=text,
    )


def test_url_verification_is_answered_through_the_http_api(offline: Deployment) -> None:
    status, body = offline.post(slack_requests.url_verification("challenge-offline"))

    assert status == 200
    assert "challenge-offline" in body


def test_a_dm_is_acked_and_then_answered_by_a_lazy_invocation(offline: Deployment) -> None:
    status, _ = offline.post(dm(offline, "I need to pay invoice INV-1001, $45"))

    assert status == 200
    offline.wait_until(lambda: bot_messages(offline) != [], REPLY_SECONDS, "no DM reply arrived")
    (reply,) = bot_messages(offline)
    assert "INV-1001" in json.dumps(reply["blocks"])
    buttons = [e["action_id"] for b in reply["blocks"] for e in b.get("elements", [])]
    assert buttons == [OPEN_CARD_FORM, CANCEL_PAYMENT]
    (lazy,) = offline.invoke_api.invocations
    assert lazy["function"] == SLACK_FUNCTION  # by name: serverless-offline's ARN is a placeholder
    assert lazy["type"] == "Event"
    assert lazy["event"]["headers"]["x-slack-bolt-lazy-only"] == "1"


def test_the_conversation_is_kept_in_the_deployed_dynamodb_table(offline: Deployment) -> None:
    offline.post(dm(offline, "I need to pay invoice INV-2002, $12"))
    offline.wait_until(lambda: bot_messages(offline) != [], REPLY_SECONDS, "no DM reply arrived")

    key = f"{SESSION_KEY_PREFIX}{slack_requests.TEAM_ID}#{DEFAULT_USER_ID}"
    item = offline.dynamodb.get_item(TableName=SESSIONS_TABLE, Key={"pk": {"S": key}})
    assert "INV-2002" in item["Item"]["data"]["S"]


def test_a_request_not_signed_with_the_secrets_signing_secret_is_refused(
    offline: Deployment,
) -> None:
    status, _ = offline.post(dm(offline, "hi"), secret="not-the-signing-secret")

    assert status == 401
    assert offline.invoke_api.invocations == []


def test_stripes_return_page_is_served_through_the_http_api(offline: Deployment) -> None:
    query = f"team={slack_requests.TEAM_ID}&app={slack_requests.APP_ID}"
    with urllib.request.urlopen(f"{offline.url}/stripe/return?{query}", timeout=30) as answer:
        status, content_type, page = answer.status, answer.headers["Content-Type"], answer.read()

    assert status == 200
    assert content_type.startswith("text/html")
    assert b"Back to Slack" in page
