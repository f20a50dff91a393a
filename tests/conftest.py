"""Servers shared by every test directory: moto server and the served app, over real HTTP."""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from bot.adapters.dynamodb_store import create_table
from tests.integration.harness import Paybot, running_paybot

SESSIONS_TABLE = "paybot-sessions-test"


class AtomicMotoServer(ThreadedMotoServer):
    """moto server answering one request at a time.

    DynamoDB applies each write, its condition included, atomically: of two conditional
    writes racing for one item, one wins. moto's server answers requests on threads and
    its backend takes no lock, so both could pass their condition: a race the real
    service never lets through, and a test of exactly-one-winner would flake on it.
    """

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def one_at_a_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            with lock:  # the whole answer is made under the lock
                answer: Iterable[bytes] = app(environ, start_response)
                return list(answer)

        self._server = make_server(
            self._ip_address, self._port, one_at_a_time, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """Base URL of a moto server on a free loopback port; boto3 finds it through env.

    While it runs, `AWS_ENDPOINT_URL_DYNAMODB`, dummy credentials and the region
    are set in os.environ (so subprocesses inherit them); all are restored after.
    """
    access_log = logging.getLogger("werkzeug")
    access_log_level = access_log.level
    access_log.setLevel(logging.WARNING)  # not one line per request
    server = AtomicMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            env.delenv(variable, raising=False)
        yield url
    server.stop()
    access_log.setLevel(access_log_level)


@pytest.fixture(scope="session")
def dynamodb_client(moto_server: str) -> Any:
    """A boto3 DynamoDB client pointed at the moto server."""
    return boto3.client("dynamodb", endpoint_url=moto_server, region_name="us-east-1")


@pytest.fixture
def moto_reset(moto_server: str) -> str:
    """An empty moto: every table and item from earlier tests is gone."""
    reset = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset) as response:
        assert response.status == 200
    return moto_server


@pytest.fixture
def sessions_table(moto_reset: str, dynamodb_client: Any) -> str:
    """A fresh moto holding only the sessions table, made by `create_table`; its name."""
    create_table(dynamodb_client, SESSIONS_TABLE)
    return SESSIONS_TABLE


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    """The served app (SQLite, rule engine) between emulated Slack, Stripe and Bedrock."""
    with running_paybot(tmp_path, monkeypatch) as running:
        yield running
