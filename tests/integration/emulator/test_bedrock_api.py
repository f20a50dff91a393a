"""The Bedrock Converse emulator, spoken to by real boto3 over real HTTP on loopback."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.bedrock_api import (
    DEFAULT_MODEL_ID,
    END_OF_LIFE_MESSAGE,
    INVALID_MODEL_MESSAGE,
    LEGACY_INACTIVE_MESSAGE,
    NO_SCRIPTED_REPLY,
    BedrockEmulator,
    create_app,
    delay,
    end_of_life,
    guardrail_intervened,
    malformed,
    server_error,
    text,
    throttle,
    tool_use,
)
from emulator.server import serve_in_thread

pytestmark = pytest.mark.integration

MODEL_ID = "us.amazon.nova-2-lite-v1:0"
MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-2-lite-v1:0"
END_OF_LIFE_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
END_OF_LIFE_PROFILE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
LEGACY_IN_JUNE_2026 = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # Legacy 04-14, EOL 10-14
HELLO = [{"role": "user", "content": [{"text": "I'd like to pay invoice INV-1001"}]}]
PAYMENT_TOOL = {
    "toolSpec": {
        "name": "record_payment_details",
        "description": "Record the amount, currency and reference the user gave.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number"},
                    "currency": {"type": "string"},
                    "reference": {"type": "string"},
                },
                "required": ["amount", "currency"],
            }
        },
    }
}
FORCED_PAYMENT_TOOL = {
    "tools": [PAYMENT_TOOL],
    "toolChoice": {"tool": {"name": "record_payment_details"}},
}


def bedrock_client(
    endpoint_url: str | None = None, *, total_max_attempts: int = 1, region: str = "us-east-1"
) -> Any:
    """A boto3 bedrock-runtime client; one attempt in all by default, so no retries.

    botocore reads `retries={"max_attempts": n}` as n retries after the first attempt;
    `total_max_attempts` counts the first attempt too.
    """
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": total_max_attempts, "mode": "standard"}),
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
    return bedrock_client(bedrock_url)


def post_json(url: str, payload: Any) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def test_text_reply_is_parsed_by_converse(emulator: BedrockEmulator, client: Any) -> None:
    emulator.script(text("How much would you like to pay?"))

    response = client.converse(modelId=MODEL_ID, messages=HELLO)

    assert response["stopReason"] == "end_turn"
    assert response["output"]["message"] == {
        "role": "assistant",
        "content": [{"text": "How much would you like to pay?"}],
    }


def test_forced_tool_use_returns_the_scripted_tool_call(
    emulator: BedrockEmulator, client: Any
) -> None:
    details = {"amount": 45, "currency": "USD", "reference": "INV-1001"}
    emulator.script(tool_use("record_payment_details", details))

    response = client.converse(modelId=MODEL_ID, messages=HELLO, toolConfig=FORCED_PAYMENT_TOOL)

    assert response["stopReason"] == "tool_use"
    [block] = response["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "record_payment_details"
    assert block["toolUse"]["input"] == details
    assert block["toolUse"]["toolUseId"]


def test_request_is_recorded_with_system_and_messages_as_sent(
    emulator: BedrockEmulator, client: Any
) -> None:
    system = [{"text": "You help people pay invoices. Never ask for card numbers."}]

    client.converse(modelId=MODEL_ID, system=system, messages=HELLO)

    [recorded] = emulator.requests
    assert recorded.model_id == MODEL_ID
    assert recorded.body["system"] == system
    assert recorded.body["messages"] == HELLO
    assert recorded.status == 200


def test_guardrail_intervention_is_reported_as_stop_reason(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.script(guardrail_intervened("I can't discuss that."))

    response = client.converse(
        modelId=MODEL_ID,
        messages=HELLO,
        guardrailConfig={"guardrailIdentifier": "gr-123", "guardrailVersion": "1"},
    )

    assert response["stopReason"] == "guardrail_intervened"
    assert response["output"]["message"]["content"] == [{"text": "I can't discuss that."}]


def test_throttle_raises_throttling_exception_when_not_retrying(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.script(throttle())

    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL_ID, messages=HELLO)

    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_single_throttle_then_success_succeeds_when_retrying(
    emulator: BedrockEmulator, bedrock_url: str
) -> None:
    emulator.script(throttle(), text("Sure."))
    retrying = bedrock_client(bedrock_url, total_max_attempts=2)

    response = retrying.converse(modelId=MODEL_ID, messages=HELLO)

    assert response["output"]["message"]["content"] == [{"text": "Sure."}]
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert [recorded.status for recorded in emulator.requests] == [429, 200]


def test_messages_that_do_not_alternate_raise_validation_exception(client: Any) -> None:
    two_user_turns = [*HELLO, {"role": "user", "content": [{"text": "hello?"}]}]

    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL_ID, messages=two_user_turns)

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "alternate between user and assistant" in caught.value.response["Error"]["Message"]


def test_forcing_an_undefined_tool_raises_validation_exception(client: Any) -> None:
    tool_config = {"tools": [PAYMENT_TOOL], "toolChoice": {"tool": {"name": "charge_card"}}}

    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL_ID, messages=HELLO, toolConfig=tool_config)

    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_rejected_request_leaves_the_scripted_reply_queued(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.script(text("still here"))
    assistant_first = [{"role": "assistant", "content": [{"text": "Hi"}]}]

    with pytest.raises(ClientError):
        client.converse(modelId=MODEL_ID, messages=assistant_first)

    assert emulator.pending == 1


def test_delay_holds_the_reply_back_for_the_scripted_time(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.script(delay(0.3, then=text("Sorry for the wait.")))
    started = time.monotonic()

    response = client.converse(modelId=MODEL_ID, messages=HELLO)

    assert time.monotonic() - started >= 0.3
    assert response["metrics"]["latencyMs"] >= 300
    assert response["output"]["message"]["content"] == [{"text": "Sorry for the wait."}]


def test_boto3_finds_the_emulator_through_the_endpoint_variable(
    emulator: BedrockEmulator,
    bedrock_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", raising=False)
    emulator.script(text("found you"))

    response = bedrock_client().converse(modelId=MODEL_ID, messages=HELLO)

    assert response["output"]["message"]["content"] == [{"text": "found you"}]


def test_model_arn_is_accepted_as_model_id(emulator: BedrockEmulator, client: Any) -> None:
    client.converse(modelId=MODEL_ARN, messages=HELLO)

    assert [recorded.model_id for recorded in emulator.requests] == [MODEL_ARN]


def test_empty_queue_answers_with_the_no_scripted_reply_text(client: Any) -> None:
    response = client.converse(modelId=MODEL_ID, messages=HELLO, toolConfig=FORCED_PAYMENT_TOOL)

    assert response["stopReason"] == "end_turn"
    assert response["output"]["message"]["content"] == [{"text": NO_SCRIPTED_REPLY}]


def test_default_reply_answers_when_the_queue_is_empty(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.default_reply = text("default answer")

    response = client.converse(modelId=MODEL_ID, messages=HELLO)

    assert response["output"]["message"]["content"] == [{"text": "default answer"}]


def test_usage_is_estimated_from_request_and_reply_characters(
    emulator: BedrockEmulator, client: Any
) -> None:
    system = [{"text": "Be brief."}]
    emulator.script(text("Twelve chars"))
    sent = json.dumps(system, separators=(",", ":")) + json.dumps(HELLO, separators=(",", ":"))

    usage = client.converse(modelId=MODEL_ID, system=system, messages=HELLO)["usage"]

    assert usage["inputTokens"] == math.ceil(len(sent) / 4)
    assert usage["outputTokens"] == 3
    assert usage["totalTokens"] == usage["inputTokens"] + 3


def test_max_tokens_cuts_a_long_text_reply(emulator: BedrockEmulator, client: Any) -> None:
    emulator.script(text("x" * 100))

    response = client.converse(modelId=MODEL_ID, messages=HELLO, inferenceConfig={"maxTokens": 5})

    assert response["stopReason"] == "max_tokens"
    assert response["output"]["message"]["content"] == [{"text": "x" * 20}]


def test_malformed_reply_calls_the_forced_tool_with_wrongly_typed_input(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.script(malformed())

    response = client.converse(modelId=MODEL_ID, messages=HELLO, toolConfig=FORCED_PAYMENT_TOOL)

    [block] = response["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "record_payment_details"
    assert not isinstance(block["toolUse"]["input"]["amount"], int | float)
    assert not isinstance(block["toolUse"]["input"]["currency"], str)


def test_malformed_no_tool_call_answers_text_despite_a_forced_tool(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.script(malformed("no_tool_call"))

    response = client.converse(modelId=MODEL_ID, messages=HELLO, toolConfig=FORCED_PAYMENT_TOOL)

    assert response["stopReason"] == "end_turn"
    assert "toolUse" not in response["output"]["message"]["content"][0]


def test_server_error_raises_internal_server_exception(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.script(server_error())

    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL_ID, messages=HELLO)

    assert caught.value.response["Error"]["Code"] == "InternalServerException"


def test_another_process_can_script_replies_over_http(bedrock_url: str, client: Any) -> None:
    details = {"amount": 45, "currency": "USD"}
    post_json(
        f"{bedrock_url}/_emulator/script",
        [{"kind": "tool_use", "name": "record_payment_details", "input": details}],
    )

    response = client.converse(modelId=MODEL_ID, messages=HELLO, toolConfig=FORCED_PAYMENT_TOOL)

    assert response["output"]["message"]["content"][0]["toolUse"]["input"] == details


def test_scripted_throttle_over_http_raises_throttling_exception(
    bedrock_url: str, client: Any
) -> None:
    post_json(f"{bedrock_url}/_emulator/script", [{"kind": "throttle"}])

    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL_ID, messages=HELLO)

    assert caught.value.response["Error"]["Code"] == "ThrottlingException"


def test_requests_endpoint_lists_what_was_received(bedrock_url: str, client: Any) -> None:
    client.converse(modelId=MODEL_ID, messages=HELLO)

    [listed] = get_json(f"{bedrock_url}/_emulator/requests")

    assert listed["modelId"] == MODEL_ID
    assert listed["body"]["messages"] == HELLO
    assert listed["status"] == 200


def test_reset_endpoint_forgets_requests_and_replies(
    emulator: BedrockEmulator, bedrock_url: str, client: Any
) -> None:
    client.converse(modelId=MODEL_ID, messages=HELLO)
    emulator.script(text("never said"))

    post_json(f"{bedrock_url}/_emulator/reset", {})

    assert emulator.requests == []
    assert emulator.pending == 0


def test_script_endpoint_rejects_an_unknown_reply_kind(bedrock_url: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        post_json(f"{bedrock_url}/_emulator/script", [{"kind": "teleport"}])

    assert caught.value.code == 400


# ---------------------------------------------------------------- model lifecycles


def served_on(day: date) -> BedrockEmulator:
    return BedrockEmulator(today=lambda: day)


def test_the_default_model_is_the_us_nova_2_lite_profile() -> None:
    assert DEFAULT_MODEL_ID == "us.amazon.nova-2-lite-v1:0"


@pytest.mark.parametrize(
    "model_id",
    [
        "us.amazon.nova-2-lite-v1:0",
        "global.amazon.nova-2-lite-v1:0",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.amazon.nova-2-lite-v1:0",
    ],
)
def test_active_models_answer_through_their_inference_profiles(
    emulator: BedrockEmulator, client: Any, model_id: str
) -> None:
    emulator.script(text("hello"))

    response = client.converse(modelId=model_id, messages=HELLO)

    assert response["output"]["message"]["content"] == [{"text": "hello"}]


@pytest.mark.parametrize("model_id", [END_OF_LIFE_MODEL, END_OF_LIFE_PROFILE])
def test_an_end_of_life_model_is_refused_as_bedrock_refuses_it(
    emulator: BedrockEmulator, client: Any, model_id: str
) -> None:
    emulator.script(text("never said"))

    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        client.converse(modelId=model_id, messages=HELLO)

    assert caught.value.response["Error"]["Message"] == END_OF_LIFE_MESSAGE
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert emulator.pending == 1
    assert emulator.requests[0].error_code == "ResourceNotFoundException"


def test_claude_3_haiku_answered_until_its_end_of_life_date() -> None:
    day_before = served_on(date(2026, 9, 9))
    with serve_in_thread(create_app(day_before)) as server:
        client = bedrock_client(server.url)

        assert client.converse(modelId=END_OF_LIFE_MODEL, messages=HELLO)["stopReason"]


def test_claude_3_haiku_is_still_served_in_ca_central_1(bedrock_url: str) -> None:
    canada = bedrock_client(bedrock_url, region="ca-central-1")

    assert canada.converse(modelId=END_OF_LIFE_MODEL, messages=HELLO)["stopReason"] == "end_turn"


def test_a_legacy_model_answers_an_account_still_using_it() -> None:
    with serve_in_thread(create_app(served_on(date(2026, 6, 1)))) as server:
        client = bedrock_client(server.url)

        assert client.converse(modelId=LEGACY_IN_JUNE_2026, messages=HELLO)["stopReason"]


def test_a_legacy_model_refuses_an_account_that_stopped_using_it() -> None:
    lapsed = BedrockEmulator(today=lambda: date(2026, 6, 1), legacy_in_use=False)
    with serve_in_thread(create_app(lapsed)) as server:
        client = bedrock_client(server.url)

        with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
            client.converse(modelId=LEGACY_IN_JUNE_2026, messages=HELLO)

    assert caught.value.response["Error"]["Message"] == LEGACY_INACTIVE_MESSAGE


def test_an_unknown_model_id_is_an_invalid_identifier(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse(modelId="anthropic.claude-test", messages=HELLO)

    assert caught.value.response["Error"]["Message"] == INVALID_MODEL_MESSAGE
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_model_id_outside_the_pattern_fails_validation(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse(modelId="not a model!", messages=HELLO)

    message = caught.value.response["Error"]["Message"]
    assert message.startswith("1 validation error detected: Value 'not a model!' at 'modelId'")


def test_nova_2_lite_by_its_bare_id_needs_an_inference_profile(client: Any) -> None:
    with pytest.raises(client.exceptions.ValidationException) as caught:
        client.converse(modelId="amazon.nova-2-lite-v1:0", messages=HELLO)

    assert caught.value.response["Error"]["Message"] == (
        "Invocation of model ID amazon.nova-2-lite-v1:0 with on-demand throughput isn\u2019t "
        "supported. Retry your request with the ID or ARN of an inference profile that contains "
        "this model."
    )


def test_a_profile_of_another_geography_is_unknown_in_the_region(bedrock_url: str) -> None:
    us, ireland = bedrock_client(bedrock_url), bedrock_client(bedrock_url, region="eu-west-1")

    with pytest.raises(us.exceptions.ValidationException):
        us.converse(modelId="eu.amazon.nova-2-lite-v1:0", messages=HELLO)
    assert ireland.converse(modelId="eu.amazon.nova-2-lite-v1:0", messages=HELLO)["stopReason"]


def test_a_scripted_end_of_life_answer_is_the_real_exception(
    emulator: BedrockEmulator, client: Any
) -> None:
    emulator.script(end_of_life())

    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.converse(modelId=MODEL_ID, messages=HELLO)


# ---------------------------------------------------------------- botocore's output shape


@pytest.mark.parametrize("mode", ["bad_input", "no_tool_call", "malformed_tool_use"])
def test_malformed_replies_are_malformed_inside_an_on_shape_envelope(
    emulator: BedrockEmulator, client: Any, mode: Any
) -> None:
    emulator.script(malformed(mode))

    response = client.converse(modelId=MODEL_ID, messages=HELLO, toolConfig=FORCED_PAYMENT_TOOL)

    assert response["stopReason"] in ("tool_use", "end_turn", "malformed_tool_use")
    # the fixture asserts emulator.off_shape == [] when the test ends


def test_an_answer_off_botocores_shape_is_refused_loudly(
    client: Any, caplog: pytest.LogCaptureFixture, emulator: BedrockEmulator
) -> None:
    emulator.script(tool_use("not a tool name!", {"amount": 1}))

    with pytest.raises(client.exceptions.InternalServerException) as caught:
        client.converse(modelId=MODEL_ID, messages=HELLO)

    assert "ToolName's pattern" in caught.value.response["Error"]["Message"]
    [answer] = emulator.off_shape
    assert answer.operation == "Converse"
    assert "off botocore's shape" in caplog.text
    emulator.reset()  # seen; the fixture's check is for answers nobody looked at


def test_without_strict_shapes_an_off_shape_answer_is_sent_and_recorded() -> None:
    lenient = BedrockEmulator(strict_shapes=False)
    lenient.script(tool_use("not a tool name!", {"amount": 1}))
    with serve_in_thread(create_app(lenient)) as server:
        response = bedrock_client(server.url).converse(modelId=MODEL_ID, messages=HELLO)

    assert response["output"]["message"]["content"][0]["toolUse"]["name"] == "not a tool name!"
    assert len(lenient.off_shape) == 1


def test_off_shape_answers_are_listed_over_http(bedrock_url: str) -> None:
    assert get_json(f"{bedrock_url}/_emulator/off_shape") == []
