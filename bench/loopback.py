"""The whole product on loopback for the benchmarks, and a Slack that drives it.

DynamoDB is moto server in a process of its own: importing moto registers a
botocore hook in every session created afterwards, which the app would then
pay for on each call (and moto's request handling would share our GIL). The
Slack, Stripe and Bedrock emulators are served from threads of this process.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import boto3

from bot.adapters.dynamodb_store import create_table
from emulator import bedrock_api, slack_requests, stack
from emulator.bedrock_api import BedrockEmulator
from emulator.server import serve_in_thread
from emulator.slack_api import SlackWorkspace, user_object
from emulator.slack_api import create_app as slack_app
from emulator.stripe_api import StripeEmulator
from emulator.stripe_api import create_app as stripe_app

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret"
STRIPE_KEY = "sk_test_bench"
MODEL_ID = "us.amazon.nova-2-lite-v1:0"
TABLE = "paybot-bench"
TRACE_HEADER = "X-Bench-Trace"
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}
ASK_TO_PAY = "I need to pay invoice INV-1001, $45"
OFFER = bedrock_api.tool_use(
    "decide",
    {
        "reply": "Sure: invoice *INV-1001* for *$45.00*. Enter your card in the secure form.",
        "next_step": "offer_card_form",
        "intent": "pay",
        "amount": "45.00",
        "currency": "USD",
        "reference": "INV-1001",
    },
)

_MOTO = """
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.WARNING)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


@contextmanager
def moto_server() -> Iterator[str]:
    """DynamoDB on moto server in a child process; yields its endpoint URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", _MOTO],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def create_sessions_table(dynamodb_url: str, table: str = TABLE) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_url,
        region_name=AWS_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    create_table(client, table)


@dataclass
class Emulators:
    slack: SlackWorkspace
    stripe: StripeEmulator
    bedrock: BedrockEmulator
    slack_url: str
    stripe_url: str
    bedrock_url: str

    def reset(self) -> None:
        """Drop what the emulators recorded, so their memory stays small over a long run."""
        self.slack.reset()
        self.stripe.reset()
        self.bedrock.reset()
        self.bedrock.default_reply = OFFER


@contextmanager
def emulators() -> Iterator[Emulators]:
    """Slack, Stripe and Bedrock stand-ins; Bedrock offers the card form unless scripted."""
    workspace, stripe, bedrock = SlackWorkspace(), StripeEmulator(), BedrockEmulator()
    bedrock.default_reply = OFFER
    with ExitStack() as stack:
        slack_server = stack.enter_context(serve_in_thread(slack_app(workspace)))
        stripe_server = stack.enter_context(serve_in_thread(stripe_app(stripe)))
        bedrock_server = stack.enter_context(serve_in_thread(bedrock_api.create_app(bedrock)))
        yield Emulators(
            workspace, stripe, bedrock, slack_server.url, stripe_server.url, bedrock_server.url
        )


def app_environment(emulated: Emulators, dynamodb_url: str) -> dict[str, str]:
    """What the app reads, as production would set it: DynamoDB sessions, Bedrock dialogue."""
    return stack.app_environment(
        slack_url=emulated.slack_url,
        stripe_url=emulated.stripe_url,
        sqlite_path=None,
        token=emulated.slack.token,
        signing_secret=SIGNING_SECRET,
        stripe_key=STRIPE_KEY,
        log_level="INFO",
        **AWS_CREDENTIALS,
        AWS_ENDPOINT_URL_DYNAMODB=dynamodb_url,
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=emulated.bedrock_url,
        SESSION_STORE="dynamodb",
        SESSIONS_TABLE=TABLE,
        DIALOGUE_ENGINE="bedrock",
        BEDROCK_MODEL_ID=MODEL_ID,
        # The load test's hundreds of payers share one workspace within seconds: past the
        # default workspace ceilings (100 cards, 1,000 model turns an hour). The buckets
        # are still taken from on every request, as in production; only never emptied.
        LIMIT_WORKSPACE_CARD_SUBMISSIONS_PER_HOUR="100000",
        LIMIT_WORKSPACE_TURNS_PER_HOUR="1000000",
    )


def add_users(workspace: SlackWorkspace, count: int, prefix: str = "U0BENCH") -> list[str]:
    """`count` payers in the workspace, e.g. U0BENCH00001."""
    ids = [f"{prefix}{n:05d}" for n in range(1, count + 1)]
    for user_id in ids:
        workspace.add_user(user_object(user_id, user_id.lower(), team_id=workspace.team_id))
    return ids


# ---------------------------------------------------------------- sending as Slack does


def send(
    app_url: str,
    request: slack_requests.SlackRequest,
    *,
    trace_id: str | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes]:
    """POST `request` to the app, signed as Slack signs it; (status, body)."""
    headers = request.headers(SIGNING_SECRET)
    if trace_id is not None:
        headers[TRACE_HEADER] = trace_id
    return _http(app_url, "POST", "/slack/events", request.body, headers, timeout)


def health(app_url: str) -> None:
    status, _ = _http(app_url, "GET", "/health", None, {}, 10.0)
    assert status == 200, status


def _http(
    app_url: str,
    method: str,
    path: str,
    body: bytes | None,
    headers: Mapping[str, str],
    timeout: float,
) -> tuple[int, bytes]:
    """One request on a fresh connection, as Slack makes them."""
    address = urlsplit(app_url)
    connection = http.client.HTTPConnection(
        address.hostname or "127.0.0.1", address.port, timeout=timeout
    )
    try:
        connection.request(method, path, body=body, headers={**headers, "Connection": "close"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def environ_with(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment plus `extra`, for a child process."""
    return {**os.environ, **extra, "PYTHONDONTWRITEBYTECODE": "1"}
