"""HTTP as every transport hands it over: a request, an answer, and a few header helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

RETURN_PATH = "/stripe/return"
"""Where Stripe's hosted pages send people back."""

Answer = tuple[int, str, str]
"""HTTP status, content type, body."""

NOT_FOUND: Answer = (404, "text/plain", "not found")

MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest body either HTTP edge reads. Slack's own limits bound its payloads: the
largest, a button press carrying its message (40,000 characters of text, 50 blocks of
3,000), is about 190,000 characters, which JSON escapes (an emoji is 12 bytes) and form
encoding (16) keep near 3 MB at the very worst; typical payloads are a few kilobytes.
Anything larger is not from Slack, and is refused before a byte of it is read."""


@dataclass(frozen=True)
class Request:
    """One request, whichever transport (WSGI, API Gateway) carried it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    """What the transport adds for the app (Lambda's function and raw event, for Bolt)."""


Route = Callable[[Request], Answer]


def header(headers: Mapping[str, Sequence[str] | str], name: str) -> str:
    """A header's (first) value by case-insensitive name; "" when absent.

    API Gateway lower-cases names, other callers may not; Bolt keeps lists of values.
    """
    wanted = name.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), "")
    return value if isinstance(value, str) else (value[0] if value else "")


def base_url(headers: Mapping[str, Sequence[str] | str], public_url: str | None) -> str:
    """`public_url` if set, else the scheme and host this request was sent to."""
    if public_url:
        return public_url.rstrip("/")
    host = header(headers, "host")
    loopback = host.startswith(("127.0.0.1", "localhost", "[::1]"))
    scheme = header(headers, "x-forwarded-proto") or ("http" if loopback else "https")
    return f"{scheme}://{host}"


def return_url(
    headers: Mapping[str, Sequence[str] | str],
    *,
    public_url: str | None,
    query: Mapping[str, str],
) -> str:
    """Our return page, with what it needs to link back to the person's chat (`query`).

    "" when neither `public_url` nor the request names our host: Stripe refuses a URL
    without one, and a request with no return page still works (3-D Secure then ends
    by webhook alone)."""
    if not public_url and not header(headers, "host"):
        return ""
    return f"{base_url(headers, public_url)}{RETURN_PATH}?{urlencode(query)}"
