"""Cold start: a fresh process imports the Lambda entry, then serves one request.

Compared, in the same run and interleaved so both see the same machine noise, with the
floor: a fresh process that only runs
`from slack_bolt.adapter.aws_lambda import SlackRequestHandler`.
The request is `/pay help` as API Gateway (HTTP API v2) delivers it, against DynamoDB on
moto server and the Slack emulator, as on Lambda.

Each process reports the moment it is done (the import, or the answer) on the system's
monotonic clock, which the parent shares: a cold start ends with the answer, and Lambda
never tears a container down on the way to it, so neither side's interpreter exit is
counted (the whole process, exit included, is recorded too). Both sides run with one
private bytecode cache, warmed by a first round that is dropped: every module, ours and
the floor's, is read from bytecode, and a file another checkout of this tree is editing
meanwhile cannot make one side compile from source.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loopback import AWS_CREDENTIALS, create_sessions_table, moto_server
from emulator import slack_requests
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, GENERAL_CHANNEL_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
TABLE = "paybot-bench"
IMPORT_TARGET = 1.25
FIRST_REQUEST_TARGET = 1.5

FLOOR = "from slack_bolt.adapter.aws_lambda import SlackRequestHandler"
FLOOR_TIMED = f"""
{FLOOR}
import time
print(time.monotonic(), flush=True)
"""

# The collector's time, importing and in all, is summed by a callback.
OURS = """
import gc, json, sys, time
collector = {"ms": 0.0, "since": 0.0}
def collecting(phase, info):
    if phase == "start":
        collector["since"] = time.perf_counter()
    else:
        collector["ms"] += (time.perf_counter() - collector["since"]) * 1000
gc.callbacks.append(collecting)
from handlers import aws_lambda
imported = time.monotonic()
collected_importing = collector["ms"]

class Context:
    function_name = "paybot-bench-slack"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:paybot-bench-slack"

response = aws_lambda.handler(json.load(open(sys.argv[1])), Context())
answered = time.monotonic()
assert response["statusCode"] == 200, response
print(json.dumps({
    "imported": imported,
    "answered": answered,
    "gc_import_ms": collected_importing,
    "gc_total_ms": collector["ms"],
}), flush=True)
"""

# SnapStart: the before-snapshot hooks, then (timed) the after-restore hooks, and the first
# answer, as a copy restored from the snapshot runs them.
RESTORED = """
import json, sys, time
from snapshot_restore_py import get_after_restore, get_before_snapshot

from handlers import aws_lambda

for hook, args, kwargs in reversed(get_before_snapshot()):
    hook(*args, **kwargs)
started = time.monotonic()
for hook, args, kwargs in get_after_restore():
    hook(*args, **kwargs)
restored = time.monotonic()

class Context:
    function_name = "paybot-bench-slack"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:paybot-bench-slack"

response = aws_lambda.handler(json.load(open(sys.argv[1])), Context())
answered = time.monotonic()
assert response["statusCode"] == 200, response
print(json.dumps({
    "restore_ms": (restored - started) * 1000,
    "answer_ms": (answered - restored) * 1000,
}), flush=True)
"""

IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


@dataclass(frozen=True)
class Contributor:
    """A module the entry's process loads beyond the floor's, by its own (self) time."""

    module: str
    self_ms: float
    during_request: bool
    """Loaded by the first request rather than by the import of the entry."""


@dataclass(frozen=True)
class ColdStart:
    runs: int
    floor_ms: float
    import_ms: float
    first_request_ms: float
    floor_exit_ms: float
    ours_exit_ms: float
    gc_import_ms: float
    gc_total_ms: float
    restore_ms: float = 0.0
    """SnapStart: a restored copy's after-restore hooks (Lambda's own restore not included)."""
    restored_answer_ms: float = 0.0
    """SnapStart: a restored copy's first answer, after its hooks."""
    contributors: tuple[Contributor, ...] = ()
    groups: tuple[tuple[str, float], ...] = ()
    """Self time by package of the modules beyond the floor's, largest first."""

    @property
    def import_ratio(self) -> float:
        return self.import_ms / self.floor_ms

    @property
    def first_request_ratio(self) -> float:
        return self.first_request_ms / self.floor_ms

    @property
    def ratio(self) -> float:
        """The cold start the user waits for: import and first answer, against the floor."""
        return self.first_request_ratio


