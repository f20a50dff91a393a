"""Work per turn: the calls one Slack request makes to DynamoDB, Bedrock, Stripe and Slack.

Counted at the transport layer inside the app's process (`bench.outbound`), over
the ack and any lazy listener the request started, for a scripted payment run
several times by different users; and Bedrock's `usage.inputTokens` (as the
app received them from the emulator) at turns 1, 10 and 50 of one long
free-text conversation.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench import ack_latency, loopback
from bench.loopback import Emulators
from bench.traced import TracedApp
from emulator import bedrock_api, driver, slack_requests
from handlers.slack.blocks import CANCEL_PAYMENT, CARD_FORM, OPEN_CARD_FORM

RUNS = 5
TOKEN_TURNS = (1, 10, 20, 50)
TOKEN_TARGET = 1500
DYNAMODB_TARGET = 2  # plus the claim's writes: see `targets`

# The Slack surfaces, in the order one payment meets them.
DM = "DM, free text"
DM_WITH_PAN = "DM carrying a card number"
BUTTON = "button: Enter card securely"
SUBMIT = "modal submit, valid card"
SUBMIT_INVALID = "modal submit, invalid expiry"
PAY = "/pay 45 USD INV-1001"
PAY_HELP = "/pay help"
CANCEL = "button: Cancel"


EVENTS_API = (DM, DM_WITH_PAN)
"""Surfaces Slack delivers through the Events API: each carries one ledger claim, written
when the delivery arrives and marked complete once it is answered."""
CLAIMING = (*EVENTS_API, SUBMIT)
"""Surfaces with one claim write: the ledger's, or the card submission's in-progress claim."""
LIMITED = (DM, SUBMIT)
"""Surfaces that take from an abuse-limit budget (a model turn, a card submission): one
conditional write each for the person's bucket and the workspace's (`bot.limits`; a
refusal would read the bucket once more)."""


OFFERING = (DM, DM_WITH_PAN)
"""Surfaces whose answer here is an offer (the card entry's buttons): one write after it is
posted records where it is, so that it can be closed in place (README, one live offer)."""


def targets(surface: str) -> dict[str, int]:
    """The most calls a turn on `surface` should make, per service."""
    return {
        "dynamodb": DYNAMODB_TARGET
        + (1 if surface in CLAIMING else 0)
        + (1 if surface in EVENTS_API else 0)
        + (2 if surface in LIMITED else 0)
        + (1 if surface in OFFERING else 0),
        "bedrock": 1 if surface == DM else 0,  # a pasted card is answered by the rule engine
        # A person's first card: find or create their Customer (search, create), then
        # the PaymentMethod and the SetupIntent that confirms it. Later cards: 2.
        "stripe": 4 if surface == SUBMIT else 0,
    }


@dataclass(frozen=True)
class TurnWork:
    surface: str
    calls: dict[str, int]
    """Calls per turn by `service:operation`, e.g. `dynamodb:GetItem`."""
    runs: int
    consistent: bool
    """Every run made exactly the same calls."""

    def count(self, service: str) -> int:
        return sum(n for label, n in self.calls.items() if label.startswith(f"{service}:"))

    def missed(self) -> list[str]:
        """The services this turn called more often than its target allows."""
        return [name for name, most in targets(self.surface).items() if self.count(name) > most]

    def of(self, service: str) -> str:
        """`2 (GetItem 1, PutItem 1)`, or `0`."""
        parts = [
            f"{label.split(':', 1)[1]} {n}"
            for label, n in sorted(self.calls.items())
            if label.startswith(f"{service}:")
        ]
        total = self.count(service)
        return f"{total} ({', '.join(parts)})" if total and service != "bedrock" else str(total)


@dataclass(frozen=True)
class WorkPerTurn:
    turns: tuple[TurnWork, ...]
    input_tokens: tuple[tuple[int, int], ...]
    """(turn number, Bedrock inputTokens) along one long conversation."""
    max_input_tokens: int
    conversation_turns: int


def _payment(app: TracedApp, emulated: Emulators, user_id: str) -> Iterator[tuple[str, Any]]:
    """One user's payment, surface by surface; yields (surface, trace)."""
    slack = emulated.slack
    ids = (f"{user_id}-{n}" for n in itertools.count())

    def send(request: slack_requests.SlackRequest) -> Any:
        trace_id = next(ids)
        status, _ = loopback.send(app.url, request, trace_id=trace_id)
        assert status == 200, status
        return app.trace(trace_id)

    channel = slack.dm_channel(user_id)
    yield PAY_HELP, send(driver.pay(slack, user_id, "help"))
    yield DM, send(driver.dm(slack, user_id, loopback.ASK_TO_PAY))
    offer = slack.messages(channel)[-1]
    yield CANCEL, send(driver.click(slack, user_id, offer, CANCEL_PAYMENT))
    yield DM_WITH_PAN, send(driver.dm(slack, user_id, "my card is 4242 4242 4242 4242"))
    offer = slack.messages(channel)[-1]
    yield BUTTON, send(driver.click(slack, user_id, offer, OPEN_CARD_FORM))
    form = _form(emulated, user_id)
    yield SUBMIT_INVALID, send(driver.submit(user_id, form, {**loopback.CARD, "expiry": "13/99"}))
    yield SUBMIT, send(driver.submit(user_id, form, loopback.CARD))
    yield PAY, send(driver.pay(slack, user_id, "45 USD INV-1001"))


def _form(emulated: Emulators, user_id: str) -> dict[str, Any]:
    forms = [v for v in emulated.slack.views(user_id) if v.get("callback_id") == CARD_FORM]
    return forms[-1]


_CHAT = [
    "hi, I have a question about paying",
    "it's for the March consulting work",
    "what currencies can I use?",
    "my colleague usually handles this, bear with me",
    "the invoice number should be on the PDF somewhere",
]
_ASK = bedrock_api.tool_use(
    "decide",
    {
        "reply": "Thanks. What is the invoice reference and the amount you'd like to pay?",
        "next_step": "ask",
        "intent": "pay",
    },
)


def _input_tokens(app: TracedApp, emulated: Emulators, user_id: str, turns: int) -> list[int]:
    emulated.bedrock.script(*[_ASK] * turns)
    tokens = []
    for n in range(turns):
        text = f"{_CHAT[n % len(_CHAT)]} ({n + 1})"
        trace_id = f"{user_id}-chat-{n}"
        loopback.send(app.url, driver.dm(emulated.slack, user_id, text), trace_id=trace_id)
        (used,) = app.trace(trace_id).lazy.input_tokens
        tokens.append(used)
    return tokens


def measure(runs: int = RUNS, progress: Callable[[str], None] = print) -> WorkPerTurn:
    with ack_latency.running() as (emulated, app):
        users = loopback.add_users(emulated.slack, runs + 2)
        # The first request of a process also makes Bolt's one `auth.test`: not a turn's work.
        loopback.send(app.url, driver.pay(emulated.slack, users[-1], "help"))
        seen: dict[str, list[Counter[str]]] = {}
        for user_id in users[:runs]:
            for surface, trace in _payment(app, emulated, user_id):
                seen.setdefault(surface, []).append(Counter(trace.calls()))
        progress("  work per turn: payment flows counted; long conversation next")
        turns = max(TOKEN_TURNS)
        tokens = _input_tokens(app, emulated, users[runs], turns)
    return WorkPerTurn(
        turns=tuple(
            TurnWork(surface, dict(counts[0]), len(counts), all(c == counts[0] for c in counts))
            for surface, counts in seen.items()
        ),
        input_tokens=tuple((turn, tokens[turn - 1]) for turn in TOKEN_TURNS),
        max_input_tokens=max(tokens),
        conversation_turns=turns,
    )


if __name__ == "__main__":
    result = measure()
    for row in result.turns:
        print(
            f"{row.surface:30} dynamodb {row.of('dynamodb')}; bedrock {row.of('bedrock')}; "
            f"stripe {row.of('stripe')}; slack {row.of('slack')}"
            + ("" if row.consistent else "  (varied between runs)")
        )
    print(
        "Bedrock inputTokens by turn: "
        + ", ".join(f"turn {turn}: {tokens}" for turn, tokens in result.input_tokens)
        + f"; max over {result.conversation_turns} turns: {result.max_input_tokens}"
    )
