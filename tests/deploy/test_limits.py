"""The slack function's reserved concurrency and the HTTP API's throttle: their defaults
are serverless.yml's documented parameters, and `--param` overrides them.

Reserved concurrency caps how many instances of the slack function run at once (and keeps
them for it); the throttle caps each route's request rate before the function runs. A
`none` reservation leaves the function in the account's shared pool. The card-testing
ceilings (LIMIT_CARD_SUBMISSIONS_PER_HOUR and its workspace twin) are the bot's own defaults
unless a parameter lowers them, as an operator does during an attack (docs/RUNBOOK.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from bot.settings import load_settings
from tests.deploy.environment import PROJECT_ROOT
from tests.deploy.roles import function_resource

Template = dict[str, Any]

LIMITS = ("slackReservedConcurrency", "httpApiThrottleRate", "httpApiThrottleBurst")
CARD_LIMITS = {
    "limitCardSubmissionsPerHour": "LIMIT_CARD_SUBMISSIONS_PER_HOUR",
    "limitWorkspaceCardSubmissionsPerHour": "LIMIT_WORKSPACE_CARD_SUBMISSIONS_PER_HOUR",
    "limitCardPagesPerHour": "LIMIT_CARD_PAGES_PER_HOUR",
    "limitWorkspaceCardPagesPerHour": "LIMIT_WORKSPACE_CARD_PAGES_PER_HOUR",
    "limitTurnsPerHour": "LIMIT_TURNS_PER_HOUR",
    "limitWorkspaceTurnsPerHour": "LIMIT_WORKSPACE_TURNS_PER_HOUR",
    "limitChargesPerHour": "LIMIT_CHARGES_PER_HOUR",
    "limitWorkspaceChargesPerHour": "LIMIT_WORKSPACE_CHARGES_PER_HOUR",
    "paymentMaxAmount": "PAYMENT_MAX_AMOUNT",
    "paybotAdmins": "PAYBOT_ADMINS",
    "termsUrl": "TERMS_URL",
    "termsVersion": "TERMS_VERSION",
}

# Packaged once each; test_cfn_lint.py lints the same two templates.
OTHER_LIMITS = {
    "smaller limits": {
        "slackReservedConcurrency": "7",
        "httpApiThrottleRate": "3",
        "httpApiThrottleBurst": "4",
        "limitCardSubmissionsPerHour": "2",
        "limitWorkspaceCardSubmissionsPerHour": "20",
        "limitCardPagesPerHour": "3",
        "limitWorkspaceCardPagesPerHour": "30",
        "limitTurnsPerHour": "4",
        "limitWorkspaceTurnsPerHour": "40",
        "limitChargesPerHour": "5",
        "limitWorkspaceChargesPerHour": "50",
        "paymentMaxAmount": "USD:500",
        "paybotAdmins": "U0ADMIN1,U0ADMIN2",
        "termsUrl": "https://example.com/terms",
        "termsVersion": "2024-06",
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


def card_limits(template: Template) -> dict[str, str]:
    """The slack function's abuse limits and terms, as its environment holds them."""
    variables = function_resource(template, "slack")[1]["Properties"]["Environment"]["Variables"]
    return {name: variables[name] for name in CARD_LIMITS.values()}


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


def test_by_default_the_limits_and_terms_are_the_bots_own(template: Template) -> None:
    limits = card_limits(template)

    assert set(limits.values()) == {"", "1"}  # an empty variable is unset; terms version 1
    assert load_settings(limits) == load_settings({})
    assert load_settings(limits).TERMS_URL is None  # no terms step


def test_the_card_limits_can_be_lowered(smaller: Template) -> None:
    settings = load_settings(card_limits(smaller))

    assert settings.LIMIT_CARD_SUBMISSIONS_PER_HOUR == 2
    assert settings.LIMIT_WORKSPACE_CARD_SUBMISSIONS_PER_HOUR == 20
    assert (settings.LIMIT_CARD_PAGES_PER_HOUR, settings.LIMIT_WORKSPACE_CARD_PAGES_PER_HOUR) == (
        3,
        30,
    )
    assert (settings.LIMIT_TURNS_PER_HOUR, settings.LIMIT_WORKSPACE_TURNS_PER_HOUR) == (4, 40)
    assert (settings.TERMS_URL, settings.TERMS_VERSION) == ("https://example.com/terms", "2024-06")
    assert (settings.LIMIT_CHARGES_PER_HOUR, settings.LIMIT_WORKSPACE_CHARGES_PER_HOUR) == (5, 50)
    assert settings.max_amounts["USD"] == 500
    assert settings.admins == {"U0ADMIN1", "U0ADMIN2"}


def test_payments_are_saved_unless_the_deployment_asks_to_charge(template: Template) -> None:
    variables = function_resource(template, "slack")[1]["Properties"]["Environment"]["Variables"]
    assert variables["PAYMENT_MODE"] == "save"


def test_the_deployment_speaks_the_agent_experience_its_manifest_declares(
    template: Template,
) -> None:
    variables = function_resource(template, "slack")[1]["Properties"]["Environment"]["Variables"]
    assert load_settings({"SLACK_AGENT_VIEW": variables["SLACK_AGENT_VIEW"]}).SLACK_AGENT_VIEW
    manifest = yaml.safe_load((PROJECT_ROOT / "manifest.yml").read_text())
    assert "agent_view" in manifest["features"]  # the Slack app the deployment is made for
