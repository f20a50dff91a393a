"""Several payers in one emulated workspace, and a watch on how each Slack delivery ended."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.errors import PaybotError
from emulator.slack_api import user_object
from emulator.slack_requests import TEAM_ID
from tests.integration.harness import Paybot

APOLOGY = PaybotError.user_message
"""What a user is told when a store or service failure stopped their turn."""

_IGNORED = re.compile(r"duplicate delivery of (\S+) ignored")
_LISTENER_LOGGER = "handlers.slack.messages"


def add_payer(paybot: Paybot, user_id: str) -> str:
    """Add a person to the workspace; return the app's DM channel with them."""
    paybot.slack.add_user(user_object(user_id, user_id.lower(), team_id=TEAM_ID))
    return paybot.slack.dm_channel(user_id)


def bot_replies(paybot: Paybot, channel: str) -> list[dict[str, Any]]:
    """The bot's messages in one channel, oldest first."""
    return [m for m in paybot.slack.messages(channel) if m.get("bot_id")]


class DeliveryWatch(logging.Handler):
    """Sees every end of a DM delivery: a bot message, or the listener's "duplicate ignored" line.

    Every delivery of a DM event ends in exactly one of the two, so once their
    total reaches the number of deliveries sent, the app has nothing left to do.
    """

    def __init__(self, paybot: Paybot) -> None:
        super().__init__(level=logging.INFO)
        self._paybot = paybot
        self._changed = threading.Condition()
        self.ignored: list[str] = []
        paybot.slack.subscribe(lambda _: self._notify())

    def emit(self, record: logging.LogRecord) -> None:
        found = _IGNORED.search(record.getMessage())
        if found:
            with self._changed:
                self.ignored.append(found[1])
                self._changed.notify_all()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def replies(self, channels: list[str]) -> int:
        """How many bot messages the (distinct) `channels` hold together."""
        return sum(len(bot_replies(self._paybot, channel)) for channel in set(channels))

    def wait_for_quiescence(
        self, deliveries: int, channels: list[str], timeout: float = 30.0
    ) -> float:
        """Block until every delivery has ended; return how long that took."""
        started = time.monotonic()
        with self._changed:
            ended = self._changed.wait_for(
                lambda: self.replies(channels) + len(self.ignored) >= deliveries, timeout=timeout
            )
        if not ended:
            raise AssertionError(
                f"{deliveries} deliveries sent, but only {self.replies(channels)} replies "
                f"and {len(self.ignored)} ignored duplicates after {timeout} s"
            )
        return time.monotonic() - started


@contextmanager
def watching_deliveries(paybot: Paybot) -> Iterator[DeliveryWatch]:
    """A `DeliveryWatch` on the DM listener's log for the duration of the block."""
    watch = DeliveryWatch(paybot)
    logger = logging.getLogger(_LISTENER_LOGGER)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(watch)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)


def wait_for(condition: Callable[[], bool], *, timeout: float, every: float = 0.02) -> bool:
    """Poll `condition` until it holds or `timeout` passes; for state no callback announces."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
    return True
