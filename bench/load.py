"""Load: simulated users paying at once against `python -m bot serve` on DynamoDB (moto server).

The bot runs as its own process, started exactly as `python -m bot serve`, so its
memory is its own: RSS and peak RSS (VmHWM) are read from /proc/<pid>/status.
Moto server is another process; the Slack, Stripe and Bedrock emulators and the
simulated users are threads of this one. All three share the machine's cores.

A flow is one user's whole payment, three turns: a DM (timed until the bot's
answer is posted to Slack), the "Enter card securely" click (until the ack,
which opens the form) and the modal submission (until the ack, which carries
the confirmation; the DM confirmation is posted before it). Every flow is a new
user, so anything the bot kept per user would show as growth.

First a soak: flows `SOAK_CONCURRENCY` at a time, pausing at each checkpoint
until none is in flight to read the bot's RSS. Then the burst: `BURST_USERS`
users released together, each completing one flow.
"""

from __future__ import annotations

import math
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import loopback
from bench.loopback import Emulators
from emulator import driver
from emulator.slack_api import ApiCall, SlackWorkspace
from handlers.slack.blocks import OPEN_CARD_FORM

BURST_USERS = 200
SOAK_CONCURRENCY = 25
CHECKPOINTS = (500, 1000, 2000, 3000, 4000, 5000)
"""Turns handled at which the bot's RSS is read."""
TURNS_PER_FLOW = 3
SURFACES = ("DM, until answered", "button click", "modal submit")
ALL = "every turn"
REPLY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Load:
    users: int
    flows_completed: int
    errors: dict[str, int]
    burst_seconds: float
    turn_p50_ms: dict[str, float]
    turn_p99_ms: dict[str, float]
    soak_flows: int
    soak_errors: dict[str, int]
    soak_p99_ms: float
    soak_seconds: float
    rss_mib: tuple[tuple[int, float], ...]
    """(turns handled, bot RSS in MiB), read while no request was in flight."""
    rss_after_burst_mib: float
    peak_rss_mib: float
    listen_overflows: int
    """The kernel's TcpExtListenOverflows during the run (whole machine): connections
    dropped because a listening socket's accept queue was full."""
    log_levels: dict[str, int]
    log_problems: tuple[str, ...]
    """Distinct WARNING/ERROR messages the bot logged (never card data: logs are redacted)."""

    @property
    def growth_mib(self) -> float:
        return self.rss_mib[-1][1] - self.rss_mib[0][1]


class SlackSide:
    """Hands each simulated user the bot's DMs and forms as the Slack emulator records them."""

    def __init__(self, workspace: SlackWorkspace) -> None:
        self._lock = threading.Lock()
        self._inboxes: dict[str, queue.Queue[dict[str, Any]]] = {}
        self._forms: dict[str, queue.Queue[dict[str, Any]]] = {}
        workspace.subscribe(self._seen)

    def _seen(self, call: ApiCall) -> None:
        if not call.ok:
            return
        if call.method == "chat.postMessage":
            self.inbox(call.response["channel"]).put(call.response["message"])
        elif call.method == "views.open":
            self.forms(str(call.args.get("trigger_id"))).put(call.response["view"])

    def _queue(
        self, queues: dict[str, queue.Queue[dict[str, Any]]], key: str
    ) -> queue.Queue[dict[str, Any]]:
        with self._lock:
            return queues.setdefault(key, queue.Queue())

    def inbox(self, channel: str) -> queue.Queue[dict[str, Any]]:
        return self._queue(self._inboxes, channel)

    def forms(self, trigger_id: str) -> queue.Queue[dict[str, Any]]:
        return self._queue(self._forms, trigger_id)

    def forget(self, channel: str, trigger_id: str | None) -> None:
        with self._lock:
            self._inboxes.pop(channel, None)
            self._forms.pop(trigger_id or "", None)


class FlowFailed(Exception):
    pass


@dataclass
class Flow:
    """One user's payment: turn latencies in seconds, and what went wrong, if anything."""

    latencies: list[tuple[str, float]]
    error: str | None = None