def _event(workspace: SlackWorkspace) -> dict[str, Any]:
    request = slack_requests.slash_command(
        text="help",
        user_id=DEFAULT_USER_ID,
        channel_id=GENERAL_CHANNEL_ID,
        trigger_id=workspace.issue_trigger_id(),
    )
    headers = {k.lower(): v for k, v in request.headers(SECRET, timestamp=int(time.time())).items()}
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": request.body.decode(),
        "isBase64Encoded": False,
    }


def _timed(argv: list[str], env: Mapping[str, str]) -> float:
    """Wall time of one fresh process, its exit included (ms)."""
    started, _, ended = _spawn(argv, env)
    return (ended - started) * 1000


def _spawn(argv: list[str], env: Mapping[str, str]) -> tuple[float, str, float]:
    """(monotonic start, the child's stdout, monotonic exit) of one fresh process."""
    started = time.monotonic()
    done = subprocess.run(argv, env=dict(env), cwd=ROOT, check=True, capture_output=True)
    return started, done.stdout.decode(), time.monotonic()


@contextmanager
def lambda_like() -> Iterator[tuple[dict[str, str], SlackWorkspace]]:
    """The environment the entry runs in: the deployed settings, DynamoDB on moto server,
    Slack's emulator, and a private bytecode cache shared by every child."""
    workspace = SlackWorkspace()
    with (
        moto_server() as dynamodb_url,
        serve_in_thread(slack_app(workspace)) as slack,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            **AWS_CREDENTIALS,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_LAMBDA_FUNCTION_NAME": "paybot-bench-slack",
            "SESSIONS_TABLE": TABLE,
            "SLACK_BOT_TOKEN": workspace.token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": f"{slack.url}/api/",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as serverless.yml sets it
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "bytecode"),
            "BENCH_EVENT": str(Path(tmp) / "event.json"),
        }
        create_sessions_table(dynamodb_url, TABLE)
        yield env, workspace


def measure(runs: int = 15, importtime_runs: int = 5, restored_runs: int = 5) -> ColdStart:
    """Medians of `runs` fresh processes each, ours and the floor, interleaved; then
    `restored_runs` copies restored as SnapStart restores them, and the breakdown."""
    with lambda_like() as (env, workspace):
        event_file = Path(env["BENCH_EVENT"])
        floor, floor_exit = [], []
        imported, answered, ours_exit, gc_import, gc_total = [], [], [], [], []
        for _ in range(runs + 1):  # the first round fills the bytecode cache and is dropped
            event_file.write_text(json.dumps(_event(workspace)))
            started, out, ended = _spawn([sys.executable, "-c", FLOOR_TIMED], env)
            floor.append((float(out.split()[-1]) - started) * 1000)
            floor_exit.append((ended - started) * 1000)
            started, out, ended = _spawn([sys.executable, "-c", OURS, str(event_file)], env)
            report = json.loads(out.strip().splitlines()[-1])
            imported.append((report["imported"] - started) * 1000)
            answered.append((report["answered"] - started) * 1000)
            ours_exit.append((ended - started) * 1000)
            gc_import.append(report["gc_import_ms"])
            gc_total.append(report["gc_total_ms"])
        restore, restored_answer = [], []
        for _ in range(restored_runs + 1):  # the first fills the bytecode cache of stripe & co
            event_file.write_text(json.dumps(_event(workspace)))
            _, out, _ = _spawn([sys.executable, "-c", RESTORED, str(event_file)], env)
            report = json.loads(out.strip().splitlines()[-1])
            restore.append(report["restore_ms"])
            restored_answer.append(report["answer_ms"])
        contributors, groups = _breakdown(env, workspace, importtime_runs)

    def median(values: list[float]) -> float:
        return statistics.median(values[1:])

    return ColdStart(
        runs=runs,
        floor_ms=median(floor),
        import_ms=median(imported),
        first_request_ms=median(answered),
        floor_exit_ms=median(floor_exit),
        ours_exit_ms=median(ours_exit),
        gc_import_ms=median(gc_import),
        gc_total_ms=median(gc_total),
        restore_ms=median(restore),
        restored_answer_ms=median(restored_answer),
        contributors=contributors,
        groups=groups,
    )


