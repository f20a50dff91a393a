"""Bolt's Lambda lazy runner, made safe for card data and correct under serverless-offline.

Bolt re-invokes the function with the whole raw request to run lazy work. The
listeners already keep requests with card data out of lazy work; this runner
refuses them a second time, so a future listener cannot undo that by mistake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltRequest
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from bot.cards import contains_pan
from handlers.services import lambda_target

if TYPE_CHECKING:  # the stubs are a development dependency; the Lambda zip has none
    from types_boto3_lambda import LambdaClient

log = logging.getLogger(__name__)


def carries_card_data(body: dict[str, Any]) -> bool:
    """True for a card form submission, or any typed text holding a card number.

    The DM matchers' detector (`cards.contains_pan`: any whitespace between digits). A
    number split across DMs, or a CVC after a removed one, shows only with the session,
    which this runner does not read: the DM matchers answer those inside the ack.
    """
    if body.get("type") in ("view_submission", "view_closed"):
        return True
    event = body.get("event")
    typed = [event.get("text") if isinstance(event, dict) else None, body.get("text")]
    typed += [a.get("value") for a in body.get("actions") or [] if isinstance(a, dict)]
    return any(isinstance(text, str) and contains_pan(text) for text in typed)


class ContainedLazyRunner(LambdaLazyListenerRunner):
    def __init__(self, logger: logging.Logger, lambda_client: LambdaClient | None = None) -> None:
        """`lambda_client` defaults to boto3's, made on the first deferral."""
        super().__init__(logger, lambda_client)

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        if carries_card_data(request.body):
            log.error("refused to defer a request that carries card data; it was not re-sent")
            return
        arn = str(request.context.get("aws_lambda_invoked_function_arn") or "")
        request.context["aws_lambda_invoked_function_arn"] = lambda_target(arn)
        super().start(function, request)
