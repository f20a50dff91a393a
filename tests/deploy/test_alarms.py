"""The stage's CloudWatch alarms: what each watches, when it fires, and where it says so.

Every alarm notifies the one SNS topic when it fires and when it clears, says how a period
without data counts, and names its section of docs/RUNBOOK.md. The metric-math alarms are
evaluated for chosen values (tests/deploy/metric_math.py), so "one fallback in two turns
does not page" is checked as a fact rather than read off the expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from bot.adapters import bedrock_engine
from tests.deploy.environment import PROJECT_ROOT, STAGE
from tests.deploy.intrinsics import Stack
from tests.deploy.metric_math import Value, evaluate
from tests.deploy.monitoring import PAYBOT_METRICS, alarms, only, resources
from tests.deploy.roles import function_resource

Template = dict[str, Any]
Metric = tuple[str, str, dict[str, Any]]  # namespace, name, dimensions

RUNBOOK = PROJECT_ROOT / "docs" / "RUNBOOK.md"
MISSING_DATA = {"breaching", "notBreaching", "ignore", "missing"}
SLACKS_ACK_LIMIT_MS = 3000


def metrics_of(alarm: dict[str, Any]) -> list[Metric]:
    """The metrics an alarm reads: its own, or each of its metric-math queries'."""
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], dimensions(alarm))]
    return [
        (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"], dimensions(stat["Metric"]))
        for stat in (query["MetricStat"] for query in alarm["Metrics"] if "MetricStat" in query)
    ]


def dimensions(metric: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}


def alarm_on(template: Template, *names: str) -> dict[str, Any]:
    """The one alarm reading exactly the metrics `names`."""
    (found,) = [a for a in alarms(template).values() if {m[1] for m in metrics_of(a)} == {*names}]
    return found


def value(alarm: dict[str, Any], **by_metric: Value) -> Value:
    """A metric-math alarm's value for one period, each metric given by name (absent: None)."""
    ids: dict[str, Value] = {}
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            ids[query["Id"]] = by_metric.get(query["MetricStat"]["Metric"]["MetricName"])
        else:
            ids[query["Id"]] = evaluate(query["Expression"], ids)
    (returned,) = [q["Id"] for q in alarm["Metrics"] if q.get("ReturnData", True)]
    return ids[returned]


def breaches(alarm: dict[str, Any], found: Value) -> bool:
    """Whether a period with `found` counts against the alarm's threshold."""
    if found is None:
        return alarm["TreatMissingData"] == "breaching"
    threshold = float(alarm["Threshold"])
    return {
        "GreaterThanOrEqualToThreshold": found >= threshold,
        "GreaterThanThreshold": found > threshold,
        "LessThanThreshold": found < threshold,
        "LessThanOrEqualToThreshold": found <= threshold,
    }[alarm["ComparisonOperator"]]


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def function_name(template: Template, function: str) -> dict[str, str]:
    """The FunctionName dimension for one of serverless.yml's functions."""
    return ref(function_resource(template, function)[0])


@pytest.fixture(scope="module")
def topic(template: Template) -> str:
    return only(template, "AWS::SNS::Topic")


# --- every alarm --------------------------------------------------------------------------


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(
    template: Template, topic: str
) -> None:
    assert alarms(template)
    for logical_id, alarm in alarms(template).items():
        assert alarm["AlarmActions"] == [ref(topic)], logical_id
        assert alarm["OKActions"] == [ref(topic)], logical_id
        assert alarm.get("ActionsEnabled", True), logical_id


def test_every_alarm_says_how_a_period_without_data_counts(template: Template) -> None:
    for logical_id, alarm in alarms(template).items():
        assert alarm.get("TreatMissingData") in MISSING_DATA, logical_id


def test_every_alarm_names_its_section_of_the_runbook(template: Template) -> None:
    headings = set(re.findall(r"^### (\S+)", RUNBOOK.read_text(), flags=re.MULTILINE))
    for logical_id, alarm in alarms(template).items():
        (section,) = re.findall(r"docs/RUNBOOK\.md, ([\w-]+)\.", alarm["AlarmDescription"])
        assert section in headings, f"{logical_id}: no '### {section}' in docs/RUNBOOK.md"
        assert alarm["AlarmName"] == f"paybot-{STAGE}-{section}", logical_id


def test_the_alarms_read_the_stage_the_functions_publish_under(template: Template) -> None:
    published = {
        function_resource(template, f)[1]["Properties"]["Environment"]["Variables"]["PAYBOT_STAGE"]
        for f in ("slack", "purge")
    }
    read = {
        dims.get("Stage")
        for alarm in alarms(template).values()
        for namespace, _, dims in metrics_of(alarm)
        if namespace == "paybot"
    }
    assert published == read == {STAGE}


# --- what each alarm watches ----------------------------------------------------------------


WATCHED: dict[str, Callable[[Template], list[Metric]]] = {
    "slack function errors": lambda t: [
        ("AWS/Lambda", "Errors", {"FunctionName": function_name(t, "slack")})
    ],
    "slack function throttles": lambda t: [
        ("AWS/Lambda", "Throttles", {"FunctionName": function_name(t, "slack")})
    ],
    "slack function duration": lambda t: [
        ("AWS/Lambda", "Duration", {"FunctionName": function_name(t, "slack")})
    ],
    "purge function errors": lambda t: [
        ("AWS/Lambda", "Errors", {"FunctionName": function_name(t, "purge")})
    ],
    "dropped lazy invocations": lambda t: [
        ("AWS/Lambda", "AsyncEventsDropped", {"FunctionName": function_name(t, "slack")})
    ],
    "records in the on-failure queue": lambda t: [
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": [only(t, "AWS::SQS::Queue"), "QueueName"]}},
        )
    ],
    "sessions table throttles": lambda t: [
        ("AWS/DynamoDB", name, {"TableName": ref(only(t, "AWS::DynamoDB::Table"))})
        for name in ("ReadThrottleEvents", "WriteThrottleEvents")
    ],
    "Slack's ack": lambda t: [("paybot", "AckLatency", {"Stage": STAGE, "Surface": "slack"})],
    "model fallbacks": lambda t: [
        ("paybot", name, {"Stage": STAGE}) for name in ("EngineFallbacks", "Turns")
    ],
    "card declines": lambda t: [
        ("paybot", name, {"Stage": STAGE}) for name in ("CardDeclines", "CardsSaved")
    ],
    "abuse-limit refusals": lambda t: [("paybot", "RateLimited", {"Stage": STAGE})],
    "provider errors": lambda t: [("paybot", "ProviderErrors", {"Stage": STAGE})],
}