class Payer:
    def __init__(self, app_url: str, emulated: Emulators, slack_side: SlackSide) -> None:
        self.app_url, self.emulated, self.slack_side = app_url, emulated, slack_side

    def _send(self, surface: str, request: Any) -> tuple[float, bytes]:
        started = time.perf_counter()
        try:
            status, body = loopback.send(self.app_url, request)
        except OSError as exc:
            raise FlowFailed(f"{surface}: {type(exc).__name__}") from None
        if status != 200:
            raise FlowFailed(f"{surface}: HTTP {status}")
        return started, body

    def pay(self, user_id: str) -> Flow:
        flow = Flow([])
        slack = self.emulated.slack
        channel, trigger_id = slack.dm_channel(user_id), None
        inbox = self.slack_side.inbox(channel)
        try:
            started, _ = self._send(SURFACES[0], driver.dm(slack, user_id, loopback.ASK_TO_PAY))
            offer = _next(inbox, "no answer to the DM")
            flow.latencies.append((SURFACES[0], time.perf_counter() - started))
            trigger_id = slack.issue_trigger_id(user_id=user_id)
            forms = self.slack_side.forms(trigger_id)
            try:
                request = driver.click(slack, user_id, offer, OPEN_CARD_FORM, trigger_id)
            except KeyError:
                raise FlowFailed("the answer offered no card form") from None
            started, _ = self._send(SURFACES[1], request)
            flow.latencies.append((SURFACES[1], time.perf_counter() - started))
            form = _next(forms, "the card form did not open", timeout=5)
            started, body = self._send(SURFACES[2], driver.submit(user_id, form, loopback.CARD))
            flow.latencies.append((SURFACES[2], time.perf_counter() - started))
            if b"Card saved" not in body:
                raise FlowFailed("the submission did not save the card")
            if "4242" not in _next(inbox, "no confirmation in the DM", timeout=5).get("text", ""):
                raise FlowFailed("the DM confirmation did not name the card")
        except FlowFailed as failed:
            flow.error = str(failed)
        finally:
            self.slack_side.forget(channel, trigger_id)
        return flow


def _next(
    inbox: queue.Queue[dict[str, Any]], failure: str, timeout: float = REPLY_TIMEOUT
) -> dict[str, Any]:
    try:
        return inbox.get(timeout=timeout)
    except queue.Empty:
        raise FlowFailed(failure) from None


@dataclass
class BotProcess:
    process: subprocess.Popen[str]
    url: str
    log: Path

    def memory_mib(self, field: str = "VmRSS") -> float:
        """`VmRSS` (now) or `VmHWM` (peak) of the bot process, in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
        assert match, f"no {field} in /proc/{self.process.pid}/status"
        return int(match.group(1)) / 1024


@contextmanager
def bot_process(environment: dict[str, str], workdir: Path) -> Iterator[BotProcess]:
    """`python -m bot serve --port 0`, its log in `workdir`; yields once it listens."""
    log = workdir / "bot.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", "0"],
            cwd=loopback.ROOT,
            env=loopback.environ_with(environment),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        if not found:
            raise RuntimeError(f"the bot did not start: {log.read_text()[-2000:]}")
        yield BotProcess(process, found.group(1), log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _soak(
    payer: Payer, users: Iterator[str], bot: BotProcess, progress: Callable[[str], None]
) -> tuple[list[Flow], list[tuple[int, float]], float]:
    flows: list[Flow] = []
    rss: list[tuple[int, float]] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SOAK_CONCURRENCY) as pool:
        for checkpoint in CHECKPOINTS:
            wanted = math.ceil(checkpoint / TURNS_PER_FLOW) - len(flows)
            flows.extend(pool.map(payer.pay, [next(users) for _ in range(wanted)]))
            # Nothing in flight now: the bot's RSS is its resting size after these turns.
            rss.append((len(flows) * TURNS_PER_FLOW, bot.memory_mib()))
            payer.emulated.reset()
            progress(f"  load: soak {rss[-1][0]} turns, bot RSS {rss[-1][1]:.1f} MiB")
    return flows, rss, time.perf_counter() - started


def _burst(payer: Payer, users: list[str]) -> tuple[list[Flow], float]:
    gate = threading.Barrier(len(users) + 1)
    flows: list[Flow] = []
    lock = threading.Lock()

    def run(user_id: str) -> None:
        gate.wait()
        flow = payer.pay(user_id)
        with lock:
            flows.append(flow)

    threads = [threading.Thread(target=run, args=(user,), daemon=True) for user in users]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=120)
    return flows, time.perf_counter() - started


def _percentiles(flows: list[Flow], percent: int) -> dict[str, float]:
    by_surface: dict[str, list[float]] = {name: [] for name in (*SURFACES, ALL)}
    for flow in flows:
        for surface, seconds in flow.latencies:
            by_surface[surface].append(seconds)
            by_surface[ALL].append(seconds)
    return {
        name: statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000
        for name, values in by_surface.items()
        if len(values) > 1
    }


def _log_summary(log: Path) -> tuple[dict[str, int], tuple[str, ...]]:
    levels: Counter[str] = Counter()
    problems: set[str] = set()
    for line in log.read_text().splitlines():
        parts = line.split(" ", 4)
        if len(parts) == 5 and parts[2] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            levels[parts[2]] += 1
            if parts[2] in ("WARNING", "ERROR", "CRITICAL"):
                problems.add(f"{parts[2]} {parts[3]}: {parts[4][:160]}")
    return dict(levels), tuple(sorted(problems))


def listen_overflows() -> int:
    """The kernel's count of connections a full accept queue turned away, machine-wide."""
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()]
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names[0] == "TcpExt:" and "ListenOverflows" in names:
            return int(values[names.index("ListenOverflows")])
    return 0