def _importtimes(stderr: str) -> tuple[dict[str, int], set[str]]:
    """Each module's self time (us) from `-X importtime`, and those loaded after the entry."""
    times: dict[str, int] = {}
    after_entry: set[str] = set()
    entry_done = False
    for line in stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if not match:
            continue
        module = match[4]
        times[module] = int(match[1])
        if entry_done:
            after_entry.add(module)
        if module == "handlers.aws_lambda" and not match[3]:
            entry_done = True
    return times, after_entry


def _breakdown(
    env: Mapping[str, str], workspace: SlackWorkspace, runs: int
) -> tuple[tuple[Contributor, ...], tuple[tuple[str, float], ...]]:
    """`-X importtime` of both sides, `runs` times each: what our process loads beyond the
    floor, by median self time, and by package."""
    floor_modules: set[str] = set()
    samples: dict[str, list[int]] = defaultdict(list)
    late: set[str] = set()
    event_file = Path(env["BENCH_EVENT"])
    for _ in range(runs):
        event_file.write_text(json.dumps(_event(workspace)))
        floor = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", FLOOR],
            env=dict(env),
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        floor_modules |= set(_importtimes(floor.stderr)[0])
        ours = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", OURS, str(event_file)],
            env=dict(env),
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        times, after_entry = _importtimes(ours.stderr)
        late |= after_entry
        for module, micros in times.items():
            samples[module].append(micros)
    beyond = {
        module: statistics.median(micros) / 1000
        for module, micros in samples.items()
        if module not in floor_modules
    }
    by_package: dict[str, float] = defaultdict(float)
    for module, ms in beyond.items():
        by_package[_package(module)] += ms
    contributors = tuple(
        Contributor(module, ms, module in late)
        for module, ms in sorted(beyond.items(), key=lambda item: -item[1])
    )
    groups = tuple(sorted(by_package.items(), key=lambda item: -item[1]))
    return contributors, groups


def _package(module: str) -> str:
    return module.split(".")[0]