@pytest.mark.parametrize("expected", WATCHED.values(), ids=WATCHED.keys())
def test_each_watched_metric_has_an_alarm(
    template: Template, expected: Callable[[Template], list[Metric]]
) -> None:
    watched = [metrics_of(alarm) for alarm in alarms(template).values()]

    assert expected(template) in watched


def test_every_alarm_is_one_of_the_watched(template: Template) -> None:
    watched = [expected(template) for expected in WATCHED.values()]

    assert sorted(map(str, (metrics_of(a) for a in alarms(template).values()))) == sorted(
        map(str, watched)
    )


# --- when each fires ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "metric"),
    [
        ("slack", "Errors"),
        ("slack", "Throttles"),
        ("slack", "AsyncEventsDropped"),
        ("purge", "Errors"),
    ],
)
def test_one_failed_or_refused_invocation_alarms(
    template: Template, function: str, metric: str
) -> None:
    (alarm,) = [
        a
        for a in alarms(template).values()
        if a.get("MetricName") == metric
        and a["Dimensions"]
        == [{"Name": "FunctionName", "Value": function_name(template, function)}]
    ]

    assert alarm["Statistic"] == "Sum"
    assert breaches(alarm, 1)
    assert not breaches(alarm, 0)


def test_the_purge_alarm_keeps_its_state_between_the_daily_runs(template: Template) -> None:
    (alarm,) = [
        a
        for a in alarms(template).values()
        if a.get("Dimensions")
        == [{"Name": "FunctionName", "Value": function_name(template, "purge")}]
    ]

    assert alarm["TreatMissingData"] == "ignore"


def test_a_record_left_in_the_on_failure_queue_alarms(template: Template) -> None:
    alarm = alarm_on(template, "ApproximateNumberOfMessagesVisible")

    assert alarm["Statistic"] == "Maximum"
    assert breaches(alarm, 1)
    assert not breaches(alarm, 0)


def test_the_ack_alarm_fires_on_the_p99_before_slacks_three_seconds(template: Template) -> None:
    alarm = alarm_on(template, "AckLatency")

    assert alarm["ExtendedStatistic"] == "p99"
    assert breaches(alarm, SLACKS_ACK_LIMIT_MS)
    assert not breaches(alarm, 0.6 * SLACKS_ACK_LIMIT_MS)
    assert alarm["EvaluateLowSampleCountPercentile"] == "evaluate"  # a quiet hour still counts


def test_the_ack_alarm_ignores_one_slow_period(template: Template) -> None:
    alarm = alarm_on(template, "AckLatency")

    assert 1 < alarm["DatapointsToAlarm"] <= alarm["EvaluationPeriods"]