def _errors(flows: list[Flow]) -> dict[str, int]:
    return dict(Counter(flow.error for flow in flows if flow.error))


def measure(users: int = BURST_USERS, progress: Callable[[str], None] = print) -> Load:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        dynamodb_url = stack.enter_context(loopback.moto_server())
        loopback.create_sessions_table(dynamodb_url)
        emulated = stack.enter_context(loopback.emulators())
        soak_users = math.ceil(CHECKPOINTS[-1] / TURNS_PER_FLOW)
        everyone = loopback.add_users(emulated.slack, soak_users + users, prefix="U0LOAD")
        environment = loopback.app_environment(emulated, dynamodb_url)
        bot = stack.enter_context(bot_process(environment, workdir))
        payer = Payer(bot.url, emulated, SlackSide(emulated.slack))
        overflows = listen_overflows()
        soak, rss, soak_seconds = _soak(payer, iter(everyone[:soak_users]), bot, progress)
        burst, burst_seconds = _burst(payer, everyone[soak_users:])
        rss_after_burst, peak = bot.memory_mib(), bot.memory_mib("VmHWM")
        overflows = listen_overflows() - overflows
        progress(f"  load: burst of {users} users in {burst_seconds:.1f} s")
        levels, problems = _log_summary(bot.log)
    return Load(
        users=users,
        flows_completed=sum(1 for flow in burst if flow.error is None),
        errors=_errors(burst),
        burst_seconds=burst_seconds,
        turn_p50_ms=_percentiles(burst, 50),
        turn_p99_ms=_percentiles(burst, 99),
        soak_flows=len(soak),
        soak_errors=_errors(soak),
        soak_p99_ms=_percentiles(soak, 99)[ALL],
        soak_seconds=soak_seconds,
        rss_mib=tuple(rss),
        rss_after_burst_mib=rss_after_burst,
        peak_rss_mib=peak,
        listen_overflows=overflows,
        log_levels=levels,
        log_problems=problems,
    )


if __name__ == "__main__":
    import argparse

    options = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    options.add_argument("--users", type=int, default=BURST_USERS, help="the burst's size")
    result = measure(options.parse_args().users)
    print(
        f"burst: {result.flows_completed}/{result.users} flows completed in "
        f"{result.burst_seconds:.1f} s, errors {result.errors or 0}"
    )
    for surface, p99 in result.turn_p99_ms.items():
        print(f"  {surface:20} p50 {result.turn_p50_ms[surface]:.0f} ms, p99 {p99:.0f} ms")
    print(
        f"soak: {result.soak_flows} flows in {result.soak_seconds:.0f} s, errors "
        f"{result.soak_errors or 0}, p99 {result.soak_p99_ms:.0f} ms"
    )
    print("bot RSS: " + ", ".join(f"{turns} turns {mib:.1f} MiB" for turns, mib in result.rss_mib))
    print(f"bot RSS after the burst {result.rss_after_burst_mib:.1f} MiB")
    print(f"bot peak RSS (VmHWM) {result.peak_rss_mib:.1f} MiB")
    print(f"listen queue overflows (kernel, machine-wide): {result.listen_overflows}")
    print(f"bot log lines by level: {result.log_levels}")
    for problem in result.log_problems:
        print(f"  {problem}")
