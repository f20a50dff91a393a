"""What the listeners are given: the service, the event ledger and a few settings."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from bot.metrics import NO_METRICS, Metrics
from bot.ports import EventLedger
from bot.service import ConversationService

EVENT_CLAIM_SECONDS = 24 * 3600
"""How long a handled delivery is remembered; Slack retries within minutes, Stripe within days."""

SERVED_IN_PROGRESS_SECONDS = 60
"""How long a served worker may hold an event before a redelivery may take it over.

Well past the longest turn (a slow model, a Slack rate-limit wait, a Stripe call),
and short enough that Slack's retry a minute later, or Stripe's next one, is answered
when the worker died.
"""


_remaining_millis: ContextVar[Callable[[], int] | None] = ContextVar(
    "remaining_millis", default=None
)


@contextmanager
def lambda_invocation(context: object) -> Iterator[None]:
    """Within the block, event claims last as long as this Lambda invocation may run.

    Lambda kills an invocation when its time is up, so that is how long its claim may
    stay in progress (as Powertools' idempotency does). A context without a clock
    (a test's, serverless-offline's) leaves the served budget in place.
    """
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    token = _remaining_millis.set(remaining if callable(remaining) else None)
    try:
        yield
    finally:
        _remaining_millis.reset(token)


def in_progress_seconds(*, invocations: int = 1) -> int:
    """How long a claim made now may stay in progress before its worker counts as gone.

    `invocations=2` for work that a second (lazy) Lambda invocation finishes: it runs
    under the same function timeout, which is at least this invocation's remaining time.
    """
    remaining = _remaining_millis.get()
    if remaining is None:
        return SERVED_IN_PROGRESS_SECONDS
    return invocations * max(1, math.ceil(remaining() / 1000))


@dataclass(frozen=True)
class Services:
    conversation: ConversationService
    ledger: EventLedger
    webhook_secret: str | None = None
    """Verifies Stripe's webhooks; None when the hosted card page is not configured."""
    public_url: str | None = None
    """This app's public base URL, when it can't be derived from the request."""
    signing_secret: str = ""
    """Slack's signing secret, for the HTTP edge's own check before Bolt (see `guard`)."""
    metrics: Metrics = NO_METRICS
    """Where the app's metrics go (EMF lines on Lambda; nowhere by default)."""
    agent_view: bool = False
    """Slack's agent messaging experience (SLACK_AGENT_VIEW): replies in the thread of the
    person's message, a status while a turn works, suggested prompts in the Messages tab."""


_FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$")


def lambda_target(invoked_arn: str) -> str:
    """The function to hand later work to: the ARN this invocation was called by (with
    SnapStart, the alias, so the work runs on the snapshot too), or the function's own
    name where the ARN is a placeholder (serverless-offline reports one)."""
    if _FUNCTION_ARN.match(invoked_arn):
        return invoked_arn
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME", invoked_arn)
