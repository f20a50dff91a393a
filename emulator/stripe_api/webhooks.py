"""Webhook delivery: Events POSTed to one endpoint, signed as Stripe signs them, retried.

Events a request causes wait (`HELD_WEBHOOKS`) until its answer is out, as Stripe's do: a
page's redirect never waits for the webhook endpoint.
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import stripe

from emulator.stripe_api.exceptions import JSON

logger = logging.getLogger("emulator.stripe_api.webhooks")

_ALPHANUMERIC: Final = string.ascii_letters + string.digits


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to deliver one event; `status` is None when the endpoint was unreachable."""

    event_id: str
    type: str
    url: str
    attempt: int
    status: int | None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the endpoint answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> JSON:
        """A JSON-ready copy."""
        return asdict(self)


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<payload>" under secret>`.

    Made by the stripe SDK's own helper, so `stripe.Webhook.construct_event` accepts it.
    """
    header: str = stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=timestamp
    )
    return header


def new_webhook_secret() -> str:
    """A fresh `whsec_` signing secret."""
    return "whsec_" + _random(32)


def checked_webhook_url(url: str) -> str:
    """`url` if it is http(s) on a loopback address; ValueError otherwise."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in {"http", "https"} or not loopback:
        raise ValueError("webhook_url must be an http(s) URL on a loopback address")
    return url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Stripe counts a redirect as a failed delivery; so do we."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True, eq=False)
class WebhookJob:
    """One event on its way to one endpoint, as `WebhookSender.hold` took it."""

    url: str
    secret: str
    event_id: str
    event_type: str
    payload: str


class WebhookSender:
    """POSTs signed events from a background thread, in order, up to `attempts` times each.

    Args:
        record: called with every attempt, from the sending thread.
        clock: seconds since the epoch, for the signature's timestamp.
        attempts: tries per event while the endpoint answers other than 2xx.
        retry_delay: seconds before the second try; it doubles for each try after.
    """

    def __init__(
        self,
        record: Callable[[WebhookDelivery], None],
        *,
        clock: Callable[[], float] = time.time,
        attempts: int = 3,
        retry_delay: float = 0.5,
        timeout: float = 5.0,
    ) -> None:
        self._record = record
        self._clock = clock
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)
        self._jobs: deque[WebhookJob] = deque()
        self._unfinished = 0
        self._working = False
        self._changed = threading.Condition()

    def send(self, url: str, secret: str, event: Mapping[str, Any]) -> None:
        """Queue `event` for `url`; returns at once."""
        self.release([self.hold(url, secret, event)])

    def hold(self, url: str, secret: str, event: Mapping[str, Any]) -> WebhookJob:
        """Take `event` for `url` without sending it yet; `wait_idle` waits for it already."""
        payload = json.dumps(event, indent=2)
        with self._changed:
            self._unfinished += 1
        return WebhookJob(url, secret, str(event["id"]), str(event["type"]), payload)

    def release(self, jobs: Iterable[WebhookJob]) -> None:
        """Queue held jobs, in order; returns at once."""
        with self._changed:
            self._jobs.extend(jobs)
            if self._jobs and not self._working:
                self._working = True
                threading.Thread(target=self._work, name="stripe-webhooks", daemon=True).start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued event has had all its attempts; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._unfinished == 0, timeout)

    def _work(self) -> None:
        while True:
            with self._changed:
                if not self._jobs:
                    self._working = False
                    return
                job = self._jobs.popleft()
            try:
                self._deliver(job)
            finally:
                with self._changed:
                    self._unfinished -= 1
                    self._changed.notify_all()

    def _deliver(self, job: WebhookJob) -> None:
        for attempt in range(1, self._attempts + 1):
            delivery = self._attempt(job, attempt)
            logger.info(
                "webhook %s %s to %s -> %s (attempt %d)",
                job.event_type,
                job.event_id,
                job.url,
                delivery.status if delivery.status is not None else delivery.error,
                attempt,
            )
            self._record(delivery)
            if delivery.succeeded:
                return
            if attempt < self._attempts:
                time.sleep(self._retry_delay * 2 ** (attempt - 1))

    def _attempt(self, job: WebhookJob, attempt: int) -> WebhookDelivery:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header(job.payload, job.secret, int(self._clock())),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        request = urllib.request.Request(  # noqa: S310 - checked_webhook_url: http(s) loopback
            job.url, data=job.payload.encode(), headers=headers, method="POST"
        )
        status: int | None = None
        error: str | None = None
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                status = int(answer.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            error = type(getattr(exc, "reason", exc)).__name__
        return WebhookDelivery(job.event_id, job.event_type, job.url, attempt, status, error)


# Set by the HTTP layer for the request being served: events emitted meanwhile wait in it
# until the answer has been sent.
HELD_WEBHOOKS: Final[contextvars.ContextVar[list[WebhookJob] | None]] = contextvars.ContextVar(
    "stripe_held_webhooks", default=None
)


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))
