"""The stage's CloudWatch dashboard: one page with every alarm, every metric the bot
publishes (with its breakdown) and the Lambda, SQS and DynamoDB metrics behind the alarms.

The body is the JSON CloudWatch reads, once CloudFormation has put in the Region and the
alarms' ARNs (Fn::Sub); the metric rows are read as CloudWatch reads them, with "." and
"..." repeating the row above.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.environment import REGION, STAGE
from tests.deploy.monitoring import PAYBOT_METRICS, alarms, resources
from tests.deploy.roles import function_resource

Template = dict[str, Any]

# Each breakdown the bot publishes beside its Stage-only series.
BREAKDOWNS = {
    "Turns": "Surface",
    "CardFormsOpened": "Surface",
    "CardsSaved": "Surface",
    "CardDeclines": "Code",
    "RateLimited": "Budget",
    "ProviderErrors": "Provider",
    "AckLatency": "Surface",
}
AWS_METRICS = {
    ("AWS/Lambda", "Errors"),
    ("AWS/Lambda", "Throttles"),
    ("AWS/Lambda", "Duration"),
    ("AWS/Lambda", "AsyncEventsDropped"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    ("AWS/DynamoDB", "ReadThrottleEvents"),
    ("AWS/DynamoDB", "WriteThrottleEvents"),
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_SEARCH = re.compile(
    r"""SEARCH\('\{(?P<schema>[^}]+)\}\s+MetricName="(?P<name>\w+)"\s+Stage="(?P<stage>[^"]+)"'"""
)


def resolved(text: str) -> str:
    """`text` as Fn::Sub makes it: the Region, and each `Resource.Arn` as a stand-in ARN."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name == "AWS::Region":
            return REGION
        logical_id, attribute = name.split(".")
        assert attribute == "Arn", name
        return f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:{logical_id}"

    return _SUB_VARIABLE.sub(value, text)


def metric_rows(widget: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A metric widget's metrics as (namespace, name, dimensions), "." and "..." expanded."""
    previous: list[str] = []
    for row in widget["properties"]["metrics"]:
        items = [item for item in row if not isinstance(item, dict)]
        if not items:
            continue  # an expression
        if items == ["..."]:
            items = previous
        items = [previous[i] if item == "." else item for i, item in enumerate(items)]
        previous = items
        yield items[0], items[1], dict(zip(items[2::2], items[3::2], strict=True))


def searches(widget: dict[str, Any]) -> Iterator[re.Match[str]]:
    for row in widget["properties"]["metrics"]:
        for item in row:
            if isinstance(item, dict) and "SEARCH(" in item.get("expression", ""):
                found = _SEARCH.search(item["expression"])
                assert found, item["expression"]
                yield found


@pytest.fixture(scope="module")
def dashboard(template: Template) -> dict[str, Any]:
    (resource,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    return dict(resource["Properties"])


@pytest.fixture(scope="module")
def body(dashboard: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resolved(dashboard["DashboardBody"]["Fn::Sub"]))
    return document


@pytest.fixture(scope="module")
def metric_widgets(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [widget for widget in body["widgets"] if widget["type"] == "metric"]


def test_the_dashboard_is_named_after_the_stage(dashboard: dict[str, Any]) -> None:
    assert dashboard["DashboardName"] == f"paybot-{STAGE}"


def test_the_body_is_json_with_widgets(body: dict[str, Any]) -> None:
    assert body["widgets"]
    for widget in body["widgets"]:
        assert {"type", "x", "y", "width", "height", "properties"} <= set(widget)
        assert 0 <= widget["x"]
        assert widget["x"] + widget["width"] <= 24
        if widget["type"] == "metric":  # each metric or expression is a row of its own
            assert all(isinstance(row, list) for row in widget["properties"]["metrics"])


def test_every_metric_widget_reads_the_stacks_region(metric_widgets: list[dict[str, Any]]) -> None:
    assert metric_widgets
    assert {widget["properties"]["region"] for widget in metric_widgets} == {REGION}


def test_the_dashboard_shows_every_alarm(template: Template, body: dict[str, Any]) -> None:
    (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    shown = {arn.rsplit(":", 1)[1] for arn in widget["properties"]["alarms"]}

    assert shown == set(alarms(template))


def test_the_dashboard_names_every_metric_the_bot_publishes(
    metric_widgets: list[dict[str, Any]],
) -> None:
    named = {name for w in metric_widgets for namespace, name, _ in metric_rows(w)}
    named |= {found["name"] for w in metric_widgets for found in searches(w)}

    assert set(PAYBOT_METRICS) <= named


def test_the_dashboard_breaks_each_metric_down_as_the_bot_publishes_it(
    metric_widgets: list[dict[str, Any]],
) -> None:
    found = {
        (match["name"], tuple(part.strip() for part in match["schema"].split(",")))
        for widget in metric_widgets
        for match in searches(widget)
    }

    for metric, breakdown in BREAKDOWNS.items():
        assert (metric, ("paybot", "Stage", breakdown)) in found, metric


def test_the_dashboard_reads_this_stages_metrics_only(metric_widgets: list[dict[str, Any]]) -> None:
    stages = {m["stage"] for w in metric_widgets for m in searches(w)}
    stages |= {
        dims.get("Stage")
        for w in metric_widgets
        for ns, _, dims in metric_rows(w)
        if ns == "paybot"
    }

    assert stages == {STAGE}


def test_the_dashboard_shows_the_aws_metrics_behind_the_alarms(
    template: Template, metric_widgets: list[dict[str, Any]]
) -> None:
    rows = [row for widget in metric_widgets for row in metric_rows(widget)]
    functions = {
        function_resource(template, f)[1]["Properties"]["FunctionName"] for f in ("slack", "purge")
    }
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    (queue,) = resources(template, "AWS::SQS::Queue").values()

    assert {(namespace, name) for namespace, name, _ in rows} >= AWS_METRICS
    for namespace, name, dims in rows:
        if namespace == "AWS/Lambda":
            assert dims == {"FunctionName": dims["FunctionName"]}
            assert dims["FunctionName"] in functions, name
        if namespace == "AWS/DynamoDB":
            assert dims == {"TableName": table["Properties"]["TableName"]}
        if namespace == "AWS/SQS":
            assert dims == {"QueueName": queue["Properties"]["QueueName"]}


def test_the_dashboard_url_is_an_output(template: Template) -> None:
    (logical_id,) = resources(template, "AWS::CloudWatch::Dashboard")
    url = template["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]

    assert url.endswith(f"#dashboards:name=${{{logical_id}}}")
