"""Metrics: aws-lambda-powertools' `Metrics` against paybot's own EMF writer (`bot.metrics`).

Both write CloudWatch embedded metric format lines to stdout. Measured in one run:

* import cost as a cold start pays it: fresh processes, interleaved, median of
  `runs` each, as wall time (against `python -c pass` and against the cold-start
  floor, Bolt's Lambda adapter) and as `-X importtime`'s time for the modules
  each one adds on top of the floor;
* the cost of one data point, warm: `Turns` for Surface `slack`, written as one
  line, against serialising the same document with `json.dumps` and writing it.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from bench.cold_start import FLOOR

ROOT = Path(__file__).resolve().parents[1]
OURS = "from bot.metrics import EmfMetrics"
POWERTOOLS = "from aws_lambda_powertools.metrics import Metrics"
COLD_START_TARGET = 1.25  # BENCHMARKS.md, "Cold start": paybot within 1.25x of the floor
NEARLY_FREE = 0.01  # of the floor: an import this small would not be worth avoiding
_MARK = "-- floor imported --"
LINE_ROUNDS = 9
LINES_PER_ROUND = 3000


@dataclass(frozen=True)
class MetricsCost:
    runs: int
    pass_ms: float
    """A fresh `python -c pass`."""
    ours_ms: float
    powertools_ms: float
    floor_ms: float
    """A fresh process importing Bolt's Lambda adapter, the cold-start floor."""
    floor_ours_ms: float
    floor_powertools_ms: float
    ours_import_ms: float
    """`-X importtime`: what importing it adds on top of the floor, bytecode cached."""
    powertools_import_ms: float
    ours_source_ms: float
    """The same with no cached bytecode: every module compiled from source."""
    powertools_source_ms: float
    lines: int
    line_baseline_us: float
    """`json.dumps` of the finished document and one write: the least a writer does."""
    line_ours_us: float
    line_powertools_us: float

    @property
    def budget_ms(self) -> float:
        """What the cold-start target leaves for everything paybot adds to the floor."""
        return (COLD_START_TARGET - 1) * self.floor_ms


