"""The slack function's reserved concurrency and the HTTP API's throttle: their defaults
are serverless.yml's documented parameters, and `--param` overrides them.

Reserved concurrency caps how many instances of the slack function run at once (and keeps
them for it); the throttle caps each route's request rate before the function runs. A
`none` reservation leaves the function in the account's shared pool.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.deploy.environment import PROJECT_ROOT
from tests.deploy.roles import function_resource

Template = dict[str, Any]

LIMITS = ("slackReservedConcurrency", "httpApiThrottleRate", "httpApiThrottleBurst")

# Packaged once each; test_cfn_lint.py lints the same two templates.
OTHER_LIMITS = {
    "smaller limits": {
        "slackReservedConcurrency": "7",
        "httpApiThrottleRate": "3",
        "httpApiThrottleBurst": "4",
    },
    "no reservation": {"slackReservedConcurrency": "none"},
}


def documented_defaults() -> dict[str, Any]:
    document = yaml.safe_load((PROJECT_ROOT / "serverless.yml").read_text())
    defaults: dict[str, Any] = document["params"]["default"]
    return {name: defaults[name] for name in LIMITS}


def reserved_concurrency(template: Template, function: str = "slack") -> Any:
    return function_resource(template, function)[1]["Properties"].get(
        "ReservedConcurrentExecutions"
    )


def throttle(template: Template) -> tuple[float, int]:
    """Every route's throttle: the HTTP API stage's default route settings."""
    (stage,) = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::ApiGatewayV2::Stage"
    ]
    settings = stage["DefaultRouteSettings"]
    assert "RouteSettings" not in stage  # no route with settings of its own
    return float(settings["ThrottlingRateLimit"]), int(settings["ThrottlingBurstLimit"])


@pytest.fixture(scope="module")
def smaller(template_with: Callable[..., Template]) -> Template:
    return template_with(**OTHER_LIMITS["smaller limits"])


@pytest.fixture(scope="module")
def unreserved(template_with: Callable[..., Template]) -> Template:
    return template_with(**OTHER_LIMITS["no reservation"])


def test_the_defaults_are_a_reservation_of_50_and_25_requests_a_second_bursting_to_50() -> None:
    # The README explains these figures; changing one means changing its reason there.
    assert documented_defaults() == {
        "slackReservedConcurrency": 50,
        "httpApiThrottleRate": 25,
        "httpApiThrottleBurst": 50,
    }


def parameter_rows(readme: str) -> dict[str, list[str]]:
    """The README's table rows whose first cell names parameters, by each name, as cells."""
    rows: dict[str, list[str]] = {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            for name in re.findall(r"`([^`]+)`", cells[0]):
                rows[name] = cells
    return rows


def test_the_readme_documents_each_limit_with_its_default() -> None:
    rows = parameter_rows((PROJECT_ROOT / "README.md").read_text())
    for name, default in documented_defaults().items():
        assert name in rows, f"no row for {name} in the README's parameter table"
        assert f"`{default}`" in rows[name][2], f"{name}'s default {default} is not in its row"


def test_the_slack_function_reserves_the_default_concurrency(template: Template) -> None:
    assert reserved_concurrency(template) == documented_defaults()["slackReservedConcurrency"]


def test_the_purge_reserves_no_concurrency(template: Template) -> None:
    # One invocation a day: nothing to cap, and nothing to take from the account's pool.
    assert reserved_concurrency(template, "purge") is None


def test_every_route_is_throttled_at_the_defaults(template: Template) -> None:
    defaults = documented_defaults()

    assert throttle(template) == (
        defaults["httpApiThrottleRate"],
        defaults["httpApiThrottleBurst"],
    )


def test_the_burst_is_at_least_the_rate(template: Template) -> None:
    rate, burst = throttle(template)

    assert burst >= rate


def test_the_throttle_lets_slacks_event_rate_through(template: Template) -> None:
    slack_events_per_second = 30_000 / 3600  # Slack's Events API delivery limit per workspace
    rate, _ = throttle(template)

    assert rate >= 2 * slack_events_per_second


def test_the_reservation_can_be_overridden(smaller: Template) -> None:
    assert int(reserved_concurrency(smaller)) == 7


def test_the_throttle_can_be_overridden(smaller: Template) -> None:
    assert throttle(smaller) == (3.0, 4)


def test_none_reserves_no_concurrency(unreserved: Template, template: Template) -> None:
    assert reserved_concurrency(unreserved) is None
    assert throttle(unreserved) == throttle(template)  # the other limits keep their defaults
