"""Many requests arriving at the served app at once are all accepted (no connection resets)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from emulator import slack_requests
from emulator.slack_api import GENERAL_CHANNEL_ID
from tests.integration.harness import Paybot

BURST = 100
BURSTS = 2


def test_a_burst_of_simultaneous_requests_is_served_without_connection_resets(
    paybot: Paybot,
) -> None:
    requests = [
        slack_requests.slash_command(
            text="help", user_id=paybot.user_id, channel_id=GENERAL_CHANNEL_ID, trigger_id="1.2.3"
        )
        for _ in range(BURST * BURSTS)
    ]

    def send(request: slack_requests.SlackRequest) -> str:
        try:
            return str(paybot.send(request).status)
        except ConnectionResetError:
            return "connection reset"

    answered = Counter[str]()
    for burst in range(BURSTS):
        with ThreadPoolExecutor(max_workers=BURST) as pool:
            answered.update(pool.map(send, requests[burst * BURST : (burst + 1) * BURST]))

    assert answered == {"200": BURST * BURSTS}
