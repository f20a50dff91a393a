"""Only requests signed with the signing secret, inside Slack's five-minute window, get in.

Every kind of request Slack sends (an Events API message, a slash command, a button press,
a modal submission, the URL handshake) is mutated every way a forger or a replay can: a bit
flipped in the body, bytes added or cut, the wrong secret, each signature header missing,
the timestamp 301 s (and more) in the past or future, an old request replayed with its valid
signature, the signature of another body, the hex or the `v0=` prefix in upper case, a `v1=`
prefix, an empty, truncated or bare signature, a timestamp header changed after signing or
not a number at all. Each request is built so that, were it accepted, it would leave a trace:
a stored session, a Slack Web API call (a reply, a modal), a Stripe call (the modal submits a
valid card for a form that is really open).

The matrix is every mutation family times every request kind, so none is left to chance;
within a family the variants (which bit, which secret, how stale) come from a seeded
`random.Random`, so a failure names a request that can be sent again.
"""

from __future__ import annotations

import math
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.request import BoltRequest
from slack_sdk.signature import Clock

from bot.settings import load_settings
from emulator import slack_requests
from emulator.slack_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from handlers.bootstrap import build
from handlers.slack import guard
from handlers.slack.blocks import OPEN_CARD_FORM
from tests.integration.harness import SIGNING_SECRET, Paybot, app_environment
from tests.security import figures
from tests.security.rig import Answer, post

BIT_FLIPS_PER_KIND = 60
VALID_REQUESTS = 100
WINDOW_SECONDS = 300
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "08/30", "cvc": "123"}


@dataclass(frozen=True)
class Forged:
    """One mutated request: what it is, and exactly what goes on the wire."""

    family: str
    kind: str
    body: bytes
    headers: dict[str, str]


def requests_of_every_kind(paybot: Paybot) -> dict[str, slack_requests.SlackRequest]:
    """One request per kind; all but the handshake would change something if accepted."""
    user, dm = paybot.user_id, paybot.dm_channel
    return {
        "event": slack_requests.message_im_event(
            user_id=user, channel_id=dm, text="I'd like to pay INV-1001, $45"
        ),
        "command": slack_requests.slash_command(
            text="45 USD INV-1001",
            user_id=user,
            channel_id=dm,
            trigger_id=paybot.slack.issue_trigger_id(user_id=user),
        ),
        "block_actions": slack_requests.block_actions(
            user_id=user,
            action_id=OPEN_CARD_FORM,
            value="open",
            block_id="card_offer",
            trigger_id=paybot.slack.issue_trigger_id(user_id=user),
            channel_id=dm,
        ),
        "view_submission": slack_requests.view_submission(
            view=paybot.card_form(), values=CARD, user_id=user, trigger_id="1.2.3"
        ),
        "url_verification": slack_requests.url_verification(),
    }


