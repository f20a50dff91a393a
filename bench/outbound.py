"""Time and count the app's outgoing HTTP calls at the transport layer, per thread.

Three SDKs carry every call the app makes: slack_sdk (`urllib.request.urlopen`),
botocore (`URLLib3Session.send`, for DynamoDB and Bedrock) and stripe
(`RequestsClient.request`). Each is wrapped so that the time from sending a
request to having read its whole response is added to the `Segment` the
calling thread is recording into, and the call is counted by service and
operation. Everything around the wire (signing, serialising, parsing the
answer) stays on our side of the line: that is the app's own work.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import botocore.httpsession
import slack_sdk.web.base_client
import stripe._http_client

__all__ = ["Segment", "install", "recording"]


@dataclass
class Segment:
    """What one thread spent on one Slack request: seconds on the wire, and the calls made."""

    wait: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    input_tokens: list[int] = field(default_factory=list)
    """Bedrock's `usage.inputTokens`, one per Converse call, as the app received them."""


_local = threading.local()
_installed = False


def _current() -> Segment | None:
    return getattr(_local, "segment", None)


@contextmanager
def recording(segment: Segment) -> Iterator[Segment]:
    """Add this thread's outgoing calls to `segment` until the block ends."""
    previous = _current()
    _local.segment = segment
    try:
        yield segment
    finally:
        _local.segment = previous


def _add(label: str, seconds: float) -> None:
    segment = _current()
    if segment is not None:
        segment.wait += seconds
        segment.calls[label] += 1


def _dynamodb_label(target: str, body: bytes | None) -> str:
    operation = target.rsplit(".", 1)[-1]
    if operation in ("PutItem", "UpdateItem") and body:
        request = json.loads(body)
        key = (request.get("Item") or request.get("Key") or {}).get("pk", {}).get("S", "")
        if key.startswith("event#"):
            kind = "claim" if operation == "PutItem" else "complete"
            return f"dynamodb:{operation}({kind})"
    return f"dynamodb:{operation}"


def _botocore_label(request: Any) -> str:
    target = request.headers.get("X-Amz-Target")
    if target:
        target = target.decode() if isinstance(target, bytes) else target
        return _dynamodb_label(target, request.body)
    path = urlsplit(request.url).path
    if path.endswith("/converse"):
        return "bedrock:Converse"
    return f"aws:{request.method} {path}"


def _wrap_botocore(send: Callable[..., Any]) -> Callable[..., Any]:
    def timed_send(self: Any, request: Any) -> Any:
        started = time.perf_counter()
        response = None
        try:
            response = send(self, request)  # botocore reads the whole body inside send
            return response
        finally:
            # Labelling parses JSON: that is our cost, so it stays on the clock too.
            label = _botocore_label(request)
            if label == "bedrock:Converse" and response is not None:
                _note_tokens(response)
            _add(label, time.perf_counter() - started)

    return timed_send


def _note_tokens(response: Any) -> None:
    segment = _current()
    if segment is None or response.status_code != 200:
        return
    usage = json.loads(response.content).get("usage", {})
    if "inputTokens" in usage:
        segment.input_tokens.append(int(usage["inputTokens"]))


def _wrap_urlopen(urlopen: Callable[..., Any]) -> Callable[..., Any]:
    def timed_urlopen(request: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        url = request.full_url if hasattr(request, "full_url") else str(request)
        try:
            response = urlopen(request, *args, **kwargs)
            body = response.read()  # slack_sdk reads it next; reading here keeps it on the clock
            response.read = _replay(body)
            return response
        finally:
            _add("slack:" + urlsplit(url).path.rsplit("/", 1)[-1], time.perf_counter() - started)

    return timed_urlopen


def _replay(body: bytes) -> Callable[..., bytes]:
    remaining = [body]

    def read(*_: Any) -> bytes:
        data, remaining[0] = remaining[0], b""
        return data

    return read


def _wrap_stripe(request: Callable[..., Any]) -> Callable[..., Any]:
    def timed_request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return request(self, method, url, *args, **kwargs)  # the content is read inside
        finally:
            label = f"stripe:{method.upper()} {urlsplit(url).path}"
            _add(label, time.perf_counter() - started)

    return timed_request


def install() -> None:
    """Wrap the three transports; idempotent. Threads not recording are unaffected."""
    global _installed
    if _installed:
        return
    session = botocore.httpsession.URLLib3Session
    session.send = _wrap_botocore(session.send)  # type: ignore[method-assign]
    slack = slack_sdk.web.base_client
    slack.urlopen = _wrap_urlopen(slack.urlopen)  # type: ignore[attr-defined]
    client = stripe._http_client.RequestsClient
    client.request = _wrap_stripe(client.request)  # type: ignore[method-assign]
    _installed = True
