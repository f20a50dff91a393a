"""The one route table: every path paybot serves, for `python -m bot serve` and the Lambda.

The transports (`server.py` for WSGI, `aws_lambda.py` for API Gateway) only turn their
requests into `Request`s and `Answer`s into their responses; what is served where is
decided here, once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

from bot.machine import Effect
from bot.metrics import Metrics
from bot.models import ChatUser, Surface
from handlers import stripe
from handlers.bootstrap import Wiring
from handlers.http import NOT_FOUND, RETURN_PATH, Answer, Request, Route
from handlers.slack import offers
from handlers.slack.app import EVENTS_PATH, events_route

log = logging.getLogger(__name__)

HEALTH_PATH = "/health"

Routes = Mapping[tuple[str, str], Route]
"""Routes by (method, path)."""


# Headers of the function's own re-invocations for work after the ack (Bolt's lazy
# listeners, Teams' deferred turns): their time is not an ack's.
_LATER_WORK_HEADERS = ("x-slack-bolt-lazy-only", "x-paybot-deferred")


def timed(route: Route, surface: Surface, metrics: Metrics) -> Route:
    """`route`, its answer's latency published as `AckLatency` (Slack's limit is 3 s)."""

    def answered(request: Request) -> Answer:
        headers = {name.lower() for name in request.headers}
        if any(name in headers for name in _LATER_WORK_HEADERS):
            return route(request)
        started = time.perf_counter()
        try:
            return route(request)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            metrics.milliseconds("AckLatency", elapsed, dimension=surface)

    return answered


def routes(wiring: Wiring) -> Routes:
    services = wiring.services
    surfaces: dict[Surface, stripe.Deliver] = {}
    table: dict[tuple[str, str], Route] = {}
    if wiring.app is not None:
        client = wiring.app.client

        def to_slack(user: ChatUser, effects: Sequence[Effect]) -> None:
            offers.deliver(services.conversation, client, user, user.user_id, effects)

        surfaces["slack"] = to_slack
        slack_route = events_route(wiring.app, services.signing_secret)
        table[("POST", EVENTS_PATH)] = timed(slack_route, "slack", services.metrics)
    if wiring.teams is not None:
        from handlers.teams.app import MESSAGES_PATH

        surfaces["teams"] = wiring.teams.deliver
        table[("POST", MESSAGES_PATH)] = timed(wiring.teams.route, "teams", services.metrics)

    def deliver(user: ChatUser, effects: Sequence[Effect]) -> None:
        """The effects of a Stripe event, to the person on the surface they are on."""
        send = surfaces.get(user.surface)
        if send is None:  # the session changed; only the message has nowhere to go
            log.error("a %s conversation changed but that surface is not served here", user.surface)
            return
        send(user, effects)

    def webhook(request: Request) -> Answer:
        return stripe.webhook(request.body, request.headers, services, deliver)

    def return_page(request: Request) -> Answer:
        return stripe.return_page(request.query, services, deliver)

    def health(request: Request) -> Answer:
        return 200, "text/plain", "ok"

    return {
        **table,
        ("POST", stripe.WEBHOOK_PATH): webhook,
        ("GET", RETURN_PATH): return_page,
        ("GET", HEALTH_PATH): health,
        ("HEAD", HEALTH_PATH): health,
    }


def answer(table: Routes, request: Request) -> Answer:
    """The route's answer; 404 for any method and path not in the table."""
    route = table.get((request.method, request.path))
    return NOT_FOUND if route is None else route(request)
