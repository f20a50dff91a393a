"""What happens to a lazy invocation of the slack function that fails: it is not retried,
it expires after a minute, and its record goes to one encrypted queue, which the function's
own role may send to and nothing else may.

Lambda sends an on-failure record with the function's execution role; the record holds the
deferred request, which never carries card data (tests/security hold that side).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.monitoring import only, resources
from tests.deploy.roles import actions_of, function_resource, invoke_configs, role_of, statements_of

Template = dict[str, Any]

FOURTEEN_DAYS = 14 * 24 * 3600
A_MINUTE = 60


@pytest.fixture(scope="module")
def invoke_config(template: Template) -> dict[str, Any]:
    (config,) = invoke_configs(template, "slack").values()
    return config


@pytest.fixture(scope="module")
def queue_id(template: Template) -> str:
    return only(template, "AWS::SQS::Queue")


def test_the_config_is_the_slack_functions(
    template: Template, invoke_config: dict[str, Any]
) -> None:
    assert invoke_config["FunctionName"] == {"Ref": function_resource(template, "slack")[0]}
    assert invoke_config["Qualifier"] == "$LATEST"


def test_a_failed_lazy_invocation_is_not_retried(invoke_config: dict[str, Any]) -> None:
    assert invoke_config["MaximumRetryAttempts"] == 0


def test_lazy_work_older_than_a_minute_is_dropped(invoke_config: dict[str, Any]) -> None:
    assert invoke_config["MaximumEventAgeInSeconds"] == A_MINUTE


def test_a_failed_lazy_invocation_is_recorded_in_the_queue(
    invoke_config: dict[str, Any], queue_id: str
) -> None:
    assert invoke_config["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}
    }  # and no OnSuccess: a record of every reply would copy every request


def test_the_queue_is_encrypted_and_keeps_records_fourteen_days(
    template: Template, queue_id: str
) -> None:
    queue = template["Resources"][queue_id]["Properties"]

    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert not queue.get("FifoQueue")  # Lambda cannot send destination records to FIFO


def test_the_slack_role_may_send_to_the_queue_and_nowhere_else(
    template: Template, queue_id: str
) -> None:
    statements = statements_of(template, role_of(template, "slack"))
    (statement,) = [s for s in statements if actions_of([s], "sqs:")]

    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Resource"] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
    assert "Condition" not in statement


def test_the_purge_role_may_not_touch_the_queue(template: Template) -> None:
    statements = statements_of(template, role_of(template, "purge"))

    assert actions_of(statements, "sqs:") == set()


def test_no_queue_policy_opens_the_queue_to_another_account_or_service(
    template: Template,
) -> None:
    assert not resources(template, "AWS::SQS::QueuePolicy")


def test_the_queue_url_is_an_output(template: Template, queue_id: str) -> None:
    assert {"Ref": queue_id} in [output["Value"] for output in template["Outputs"].values()]
