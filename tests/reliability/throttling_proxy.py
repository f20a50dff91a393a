"""An HTTP proxy in front of moto server that throttles DynamoDB requests, as DynamoDB would.

A throttled request never reaches moto: it is answered at once with HTTP 400 and
DynamoDB's `ProvisionedThroughputExceededException`, so whether a write happened
is never in doubt. Which requests are throttled is decided by a seeded RNG (a
`rate`), by a `rule` on the operation and body, or both, in arrival order.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

THROTTLED_TYPE = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
THROTTLED_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
_TARGET_PREFIX = "DynamoDB_20120810."
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}

Rule = Callable[[str, bytes], bool]
"""(operation, request body) -> throttle this request?"""


@dataclass
class Throttling:
    """What the proxy throttles, and what it has seen."""

    rate: float = 0.0
    seed: int = 0
    rule: Rule | None = None
    requests: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def decide(self, operation: str, body: bytes) -> bool:
        """Count the request and say whether to throttle it (one RNG draw per request)."""
        with self._lock:
            self.requests[operation] += 1
            throttle = self._random.random() < self.rate
            if self.rule is not None and self.rule(operation, body):
                throttle = True
            if throttle:
                self.throttled[operation] += 1
            return throttle


def _handler(upstream: str, throttling: Throttling) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            amz_target = self.headers.get("X-Amz-Target", "")
            if amz_target.startswith(_TARGET_PREFIX):
                operation = amz_target.removeprefix(_TARGET_PREFIX)
                if throttling.decide(operation, body):
                    self._throttled()
                    return
            self._forward(body)

        def _throttled(self) -> None:
            payload = json.dumps({"__type": THROTTLED_TYPE, "message": THROTTLED_MESSAGE}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("x-amzn-RequestId", uuid.uuid4().hex)
            self.send_header("x-amz-crc32", str(zlib.crc32(payload)))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _forward(self, body: bytes) -> None:
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request would drown the test output

    return Handler


@contextmanager
def throttling_proxy(upstream: str, throttling: Throttling) -> Iterator[str]:
    """Serve the proxy on a free loopback port for the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, throttling))
    server.daemon_threads = True
    server.block_on_close = False  # botocore keeps connections open; don't wait for them
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
