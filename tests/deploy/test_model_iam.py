"""The slack function's role may call the configured Bedrock model exactly as Bedrock
authorises the call, and the purge function's role may not call Bedrock at all.

A cross-Region inference profile is authorised on the profile and on the model in every
Region the profile may route to; the global profile on the profile, the model in this
Region and the model with no Region; a plain model id on that model in this Region. Each
case is packaged with `serverless package` and its intrinsic functions evaluated for one
account in the test Region, so the assertions read the ARNs IAM would see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.environment import REGION
from tests.deploy.intrinsics import Stack
from tests.deploy.roles import policies_of, role_of

Template = dict[str, Any]

ACCOUNT = "123456789012"
NOVA_2_LITE = "amazon.nova-2-lite-v1:0"
# Bedrock's US cross-Region inference profile for Nova 2 Lite routes to these Regions.
US_PROFILE_REGIONS = ("us-east-1", "us-east-2", "us-west-2")
CLAUDE_3_HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
CLAUDE_3_HAIKU_PRODUCT = "prod-ozonys2hmmpeu"  # its AWS Marketplace product id


def deployed(template: Template) -> Stack:
    return Stack(template, region=REGION, account=ACCOUNT)


def statements(stack: Stack, action_prefix: str, function: str = "slack") -> list[dict[str, Any]]:
    """The statements the stack grants `function`'s role with an action starting
    `action_prefix`, evaluated, from the role and from the policies the stack creates."""
    return [
        stack.value(statement)
        for policy_id, document in policies_of(stack.template, role_of(stack.template, function))
        if policy_id is None or stack.created(policy_id)
        for statement in document["Statement"]
        if any(action.startswith(action_prefix) for action in statement["Action"])
    ]


def bedrock_invocations(stack: Stack) -> list[str]:
    """The resources of the one statement that lets the role run a Bedrock model."""
    (statement,) = statements(stack, "bedrock:Invoke")
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["bedrock:InvokeModel"]  # Converse is authorised by it
    assert "Condition" not in statement
    resources: list[str] = statement["Resource"]
    return resources


def marketplace_actions(stack: Stack) -> list[dict[str, Any]]:
    return statements(stack, "aws-marketplace:")


def model_id(stack: Stack) -> str:
    """The BEDROCK_MODEL_ID the slack function is deployed with."""
    for resource in stack.template["Resources"].values():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::Lambda::Function" and properties["FunctionName"].endswith(
            "-slack"
        ):
            value: str = stack.value(properties["Environment"]["Variables"]["BEDROCK_MODEL_ID"])
            return value
    raise AssertionError("no slack function in the template")


def foundation_model(region: str, model: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


def inference_profile(profile_id: str) -> str:
    return f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{profile_id}"


@pytest.fixture(scope="module")
def default(template: Template) -> Stack:
    return deployed(template)


@pytest.fixture(scope="module")
def in_region_claude(template_with: Callable[..., Template]) -> Stack:
    return deployed(
        template_with(
            modelProfile="none", modelId=CLAUDE_3_HAIKU, modelProductId=CLAUDE_3_HAIKU_PRODUCT
        )
    )


@pytest.fixture(scope="module")
def global_nova(template_with: Callable[..., Template]) -> Stack:
    return deployed(template_with(modelProfile="global"))


# --- the default: Amazon Nova 2 Lite through the US inference profile --------------------


def test_the_default_model_is_nova_2_lite_through_the_us_profile(default: Stack) -> None:
    assert model_id(default) == f"us.{NOVA_2_LITE}"


def test_the_default_profile_may_run_the_model_in_each_us_region_it_routes_to(
    default: Stack,
) -> None:
    assert sorted(bedrock_invocations(default)) == sorted(
        [
            inference_profile(f"us.{NOVA_2_LITE}"),
            *(foundation_model(region, NOVA_2_LITE) for region in US_PROFILE_REGIONS),
        ]
    )


def test_the_default_grants_no_marketplace_subscription(default: Stack) -> None:
    assert marketplace_actions(default) == []


# --- a model id with no profile ------------------------------------------------------------


def test_a_model_without_a_profile_is_called_by_its_own_id(in_region_claude: Stack) -> None:
    assert model_id(in_region_claude) == CLAUDE_3_HAIKU


def test_a_model_without_a_profile_may_run_only_in_this_region(in_region_claude: Stack) -> None:
    assert bedrock_invocations(in_region_claude) == [foundation_model(REGION, CLAUDE_3_HAIKU)]


def test_a_third_party_models_first_call_may_subscribe_to_that_product_only(
    in_region_claude: Stack,
) -> None:
    subscribe, view = marketplace_actions(in_region_claude)

    # Marketplace actions take no resource ARN; the product id condition is what narrows them.
    assert subscribe == {
        "Effect": "Allow",
        "Action": ["aws-marketplace:Subscribe"],
        "Resource": "*",
        "Condition": {
            "ForAnyValue:StringEquals": {"aws-marketplace:ProductId": [CLAUDE_3_HAIKU_PRODUCT]}
        },
    }
    assert view == {
        "Effect": "Allow",
        "Action": ["aws-marketplace:ViewSubscriptions"],
        "Resource": "*",
    }


# --- the global profile ---------------------------------------------------------------------


def test_the_global_profile_is_called_by_its_global_id(global_nova: Stack) -> None:
    assert model_id(global_nova) == f"global.{NOVA_2_LITE}"


def test_the_global_profile_may_run_the_model_here_and_in_any_region(global_nova: Stack) -> None:
    assert bedrock_invocations(global_nova) == [
        inference_profile(f"global.{NOVA_2_LITE}"),
        foundation_model(REGION, NOVA_2_LITE),
        f"arn:aws:bedrock:::foundation-model/{NOVA_2_LITE}",
    ]


# --- nothing wider ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["default", "in_region_claude", "global_nova"])
def test_every_bedrock_resource_names_the_configured_model(
    case: str, request: pytest.FixtureRequest
) -> None:
    stack: Stack = request.getfixturevalue(case)
    called = model_id(stack)
    model = called.split(".", 1)[1] if called.startswith(("us.", "global.")) else called

    for arn in bedrock_invocations(stack):
        assert "*" not in arn, arn
        assert "?" not in arn, arn
        assert arn.endswith((f"/{called}", f"/{model}")), arn


@pytest.mark.parametrize("case", ["default", "in_region_claude", "global_nova"])
def test_the_purge_may_not_call_bedrock_or_subscribe_to_a_model(
    case: str, request: pytest.FixtureRequest
) -> None:
    stack: Stack = request.getfixturevalue(case)

    assert statements(stack, "bedrock:", function="purge") == []
    assert statements(stack, "aws-marketplace:", function="purge") == []
