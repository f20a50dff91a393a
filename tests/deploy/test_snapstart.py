"""SnapStart, opt-in: `--param="snapStart=true"` gives the slack function Lambda SnapStart.

Lambda snapshots a *published version* once it has run the function's init (and the runtime
hooks registered in `handlers/aws_lambda.py`), and starts new containers from that
snapshot; `$LATEST` never uses it. So with SnapStart the framework publishes a version with
`SnapStart: {ApplyOn: PublishedVersions}` and the `snapstart` alias pointing at it, and
everything that calls the function must call the alias: API Gateway's routes, and Bolt's
lazy self-invocations, which invoke the ARN they were invoked as (the role must grant that
qualified ARN: a grant on the bare function's ARN does not cover its aliases). Without the
parameter, nothing of this is in the template.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.deploy.environment import PROJECT_ROOT
from tests.deploy.intrinsics import Stack
from tests.deploy.monitoring import only, resources
from tests.deploy.roles import function_resource, invoke_configs, role_of, statements_of
from tests.deploy.test_limits import parameter_rows

Template = dict[str, Any]

ALIAS = "snapstart"  # the name the Serverless Framework v3 gives a SnapStart function's alias
SNAPSTART_RUNTIMES = ("python3.12", "python3.13", "python3.14")
"""Python runtimes Lambda SnapStart supports (Python 3.12 and later)."""
EPHEMERAL_STORAGE_LIMIT_MB = 512  # SnapStart takes no larger /tmp
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:paybot-test-slack"


@pytest.fixture(scope="module")
def snapstart(template_with: Any) -> Template:
    return dict(template_with(snapStart="true"))


def slack_id(template: Template) -> str:
    return function_resource(template, "slack")[0]


def alias_arn(template: Template) -> dict[str, Any]:
    return {"Fn::Join": [":", [{"Fn::GetAtt": [slack_id(template), "Arn"]}, ALIAS]]}


def integration_targets(template: Template) -> list[Any]:
    return [
        integration["Properties"]["IntegrationUri"]
        for integration in resources(template, "AWS::ApiGatewayV2::Integration").values()
    ]


def self_invocations(template: Template) -> list[str]:
    """What the slack function's role may invoke, as the stack would grant it."""
    statements = statements_of(template, role_of(template, "slack"))
    (statement,) = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    return list(Stack(template).value(statement["Resource"]))


# --- without the parameter ------------------------------------------------------------------


def test_snapstart_is_off_unless_asked_for_and_the_readme_says_so() -> None:
    document = yaml.safe_load((PROJECT_ROOT / "serverless.yml").read_text())
    rows = parameter_rows((PROJECT_ROOT / "README.md").read_text())

    assert document["params"]["default"]["snapStart"] == "false"
    assert "`false`" in rows["snapStart"][2]


def test_by_default_no_function_has_snapstart(template: Template) -> None:
    for resource in resources(template, "AWS::Lambda::Function").values():
        assert "SnapStart" not in resource["Properties"]


def test_by_default_there_is_no_alias_and_the_routes_call_the_function(
    template: Template,
) -> None:
    assert not resources(template, "AWS::Lambda::Alias")
    assert integration_targets(template) == [{"Fn::GetAtt": [slack_id(template), "Arn"]}]


def test_by_default_lazy_work_invokes_the_bare_function(template: Template) -> None:
    assert self_invocations(template) == [FUNCTION_ARN]
    assert set(invoke_configs(template, "slack")) == {"$LATEST"}


# --- with snapStart=true --------------------------------------------------------------------


def test_the_slack_function_snapshots_its_published_versions(snapstart: Template) -> None:
    slack = function_resource(snapstart, "slack")[1]["Properties"]

    assert slack["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert "SnapStart" not in function_resource(snapstart, "purge")[1]["Properties"]


def test_the_slack_function_is_one_snapstart_supports(snapstart: Template) -> None:
    slack = function_resource(snapstart, "slack")[1]["Properties"]

    storage = slack.get("EphemeralStorage", {}).get("Size", EPHEMERAL_STORAGE_LIMIT_MB)

    assert slack["Runtime"] in SNAPSTART_RUNTIMES
    assert storage <= EPHEMERAL_STORAGE_LIMIT_MB
    assert "FileSystemConfigs" not in slack  # no EFS with SnapStart
    for kind in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        for resource in resources(snapstart, kind).values():  # nor provisioned concurrency
            assert "ProvisionedConcurrencyConfig" not in resource["Properties"]


def test_the_alias_names_the_version_this_deploy_publishes(snapstart: Template) -> None:
    versions = {
        logical_id: resource
        for logical_id, resource in resources(snapstart, "AWS::Lambda::Version").items()
        if resource["Properties"]["FunctionName"] == {"Ref": slack_id(snapstart)}
    }
    (version_id,) = versions
    alias = snapstart["Resources"][only(snapstart, "AWS::Lambda::Alias")]["Properties"]

    assert alias["Name"] == ALIAS
    assert alias["FunctionName"] == {"Ref": slack_id(snapstart)}
    assert alias["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}


def test_a_deploy_deletes_the_snapstart_version_it_replaces(snapstart: Template) -> None:
    # Each published version's snapshot is cached, and billed; rollbacks
    # redeploy (docs/RUNBOOK.md) and need no old version.
    for resource in resources(snapstart, "AWS::Lambda::Version").values():
        if resource["Properties"]["FunctionName"] == {"Ref": slack_id(snapstart)}:
            assert resource.get("DeletionPolicy") != "Retain"


def test_every_route_calls_the_alias(snapstart: Template) -> None:
    assert integration_targets(snapstart) == [alias_arn(snapstart)]


def test_api_gateway_may_invoke_the_alias(snapstart: Template) -> None:
    (permission,) = [
        p["Properties"]
        for p in resources(snapstart, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]

    assert permission["FunctionName"] == alias_arn(snapstart)
    assert permission["Action"] == "lambda:InvokeFunction"


def test_lazy_work_may_invoke_the_alias_and_the_function_and_nothing_else(
    snapstart: Template,
) -> None:
    # Bolt invokes the alias (the ARN it was invoked as); Teams' deferred turns invoke
    # the function by name, which runs $LATEST.
    assert self_invocations(snapstart) == [FUNCTION_ARN, f"{FUNCTION_ARN}:{ALIAS}"]


def test_lazy_work_runs_once_and_records_its_failures_whichever_it_invokes(
    snapstart: Template, template: Template
) -> None:
    configs = invoke_configs(snapstart, "slack")
    (plain,) = invoke_configs(template, "slack").values()
    expected = {k: plain[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")}

    assert set(configs) == {ALIAS, "$LATEST"}
    for config in configs.values():
        assert {k: config[k] for k in expected} == expected
        assert config["DestinationConfig"] == plain["DestinationConfig"]


def test_snapstart_changes_no_setting(snapstart: Template, template: Template) -> None:
    def variables(t: Template) -> str:
        return json.dumps(function_resource(t, "slack")[1]["Properties"]["Environment"])

    assert variables(snapstart) == variables(template)


def test_the_lambda_entry_registers_the_snapshot_hooks() -> None:
    from snapshot_restore_py import get_after_restore, get_before_snapshot

    from handlers import aws_lambda

    assert (aws_lambda.before_snapshot, (), {}) in get_before_snapshot()
    assert (aws_lambda.after_restore, (), {}) in get_after_restore()
