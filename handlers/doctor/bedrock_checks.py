"""Bedrock: the model id, its foundation models' lifecycle, and one call that proves access."""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.settings import Settings
from handlers.doctor.report import Check, fail, ok, warn

if TYPE_CHECKING:
    from types_boto3_bedrock import BedrockClient
    from types_boto3_bedrock_runtime import BedrockRuntimeClient
    from types_boto3_bedrock_runtime.type_defs import ConverseRequestTypeDef

EXAMPLE_MODEL = "us.amazon.nova-2-lite-v1:0"
MAX_MESSAGE_CHARS = 160

# Cross-Region inference profiles put a geography before the provider: us.amazon.nova-…
_PROFILE_ID = re.compile(r"^(?:us|us-gov|eu|apac|jp|au|ca|global)\.[a-z0-9-]+\.")
_PROFILE_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(?:application-)?inference-profile/"
)
_FOUNDATION_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:foundation-model/(.+)$")
_NOT_FOUND = frozenset({"ResourceNotFoundException", "ValidationException"})
_BUSY = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "InternalServerException",
    }
)
_ACTIVE_FIX = f"set BEDROCK_MODEL_ID to an Active model or inference profile, e.g. {EXAMPLE_MODEL}"
_ACCESS_FIX = (
    "allow bedrock:InvokeModel on the model (for an inference profile: on the profile and the "
    "foundation models it routes to) and make sure model access is granted in the Bedrock "
    "console; a third-party model's first call also needs aws-marketplace:ViewSubscriptions "
    "and aws-marketplace:Subscribe"
)
_AWS_FIX = "check the AWS credentials, AWS_REGION and the AWS_ENDPOINT_URL_BEDROCK* variables"


def check_bedrock(
    settings: Settings,
    *,
    control: BedrockClient | None = None,
    runtime: BedrockRuntimeClient | None = None,
) -> list[Check]:
    """Nothing unless DIALOGUE_ENGINE=bedrock; then the model, its lifecycle and one call."""
    if settings.DIALOGUE_ENGINE != "bedrock":
        return []
    model_id = settings.BEDROCK_MODEL_ID
    if not model_id:
        detail = "BEDROCK_MODEL_ID is not set, and DIALOGUE_ENGINE=bedrock needs it"
        return [fail("bedrock model", detail, _ACTIVE_FIX)]
    try:
        control = control or boto3.client("bedrock", config=_config())
        runtime = runtime or boto3.client("bedrock-runtime", config=_config())
    except BotoCoreError as exc:
        return [fail("bedrock model", f"cannot set up a Bedrock client ({exc})", _AWS_FIX)]
    model, foundation_ids = _resolve(control, model_id)
    lifecycle = [_lifecycle(control, foundation_id) for foundation_id in foundation_ids]
    return [model, *lifecycle, _converse(runtime, model_id, settings)]


def is_inference_profile(model_id: str) -> bool:
    return bool(_PROFILE_ID.match(model_id) or _PROFILE_ARN.match(model_id))


def _config() -> Config:
    # One attempt: throttling is reported as such instead of being waited out.
    return Config(connect_timeout=5, read_timeout=30, retries={"total_max_attempts": 1})


def _resolve(control: BedrockClient, model_id: str) -> tuple[Check, list[str]]:
    """The model check, and the foundation model ids behind `model_id`."""
    if not is_inference_profile(model_id):
        found = _FOUNDATION_ARN.match(model_id)
        base = found.group(1) if found else model_id
        return ok("bedrock model", f"{model_id} is a foundation model id"), [base]
    try:
        profile = control.get_inference_profile(inferenceProfileIdentifier=model_id)
    except ClientError as exc:
        return _profile_error(model_id, exc), []
    except BotoCoreError as exc:
        return fail("bedrock model", f"cannot reach Bedrock ({exc})", _AWS_FIX), []
    arns = [model.get("modelArn", "") for model in profile.get("models", [])]
    bases = list(dict.fromkeys(m.group(1) for m in map(_FOUNDATION_ARN.match, arns) if m))
    detail = f"{model_id} is an inference profile for {', '.join(bases) or 'no models'}"
    if not bases:
        return fail("bedrock model", detail, _ACTIVE_FIX), []
    return ok("bedrock model", detail), bases


