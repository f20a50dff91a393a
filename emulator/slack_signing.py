"""Sign requests exactly as Slack signs what it sends to an app's Request URL.

Slack's scheme: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<raw body>")>`, with the
Unix timestamp in `X-Slack-Request-Timestamp`; receivers reject timestamps more than five minutes
from their clock.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

__all__ = [
    "MAX_AGE_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "signature",
    "signature_headers",
    "verify",
]

VERSION = "v0"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
MAX_AGE_SECONDS = 60 * 5


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The `v0=<hex>` value Slack puts in `X-Slack-Signature` for `body` sent at `timestamp`."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def signature_headers(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds to a request carrying `body`; `timestamp` defaults to now."""
    sent_at = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(sent_at),
        SIGNATURE_HEADER: signature(body, secret, sent_at),
    }


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: float | None = None,
    max_age: int = MAX_AGE_SECONDS,
) -> bool:
    """Whether `headers` carry a valid, fresh Slack signature for `body` (header names any case)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    sent_at = lowered.get(TIMESTAMP_HEADER.lower(), "")
    claimed = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not sent_at.isdigit() or not claimed:
        return False
    current = time.time() if now is None else now
    if abs(current - int(sent_at)) > max_age:
        return False
    return hmac.compare_digest(signature(body, secret, int(sent_at)), claimed)