def forgeries(
    kind: str, request: slack_requests.SlackRequest, other: bytes, rng: random.Random
) -> Iterator[Forged]:
    """Every mutation family applied to `request`; `other` is a different, genuine body."""
    body = request.body

    def forged(family: str, sent: bytes, timestamp: object, signed: str | None) -> Forged:
        headers = {"Content-Type": request.content_type}
        if timestamp is not None:
            headers[TIMESTAMP_HEADER] = str(timestamp)
        if signed is not None:
            headers[SIGNATURE_HEADER] = signed
        return Forged(family, kind, sent, headers)

    def now() -> int:
        return int(time.time())

    def good(at: int, signed_body: bytes = body, secret: str = SIGNING_SECRET) -> str:
        return signature(signed_body, secret, at)

    for _ in range(BIT_FLIPS_PER_KIND):
        bit = rng.randrange(len(body) * 8)
        flipped = bytearray(body)
        flipped[bit // 8] ^= 1 << (bit % 8)
        at = now()
        yield forged("bit flip in the body", bytes(flipped), at, good(at))
    at = now()
    yield forged("bytes added to the body", body + b"&x=1", at, good(at))
    yield forged("body cut short", body[:-1], at, good(at))
    yield forged("empty body", b"", at, good(at))
    for secret in ("not-the-secret", SIGNING_SECRET.upper(), SIGNING_SECRET + " ", "x"):
        yield forged("wrong secret", body, at, good(at, secret=secret))
    yield forged("timestamp header missing", body, None, good(at))
    yield forged("signature header missing", body, at, None)
    yield forged("both headers missing", body, None, None)
    for skew in (301, 302, 3600, 86_400):
        past = now() - skew
        yield forged("timestamp too old", body, past, good(past))
        future = math.ceil(time.time()) + skew  # rounded up: still over 300 s when checked
        yield forged("timestamp in the future", body, future, good(future))
    for age in (301, 600, 3600, rng.randrange(3601, 30 * 86_400)):
        then = now() - age
        yield forged("replay of a request signed long ago", body, then, good(then))
    at = now()
    yield forged("timestamp header changed after signing", body, at + 1, good(at))
    yield forged("timestamp header changed after signing", body, at - 1, good(at))
    yield forged("signature of another body", body, at, good(at, signed_body=other))
    yield forged("signature of another timestamp", body, at, good(at - 60))
    digest = good(at).removeprefix("v0=")
    yield forged("hex in upper case", body, at, "v0=" + digest.upper())
    yield forged("prefix in upper case", body, at, "V0=" + digest)
    yield forged("prefix and hex in upper case", body, at, "V0=" + digest.upper())
    yield forged("v1= prefix", body, at, "v1=" + digest)
    yield forged("bare hex, no prefix", body, at, digest)
    for empty in ("", "v0=", "v0"):
        yield forged("empty signature", body, at, empty)
    yield forged("signature cut short", body, at, good(at)[:-1])
    yield forged("signature with a digit more", body, at, good(at) + "0")
    yield forged("signature of the body with a space more", body, at, good(at, body + b" "))
    for odd in ("not-a-number", "", "1e9", f"{at}.5"):
        yield forged("timestamp that is not an integer", body, odd, good(at))


def traces(paybot: Paybot, database: Path) -> dict[str, Any]:
    """Everything an accepted request could have changed."""
    with sqlite3.connect(database) as db:
        stored = {
            table: db.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - fixed names
            for table in ("sessions", "events")
        }
    return {
        "slack web api calls": len(paybot.slack.calls),
        "stored rows": stored,
        "stripe requests": len(paybot.stripe.requests),
        "bedrock requests": len(paybot.bedrock.requests),
    }


def test_no_forged_stale_or_replayed_request_is_accepted_or_changes_anything(
    paybot: Paybot, tmp_path: Path
) -> None:
    paybot.pay()  # a card form is really open: an accepted forged submission would reach Stripe
    genuine = requests_of_every_kind(paybot)
    before = traces(paybot, tmp_path / "sessions.db")
    rng = random.Random(20240501)
    answers: Counter[int] = Counter()
    accepted: list[tuple[Forged, Answer]] = []
    families: set[str] = set()
    for kind, request in genuine.items():
        other = genuine["event" if kind != "event" else "command"].body
        for forged in forgeries(kind, request, other, rng):
            answer = post(paybot.url, forged.body, forged.headers)
            answers[answer.status] += 1
            families.add(forged.family)
            if 200 <= answer.status < 300:
                accepted.append((forged, answer))
    after = traces(paybot, tmp_path / "sessions.db")
    sent = sum(answers.values())
    line = (
        f"signature fuzz: {sent:,} forged, stale or replayed requests ({len(families)} mutation "
        f"families x {len(genuine)} request kinds), {len(accepted)} accepted "
        f"(status {dict(sorted(answers.items()))}), "
        f"{sum(before[k] != after[k] for k in before)} side effects"
    )
    figures.record("signature-fuzz", line)
    print(line)
    assert sent >= 500
    assert accepted == [], [(f.family, f.kind, a.status) for f, a in accepted[:10]]
    assert after == before, "a rejected request changed something"


def test_every_genuine_request_inside_the_five_minute_window_is_accepted(
    paybot: Paybot,
) -> None:
    paybot.pay()
    kinds = list(requests_of_every_kind(paybot))
    rng = random.Random(20240502)
    refused: list[tuple[str, int, int]] = []
    for n in range(VALID_REQUESTS):
        kind = kinds[n % len(kinds)]
        request = requests_of_every_kind(paybot)[kind]  # fresh ids and trigger ids each time
        skew = rng.randint(-(WINDOW_SECONDS - 10), WINDOW_SECONDS - 10)
        answer = paybot.send(request, timestamp=int(time.time()) + skew)
        if answer.status != 200:
            refused.append((kind, skew, answer.status))
    dms = VALID_REQUESTS // len(kinds)
    paybot.wait_until(lambda: len(paybot.bot_messages()) >= dms)
    accepted = VALID_REQUESTS - len(refused)
    line = (
        f"signature window: {accepted}/{VALID_REQUESTS} genuine requests signed up to "
        f"{WINDOW_SECONDS - 10} s either side of now accepted ({accepted / VALID_REQUESTS:.0%})"
    )
    figures.record("signature-window", line)
    print(line)
    assert refused == []
    assert paybot.stripe.payment_methods, "the genuine card submission reached Stripe"


def test_an_unsigned_request_that_does_not_parse_is_refused_with_401(paybot: Paybot) -> None:
    event = slack_requests.message_im_event(
        user_id=paybot.user_id, channel_id=paybot.dm_channel, text="hi"
    )
    now, unsigned = str(int(time.time())), "v0=" + "0" * 64
    unparsable = {
        "a timestamp that is not a number": (event.body, "soon"),
        "no timestamp header": (event.body, None),
        "a body that is not UTF-8": (event.body.replace(b"hi", b"h\xa2"), now),
        "a JSON body cut short": (event.body[:-1], now),
    }
    answers = {}
    for name, (body, stamp) in unparsable.items():
        headers = {"Content-Type": event.content_type, SIGNATURE_HEADER: unsigned}
        if stamp is not None:
            headers[TIMESTAMP_HEADER] = stamp
        answers[name] = post(paybot.url, body, headers).status
    assert answers == dict.fromkeys(unparsable, 401)


# ------------------------------------------------------- each layer on its own


class FrozenClock(Clock):
    """A clock that says `at` however long the check takes."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


NOW = 1_767_225_600


def guard_answer(age: int) -> tuple[int, str] | None:
    """The guard's answer at NOW to a handshake correctly signed `age` seconds earlier."""
    request = slack_requests.url_verification()
    headers = request.headers(SIGNING_SECRET, timestamp=NOW - age)
    return guard.check(request.body, headers, SIGNING_SECRET, clock=FrozenClock(NOW))


@pytest.mark.parametrize("age", [301, -301], ids=["301 s old", "301 s ahead"])
def test_the_guard_alone_refuses_a_correct_signature_outside_the_five_minute_window(
    age: int,
) -> None:
    assert guard_answer(age) == (401, "invalid signature")


@pytest.mark.parametrize("age", [299, -299], ids=["299 s old", "299 s ahead"])
def test_the_guard_alone_lets_a_correct_signature_inside_the_window_through(age: int) -> None:
    assert guard_answer(age) is None


def bolt_status(tmp_path: Path, signed_at: int) -> int:
    """Bolt's own answer, as the product builds it, to a handshake signed at `signed_at`."""
    settings = load_settings(
        app_environment(
            slack_url="http://127.0.0.1:9",
            stripe_url="http://127.0.0.1:9",
            sqlite_path=tmp_path / "sessions.db",
        )
    )
    request = slack_requests.url_verification()
    headers = request.headers(SIGNING_SECRET, timestamp=signed_at)
    answer = build(settings).app.dispatch(BoltRequest(body=request.body.decode(), headers=headers))
    return answer.status


def test_bolt_alone_refuses_a_stale_correctly_signed_request_that_passed_no_guard(
    tmp_path: Path,
) -> None:
    assert bolt_status(tmp_path, int(time.time()) - 600) == 401


def test_bolt_alone_answers_the_same_request_signed_now(tmp_path: Path) -> None:
    assert bolt_status(tmp_path, int(time.time())) == 200