def section(cold: ColdStart, verdict: Callable[[bool], str]) -> str:
    """BENCHMARKS.md's "Cold start"."""
    import_met = verdict(cold.import_ratio <= IMPORT_TARGET)
    first_met = verdict(cold.first_request_ratio <= FIRST_REQUEST_TARGET)
    groups = "\n".join(f"| `{name}` | {ms:.1f} ms |" for name, ms in cold.groups[:6])
    modules = "\n".join(
        f"| `{row.module}` | {row.self_ms:.1f} ms | "
        f"{'the first request' if row.during_request else 'the import'} |"
        for row in cold.contributors[:12]
    )
    beyond = sum(ms for _, ms in cold.groups)
    table = "\n".join(
        [
            f"| floor: Bolt's Lambda adapter imported | {cold.floor_ms:.0f} ms | 1.00x | |",
            f"| paybot: the Lambda entry imported | {cold.import_ms:.0f} ms "
            f"| **{cold.import_ratio:.2f}x** | <= {IMPORT_TARGET}x: {import_met} |",
            f"| paybot: imported, and the first request answered | {cold.first_request_ms:.0f} ms "
            f"| **{cold.first_request_ratio:.2f}x** | <= {FIRST_REQUEST_TARGET}x: {first_met} |",
            f"| whole processes, exit included: floor, paybot | {cold.floor_exit_ms:.0f} ms, "
            f"{cold.ours_exit_ms:.0f} ms | {cold.ours_exit_ms / cold.floor_exit_ms:.2f}x | |",
        ]
    )
    after_import = cold.first_request_ms - cold.import_ms
    return f"""## Cold start

Fresh processes, interleaved, median of {cold.runs} each. The floor runs only
`{FLOOR}`.
paybot's process imports `handlers/aws_lambda.py`, the Lambda entry, then answers one
`/pay help` as API Gateway (HTTP API v2) delivers it: DynamoDB on moto server, Slack's
emulator for `auth.test`, the function's environment as `serverless.yml` sets it. Each
process reports the moment it is done (imported, or answered) on the monotonic clock it
shares with the benchmark: the interpreter's exit is not counted, since Lambda never
tears a container down on the way to an answer (whole processes, exit included, are the
last row). Both sides read every module from one private bytecode cache
(`PYTHONPYCACHEPREFIX`), filled by a first round that is dropped, so a file being edited
meanwhile cannot make one side compile from source.

| | median | against the floor | target |
|---|---|---|---|
{table}

With SnapStart (`--param="snapStart=true"`, README "Deploy to AWS"), a container starts
from a snapshot taken after `before_snapshot` ran: what is left of paybot's cold start is
the after-restore hooks ({cold.restore_ms:.0f} ms: new random state, settings, the build)
and the first answer ({cold.restored_answer_ms:.0f} ms), medians of 5 copies run as Lambda
runs them; Lambda's own restore is not included: it cannot be measured here.

Reproduce: `python -m bench.cold_start` (it prints the breakdown below too).

**Where the time goes.** `python -X importtime` of both sides, 5 runs each: the modules
paybot's process loads that the floor's does not, by median self time (a module's own
code, its imports not included), {beyond:.0f} ms in all:

| package | self time |
|---|---|
{groups}

| module | self time | loaded by |
|---|---|---|
{modules}

`bot.machine`'s is its frozen dataclasses (the events and effects) being made;
`bot.models`' and `bot.settings`' are pydantic building their validators; `bot.rules`'
its regular expressions. After the import, the first request takes {after_import:.0f} ms:
settings, the build (the DynamoDB client most of it: botocore lists every service it
knows, twice, to check the name, ~29 ms, and reads `endpoints.json`, ~27 ms, in-process
medians of 15 on this machine), `auth.test` and `GetItem` on loopback, Bolt's dispatch.

**What this change did, measured** on 2026-12-06 on this machine: the benchmark run 3
times for each variant of the code, each run's ratios against its own floor, medians.

| | the entry imported | imported + first answer |
|---|---|---|
| before (the entry as it was, pydantic's plugin search on) | 1.73x | 2.14x |
| the collector paused through the cold start | 1.62x | 1.96x |
| and pydantic's plugin search off: this change | **1.58x** | **1.90x** |
| this change, but the collector left on | 1.73x | 2.09x |
| *not taken:* the request path imported by the first request | 0.20x | 1.95x |

* *The garbage collector.* A cold start only makes objects that live as long as the
  container, and CPython's cyclic collector walked that growing heap about 180 times,
  ~45 ms inside collections. `handlers/aws_lambda.py` now imports, and answers its first
  request, with the collector paused, then `gc.freeze()`s what it made, so later
  collections skip it (without the freeze, the second request paid one full collection:
  76 ms in one measurement). Exits got cheaper too: whole processes went from 2.18x to
  1.64x the floor's.
* *pydantic's plugins.* Building its first model, pydantic reads every installed
  distribution's entry points looking for plugins; paybot uses none, and
  `serverless.yml` sets `PYDANTIC_DISABLE_PLUGINS=__all__`: ~18 ms less in-process here
  (126 distributions installed; the Lambda zip has fewer).
* *SnapStart,* opt-in: the rows above are what it removes.

**Weighed, and not done.**
* *Deferring what the first request needs out of the import.* The entry imports the
  request path (Bolt's app, the service, pydantic and the models) because every first
  request runs it. Importing it on the first request instead measured 0.20x for the
  import and 1.95x for import and answer: the same work, moved. On Lambda it would move
  from the init phase, which on-demand functions run on a full, unthrottled vCPU (AWS's
  guide "Effectively running Java on Serverless", on using the init phase), into the
  first invocation, which at the function's 1024 MB gets about 0.58 of one (1,769 MB is
  one vCPU): the import's figure would look better while a person waited longer. With
  SnapStart neither matters: `before_snapshot` loads all of it.
* *Settings without pydantic.* pydantic-settings is already gone (below). A settings
  object without pydantic would keep pydantic's import all the same (the models need it)
  and save only `Settings`' own validator (`bot.settings` above,
  {_self_ms(cold, "bot.settings"):.0f} ms, part of it the setup of pydantic's first model,
  which the next model would pay); it would also have to reproduce pydantic's messages,
  which are a contract, and the doctor's lenient reading (a subclass of `Settings`).
* *`defer_build`.* Every cold start validates `Settings` on its first request, so a
  deferred build moves its cost without removing it. `bot.models`' models are outside
  this change; building those the first request does not validate on first use would
  save part of that module's {_self_ms(cold, "bot.models"):.0f} ms.
* *One botocore session.* Already so: every client (DynamoDB, Secrets Manager, Lambda for
  lazy work, Bedrock) comes from boto3's default session, so each service file is read
  once per container. The first client's two costs above are botocore's own; avoiding
  them means replacing its loader, and a snapshot removes them anyway.

**What is left.** Without SnapStart, the import is
{cold.import_ratio - IMPORT_TARGET:.2f}x of the floor over its target, and the first answer
{cold.first_request_ratio - FIRST_REQUEST_TARGET:.2f}x over its own: pydantic's import, the
core's modules above (outside this change: `bot.machine`'s dataclasses, `bot.models`'
validators built at import, `bot.rules`' expressions compiled at import), and botocore's
first client. All of it is measured with bytecode; the Lambda zip carries none
(`serverless.yml` builds it on any machine, whose Python is not Lambda's), so on Lambda
every module is compiled at every cold start. One rough run with no bytecode at all (the
standard library's included, which Lambda's runtime does have) on 2026-12-06: floor
1283 ms, the import 1722 ms (1.34x), the first answer 1823 ms (1.42x). Bytecode compiled
for Lambda's Python 3.12 would save more than everything above; a snapshot makes it moot.

pydantic-settings is no longer a dependency: settings are a plain pydantic model
filled from the environment. Measured 2026-12-05 on this machine: importing it with
pydantic took a median 172 ms against 53 ms for pydantic alone (15 interleaved
fresh processes), and the cold-start ratio went from 2.19x to 2.08x without it (9 runs
each, before and after, whole processes).
"""