def _environment(cache: Path, *, write_bytecode: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _wall_ms(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def _added_ms(code: str, env: dict[str, str]) -> float:
    """`-X importtime`'s total for the modules `code` imports after the floor's."""
    script = f"{FLOOR}\nimport sys\nsys.stderr.write({_MARK!r} + '\\n')\n{code}"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    after = done.stderr.split(_MARK, 1)[1]
    # "import time: <self us> | <cumulative us> | <module>"; the self times add up.
    own = [line.split("|")[0].rsplit(":", 1)[1] for line in after.splitlines() if "|" in line]
    return sum(int(us) for us in own if us.strip().isdigit()) / 1000


def _imports(runs: int) -> dict[str, float]:
    codes = {
        "pass": "pass",
        "ours": OURS,
        "powertools": POWERTOOLS,
        "floor": FLOOR,
        "floor_ours": f"{FLOOR}\n{OURS}",
        "floor_powertools": f"{FLOOR}\n{POWERTOOLS}",
    }
    samples: dict[str, list[float]] = {name: [] for name in codes}
    added: dict[str, list[float]] = {
        name: [] for name in ("ours", "powertools", "ours_source", "powertools_source")
    }
    with tempfile.TemporaryDirectory() as cached, tempfile.TemporaryDirectory() as floor_only:
        warm = _environment(Path(cached), write_bytecode=True)
        for code in codes.values():  # fills the bytecode cache; not counted
            _wall_ms(code, warm)
        # The floor's bytecode only: what is imported after it is compiled from source.
        _wall_ms(FLOOR, _environment(Path(floor_only), write_bytecode=True))
        cold = _environment(Path(floor_only), write_bytecode=False)
        for _ in range(runs):
            for name, code in codes.items():
                samples[name].append(_wall_ms(code, warm))
            for name, code in (("ours", OURS), ("powertools", POWERTOOLS)):
                added[name].append(_added_ms(code, warm))
                added[f"{name}_source"].append(_added_ms(code, cold))
    return {
        **{name: statistics.median(values) for name, values in samples.items()},
        **{f"added_{name}": statistics.median(values) for name, values in added.items()},
    }


class _Discard(io.TextIOBase):
    """A text stream that takes every write and keeps nothing: only the writer's own work counts."""

    def write(self, text: str) -> int:
        return len(text)


def _per_line_us(emit: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        emit()
    return (time.perf_counter() - started) / count * 1e6


def _lines() -> tuple[float, float, float]:
    from aws_lambda_powertools.metrics import Metrics, MetricUnit

    from bot.metrics import EmfMetrics

    ours = EmfMetrics("prod")
    theirs = Metrics(namespace="paybot")
    theirs.set_default_dimensions(Stage="prod")
    sink = _Discard()
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "paybot",
                    "Dimensions": [["Stage"], ["Stage", "Surface"]],
                    "Metrics": [{"Name": "Turns", "Unit": "Count"}],
                }
            ],
        },
        "Stage": "prod",
        "Surface": "slack",
        "Turns": 1,
    }

    def baseline() -> None:
        sink.write(json.dumps(document, separators=(",", ":")) + "\n")
        sink.flush()

    def ours_line() -> None:
        ours.count("Turns", dimension="slack")

    def powertools_line() -> None:
        theirs.add_dimensions(Surface="slack")
        theirs.add_metric(name="Turns", unit=MetricUnit.Count, value=1)
        theirs.flush_metrics()

    emitters = {"baseline": baseline, "ours": ours_line, "powertools": powertools_line}
    samples: dict[str, list[float]] = {name: [] for name in emitters}
    with redirect_stdout(sink):
        for emit in emitters.values():  # warm-up, not counted
            _per_line_us(emit, LINES_PER_ROUND // 10)
        for _ in range(LINE_ROUNDS):
            for name, emit in emitters.items():
                samples[name].append(_per_line_us(emit, LINES_PER_ROUND))
    median = {name: statistics.median(values) for name, values in samples.items()}
    return median["baseline"], median["ours"], median["powertools"]


def _same_shape() -> None:
    """Both writers publish the same data point: same dimension sets, metric and values."""
    from aws_lambda_powertools.metrics import Metrics, MetricUnit

    from bot.metrics import EmfMetrics

    lines: list[str] = []
    EmfMetrics("prod", write=lines.append).count("Turns", dimension="slack")
    theirs = Metrics(namespace="paybot")
    theirs.set_default_dimensions(Stage="prod")
    theirs.add_dimensions(Surface="slack")
    theirs.add_metric(name="Turns", unit=MetricUnit.Count, value=1)
    out = io.StringIO()
    with redirect_stdout(out):
        theirs.flush_metrics()
    ours, powertools = json.loads(lines[0]), json.loads(out.getvalue())
    for document in (ours, powertools):
        del document["_aws"]["Timestamp"]
    assert ours["_aws"] == powertools["_aws"], (ours, powertools)
    assert (ours["Stage"], ours["Surface"]) == (powertools["Stage"], powertools["Surface"])
    assert [ours["Turns"]] == powertools["Turns"]  # powertools writes a list of values


def measure(runs: int = 21) -> MetricsCost:
    """Import and per-line costs of both writers, each against its baseline from this run."""
    _same_shape()
    imports = _imports(runs)
    baseline_us, ours_us, powertools_us = _lines()
    return MetricsCost(
        runs=runs,
        pass_ms=imports["pass"],
        ours_ms=imports["ours"],
        powertools_ms=imports["powertools"],
        floor_ms=imports["floor"],
        floor_ours_ms=imports["floor_ours"],
        floor_powertools_ms=imports["floor_powertools"],
        ours_import_ms=imports["added_ours"],
        powertools_import_ms=imports["added_powertools"],
        ours_source_ms=imports["added_ours_source"],
        powertools_source_ms=imports["added_powertools_source"],
        lines=LINE_ROUNDS * LINES_PER_ROUND,
        line_baseline_us=baseline_us,
        line_ours_us=ours_us,
        line_powertools_us=powertools_us,
    )


def section(cost: MetricsCost) -> str:
    """The BENCHMARKS.md section for these figures."""
    floor = cost.floor_ms
    budget = cost.budget_ms
    return f"""## Metrics: powertools or our own EMF writer

paybot publishes its metrics as CloudWatch embedded metric format (EMF) lines on
stdout, one line per data point (`bot/metrics.py`). Two ways to write them were
measured in one run: aws-lambda-powertools' `Metrics` (pinned in
`requirements-dev.txt` for this benchmark only) and `bot.metrics.EmfMetrics`,
one module of our own, stdlib only. Both write the same line (checked first:
same namespace, dimension sets, metric and unit).

**Import, as a cold start pays it.** Fresh processes, interleaved, median of
{cost.runs} each, bytecode cached for every module:

| fresh process runs | wall time | ratio |
|---|---|---|
| `pass` | {cost.pass_ms:.1f} ms | 1.00x |
| `{OURS}` | {cost.ours_ms:.1f} ms | {cost.ours_ms / cost.pass_ms:.2f}x `pass` |
| `{POWERTOOLS}` | {cost.powertools_ms:.1f} ms | {cost.powertools_ms / cost.pass_ms:.2f}x `pass` |
| the cold-start floor (Bolt's Lambda adapter) | {floor:.1f} ms | 1.00x |
| floor, then our writer | {cost.floor_ours_ms:.1f} ms | {cost.floor_ours_ms / floor:.2f}x floor |
| floor, then powertools | {cost.floor_powertools_ms:.1f} ms \
| {cost.floor_powertools_ms / floor:.2f}x floor |

Alone, each import also loads the stdlib modules it uses (json, logging,
typing, ...); after the floor those are already loaded, as they are in paybot.
Wall-time differences of a few milliseconds are within this machine's noise, so
the import itself was also timed by `python -X importtime`: the modules each one
loads on top of the floor, median of {cost.runs}.

| on top of the floor | bytecode cached | from source | share of the floor |
|---|---|---|---|
| our writer | {cost.ours_import_ms:.2f} ms | {cost.ours_source_ms:.2f} ms \
| {cost.ours_import_ms / floor:.1%} |
| powertools | {cost.powertools_import_ms:.2f} ms | {cost.powertools_source_ms:.2f} ms \
| {cost.powertools_import_ms / floor:.1%} |

"From source" is a package without bytecode; `serverless.yml` ships `bot/`
that way, so on Lambda our module is compiled at every cold start. The share
of the floor is what the import adds to the cold-start ratio; the target
(<= {COLD_START_TARGET}x) leaves {budget:.0f} ms for everything paybot adds.

**One data point, warm.** `Turns` for Surface `slack`, written as one line to a
stream that keeps nothing, {cost.lines} lines each, interleaved rounds, median:

| writer | per line | ratio |
|---|---|---|
| baseline: `json.dumps` of the finished line, one write | {cost.line_baseline_us:.1f} µs | 1.00x |
| our writer (`EmfMetrics.count`) | {cost.line_ours_us:.1f} µs \
| {cost.line_ours_us / cost.line_baseline_us:.2f}x |
| powertools (`add_dimensions`, `add_metric`, `flush_metrics`) | \
{cost.line_powertools_us:.1f} µs | {cost.line_powertools_us / cost.line_baseline_us:.2f}x |

{_choice(cost)}

Reproduce: `python -m bench.metrics`.
"""


def _choice(cost: MetricsCost) -> str:
    if cost.powertools_import_ms <= NEARLY_FREE * cost.floor_ms:
        return textwrap.fill(
            f"**powertools is nearly free in this run** (its import adds "
            f"{cost.powertools_import_ms:.1f} ms, at most {NEARLY_FREE:.0%} of the floor): "
            "the choice of our own writer should be looked at again.",
            width=80,
        )
    import_ratio = cost.powertools_import_ms / max(cost.ours_import_ms, 1e-3)
    return textwrap.fill(
        "**Choice: our own writer.** "
        f"powertools' import adds {cost.powertools_import_ms:.1f} ms to every cold start "
        f"({cost.powertools_import_ms / cost.budget_ms:.0%} of the {cost.budget_ms:.0f} ms "
        f"the target leaves, which paybot already overspends), {import_ratio:.0f}x our "
        f"writer's {cost.ours_import_ms:.2f} ms: the package loads its logger, tracer and "
        "JMESPath helpers along with the metrics. Per line it costs "
        f"{cost.line_powertools_us / cost.line_ours_us:.1f}x ours "
        f"({cost.line_powertools_us - cost.line_ours_us:.0f} µs more; a turn writes a few "
        "lines). What it would bring, batching many metrics into one line per invocation "
        "and a `ColdStart` metric, paybot does not need: each data point is published as it "
        "happens, so none waits in memory for the invocation's end (a timeout would lose "
        "it). Our writer is stdlib only, so it lives in the pure core (`bot/`), and it "
        "checks every dimension value against its "
        "allow-list, which powertools leaves to the caller.",
        width=80,
    )


if __name__ == "__main__":
    print(section(measure()))
