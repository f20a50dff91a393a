"""Each function runs with a role of its own, holding only what that function's code calls.

The purge lists expired sessions and deletes them: it may scan the table and delete session
items, and nothing else. The slack function may make the store's item calls but not scan
the table, read the one secret, call the one model, re-invoke itself and record a failed
re-invocation in its on-failure queue (test_async_failures.py). Both write to their
own log group only. The store's calls are read from its source (tests/deploy/roles.py), so
a call added there without its permission fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.dynamodb_store import SESSION_KEY_PREFIX
from tests.deploy.roles import (
    actions_of,
    function_resource,
    policies_of,
    role_of,
    statements_of,
    store_actions,
)

Template = dict[str, Any]

LOG_WRITES = {"logs:CreateLogStream", "logs:PutLogEvents"}


def table_arn(template: Template) -> dict[str, Any]:
    (table_id,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    ]
    return {"Fn::GetAtt": [table_id, "Arn"]}


def granting(statements: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [s for s in statements if actions_of([s], prefix)]


@pytest.fixture(scope="module")
def slack_role(template: Template) -> str:
    return role_of(template, "slack")


@pytest.fixture(scope="module")
def purge_role(template: Template) -> str:
    return role_of(template, "purge")


@pytest.fixture(scope="module")
def slack_statements(template: Template, slack_role: str) -> list[dict[str, Any]]:
    return statements_of(template, slack_role)


@pytest.fixture(scope="module")
def purge_statements(template: Template, purge_role: str) -> list[dict[str, Any]]:
    return statements_of(template, purge_role)


# --- one role per function ------------------------------------------------------------------


def test_each_function_runs_with_a_role_of_its_own(
    template: Template, slack_role: str, purge_role: str
) -> None:
    roles = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    ]

    assert slack_role != purge_role
    assert sorted(roles) == sorted([slack_role, purge_role])  # no shared role beside them


@pytest.mark.parametrize("function", ["slack", "purge"])
def test_only_lambda_may_assume_a_functions_role(template: Template, function: str) -> None:
    role = template["Resources"][role_of(template, function)]["Properties"]

    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert "ManagedPolicyArns" not in role  # no AWS-managed policy widens it
    assert "PermissionsBoundary" not in role


@pytest.mark.parametrize("function", ["slack", "purge"])
def test_each_function_writes_only_to_its_own_log_group(template: Template, function: str) -> None:
    logical_id, resource = function_resource(template, function)
    log_group_id = f"{logical_id.removesuffix('LambdaFunction')}LogGroup"
    log_group = template["Resources"][log_group_id]["Properties"]
    (statement,) = granting(statements_of(template, role_of(template, function)), "logs:")

    assert log_group["LogGroupName"] == f"/aws/lambda/{resource['Properties']['FunctionName']}"
    assert sorted(statement["Action"]) == sorted(LOG_WRITES)  # the stack creates the group
    assert statement["Resource"] == [{"Fn::GetAtt": [log_group_id, "Arn"]}]


# --- the purge ------------------------------------------------------------------------------


def test_the_purge_role_may_scan_the_table_and_delete_from_it_and_nothing_else(
    template: Template, purge_statements: list[dict[str, Any]]
) -> None:
    assert actions_of(purge_statements) == {"dynamodb:Scan", "dynamodb:DeleteItem", *LOG_WRITES}
    for statement in granting(purge_statements, "dynamodb:"):
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == [table_arn(template)]


def test_the_purge_role_holds_no_policy_but_its_own(template: Template, purge_role: str) -> None:
    # No guardrail, Marketplace or other standalone policy is attached to it either.
    assert [policy_id for policy_id, _ in policies_of(template, purge_role)] == [None]


def test_the_purge_may_not_read_the_secret_call_bedrock_or_invoke_a_function(
    purge_statements: list[dict[str, Any]],
) -> None:
    for service in ("secretsmanager:", "bedrock:", "aws-marketplace:", "lambda:", "kms:", "sqs:"):
        assert granting(purge_statements, service) == [], service


def test_the_purge_may_delete_session_items_only(purge_statements: list[dict[str, Any]]) -> None:
    (delete,) = granting(purge_statements, "dynamodb:DeleteItem")
    (scan,) = granting(purge_statements, "dynamodb:Scan")

    assert delete["Action"] == ["dynamodb:DeleteItem"]  # never an event-ledger record
    assert delete["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{SESSION_KEY_PREFIX}*"]}
    }
    assert scan["Action"] == ["dynamodb:Scan"]


def test_the_purge_role_makes_exactly_the_table_calls_the_purge_makes(
    purge_statements: list[dict[str, Any]],
) -> None:
    _, purge_calls = store_actions()

    assert actions_of(purge_statements, "dynamodb:") == purge_calls


# --- the slack function ---------------------------------------------------------------------


def test_the_slack_role_makes_exactly_the_table_calls_the_slack_function_makes(
    template: Template, slack_statements: list[dict[str, Any]]
) -> None:
    slack_calls, _ = store_actions()
    (statement,) = granting(slack_statements, "dynamodb:")

    assert actions_of(slack_statements, "dynamodb:") == slack_calls
    assert statement["Resource"] == [table_arn(template)]


def test_the_slack_role_may_not_scan_the_table(slack_statements: list[dict[str, Any]]) -> None:
    # Only the purge lists the table; the slack function reaches items by their key.
    dynamodb = actions_of(slack_statements, "dynamodb:")

    assert "dynamodb:Scan" not in dynamodb
    assert "dynamodb:Query" not in dynamodb
    assert not [a for a in dynamodb if a.startswith(("dynamodb:Batch", "dynamodb:Transact"))]


def test_the_slack_role_holds_what_the_slack_function_calls_and_no_more(
    slack_statements: list[dict[str, Any]],
) -> None:
    slack_calls, _ = store_actions()

    assert actions_of(slack_statements) == {
        *LOG_WRITES,
        *slack_calls,
        "secretsmanager:GetSecretValue",  # the Slack and Stripe keys
        "bedrock:InvokeModel",  # Converse with the configured model
        "bedrock:ApplyGuardrail",  # only when a guardrail is configured
        "aws-marketplace:Subscribe",  # only when a model product id is configured
        "aws-marketplace:ViewSubscriptions",
        "lambda:InvokeFunction",  # Bolt's lazy listeners re-invoke the function
        "sqs:SendMessage",  # Lambda records a failed re-invocation with this role
    }


def test_the_guardrail_and_marketplace_policies_are_the_slack_roles_alone(
    template: Template, slack_role: str
) -> None:
    standalone = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy"
    }

    assert standalone
    for logical_id, policy in standalone.items():
        assert policy["Properties"]["Roles"] == [{"Ref": slack_role}], logical_id


# That it may invoke only itself: test_cloudformation.py.