def _self_ms(cold: ColdStart, module: str) -> float:
    return next((row.self_ms for row in cold.contributors if row.module == module), 0.0)


def main() -> None:
    result = measure()
    print(
        f"cold start, median of {result.runs}: floor {result.floor_ms:.0f} ms; "
        f"import {result.import_ms:.0f} ms ({result.import_ratio:.2f}x, target "
        f"{IMPORT_TARGET}x); import + first request {result.first_request_ms:.0f} ms "
        f"({result.first_request_ratio:.2f}x, target {FIRST_REQUEST_TARGET}x)"
    )
    print(
        f"whole processes, exit included: floor {result.floor_exit_ms:.0f} ms, "
        f"ours {result.ours_exit_ms:.0f} ms; collector {result.gc_import_ms:.0f} ms "
        f"importing, {result.gc_total_ms:.0f} ms in all"
    )
    print(
        f"SnapStart, a restored copy: after-restore hooks {result.restore_ms:.0f} ms, "
        f"first answer {result.restored_answer_ms:.0f} ms"
    )
    print("beyond the floor, by package (-X importtime self time):")
    for package, ms in result.groups[:12]:
        print(f"  {ms:7.1f} ms  {package}")
    print("largest modules:")
    for row in result.contributors[:15]:
        when = "first request" if row.during_request else "import"
        print(f"  {row.self_ms:7.1f} ms  {row.module} ({when})")


if __name__ == "__main__":
    main()
