"""The CloudFormation template `serverless package` produces from serverless.yml.

The table matches the store's layout, each IAM permission names its resource, and the
functions, route and schedule are the ones the code expects. What each function's own role
may do: test_function_roles.py; the model it may call: test_model_iam.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.adapters import bedrock_engine
from bot.adapters import dynamodb_store as layout
from tests.deploy.intrinsics import Stack
from tests.deploy.roles import invoke_configs, role_of, statements_of

Template = dict[str, Any]

# Statements allowed to name "*" as their resource, with the reason. Every other action
# paybot uses accepts a resource ARN; CloudWatch Logs statements are scoped to
# each function's own log group.
WILDCARD_RESOURCE_ALLOWLIST: dict[str, str] = {
    "aws-marketplace:Subscribe": "Marketplace actions take no ARN; a ProductId condition "
    "holds it to the configured model, and the policy exists only when one is configured",
    "aws-marketplace:ViewSubscriptions": "Marketplace actions take no ARN; the policy "
    "exists only when a third-party model's product id is configured",
}

# Names that must never appear in a function's environment: they live in the secret.
CREDENTIALS = {
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
}

HTTP_API_INTEGRATION_CAP_SECONDS = 30


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def only(template: Template, kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources(template, kind).items()
    return found


def function(template: Template, name: str) -> dict[str, Any]:
    """A function's properties by its key in serverless.yml."""
    for resource in resources(template, "AWS::Lambda::Function").values():
        if resource["Properties"]["FunctionName"] == f"paybot-test-{name}":
            return dict(resource["Properties"])
    raise AssertionError(f"no {name} function in the template")


def logical_id_of_function(template: Template, name: str) -> str:
    for logical_id, resource in resources(template, "AWS::Lambda::Function").items():
        if resource["Properties"]["FunctionName"] == f"paybot-test-{name}":
            return logical_id
    raise AssertionError(f"no {name} function in the template")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_statements(template: Template) -> list[dict[str, Any]]:
    """Every statement of every policy the template grants, inline or standalone."""
    documents = [
        policy["PolicyDocument"]
        for role in resources(template, "AWS::IAM::Role").values()
        for policy in role["Properties"].get("Policies", [])
    ]
    documents += [
        policy["Properties"]["PolicyDocument"]
        for policy in resources(template, "AWS::IAM::Policy").values()
    ]
    return [statement for document in documents for statement in document["Statement"]]


def statement_for(template: Template, action: str) -> dict[str, Any]:
    """The one statement granting `action` to the slack function's role."""
    granted = statements_of(template, role_of(template, "slack"))
    (found,) = [s for s in granted if action in as_list(s["Action"])]
    return found


@pytest.fixture(scope="module")
def table(template: Template) -> dict[str, Any]:
    return only(template, "AWS::DynamoDB::Table")[1]


@pytest.fixture(scope="module")
def slack(template: Template) -> dict[str, Any]:
    return function(template, "slack")


# --- the sessions table -----------------------------------------------------------------


def test_table_key_schema_is_the_stores(table: dict[str, Any]) -> None:
    assert table["Properties"]["KeySchema"] == list(layout.KEY_SCHEMA)
    assert table["Properties"]["AttributeDefinitions"] == list(layout.ATTRIBUTE_DEFINITIONS)


def test_table_is_on_demand(table: dict[str, Any]) -> None:
    assert table["Properties"]["BillingMode"] == layout.BILLING_MODE


def test_table_expires_items_by_ttl_on_expires_at(table: dict[str, Any]) -> None:
    assert table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": layout.TTL_ATTRIBUTE,
        "Enabled": True,
    }


def test_table_is_encrypted_at_rest(table: dict[str, Any]) -> None:
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}


def test_table_has_point_in_time_recovery(table: dict[str, Any]) -> None:
    recovery = table["Properties"]["PointInTimeRecoverySpecification"]
    assert recovery == {"PointInTimeRecoveryEnabled": True}


def test_table_survives_stack_deletion_and_replacement(table: dict[str, Any]) -> None:
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


# --- IAM ----------------------------------------------------------------------------------


