"""The botocore shape check the Bedrock stand-in runs on its own answers."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.botocore_shapes import error_problems, output_problems


def converse_answer(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
        "metrics": {"latencyMs": 12},
    }
    answer.update(changes)
    return answer


def message(*content: Any) -> dict[str, Any]:
    return {"message": {"role": "assistant", "content": list(content)}}


def test_a_well_formed_converse_answer_is_on_shape() -> None:
    assert output_problems("bedrock-runtime", "Converse", converse_answer()) == []


def test_tool_input_is_a_document_so_any_json_is_on_shape() -> None:
    call = {"toolUse": {"toolUseId": "tooluse_1", "name": "decide", "input": {"a": [1, None]}}}

    assert (
        output_problems("bedrock-runtime", "Converse", converse_answer(output=message(call))) == []
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (converse_answer(stopReason="finished"), "not one of StopReason's values"),
        (converse_answer(usage={"inputTokens": 3}), "missing required member 'outputTokens'"),
        (converse_answer(metrics={"latencyMs": "12"}), "must be an integer"),
        (converse_answer(extra=1), "has no member 'extra'"),
        (
            converse_answer(output=message({"text": "a", "toolUse": None, "image": {}})),
            "exactly one",
        ),
        (converse_answer(output=message({})), "exactly one member, got none"),
        (converse_answer(output=message({"txt": "a"})), "has no member 'txt'"),
        (
            converse_answer(
                output=message({"toolUse": {"toolUseId": "t", "name": "a b", "input": {}}})
            ),
            "ToolName's pattern",
        ),
    ],
)
def test_off_shape_converse_answers_are_named(answer: dict[str, Any], expected: str) -> None:
    problems = output_problems("bedrock-runtime", "Converse", answer)

    assert any(expected in problem for problem in problems), problems


def test_an_undocumented_error_code_is_off_shape() -> None:
    problems = error_problems("bedrock-runtime", "Converse", "TeapotException", {"message": "x"})

    assert len(problems) == 1
    assert "does not document" in problems[0]


def test_inference_profile_only_models_may_say_so_beyond_botocores_enum() -> None:
    details = {
        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0",
        "modelId": "amazon.nova-2-lite-v1:0",
        "inferenceTypesSupported": ["INFERENCE_PROFILE"],
    }

    assert output_problems("bedrock", "GetFoundationModel", {"modelDetails": details}) == []


def test_only_the_regionless_model_arn_aws_sends_passes_beyond_the_arn_pattern() -> None:
    def profile(arn: str) -> dict[str, Any]:
        return {
            "inferenceProfileName": "GLOBAL Amazon Nova 2 Lite",
            "inferenceProfileArn": "arn:aws:bedrock:us-east-1:123456789012:inference-profile/g",
            "models": [{"modelArn": arn}],
            "inferenceProfileId": "g",
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        }

    regionless = "arn:aws:bedrock:::foundation-model/amazon.nova-2-lite-v1:0"
    assert output_problems("bedrock", "GetInferenceProfile", profile(regionless)) == []
    assert output_problems("bedrock", "GetInferenceProfile", profile("arn:nonsense"))