def test_the_duration_alarm_sits_between_the_worst_model_turn_and_the_timeout(
    template: Template,
) -> None:
    alarm = alarm_on(template, "Duration")
    timeout_ms = function_resource(template, "slack")[1]["Properties"]["Timeout"] * 1000
    worst_turn_ms = 1000 * (
        bedrock_engine.TOTAL_MAX_ATTEMPTS
        * (bedrock_engine.CONNECT_TIMEOUT_SECONDS + bedrock_engine.READ_TIMEOUT_SECONDS)
        + 1
    )

    assert alarm["Statistic"] == "Maximum"  # the lazy turns make percentiles meaningless here
    assert not breaches(alarm, worst_turn_ms)
    assert breaches(alarm, timeout_ms)


def test_one_fallback_in_two_turns_does_not_alarm(template: Template) -> None:
    alarm = alarm_on(template, "EngineFallbacks", "Turns")

    assert not breaches(alarm, value(alarm, EngineFallbacks=1, Turns=2))


def test_a_model_that_fails_every_turn_alarms(template: Template) -> None:
    alarm = alarm_on(template, "EngineFallbacks", "Turns")

    assert breaches(alarm, value(alarm, EngineFallbacks=20, Turns=20))


def test_turns_without_a_fallback_do_not_alarm(template: Template) -> None:
    alarm = alarm_on(template, "EngineFallbacks", "Turns")

    assert not breaches(alarm, value(alarm, EngineFallbacks=None, Turns=50))


def test_a_persons_declined_cards_do_not_alarm(template: Template) -> None:
    alarm = alarm_on(template, "CardDeclines", "CardsSaved")

    assert not breaches(alarm, value(alarm, CardDeclines=3, CardsSaved=None))


def test_an_ordinary_share_of_declines_does_not_alarm(template: Template) -> None:
    alarm = alarm_on(template, "CardDeclines", "CardsSaved")

    assert not breaches(alarm, value(alarm, CardDeclines=2, CardsSaved=18))


def test_mostly_declined_cards_alarm(template: Template) -> None:
    alarm = alarm_on(template, "CardDeclines", "CardsSaved")

    assert breaches(alarm, value(alarm, CardDeclines=12, CardsSaved=3))
    assert breaches(alarm, value(alarm, CardDeclines=30, CardsSaved=None))


def test_repeated_abuse_limit_refusals_alarm(template: Template) -> None:
    alarm = alarm_on(template, "RateLimited")

    assert alarm["Statistic"] == "Sum"
    assert not breaches(alarm, 3)
    assert breaches(alarm, 10)


def test_provider_errors_alarm_only_when_they_last(template: Template) -> None:
    alarm = alarm_on(template, "ProviderErrors")

    assert not breaches(alarm, 1)
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"] >= 2


def test_throttled_writes_alone_alarm(template: Template) -> None:
    alarm = alarm_on(template, "ReadThrottleEvents", "WriteThrottleEvents")

    assert breaches(alarm, value(alarm, ReadThrottleEvents=None, WriteThrottleEvents=5))


def test_an_odd_throttled_request_does_not_alarm(template: Template) -> None:
    alarm = alarm_on(template, "ReadThrottleEvents", "WriteThrottleEvents")

    assert not breaches(alarm, value(alarm, ReadThrottleEvents=1, WriteThrottleEvents=1))


def test_every_paybot_metric_an_alarm_reads_is_one_the_bot_publishes(template: Template) -> None:
    read = {
        name
        for alarm in alarms(template).values()
        for namespace, name, _ in metrics_of(alarm)
        if namespace == "paybot"
    }

    assert read <= set(PAYBOT_METRICS)


# --- where they go --------------------------------------------------------------------------


def test_alarms_can_publish_to_the_topic(template: Template, topic: str) -> None:
    # CloudWatch cannot use the AWS-managed SNS key (its key policy cannot grant it).
    properties = template["Resources"][topic]["Properties"]

    assert properties.get("KmsMasterKeyId") != "alias/aws/sns"


def test_no_email_is_subscribed_by_default(template: Template) -> None:
    subscriptions = resources(template, "AWS::SNS::Subscription")

    assert subscriptions
    assert not [s for s in subscriptions if Stack(template).created(s)]


def test_an_alarm_email_is_subscribed_to_the_topic(
    template_with: Callable[..., Template], topic: str
) -> None:
    with_email = template_with(alarmEmail="oncall@example.com")
    (subscription,) = [
        r["Properties"]
        for logical_id, r in resources(with_email, "AWS::SNS::Subscription").items()
        if Stack(with_email).created(logical_id)
    ]

    assert subscription == {
        "TopicArn": ref(topic),
        "Protocol": "email",
        "Endpoint": "oncall@example.com",
    }


def test_the_topic_is_an_output(template: Template, topic: str) -> None:
    assert ref(topic) in [output["Value"] for output in template["Outputs"].values()]
