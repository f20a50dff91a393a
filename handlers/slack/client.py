"""The Slack Web API client: built for the 3-second ack, and a patient copy for async work."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.metrics import NO_METRICS, Metrics
from bot.settings import Settings

log = logging.getLogger(__name__)


class CountFailures(RetryHandler):
    """Counts each failed Web API call (Slack's `ok: false`, an HTTP error, the network) as
    `ProviderErrors` for Slack; it never retries. Slack's client consults its handlers
    after every response, and Bolt gives each request's client the app client's handlers,
    so this one sees every call the app makes."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        failed = error is not None or (
            response is not None
            and (response.status_code >= 400 or (response.body or {}).get("ok") is False)
        )
        if failed:
            self.metrics.count("ProviderErrors", dimension="slack")
        return False


def build_client(settings: Settings, metrics: Metrics = NO_METRICS) -> WebClient:
    settings.require("SLACK_BOT_TOKEN")
    assert settings.SLACK_BOT_TOKEN is not None
    # Most calls happen inside Slack's 3 s ack: no waiting on `ratelimited`
    # there (Retry-After is whole seconds); the failure is logged instead.
    # Lazy listeners wait: see `patient`.
    client = WebClient(
        token=settings.SLACK_BOT_TOKEN.get_secret_value(),
        base_url=settings.SLACK_API_URL,
        timeout=2,
    )
    # First, so that it sees each response before a handler that retries it.
    client.retry_handlers.insert(0, CountFailures(metrics))
    return client


MAX_RATE_LIMIT_WAIT_SECONDS = 10
"""The longest Retry-After async work waits out: well inside the function's 29 s."""


class BoundedRateLimitRetry(RateLimitErrorRetryHandler):
    """Wait out one `ratelimited` if Slack asks for at most `max_wait` seconds; else give up."""

    def __init__(self, max_wait: float = MAX_RATE_LIMIT_WAIT_SECONDS) -> None:
        super().__init__(max_retry_count=1)
        self._max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        headers = {k.lower(): v for k, v in response.headers.items()}
        wait = (headers.get("retry-after") or ["1"])[0]
        if not wait.isdigit() or int(wait) > self._max_wait:
            log.error("Slack asked to wait %s s; not waiting that long", wait)
            return False
        return True


def patient(client: WebClient) -> WebClient:
    """A copy of `client` for async work: one bounded wait on `ratelimited`."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=10,
        retry_handlers=[*client.retry_handlers, BoundedRateLimitRetry()],
    )
