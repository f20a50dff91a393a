"""The runner: read the settings, run every check, print one line each, return the exit code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from bot.logs import configure_logging
from handlers.doctor.bedrock_checks import check_bedrock
from handlers.doctor.configuration import read
from handlers.doctor.dynamodb_checks import check_dynamodb
from handlers.doctor.report import Check, exit_code, scrub, summary
from handlers.doctor.slack_checks import check_slack
from handlers.doctor.stripe_checks import check_stripe


def run(environ: Mapping[str, str], out: TextIO) -> int:
    """Check the deployment `environ` describes; 1 when anything would fail in production."""
    configure_logging("WARNING")  # redaction first; SDK chatter would drown the report
    configuration = read(environ)
    checks: list[Check] = list(configuration.checks)
    _print(checks, configuration.secrets, out)
    settings = configuration.settings
    if settings is not None:
        for group in (check_slack, check_stripe, check_bedrock, check_dynamodb):
            found = group(settings)
            _print(found, configuration.secrets, out)
            checks.extend(found)
    print(summary(checks), file=out, flush=True)
    return exit_code(checks)


def _print(checks: list[Check], secrets: list[str], out: TextIO) -> None:
    for check in checks:
        print(scrub(check.line(), secrets), file=out, flush=True)
