"""`python -m bench`: run every benchmark and rewrite BENCHMARKS.md with the figures."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path

from bench import cold_start

ROOT = Path(__file__).resolve().parents[1]
COLD_START_TARGET = 1.25


def _machine() -> str:
    cores = len(__import__("os").sched_getaffinity(0))
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def main() -> None:
    cold = cold_start.measure(runs=15)
    verdict = "met" if cold.ratio <= COLD_START_TARGET else "**missed**"
    report = f"""# Benchmarks

Measured by `make bench` (`python -m bench`) on {datetime.now(UTC):%Y-%m-%d}, {_machine()}.
Every figure is a ratio against a baseline measured in the same run, or a
count; absolute times move with the machine and are given only for scale.

## Cold start

A fresh process imports `handlers/slack.py` and serves one `/pay help`
request as API Gateway (HTTP API v2) delivers it: DynamoDB store on moto
server, Slack emulator for `auth.test`. The floor is a fresh process running
only `from slack_bolt.adapter.aws_lambda import SlackRequestHandler`. Both
are timed as whole processes (interpreter start included), interleaved,
median of {cold.runs}.

| | median |
|---|---|
| floor | {cold.floor_ms:.0f} ms |
| paybot: import + first request | {cold.ours_ms:.0f} ms |
| **ratio** | **{cold.ratio:.2f}x** (target <= {COLD_START_TARGET}x: {verdict}) |

Reproduce: `make bench`, or `python -m bench.cold_start` for this figure alone.

What the difference is made of: pydantic and pydantic-settings (the floor
imports neither), building the Bolt app, creating the DynamoDB client
(botocore loads its service model), and two loopback round trips
(`auth.test`, `GetItem`). Stripe's SDK and the Bedrock client are not loaded
on this path: they load on first use.

## How to read these numbers

These machines are shared and noisy: absolute milliseconds vary run to run by
tens of percent, so each figure is compared with a baseline taken in the same
run, interleaved. Loopback stand-ins replace AWS, Slack and Stripe, so network
latency to the real services is not included.
"""
    (ROOT / "BENCHMARKS.md").write_text(report)
    print(f"cold start ratio {cold.ratio:.2f}x ({cold.ours_ms:.0f} ms vs {cold.floor_ms:.0f} ms)")


if __name__ == "__main__":
    main()