def test_every_iam_statement_names_its_resources(template: Template) -> None:
    for statement in iam_statements(template):
        resources_named = as_list(statement.get("Resource", []))
        assert resources_named, f"no Resource in {statement}"
        if "*" in resources_named:
            actions = ",".join(sorted(as_list(statement["Action"])))
            assert actions in WILDCARD_RESOURCE_ALLOWLIST, f"Resource '*' for {actions}"


def test_no_iam_statement_grants_a_wildcard_action(template: Template) -> None:
    for statement in iam_statements(template):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action, action


# Which table calls each function's role may make: test_function_roles.py.


# Which model the slack function's role may invoke, for each way of naming it:
# test_model_iam.py.


def test_guardrail_access_is_granted_only_when_a_guardrail_is_configured(
    template: Template, slack: dict[str, Any]
) -> None:
    guardrail_id = slack["Environment"]["Variables"]["BEDROCK_GUARDRAIL_ID"]
    (policy,) = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if "bedrock:ApplyGuardrail" in json.dumps(p)
    ]

    condition = template["Conditions"][policy["Condition"]]
    assert condition == {"Fn::Not": [{"Fn::Equals": [guardrail_id, ""]}]}
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["bedrock:ApplyGuardrail"],
            "Resource": [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}"
                    f":guardrail/{guardrail_id}"
                }
            ],
        }
    ]


def test_secret_access_is_reading_the_one_configured_secret(
    template: Template, slack: dict[str, Any]
) -> None:
    secret = slack["Environment"]["Variables"]["SECRETS_ARN"]
    statement = statement_for(template, "secretsmanager:GetSecretValue")

    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    # The ARN as given, or (for a partial ARN) the secret's with its six-character suffix.
    assert statement["Resource"] == [secret, {"Fn::Join": ["", [secret, "-??????"]]}]


def test_the_slack_function_may_invoke_only_itself(template: Template) -> None:
    statement = statement_for(template, "lambda:InvokeFunction")
    name = function(template, "slack")["FunctionName"]

    assert statement["Action"] == ["lambda:InvokeFunction"]
    # The function itself, not a version or an alias (with SnapStart: test_snapstart.py).
    assert Stack(template).value(statement["Resource"]) == [
        f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    ]


def test_no_role_refers_to_the_functions(template: Template) -> None:
    # The functions depend on their roles: a reference back would be a circular dependency.
    function_ids = resources(template, "AWS::Lambda::Function")
    roles = resources(template, "AWS::IAM::Role")
    policies = resources(template, "AWS::IAM::Policy")

    assert roles
    for logical_id, resource in {**roles, **policies}.items():
        assert not [f for f in function_ids if f in json.dumps(resource)], logical_id
    assert all(f["Properties"]["Role"]["Fn::GetAtt"][0] in roles for f in function_ids.values())


# --- the slack function -------------------------------------------------------------------


def test_slack_function_runs_the_lambda_entry_on_python312_arm64(slack: dict[str, Any]) -> None:
    assert slack["Handler"] == "handlers/aws_lambda.handler"
    assert slack["Runtime"] == "python3.12"
    assert slack["Architectures"] == ["arm64"]


def test_slack_function_outlasts_a_bedrock_turn_but_not_the_http_api(
    slack: dict[str, Any],
) -> None:
    worst_bedrock_turn = (
        bedrock_engine.TOTAL_MAX_ATTEMPTS
        * (bedrock_engine.CONNECT_TIMEOUT_SECONDS + bedrock_engine.READ_TIMEOUT_SECONDS)
        + 1
    )  # standard-mode backoff before the retry
    fallback_and_reply = 5  # the rule engine, the session write and one Slack post

    assert slack["Timeout"] >= worst_bedrock_turn + fallback_and_reply
    assert slack["Timeout"] < HTTP_API_INTEGRATION_CAP_SECONDS


def test_slack_function_has_cpu_for_a_cold_start_inside_slacks_3_seconds(
    slack: dict[str, Any],
) -> None:
    assert slack["MemorySize"] >= 1024


def test_slack_function_keeps_sessions_in_the_deployed_table(
    slack: dict[str, Any], table: dict[str, Any]
) -> None:
    variables = slack["Environment"]["Variables"]

    assert variables["SESSION_STORE"] == "dynamodb"
    assert variables["SESSIONS_TABLE"] == table["Properties"]["TableName"]


