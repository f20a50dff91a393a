"""Card data typed into any input the product takes turns up in none of the places it writes.

The sweep runs the product as it really runs, four ways: the served app and the Lambda entry
(lazy listeners re-invoking it through a recording Invoke endpoint), each on SQLite and on
DynamoDB (moto server), with the Bedrock dialogue engine, whose emulator answers every turn
with a valid `decide` tool call. Hypothesis generates card numbers of every brand (Visa,
Mastercard with the 2-series, Amex, Discover, Diners, JCB, UnionPay) typed with spaces, dashes
or no separators, with expiries and CVCs, and the sweep types them into every input: DM text,
`/pay` text, each field of the card modal, button values, the modal's `private_metadata`,
Slack user names, 40,000-character texts, and malformed or unsigned payloads.

Then it captures every place the product writes and scans them all (`scanner.py` says how):
every log record of every logger at DEBUG with its traceback, the process's stdout and stderr,
every row of every SQLite table and the raw database and WAL bytes, every DynamoDB item, every
Slack Web API request, every Bedrock request, every Lambda lazy-invoke payload and escaped
exception, and every Stripe idempotency key. Stripe's API itself is where card numbers are meant
to go, so what it receives is not a sink.

A sweep that finds nothing proves something only if it could have found something. So after
the scan a card number and CVC are planted in every sink, once in its captured text and once
for real where the sink allows it (a raw SQLite row, a raw DynamoDB item, a log record made
past the redaction, a Slack Web API call, a Bedrock request, a Lambda invoke, a write to
stderr), and the same scanner must find every one.

Each card comes with a cardholder (`cardholders.py`): a name with a random surname, an
expiry years past any other in the run, and its CVC in one of the spellings the card form
accepts. The name and the CVC may appear in no sink. The expiry may appear only as Stripe
returns it: in the stored card summary and in the confirmation sent to Slack, each in its one
shape (`EXPIRY_ALLOWED`); never in a log, a Lambda invoke, a Bedrock request or the session's
history (the bot's own turn keeps the confirmation without the expiry).

The sweep's DM text carries a card number and its expiry but no CVC; a CVC typed next to a card
number in a DM is covered on its own by `test_a_cvc_pasted_with_a_card_number_in_a_dm_is_not_kept`.

Card numbers also reach the DM spaced by runs of blanks (tabs, line breaks, no-break spaces),
and split across two DMs, each such number followed by a DM with its CVC and expiry. A split
number counts as found when one sink holds both of its parts (`scanner.py`), and the controls
plant split numbers too.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from emulator import bedrock_api, slack_requests
from emulator.slack_api import DEFAULT_TOKEN, GENERAL_CHANNEL_ID
from handlers.slack.blocks import CANCEL_PAYMENT, OPEN_CARD_FORM, PAY
from tests.integration.harness import MODEL_ID
from tests.security import figures
from tests.security.cardholders import Cardholder, cardholders
from tests.security.rig import (
    COMBINATIONS,
    Answer,
    InvokeCapture,
    RecordedLogs,
    Rig,
    everything_logged,
)
from tests.security.scanner import Finding, Scanner
from tests.security.strategies import (
    Card,
    SplitCard,
    card_batches,
    grouped,
    split_cards,
    widely_spaced,
)

WELL_FORMED_EXAMPLES = 15
"""Hypothesis examples per runtime and store; each types BATCH cards into the inputs below."""
BATCH = 17
OVERSIZED_EXAMPLES = 3
ACROSS_TURNS_EXAMPLES = 5
"""Examples per runtime and store; each types SPACED wide-gap and SPLIT split numbers."""
SPACED = 2
SPLIT = 2
CARDS_PER_OVERSIZED_TEXT = 8
OVERSIZED_LENGTH = 40_000
SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]
"""Each example drives a running product over HTTP: slow by design."""
NO_SHRINKING = [Phase.explicit, Phase.generate]
"""A refused request fails at once; shrinking would replay whole batches against the product."""
CONFIRMATION = r"saved \(expires {month:02d}/{year}\)"
CARD_SUMMARY = r'"last4":"[0-9]{{4}}","exp_month":{month},"exp_year":{year}\}}'
EXPIRY_ALLOWED = {
    "slack web api requests": CONFIRMATION,
    **{store: CARD_SUMMARY for store in ("sqlite rows", "sqlite files", "dynamodb items")},
}
"""Where the expiry may appear, as Stripe returned it: the confirmation and the card summary."""
DECIDE = bedrock_api.tool_use(
    "decide", {"reply": "Happy to help with that.", "next_step": "ask", "intent": "other"}
)
FILLER = "Please charge invoice INV-7731 for the usual amount, thank you kindly. "


class Sweep:
    """Types generated card data into every input of one running product, remembering what."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.typed_in: list[tuple[str, str]] = []
        """(card number digits, input path), one per card number typed."""
        self.cvcs: set[str] = set()
        self.splits: set[tuple[str, ...]] = set()
        self.holders: dict[str, Cardholder] = {}
        """The cardholder of each card number, for the fields typed beside it."""
        self.names: set[str] = set()
        self.expiries: set[tuple[int, int]] = set()

    def hold(self, cards: list[Card], holders: list[Cardholder]) -> list[Card]:
        """`cards`, each given the cardholder at its place in `holders`."""
        self.holders.update((c.digits, h) for c, h in zip(cards, holders, strict=True))
        return cards

    def scanner(self) -> Scanner:
        return Scanner(
            self.pans,
            self.cvcs,
            self.splits,
            names=self.names,
            expiries=self.expiries,
            expiry_allowed=EXPIRY_ALLOWED,
        )

    @property
    def pans(self) -> set[str]:
        return {digits for digits, _ in self.typed_in}

    def typed(self, card: Card, where: str) -> str:
        self.typed_in.append((card.digits, where))
        return card.typed

    def holder(self, card: Card) -> Cardholder:
        """The card's cardholder, its CVC and expiry now looked for in every sink."""
        holder = self.holders[card.digits]
        self.cvcs.add(card.cvc)
        self.expiries.add((holder.month, holder.year))
        return holder

    def card_fields(self, card: Card, where: str = "number field") -> dict[str, str]:
        holder = self.holder(card)
        self.names.add(holder.name)
        return {
            "name": holder.name,
            "number": self.typed(card, where),
            "expiry": holder.expiry,
            "cvc": holder.cvc(card.cvc),
        }

    def send(
        self, where: str, request: slack_requests.SlackRequest, *, ok: bool = True, **options: Any
    ) -> Answer:
        answer = self.rig.send(request, **options)
        if ok:
            assert answer.status == 200, f"{where} was refused on {self.rig.name}: {answer}"
        return answer

    # ------------------------------------------------------------ request builders

    def dm(self, text: str, **fields: Any) -> slack_requests.SlackRequest:
        return slack_requests.message_im_event(
            user_id=self.rig.user_id, channel_id=self.rig.dm_channel, text=text, **fields
        )

    def command(self, text: str, **fields: Any) -> slack_requests.SlackRequest:
        fields.setdefault("trigger_id", self.rig.trigger_id())
        return slack_requests.slash_command(
            text=text, user_id=self.rig.user_id, channel_id=GENERAL_CHANNEL_ID, **fields
        )

    def submission(
        self, values: dict[str, Any], view: dict[str, Any] | None = None, **fields: Any
    ) -> slack_requests.SlackRequest:
        return slack_requests.view_submission(
            view=view or self.rig.card_form(),
            values=values,
            user_id=self.rig.user_id,
            trigger_id=slack_requests.new_trigger_id(),
            **fields,
        )

    def press(
        self, action_id: str, value: str, *, message: dict[str, Any] | None = None
    ) -> slack_requests.SlackRequest:
        messages = self.rig.bot_messages()
        return slack_requests.block_actions(
            user_id=self.rig.user_id,
            action_id=action_id,
            value=value,
            block_id="card_offer",
            trigger_id=self.rig.trigger_id(),
            channel_id=self.rig.dm_channel,
            message=message or (messages[-1] if messages else None),
        )

    # ------------------------------------------------------------ the inputs

    def well_formed(self, batch: list[Card]) -> None:
        """`BATCH` card numbers, across every input a person (or a tampered client) can fill."""
        card = iter(batch)
        pasted = next(card)
        expiry = self.holder(pasted).expiry
        text = f"hi, my card is {self.typed(pasted, 'DM text')} exp {expiry}"
        self.send("DM text", self.dm(text))
        # A model turn over the redacted history, whose answer itself carries card numbers.
        echoed, slot = self.typed(next(card), "model reply"), self.typed(next(card), "model slot")
        self.rig.bedrock.script(
            bedrock_api.tool_use(
                "decide",
                {"reply": f"So {echoed}?", "next_step": "ask", "intent": "pay", "reference": slot},
            )
        )
        self.send("DM, a model turn", self.dm("ok, what happens next?"), lazy_replies=1)
        self.send(
            "/pay text", self.command(f"45 USD INV-1001 {self.typed(next(card), '/pay text')}")
        )
        # Each field of the card form holding a card number where it does not belong.
        for field in ("name", "expiry", "cvc"):
            misplaced = self.typed(next(card), f"{field} field")
            values = {**self.card_fields(next(card)), field: misplaced}
            self.send(f"{field} field", self.submission(values))
        forged = {
            **self.rig.card_form(),
            "private_metadata": self.typed(next(card), "private_metadata"),
        }
        self.send("private_metadata", self.submission(self.card_fields(next(card)), view=forged))
        self.send(
            "button value", self.press(OPEN_CARD_FORM, self.typed(next(card), "button value"))
        )
        self.send("/pay with a payment", self.command("45 USD INV-1001"))  # what Pay will pay
        self.send("card submitted", self.submission(self.card_fields(next(card))))
        # PAYMENT_MODE=charge: the saved card is offered for payment; Pay charges it. A Pay
        # press whose value is a card number comes first, then the offer's own.
        offer = self.rig.offer_to_pay()
        self.send("pay button value", self.press(PAY, self.typed(next(card), "pay button value")))
        if offer is not None:
            key = next(
                e["value"]
                for b in offer["blocks"]
                for e in b.get("elements") or []
                if e.get("action_id") == PAY
            )
            self.send("pay pressed", self.press(PAY, key, message=offer), lazy_replies=1)
        self.send(
            "button value", self.press(CANCEL_PAYMENT, self.typed(next(card), "button value"))
        )
        user_name = self.typed(next(card), "user name")
        self.send("user name", self.command("help", user_name=user_name))
        assert next(card, None) is None, "every generated card is typed somewhere"

    def across_turns(self, spaced: list[Card], split: list[SplitCard]) -> None:
        """Numbers spaced by blank runs or split across two DMs, then their CVC and expiry."""
        for card in spaced:
            text = f"my card is {self.typed(card, 'DM, wide blanks')}"
            self.send("DM, wide blanks", self.dm(text), lazy_replies=1)
            self.follow_up(card)
        for item in split:
            self.typed_in.append((item.card.digits, "DM, split across turns"))
            self.splits.add(item.parts)
            first, second = item.typed
            self.send("DM, first part", self.dm(f"my card is {first}"), lazy_replies=1)
            self.send("DM, second part", self.dm(second), lazy_replies=1)
            self.follow_up(item.card)

    def follow_up(self, card: Card) -> None:
        """The CVC and expiry of a number just removed, then a model turn over the history."""
        holder = self.holder(card)
        text = f"cvc {holder.cvc(card.cvc)} exp {holder.expiry}"
        self.send("DM, CVC after a removed number", self.dm(text), lazy_replies=1)
        self.send("DM, a model turn", self.dm("ok, what happens next?"), lazy_replies=1)

    def oversized(self, batch: list[Card]) -> None:
        """40,000-character inputs with card numbers spread through them."""
        groups = iter([batch[i::5] for i in range(5)])

        def text(where: str) -> str:
            return self.long_text(next(groups), where)

        self.send("oversized DM", self.dm(text("oversized DM")))
        self.send("oversized /pay", self.command(text("oversized /pay")))
        fields = {"name": text("oversized field"), "number": "4", "expiry": "1", "cvc": "1"}
        self.send("oversized field", self.submission(fields))
        tampered = {**self.rig.card_form(), "private_metadata": text("oversized private_metadata")}
        self.send("oversized private_metadata", self.submission(fields, view=tampered))
        self.send(
            "oversized button value", self.press(OPEN_CARD_FORM, text("oversized button value"))
        )

    def long_text(self, group: list[Card], where: str) -> str:
        filler = FILLER * (OVERSIZED_LENGTH // len(FILLER) + 1)
        share = OVERSIZED_LENGTH // (len(group) + 1)
        text = "".join(f"{filler[:share]} {self.typed(card, where)} " for card in group)
        return text + filler[: OVERSIZED_LENGTH - len(text)]

    def malformed(self, batch: list[Card]) -> None:
        """Payloads Slack never sends, and requests that fail verification, each with a card."""
        for where, request, options in malformed_requests(self, iter(batch)):
            self.send(where, request, ok=False, **options)


# ---------------------------------------------------------------- malformed payloads

MALFORMED_CARDS = 40
"""More than the malformed requests below use; only cards actually typed are counted."""


def malformed_requests(
    sweep: Sweep, cards: Iterator[Card]
) -> Iterator[tuple[str, slack_requests.SlackRequest, dict[str, Any]]]:
    """Each malformed request, named, with the options to send it with."""

    def number() -> str:
        return sweep.typed(next(cards), "malformed payload")

    def digits() -> int:
        card = next(cards)
        sweep.typed(card, "malformed payload")
        return int(card.digits)

    def text() -> str:
        return f"card {number()} please"

    def event() -> dict[str, Any]:
        return _copy(json.loads(sweep.dm("placeholder").body))

    def submission() -> dict[str, Any]:
        card = next(cards)
        return _copy(sweep.submission(sweep.card_fields(card, "malformed payload")).data)

    def action() -> dict[str, Any]:
        return _copy(sweep.press(OPEN_CARD_FORM, "open").data)

    def command(missing: str) -> slack_requests.SlackRequest:
        fields = dict(sweep.command(text()).data)
        del fields[missing]
        return _form(fields)

    body = event()
    body["event"]["text"] = [text()]
    yield "DM text as a list", _json(body), {}
    body = event()
    body["event"]["text"] = {"text": text()}
    yield "DM text as an object", _json(body), {}
    for missing in ("user", "channel", "channel_type"):
        body = event()
        body["event"]["text"] = text()
        del body["event"][missing]
        yield f"DM without {missing}", _json(body), {}
    body = event()
    body["event"]["text"] = text()
    del body["event_id"]
    yield "DM without event_id", _json(body), {}
    body = event()
    body["event"].update(subtype="message_changed", message={"type": "message", "text": text()})
    yield "edited DM", _json(body), {}
    body = event()
    body["event"].update(bot_id="B0OTHER", text=text())
    yield "bot message", _json(body), {}
    body = event()
    body["event"].update(type="app_mention", channel_type="channel", text=text())
    yield "channel mention", _json(body), {}
    yield "/pay without trigger_id", command("trigger_id"), {}
    yield "/pay without user_id", command("user_id"), {}
    body = submission()
    body["view"]["state"]["values"]["number"]["number"]["value"] = digits()
    yield "number field as an integer", _interactive(body), {}
    body = submission()
    body["view"]["state"]["values"]["name"]["name"]["value"] = [number()]
    yield "name field as a list", _interactive(body), {}
    body = submission()
    body["view"]["private_metadata"] = {"ref": number()}
    del body["view"]["state"]
    yield "modal without state", _interactive(body), {}
    body = submission()
    body["view"]["state"]["values"]["notes"] = {
        "notes": {"type": "plain_text_input", "value": text()}
    }
    yield "modal with an unknown input", _interactive(body), {}
    body = submission()
    body["view"]["callback_id"] = number()
    yield "modal with an unknown callback_id", _interactive(body), {}
    body = action()
    body["actions"][0]["value"] = digits()
    yield "button value as a number", _interactive(body), {}
    body = action()
    body["actions"][0]["action_id"] = number()
    yield "unknown action_id", _interactive(body), {}
    body = action()
    body.update(type="interactive_message", callback_id="card")
    body["actions"] = [{"name": "card", "type": "button", "value": text()}]
    yield "legacy attachment action", _interactive(body), {}
    yield (
        "body that is not JSON",
        _raw('{"type":"event_callback","event":{"text":"' + text(), slack_requests.JSON_TYPE),
        {},
    )
    yield (
        "payload that is not JSON",
        _raw(urlencode({"payload": "{" + text()}), slack_requests.FORM_TYPE),
        {},
    )
    yield "JSON sent as a form", _raw(sweep.dm(text()).body.decode(), slack_requests.FORM_TYPE), {}
    yield "url_verification challenge", slack_requests.url_verification(text()), {}
    card_form = submission()
    yield (
        "card with a wrong signature",
        _interactive(card_form),
        {"secret": "not-the-signing-secret"},
    )
    card_form = submission()
    yield (
        "card replayed 10 minutes late",
        _interactive(card_form),
        {"timestamp": int(time.time()) - 600},
    )


def _copy(data: Any) -> dict[str, Any]:
    """A deep, plain copy of a request's decoded data, to mutate."""
    copied: dict[str, Any] = json.loads(json.dumps(data))
    return copied


def _json(data: dict[str, Any]) -> slack_requests.SlackRequest:
    return slack_requests.SlackRequest(json.dumps(data).encode(), slack_requests.JSON_TYPE, data)


def _form(fields: dict[str, str]) -> slack_requests.SlackRequest:
    return slack_requests.SlackRequest(urlencode(fields).encode(), slack_requests.FORM_TYPE, fields)


def _interactive(payload: dict[str, Any]) -> slack_requests.SlackRequest:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return slack_requests.SlackRequest(body, slack_requests.FORM_TYPE, payload)


def _raw(body: str, content_type: str) -> slack_requests.SlackRequest:
    return slack_requests.SlackRequest(body.encode(), content_type, {})


# ---------------------------------------------------------------- positive controls


Planted = tuple[Card, Cardholder]


def planted_text(planted: Planted) -> str:
    card, holder = planted
    return (
        f"planted control: card {card.typed} cvc {holder.cvc(card.cvc)} exp {holder.expiry} "
        f"name {holder.name} end"
    )


def control_scanner(planted: Planted) -> Scanner:
    card, holder = planted
    return Scanner(
        [card.digits],
        [card.cvc],
        names=[holder.name],
        expiries=[(holder.month, holder.year)],
        expiry_allowed=EXPIRY_ALLOWED,
    )


def planted_parts(planted: Planted) -> tuple[str, tuple[str, str]]:
    """A control text holding a card in two parts, as two DMs would, and the parts' digits."""
    card = planted[0]
    cut = len(card.digits) // 2
    head, tail = card.digits[:cut], card.digits[cut:]
    return f"planted control: my card is {grouped(head, ' ')}; then: {grouped(tail, ' ')} end", (
        head,
        tail,
    )


def found_split(findings: list[Finding], parts: tuple[str, str]) -> bool:
    return any(f.kind == "split PAN" and f.value == "".join(parts) for f in findings)


def plant_into(captured: object, text: str) -> object:
    """A copy of `captured` with `text` inserted mid-way into its longest string."""
    copy = _plain(captured)
    if isinstance(copy, str):
        return _inserted(copy, text)
    holders = list(_string_holders(copy))
    if not holders:
        return [copy, text]
    holder, key = max(holders, key=lambda found: len(found[0][found[1]]))
    holder[key] = _inserted(holder[key], text)
    return copy


def _inserted(value: str, text: str) -> str:
    """`text` put into `value` at the first word boundary past its middle."""
    cut = next(
        (i for i in range(len(value) // 2, len(value)) if not value[i - 1 : i + 1].isalnum()),
        len(value),
    )
    return f"{value[:cut]} {text} {value[cut:]}"


def _plain(value: object) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def _string_holders(value: Any) -> Iterator[tuple[Any, Any]]:
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        if isinstance(item, str):
            yield value, key
        else:
            yield from _string_holders(item)


def found_card(findings: list[Finding], planted: Planted) -> bool:
    """Both searches found the card number; the CVC, the name and the expiry were found."""
    card, holder = planted
    kinds = {(f.kind, f.value) for f in findings}
    return (
        ("injected PAN", card.digits) in kinds
        and any(kind == "Luhn-valid number" and card.digits in value for kind, value in kinds)
        and ("injected CVC", card.cvc) in kinds
        and ("injected name", holder.name) in kinds
        and ("injected expiry", f"{holder.month:02d}/{holder.year}") in kinds
    )


def _invoke_with(invokes: InvokeCapture, text: str) -> None:
    invokes.post({"body": text})


def output_lines(capfd: pytest.CaptureFixture[str]) -> list[str]:
    """What the process wrote to stdout and stderr since the last call, line by line."""
    out, err = capfd.readouterr()
    return out.split("\n") + err.split("\n")  # not splitlines: it splits at \x1c or \u2028


def log_past_redaction(text: str) -> None:
    """A record built without the record factory, so no redaction ran: what a leak looks like."""
    try:
        raise RuntimeError(text)
    except RuntimeError:
        record = logging.LogRecord(
            "bot.planted", logging.ERROR, __file__, 0, "%s", (text,), sys.exc_info()
        )
    logging.getLogger("bot.planted").handle(record)


class Controls:
    """Plants a card in every sink, in its captured text and for real, and scans again."""

    def __init__(self, rig: Rig, logs: RecordedLogs, capfd: pytest.CaptureFixture[str]) -> None:
        self.rig, self.logs, self.capfd = rig, logs, capfd
        self.results: dict[str, bool] = {}

    def in_captured_text(self, captured: dict[str, object], card: Iterator[Planted]) -> None:
        for sink, content in captured.items():
            planted = next(card)
            findings = control_scanner(planted).scan(
                sink, plant_into(content, planted_text(planted))
            )
            self.results[f"{sink}, planted in its captured text"] = found_card(findings, planted)
            text, parts = planted_parts(next(card))
            findings = Scanner(splits=[parts]).scan(sink, plant_into(content, text))
            self.results[f"{sink}, planted in parts in its captured text"] = found_split(
                findings, parts
            )

    def for_real(self, card: Iterator[Planted]) -> None:
        rig = self.rig
        plants: dict[str, Callable[[str], object]] = {
            "logs": log_past_redaction,
            "stdout/stderr": lambda text: os.write(2, f"{text}\n".encode()),
            "slack web api requests": lambda text: rig.slack.call(
                "chat.postMessage", {"channel": rig.dm_channel, "text": text}, token=DEFAULT_TOKEN
            ),
            "bedrock requests": lambda text: rig.bedrock.record(
                MODEL_ID, {"messages": [{"role": "user", "content": [{"text": text}]}]}
            ),
            "sqlite rows": rig.store.plant,
            "sqlite files": rig.store.plant,
            "dynamodb items": rig.store.plant,
        }
        if rig.log_output is not None:
            plants["lambda log output"] = rig.log_output.write
        if rig.invokes is not None:
            plants["lambda lazy invokes"] = partial(_invoke_with, rig.invokes)
        for sink, plant in plants.items():
            if sink not in self.captured_now() and sink not in ("logs", "stdout/stderr"):
                continue
            planted = next(card)
            plant(planted_text(planted))
            findings = control_scanner(planted).scan(sink, self.capture(sink))
            self.results[f"{sink}, planted for real"] = found_card(findings, planted)
            text, parts = planted_parts(next(card))
            plant(text)
            findings = Scanner(splits=[parts]).scan(sink, self.capture(sink))
            self.results[f"{sink}, planted in parts for real"] = found_split(findings, parts)

    def captured_now(self) -> dict[str, object]:
        return self.rig.sinks()

    def capture(self, sink: str) -> object:
        if sink == "logs":
            return self.logs.lines()
        if sink == "stdout/stderr":
            return output_lines(self.capfd)
        return self.captured_now()[sink]


# ---------------------------------------------------------------- the sweep


@pytest.mark.parametrize(
    "rig", COMBINATIONS, ids=[f"{r}-{s}" for r, s in COMBINATIONS], indirect=True
)
def test_card_data_typed_into_any_input_is_found_in_no_sink(
    rig: Rig, capfd: pytest.CaptureFixture[str]
) -> None:
    rig.bedrock.default_reply = DECIDE
    sweep = Sweep(rig)
    with everything_logged() as logs:

        @settings(
            max_examples=WELL_FORMED_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=SLOW_IS_FINE,
            phases=NO_SHRINKING,
        )
        @given(batch=card_batches(BATCH), holders=holders_for(BATCH))
        def type_into_every_input(batch: list[Card], holders: list[Cardholder]) -> None:
            sweep.well_formed(sweep.hold(batch, holders))

        @settings(
            max_examples=OVERSIZED_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=SLOW_IS_FINE,
            phases=NO_SHRINKING,
        )
        @given(batch=card_batches(5 * CARDS_PER_OVERSIZED_TEXT))
        def type_into_oversized_inputs(batch: list[Card]) -> None:
            sweep.oversized(batch)

        @settings(
            max_examples=1,
            deadline=None,
            database=None,
            suppress_health_check=SLOW_IS_FINE,
            phases=NO_SHRINKING,
        )
        @given(batch=card_batches(MALFORMED_CARDS), holders=holders_for(MALFORMED_CARDS))
        def type_into_malformed_payloads(batch: list[Card], holders: list[Cardholder]) -> None:
            sweep.malformed(sweep.hold(batch, holders))

        @settings(
            max_examples=ACROSS_TURNS_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=SLOW_IS_FINE,
            phases=NO_SHRINKING,
        )
        @given(
            spaced=st.lists(widely_spaced(), min_size=SPACED, max_size=SPACED),
            split=st.lists(split_cards(), min_size=SPLIT, max_size=SPLIT),
            holders=holders_for(SPACED + SPLIT),
        )
        def type_across_turns(
            spaced: list[Card], split: list[SplitCard], holders: list[Cardholder]
        ) -> None:
            sweep.hold([*spaced, *(item.card for item in split)], holders)
            sweep.across_turns(spaced, split)

        type_into_every_input()
        type_across_turns()
        type_into_oversized_inputs()
        type_into_malformed_payloads()
        captured = {**rig.sinks(), "logs": logs.lines(), "stdout/stderr": output_lines(capfd)}
        scanner = sweep.scanner()
        findings = [f for sink, content in captured.items() for f in scanner.scan(sink, content)]

        controls = Controls(rig, logs, capfd)
        control_cards = iter(_control_cards(4 * len(captured) + 4))
        controls.in_captured_text(captured, control_cards)
        controls.for_real(control_cards)

    found = sum(controls.results.values())
    wide, split = (
        sum(where == path for _, where in sweep.typed_in)
        for path in ("DM, wide blanks", "DM, split across turns")
    )
    line = (
        f"leak sweep {rig.name}: {len(sweep.typed_in):,} PANs injected "
        f"({len(sweep.pans):,} distinct, {len(sweep.cvcs):,} CVCs, {len(sweep.names):,} names, "
        f"{len(sweep.expiries):,} expiries; {wide} spaced by blank runs, "
        f"{split} split across two DMs) into "
        f"{len({where for _, where in sweep.typed_in})} input paths, {len(findings)} found "
        f"in {len(captured)} sinks; controls {found}/{len(controls.results)} found "
        f"({found / len(controls.results):.0%})"
    )
    figures.record(f"leak-sweep-{rig.runtime}-{rig.store.kind}", line)
    print(line)
    _record_total(rig.name, len(sweep.typed_in), len(findings), found, len(controls.results))
    assert not findings, "card data leaked:\n" + "\n".join(map(str, findings[:20]))
    assert found == len(controls.results), [k for k, ok in controls.results.items() if not ok]
    _assert_the_sweep_reached_everything(rig, captured)


_RUNS: dict[str, tuple[int, int, int, int]] = {}


def _record_total(run: str, injected: int, leaked: int, found: int, planted: int) -> None:
    """The figure over every runtime and store swept so far in this session."""
    _RUNS[run] = (injected, leaked, found, planted)
    injected, leaked, found, planted = (sum(run[i] for run in _RUNS.values()) for i in range(4))
    figures.record(
        "leak-sweep",
        f"leak sweep: {injected:,} PANs injected over {len(_RUNS)} runtime/store runs, "
        f"{leaked} found; controls {found}/{planted} found ({found / planted:.0%})",
    )


def holders_for(count: int) -> st.SearchStrategy[list[Cardholder]]:
    return st.lists(cardholders(), min_size=count, max_size=count)


def _control_cards(count: int) -> list[tuple[Card, Cardholder]]:
    @settings(max_examples=1, deadline=None, database=None)
    @given(batch=card_batches(count), holders=holders_for(count))
    def draw(batch: list[Card], holders: list[Cardholder]) -> None:
        drawn.extend(zip(batch, holders, strict=True))

    drawn: list[tuple[Card, Cardholder]] = []
    draw()
    return drawn


def _assert_the_sweep_reached_everything(rig: Rig, captured: dict[str, object]) -> None:
    """A sweep that never reached the model, the store or Stripe would pass for nothing."""
    assert rig.bedrock.requests, "no Bedrock request was made"
    assert rig.stripe.payment_methods, "no card was ever tokenized"
    assert rig.stripe.payment_intents, "no card was ever charged"
    assert rig.slack.calls_to("views.open"), "no card form was opened"
    assert captured["logs"], "nothing was logged"
    if rig.invokes is not None:
        assert rig.invokes.payloads, "no lazy invoke was made"
    if rig.log_output is not None:
        assert captured["lambda log output"], "the Lambda container's own log caught nothing"
    stored = captured.get("dynamodb items") or captured.get("sqlite rows") or {}
    assert any(stored.values()), "nothing was stored"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- known gaps, one test each

KNOWN_CARD = Card("4000056655665556", "visa", "4000 0566 5566 5556", "12/30", "737")


@pytest.mark.parametrize("rig", [("served", "sqlite")], ids=["served-sqlite"], indirect=True)
def test_a_cvc_pasted_with_a_card_number_in_a_dm_is_not_kept(rig: Rig) -> None:
    rig.bedrock.default_reply = DECIDE
    sweep, card = Sweep(rig), KNOWN_CARD
    sweep.send("DM text", sweep.dm(f"card {card.typed} cvc {card.cvc} exp {card.expiry}"))
    sweep.send("DM, a model turn", sweep.dm("what happens now?"), lazy_replies=1)
    scanner = Scanner([card.digits], [card.cvc])
    sinks = rig.sinks()
    findings = scanner.scan("sqlite rows", sinks["sqlite rows"])
    findings += scanner.scan("bedrock requests", sinks["bedrock requests"])
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("rig", [("served", "sqlite")], ids=["served-sqlite"], indirect=True)
def test_cancel_posts_no_text_taken_from_the_request(rig: Rig) -> None:
    sweep = Sweep(rig)
    sweep.send("DM text", sweep.dm("I'd like to pay INV-1001"), lazy_replies=1)
    press = _copy(sweep.press(CANCEL_PAYMENT, "cancel").data)
    press["message"]["text"] = f"card {sweep.typed(KNOWN_CARD, 'message')}"
    sweep.send("Cancel on a forged message", _interactive(press))
    sent = [call.args for call in rig.slack.calls]
    findings = Scanner([KNOWN_CARD.digits]).scan("slack web api requests", sent)
    assert not findings, "\n".join(map(str, findings))


KNOWN_HOLDER = Cardholder("Zoë Quorvexlambrun", 7, 2041, "07 / 41", "spaced once")


def bolt_at_debug() -> None:
    """Bolt's loggers at DEBUG: its Lambda adapter takes their level when the app is built."""
    logging.getLogger("slack_bolt").setLevel(logging.DEBUG)


def submit_known_card_as_base64(rig: Rig) -> Sweep:
    rig.base64_form_bodies = True
    sweep = Sweep(rig)
    sweep.hold([KNOWN_CARD], [KNOWN_HOLDER])
    sweep.send("/pay", sweep.command(""))
    answer = sweep.send("card submitted", sweep.submission(sweep.card_fields(KNOWN_CARD)))
    assert json.loads(answer.body)["response_action"] == "update"
    return sweep


@pytest.mark.parametrize("rig", [("lambda", "sqlite")], ids=["lambda-sqlite"], indirect=True)
def test_on_lambda_a_card_form_from_an_http_api_is_not_logged_even_at_debug(rig: Rig) -> None:
    bolt_at_debug()
    sweep = submit_known_card_as_base64(rig)
    logged = rig.sinks()["lambda log output"]
    assert any("slack_bolt" in line for line in logged), "Bolt logged nothing at DEBUG"
    findings = sweep.scanner().scan("log", logged)
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("rig", [("lambda", "sqlite")], ids=["lambda-sqlite"], indirect=True)
def test_on_lambda_a_base64_body_is_re_sent_to_lazy_work_as_plain_text(rig: Rig) -> None:
    """What a re-invocation carries is readable: redaction and this sweep can see into it."""
    rig.base64_all_bodies = True
    sweep = Sweep(rig)
    request = sweep.dm("pay invoice INV-1001 for $45")
    assert sweep.send("DM text", request).status == 200
    assert rig.invokes is not None
    assert rig.invokes.payloads, "no lazy work was deferred"
    payload = rig.invokes.payloads[-1]
    assert payload["isBase64Encoded"] is False
    assert json.loads(payload["body"]) == json.loads(request.body)


@pytest.mark.parametrize("rig", [("lambda", "sqlite")], ids=["lambda-sqlite"], indirect=True)
def test_on_lambda_a_dm_card_number_with_no_break_spaces_is_not_logged_even_at_debug(
    rig: Rig,
) -> None:
    bolt_at_debug()
    sweep, card = Sweep(rig), KNOWN_CARD
    spaced = "\u00a0".join(card.typed.split(" "))
    answer = sweep.send("DM text", sweep.dm(f"my card is {spaced}"))
    assert answer.status == 200
    assert "removed" in rig.bot_messages()[-1]["text"], "the product saw the card number"
    logged = rig.sinks()["lambda log output"]
    assert any("slack_bolt" in line for line in logged), "Bolt logged nothing at DEBUG"
    findings = Scanner([card.digits]).scan("log", logged)
    assert not findings, "\n".join(map(str, findings))