def _profile_error(model_id: str, exc: ClientError) -> Check:
    code, message = _error(exc)
    if code in _NOT_FOUND:
        detail = f"Bedrock has no inference profile {model_id} here ({code}: {message})"
        return fail("bedrock model", detail, _ACTIVE_FIX)
    return _unreadable(
        "bedrock model", f"inference profile {model_id}", code, "GetInferenceProfile"
    )


def _unreadable(name: str, what: str, code: str, action: str) -> Check:
    """A control-plane read that failed for a reason other than the model's absence."""
    if code == "AccessDeniedException":  # the caller's permissions, not the bot's
        return warn(name, f"not allowed to read {what}", f"allow bedrock:{action} to check it")
    if code in _BUSY:
        return warn(name, f"Bedrock was busy reading {what} ({code})", "run doctor again")
    return fail(name, f"Bedrock answered {code} reading {what}", _AWS_FIX)


def _lifecycle(control: BedrockClient, foundation_id: str) -> Check:
    name = "bedrock lifecycle"
    try:
        details = control.get_foundation_model(modelIdentifier=foundation_id)["modelDetails"]
    except ClientError as exc:
        code, message = _error(exc)
        if code in _NOT_FOUND:
            detail = f"{foundation_id} is not an available model ({code}: {message})"
            return fail(name, detail, _ACTIVE_FIX)
        return _unreadable(name, f"{foundation_id}'s lifecycle", code, "GetFoundationModel")
    except BotoCoreError as exc:
        return fail(name, f"cannot reach Bedrock ({exc})", _AWS_FIX)
    lifecycle = details.get("modelLifecycle")
    status = lifecycle["status"] if lifecycle else "unknown"
    if status == "ACTIVE":
        return ok(name, f"{foundation_id} is Active")
    if status == "LEGACY":
        return _legacy(foundation_id, lifecycle.get("endOfLifeTime") if lifecycle else None)
    return fail(name, f"{foundation_id} is {status}, not Active", _ACTIVE_FIX)


def _legacy(foundation_id: str, end: datetime.datetime | None) -> Check:
    name = "bedrock lifecycle"
    if end is None:
        return warn(name, f"{foundation_id} is Legacy: Bedrock will stop serving it", _ACTIVE_FIX)
    if end.tzinfo is None:
        end = end.replace(tzinfo=datetime.UTC)
    if end <= datetime.datetime.now(datetime.UTC):
        return fail(name, f"{foundation_id} reached its end of life on {end:%Y-%m-%d}", _ACTIVE_FIX)
    detail = f"{foundation_id} is Legacy: Bedrock stops serving it on {end:%Y-%m-%d}"
    return warn(name, detail, _ACTIVE_FIX)


def _converse(runtime: BedrockRuntimeClient, model_id: str, settings: Settings) -> Check:
    name = "bedrock access"
    request: ConverseRequestTypeDef = {
        "modelId": model_id,
        "messages": [{"role": "user", "content": [{"text": "ping"}]}],
        "inferenceConfig": {"maxTokens": 1},
    }
    guardrail, version = settings.BEDROCK_GUARDRAIL_ID, settings.BEDROCK_GUARDRAIL_VERSION
    if guardrail and version:  # the bot applies it to every call, so the call here does too
        request["guardrailConfig"] = {"guardrailIdentifier": guardrail, "guardrailVersion": version}
    try:
        runtime.converse(**request)
    except ClientError as exc:
        return _converse_error(model_id, exc)
    except BotoCoreError as exc:
        return fail(name, f"cannot call Bedrock ({exc})", _AWS_FIX)
    with_guardrail = f" through guardrail {guardrail}" if "guardrailConfig" in request else ""
    return ok(name, f"{model_id} answered a one-token Converse{with_guardrail}")


def _converse_error(model_id: str, exc: ClientError) -> Check:
    name = "bedrock access"
    code, message = _error(exc)
    if code == "AccessDeniedException":
        return fail(name, f"Bedrock refused to run {model_id} ({code}: {message})", _ACCESS_FIX)
    if code == "ResourceNotFoundException":
        detail = f"Bedrock no longer serves {model_id} ({code}: {message})"
        return fail(name, detail, _ACTIVE_FIX)
    if code in _BUSY:
        detail = f"Bedrock was busy ({code}); the bot answers with its rule engine meanwhile"
        return warn(name, detail, "run doctor again, or ask AWS for a higher quota")
    return fail(name, f"Bedrock refused the call ({code}: {message})", _ACTIVE_FIX)


def _error(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    message = error.get("Message", "").strip()
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return error.get("Code", "unknown error"), message
