"""The Bedrock control plane stand-in (GetFoundationModel, GetInferenceProfile) through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from emulator.bedrock_api import (
    END_OF_LIFE_MESSAGE,
    INVALID_MODEL_MESSAGE,
    BedrockEmulator,
    create_app,
)
from emulator.server import serve_in_thread

pytestmark = pytest.mark.integration

NOVA_2_LITE = "amazon.nova-2-lite-v1:0"
US_NOVA_2_LITE = f"us.{NOVA_2_LITE}"
END_OF_LIFE_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
US_REGIONS = ("us-east-1", "us-east-2", "us-west-2")


def control_client(endpoint_url: str | None = None, *, region: str = "us-east-1") -> Any:
    """A boto3 `bedrock` (control plane) client with dummy credentials and no retries."""
    return boto3.client(
        "bedrock",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def emulator() -> Iterator[BedrockEmulator]:
    emulator = BedrockEmulator()
    yield emulator
    assert emulator.off_shape == [], "the stand-in sent an answer off botocore's shape"


@pytest.fixture
def bedrock_url(emulator: BedrockEmulator) -> Iterator[str]:
    with serve_in_thread(create_app(emulator)) as server:
        yield server.url


@pytest.fixture
def client(bedrock_url: str) -> Any:
    return control_client(bedrock_url)


def model_arn(region: str, model_id: str = NOVA_2_LITE) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


# ---------------------------------------------------------------- GetFoundationModel


def test_nova_2_lite_is_active_and_served_through_inference_profiles(client: Any) -> None:
    details = client.get_foundation_model(modelIdentifier=NOVA_2_LITE)["modelDetails"]

    assert details["modelId"] == NOVA_2_LITE
    assert details["modelArn"] == model_arn("us-east-1")
    assert (details["providerName"], details["modelName"]) == ("Amazon", "Nova 2 Lite")
    assert details["modelLifecycle"]["status"] == "ACTIVE"
    assert details["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    assert details["outputModalities"] == ["TEXT"]


def test_a_foundation_model_arn_names_the_model_too(client: Any) -> None:
    arn = model_arn("us-east-1", "anthropic.claude-haiku-4-5-20251001-v1:0")

    details = client.get_foundation_model(modelIdentifier=arn)["modelDetails"]

    assert details["modelName"] == "Claude Haiku 4.5"
    assert details["modelLifecycle"]["status"] == "ACTIVE"


def test_an_end_of_life_model_is_not_found(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.get_foundation_model(modelIdentifier=END_OF_LIFE_MODEL)

    assert caught.value.response["Error"]["Message"] == END_OF_LIFE_MESSAGE
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_model_retired_in_most_regions_is_still_active_in_ca_central_1(bedrock_url: str) -> None:
    canada = control_client(bedrock_url, region="ca-central-1")

    details = canada.get_foundation_model(modelIdentifier=END_OF_LIFE_MODEL)["modelDetails"]

    assert details["modelLifecycle"]["status"] == "ACTIVE"
    assert details["inferenceTypesSupported"] == ["ON_DEMAND"]


def test_a_legacy_model_reports_when_it_reaches_its_end_of_life() -> None:
    june = BedrockEmulator(today=lambda: date(2026, 6, 1))
    with serve_in_thread(create_app(june)) as server:
        details = control_client(server.url).get_foundation_model(
            modelIdentifier="anthropic.claude-sonnet-4-20250514-v1:0"
        )["modelDetails"]

    lifecycle = details["modelLifecycle"]
    assert lifecycle["status"] == "LEGACY"
    assert lifecycle["endOfLifeTime"] == datetime(2026, 10, 14, tzinfo=UTC)
    assert lifecycle["legacyTime"] == datetime(2026, 4, 14, tzinfo=UTC)


def test_an_unknown_model_is_an_invalid_identifier(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.get_foundation_model(modelIdentifier="anthropic.claude-test")

    assert caught.value.response["Error"]["Message"] == INVALID_MODEL_MESSAGE


def test_a_malformed_model_identifier_fails_validation(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.get_foundation_model(modelIdentifier="no dots here")

    assert "at 'modelIdentifier' failed to satisfy constraint" in str(caught.value)


# ---------------------------------------------------------------- GetInferenceProfile


def test_the_us_profile_routes_to_the_three_us_regions(client: Any) -> None:
    profile = client.get_inference_profile(inferenceProfileIdentifier=US_NOVA_2_LITE)

    assert profile["inferenceProfileId"] == US_NOVA_2_LITE
    assert profile["inferenceProfileArn"] == (
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{US_NOVA_2_LITE}"
    )
    assert profile["inferenceProfileName"] == "US Amazon Nova 2 Lite"
    assert (profile["status"], profile["type"]) == ("ACTIVE", "SYSTEM_DEFINED")
    assert [m["modelArn"] for m in profile["models"]] == [model_arn(r) for r in US_REGIONS]
    assert profile["description"] == (
        "Routes requests to Amazon Nova 2 Lite in us-east-1, us-east-2 and us-west-2."
    )


def test_the_us_profile_seen_from_canada_also_routes_to_canada(bedrock_url: str) -> None:
    canada = control_client(bedrock_url, region="ca-central-1")

    profile = canada.get_inference_profile(inferenceProfileIdentifier=US_NOVA_2_LITE)

    assert profile["description"] == (
        "Routes requests to Amazon Nova 2 Lite in ca-central-1, us-east-1, us-east-2 and us-west-2."
    )
    assert model_arn("ca-central-1") in [m["modelArn"] for m in profile["models"]]


def test_the_global_profile_names_the_regionless_model_and_the_source_region(
    client: Any,
) -> None:
    profile = client.get_inference_profile(inferenceProfileIdentifier=f"global.{NOVA_2_LITE}")

    assert [m["modelArn"] for m in profile["models"]] == [
        f"arn:aws:bedrock:::foundation-model/{NOVA_2_LITE}",
        model_arn("us-east-1"),
    ]
    assert profile["inferenceProfileName"] == "GLOBAL Amazon Nova 2 Lite"


def test_a_profile_arn_is_accepted(client: Any) -> None:
    arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{US_NOVA_2_LITE}"

    assert (
        client.get_inference_profile(inferenceProfileIdentifier=arn)["inferenceProfileArn"] == arn
    )


def test_an_unknown_profile_is_not_found(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_inference_profile(inferenceProfileIdentifier="us.amazon.nova-9-giant-v1:0")


def test_a_profile_of_another_geography_is_not_found(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_inference_profile(inferenceProfileIdentifier=f"eu.{NOVA_2_LITE}")


def test_a_malformed_profile_identifier_fails_validation(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.get_inference_profile(inferenceProfileIdentifier="not a profile")

    assert "at 'inferenceProfileIdentifier' failed to satisfy constraint" in str(caught.value)


def test_boto3_finds_the_control_plane_through_its_endpoint_variable(
    bedrock_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", bedrock_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", raising=False)

    profile = control_client().get_inference_profile(inferenceProfileIdentifier=US_NOVA_2_LITE)

    assert profile["models"]
