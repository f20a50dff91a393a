"""Card data typed into Teams turns up in none of the places the product writes.

Teams never shows a card field, but a person can still type a card number into the chat,
put one in their display name, or a tampered client can send one in a card button's data.
The sweep types generated numbers (every brand and separator, from `strategies`) with
their expiries into every one of those inputs, through the served app with the Bedrock
engine, in personal and group chats, signed and unsigned, split across two messages; then
scans every place the product writes: every log record of every logger at DEBUG (the
Teams SDK's and httpx's included), the SQLite database and its WAL as raw bytes, every
message the bot posted to the Bot Connector, every request to the token endpoints, and
every Bedrock request. Then it plants a number in each sink's captured text and the same
scanner must find it, so a sweep that finds nothing could have found something.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from emulator import bedrock_api
from emulator.bedrock_api import BedrockEmulator
from handlers.teams.render import ACTION_KEY
from tests.integration.teams.harness import APP_ID, TeamsPaybot, running_teams
from tests.security.cardholders import Cardholder, cardholders
from tests.security.rig import everything_logged
from tests.security.scanner import Scanner
from tests.security.strategies import Card, SplitCard, card_batches, split_cards

BATCH = 7


def sinks(
    teams: TeamsPaybot, bedrock: BedrockEmulator, logs: list[str], db: Path
) -> dict[str, Any]:
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    return {
        "logs": logs,
        "sqlite bytes": raw.decode("utf-8", "replace"),
        "posted to Teams": [entry.to_json() for entry in teams.connector.requests],
        "chat as shown": teams.posted(),
        "token endpoints": [e.to_json() for e in teams.tokens.recorder.log.entries],
        "bedrock requests": [record.body for record in bedrock.requests],
    }


def type_everywhere(teams: TeamsPaybot, batch: list[Card], holders: list[Cardholder]) -> None:
    cards, holder = iter(batch), iter(holders)

    def typed() -> str:
        card, who = next(cards), next(holder)
        return f"{card.typed} exp {who.expiry}"

    teams.say(f"hi, my card is {typed()}")
    teams.say(f"pay 45 USD INV-1001 {typed()}")
    named = teams.message(text="hello")
    named["from"]["name"] = typed()
    teams.post(named)
    teams.post(teams.message(value={ACTION_KEY: "pay", "number": typed()}))
    group = teams.message(text=f"pay with {typed()}")
    group["conversation"]["conversationType"] = "groupChat"
    teams.post(group)
    teams.say(f"unsigned {typed()}", token="")
    forged = teams.tokens.mint_inbound(APP_ID, teams.service_url, foreign_key=True)
    teams.say(f"forged {typed()}", token=forged)


@pytest.mark.parametrize("kind", ["typed", "split"])
def test_card_data_typed_into_teams_is_found_in_no_sink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    bedrock = BedrockEmulator(
        default_reply=bedrock_api.tool_use(
            "decide", {"reply": "Okay, what are you paying?", "next_step": "ask", "intent": "pay"}
        )
    )
    injected: list[Card] = []
    names: list[Cardholder] = []
    splits: list[tuple[str, ...]] = []
    with (
        everything_logged() as logs,
        running_teams(tmp_path, monkeypatch, bedrock=bedrock) as teams,
    ):

        @settings(
            max_examples=3,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(
            batch=card_batches(BATCH),
            holders=st.lists(cardholders(), min_size=BATCH, max_size=BATCH),
            split=split_cards(),
        )
        def sweep(batch: list[Card], holders: list[Cardholder], split: SplitCard) -> None:
            if kind == "typed":
                injected.extend(batch)
                names.extend(holders)
                type_everywhere(teams, batch, holders)
            else:
                splits.append(split.parts)
                first, second = split.typed
                # As a person types: the second part after the bot answered the first.
                # Two parts in flight at once are not joined (README, "How a payment goes").
                answered = len(teams.posted())
                teams.say(f"my card starts {first}")
                teams.wait_until(lambda: len(teams.posted()) > answered)
                teams.say(second)

        sweep()
        teams.wait_until(lambda: len(teams.posted()) > 0)
        captured = sinks(teams, bedrock, logs.lines(), tmp_path / "sessions.db")

    scanner = Scanner(
        pans=[card.digits for card in injected],
        splits=splits,
        expiries=[(who.month, who.year) for who in names],
    )
    findings = [f for sink, text in captured.items() for f in scanner.scan(sink, text)]
    assert findings == [], "\n".join(map(str, findings))
    assert bedrock.requests, "no Bedrock request was made"

    # Controls: the same scanner finds a number planted in each sink's captured text.
    planted = injected[0].digits if injected else "".join(splits[0])
    control = Scanner(pans=[planted]) if injected else Scanner(splits=splits)
    for sink, text in captured.items():
        mark = planted if injected else " ".join(splits[0])
        assert control.scan(sink, [json.dumps(text, default=str), mark]), sink