def test_slack_function_environment_holds_every_deploy_setting(slack: dict[str, Any]) -> None:
    assert set(slack["Environment"]["Variables"]) >= {
        "SESSION_STORE",
        "SESSIONS_TABLE",
        "DIALOGUE_ENGINE",
        "BEDROCK_MODEL_ID",
        "BEDROCK_GUARDRAIL_ID",
        "BEDROCK_GUARDRAIL_VERSION",
        "SECRETS_ARN",
        "LOG_LEVEL",
        "CARD_ENTRY",
    }


def test_no_function_environment_holds_a_credential(template: Template) -> None:
    for resource in resources(template, "AWS::Lambda::Function").values():
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        assert not CREDENTIALS & set(variables)


def test_lazy_invocations_of_the_slack_function_run_once(template: Template) -> None:
    (config,) = invoke_configs(template, "slack").values()

    assert config["FunctionName"] == {"Ref": logical_id_of_function(template, "slack")}
    assert config["MaximumRetryAttempts"] == 0


def test_every_function_keeps_its_logs_for_a_bounded_time(template: Template) -> None:
    groups = resources(template, "AWS::Logs::LogGroup").values()

    assert len(groups) == len(resources(template, "AWS::Lambda::Function"))
    assert all(0 < group["Properties"]["RetentionInDays"] <= 365 for group in groups)


# --- the HTTP API -------------------------------------------------------------------------


def routes_to(template: Template) -> dict[str, Any]:
    """Each HTTP API route key, with what its integration invokes."""
    integrations = resources(template, "AWS::ApiGatewayV2::Integration")
    targets: dict[str, Any] = {}
    for route in resources(template, "AWS::ApiGatewayV2::Route").values():
        target = route["Properties"]["Target"]  # "integrations/<integration id>"
        assert target["Fn::Join"][1][0] == "integrations"
        integration = integrations[target["Fn::Join"][1][1]["Ref"]]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        targets[route["Properties"]["RouteKey"]] = integration["IntegrationUri"]
    return targets


def test_slack_events_are_posted_to_the_slack_function(template: Template) -> None:
    slack_arn = {"Fn::GetAtt": [logical_id_of_function(template, "slack"), "Arn"]}

    assert routes_to(template)["POST /slack/events"] == slack_arn


def test_stripes_webhook_and_return_page_reach_the_slack_function(template: Template) -> None:
    slack_arn = {"Fn::GetAtt": [logical_id_of_function(template, "slack"), "Arn"]}
    routes = routes_to(template)

    assert routes["POST /stripe/webhook"] == slack_arn
    assert routes["GET /stripe/return"] == slack_arn


def test_teams_activities_reach_the_same_function(template: Template) -> None:
    slack_arn = {"Fn::GetAtt": [logical_id_of_function(template, "slack"), "Arn"]}

    assert routes_to(template)["POST /api/messages"] == slack_arn


def test_the_http_api_has_no_other_routes(template: Template) -> None:
    assert set(routes_to(template)) == {
        "POST /slack/events",
        "POST /stripe/webhook",
        "GET /stripe/return",
        "POST /api/messages",
    }


# --- the purge ----------------------------------------------------------------------------


def test_purge_function_runs_the_purge_entry_on_python312_arm64(template: Template) -> None:
    purge = function(template, "purge")

    assert purge["Handler"] == "handlers/purge.handler"
    assert purge["Runtime"] == "python3.12"
    assert purge["Architectures"] == ["arm64"]
    assert (
        purge["Environment"]["Variables"]["SESSIONS_TABLE"]
        == (function(template, "slack")["Environment"]["Variables"]["SESSIONS_TABLE"])
    )


def test_purge_runs_once_a_day(template: Template) -> None:
    (rule,) = resources(template, "AWS::Events::Rule").values()

    assert rule["Properties"]["ScheduleExpression"] == "rate(1 day)"
    assert rule["Properties"]["State"] == "ENABLED"
    assert [target["Arn"] for target in rule["Properties"]["Targets"]] == [
        {"Fn::GetAtt": [logical_id_of_function(template, "purge"), "Arn"]}
    ]
