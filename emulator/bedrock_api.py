"""A local Amazon Bedrock: the runtime's `Converse` with scripted replies, and the control plane's
GetFoundationModel / GetInferenceProfile, for boto3.

Point boto3 at it with `endpoint_url=`, or with `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (Converse) and
`AWS_ENDPOINT_URL_BEDROCK` (control plane); both may name the same server. Each valid request
takes the next reply from the queue filled by `BedrockEmulator.script` (or
`POST /_emulator/script`); a request Bedrock would refuse gets Bedrock's error and leaves the
queue alone, as Bedrock rejects it before any model runs. With the queue empty the answer is
`BedrockEmulator.default_reply`, or the text "(no scripted reply)" when that is unset, even if
the request forces a tool (callers see that as a malformed answer).

Models have lifecycles (`emulator.bedrock_models`): a model id or inference profile Bedrock no
longer serves gets `ResourceNotFoundException` "This model version has reached the end of its
life. …" (HTTP 404), an id Bedrock does not know `ValidationException` "The provided model
identifier is invalid." (HTTP 400), and a model served only through cross-Region inference,
called by its bare id, Bedrock's on-demand `ValidationException`. The Region is the one the
request was signed for (boto3's `region_name`), else `BedrockEmulator.default_region`.

Every JSON answer is checked against botocore's output (or error) shape for the operation
before it is sent (`emulator.botocore_shapes`); an answer botocore would not parse as
documented is logged, kept in `BedrockEmulator.off_shape`, and, with `strict_shapes` (the
default), replaced by an `InternalServerException` that says what was wrong. The `malformed`
replies are malformed inside the model's tool input or stop reason, never in the envelope.

Token usage depends only on the request and the reply, so runs can be compared:
inputTokens = ceil(characters of the compact JSON of `system`, `messages` and
`toolConfig.tools` / 4); outputTokens = ceil((characters of reply text + of each toolUse's
name and compact JSON input) / 4). A text reply longer than `inferenceConfig.maxTokens` is cut
to maxTokens * 4 characters and stops with `max_tokens`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args

from aiohttp import web

from emulator.bedrock_models import (
    CATALOG,
    DEFAULT_MODEL_ID,
    FoundationModel,
    InferenceProfile,
    ModelCatalog,
)
from emulator.botocore_shapes import error_problems, output_problems, service_model
from emulator.control import RequestLog, add_control_routes

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_MODEL_ID",
    "DEFAULT_REGION",
    "END_OF_LIFE_MESSAGE",
    "GUARDRAIL_BLOCKED_TEXT",
    "INVALID_MODEL_MESSAGE",
    "LEGACY_INACTIVE_MESSAGE",
    "NO_SCRIPTED_REPLY",
    "Answer",
    "BedrockEmulator",
    "DelayReply",
    "ErrorReply",
    "MalformedReply",
    "OffShapeAnswer",
    "RecordedRequest",
    "Reply",
    "TextReply",
    "ToolUseReply",
    "create_app",
    "delay",
    "end_of_life",
    "guardrail_intervened",
    "main",
    "malformed",
    "model_error",
    "model_timeout",
    "on_demand_unsupported",
    "reply_from_spec",
    "request_problem",
    "server_error",
    "service_unavailable",
    "text",
    "throttle",
    "tool_use",
    "validation_error",
]

logger = logging.getLogger(__name__)

NO_SCRIPTED_REPLY = "(no scripted reply)"
GUARDRAIL_BLOCKED_TEXT = "Sorry, I can't help with that."
ERROR_TYPE_HEADER = "x-amzn-ErrorType"  # botocore's rest-json parser takes the error code from it
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"

END_OF_LIFE_MESSAGE = (
    "This model version has reached the end of its life. "
    "Please refer to the AWS documentation for more details."
)
"""Bedrock's ResourceNotFoundException message for a model past its EOL date (Converse and
GetFoundationModel alike)."""
INVALID_MODEL_MESSAGE = "The provided model identifier is invalid."
"""Bedrock's ValidationException message for a model id it does not serve in the Region."""
LEGACY_INACTIVE_MESSAGE = (
    "Access denied. This Model is marked by provider as Legacy and you have not been actively "
    "using the model in the last 30 days."
)
"""Bedrock's ResourceNotFoundException message for a Legacy model an account has not used."""
_ON_DEMAND_UNSUPPORTED = (
    "Invocation of model ID {model_id} with on-demand throughput isn\u2019t supported. "
    "Retry your request with the ID or ARN of an inference profile that contains this model."
)

StopReason = Literal[
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "guardrail_intervened",
    "content_filtered",
]
MalformedMode = Literal["bad_input", "no_tool_call", "malformed_tool_use"]


@dataclass(frozen=True)
class TextReply:
    """The model answers with text."""

    text: str
    stop_reason: StopReason = "end_turn"


@dataclass(frozen=True)
class ToolUseReply:
    """The model calls a tool (stopReason `tool_use`), optionally after some text."""

    name: str
    tool_input: Mapping[str, Any]
    text: str | None = None


@dataclass(frozen=True)
class MalformedReply:
    """An answer a careful caller must reject.

    `bad_input`: a toolUse for the forced (else first) tool whose every schema property has the
    wrong JSON type; `no_tool_call`: plain text, even when a tool is forced;
    `malformed_tool_use`: no content and Bedrock's `malformed_tool_use` stop reason.
    """

    mode: MalformedMode = "bad_input"


@dataclass(frozen=True)
class ErrorReply:
    """Bedrock answers with an error instead of a model reply."""

    code: str
    status: int
    message: str


@dataclass(frozen=True)
class DelayReply:
    """Wait `seconds`, then answer with `then`."""

    seconds: float
    then: Reply


Reply = TextReply | ToolUseReply | MalformedReply | ErrorReply | DelayReply


def text(content: str, *, stop_reason: StopReason = "end_turn") -> TextReply:
    """A text answer."""
    return TextReply(content, stop_reason)


def tool_use(name: str, tool_input: Mapping[str, Any], *, text: str | None = None) -> ToolUseReply:
    """A call of tool `name` with `tool_input`; `text` is said before the call."""
    return ToolUseReply(name, dict(tool_input), text)


def guardrail_intervened(content: str = GUARDRAIL_BLOCKED_TEXT) -> TextReply:
    """The guardrail's blocked-message text with stopReason `guardrail_intervened`."""
    return TextReply(content, "guardrail_intervened")


def malformed(mode: MalformedMode = "bad_input") -> MalformedReply:
    """An answer that does not fit the request (see `MalformedReply`)."""
    return MalformedReply(mode)


def throttle(message: str = "Too many requests, please wait before trying again.") -> ErrorReply:
    """HTTP 429 `ThrottlingException` (botocore retries it)."""
    return ErrorReply("ThrottlingException", 429, message)


def validation_error(message: str) -> ErrorReply:
    """HTTP 400 `ValidationException`."""
    return ErrorReply("ValidationException", 400, message)


def server_error(message: str = "The server encountered an internal error.") -> ErrorReply:
    """HTTP 500 `InternalServerException` (botocore retries it)."""
    return ErrorReply("InternalServerException", 500, message)


def service_unavailable(message: str = "The service is unavailable.") -> ErrorReply:
    """HTTP 503 `ServiceUnavailableException` (botocore retries it)."""
    return ErrorReply("ServiceUnavailableException", 503, message)


def model_error(message: str = "The model failed to process the request.") -> ErrorReply:
    """HTTP 424 `ModelErrorException`."""
    return ErrorReply("ModelErrorException", 424, message)


def model_timeout(message: str = "Model has timed out in processing the request.") -> ErrorReply:
    """HTTP 408 `ModelTimeoutException`."""
    return ErrorReply("ModelTimeoutException", 408, message)


def end_of_life(message: str = END_OF_LIFE_MESSAGE) -> ErrorReply:
    """HTTP 404 `ResourceNotFoundException`, as for a model past its EOL date."""
    return ErrorReply("ResourceNotFoundException", 404, message)


def on_demand_unsupported(model_id: str) -> ErrorReply:
    """HTTP 400 `ValidationException` for a profile-only model called by its bare id."""
    return validation_error(_ON_DEMAND_UNSUPPORTED.format(model_id=model_id))


def delay(seconds: float, then: Reply) -> DelayReply:
    """Answer with `then` after `seconds`."""
    if seconds < 0:
        raise ValueError("delay seconds must not be negative")
    return DelayReply(seconds, then)


_ERRORS_BY_KIND: dict[str, Callable[..., ErrorReply]] = {
    "throttle": throttle,
    "server_error": server_error,
    "service_unavailable": service_unavailable,
    "model_error": model_error,
    "model_timeout": model_timeout,
    "end_of_life": end_of_life,
}


def reply_from_spec(spec: Mapping[str, Any]) -> Reply:
    """A reply from its JSON form, e.g. `{"kind": "tool_use", "name": "n", "input": {}}`.

    Kinds: text {text, stop_reason?}, tool_use {name, input, text?}, guardrail_intervened
    {text?}, malformed {mode?}, validation_error {message}, throttle / server_error /
    service_unavailable / model_error / model_timeout / end_of_life {message?}, delay
    {seconds, then}.
    Raises ValueError for anything else.
    """
    if not isinstance(spec, Mapping):
        raise ValueError("a reply spec must be a JSON object")
    kind = spec.get("kind")
    try:
        return _reply_of_kind(kind, spec)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"reply spec {kind!r} is missing or has a bad field: {exc}") from exc


def _reply_of_kind(kind: object, spec: Mapping[str, Any]) -> Reply:
    if kind == "text":
        stop_reason = spec.get("stop_reason", "end_turn")
        if stop_reason not in get_args(StopReason):
            raise ValueError(f"unknown stop_reason {stop_reason!r}")
        return text(_str(spec["text"]), stop_reason=stop_reason)
    if kind == "tool_use":
        if not isinstance(spec["input"], Mapping):
            raise ValueError("tool_use input must be a JSON object")
        said = _str(spec["text"]) if "text" in spec else None
        return tool_use(_str(spec["name"]), spec["input"], text=said)
    if kind == "guardrail_intervened":
        return guardrail_intervened(_str(spec.get("text", GUARDRAIL_BLOCKED_TEXT)))
    if kind == "malformed":
        mode = spec.get("mode", "bad_input")
        if mode not in get_args(MalformedMode):
            raise ValueError(f"unknown malformed mode {mode!r}")
        return malformed(mode)
    if kind == "validation_error":
        return validation_error(_str(spec["message"]))
    if kind in _ERRORS_BY_KIND:
        factory = _ERRORS_BY_KIND[str(kind)]
        return factory(_str(spec["message"])) if "message" in spec else factory()
    if kind == "delay":
        seconds = spec["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("delay seconds must be a number")
        return delay(float(seconds), reply_from_spec(spec["then"]))
    raise ValueError(f"unknown reply kind {kind!r}")


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


@dataclass
class RecordedRequest:
    """One Converse request as received; `status` is None until it has been answered."""

    model_id: str
    body: Any  # the parsed JSON body, or None when it was not JSON
    timestamp: float
    status: int | None = None
    error_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as JSON, keys as in `GET /_emulator/requests`."""
        return {
            "modelId": self.model_id,
            "body": self.body,
            "timestamp": self.timestamp,
            "status": self.status,
            "errorCode": self.error_code,
        }


@dataclass(frozen=True)
class Answer:
    """What the stand-in answers one API call with: HTTP status, JSON body, error code."""

    status: int
    body: dict[str, Any]
    error_code: str | None = None

    @classmethod
    def refusal(cls, error: ErrorReply) -> Answer:
        return cls(error.status, {"message": error.message}, error.code)


@dataclass(frozen=True)
class OffShapeAnswer:
    """An answer the stand-in built that breaks botocore's shape for its operation."""

    operation: str
    status: int
    body: Any
    problems: tuple[str, ...]


def _utc_today() -> date:
    return datetime.now(UTC).date()


class BedrockEmulator:
    """Scripted Converse replies, known models and a log of requests; safe from any thread.

    `catalog` is what models and inference profiles exist (default: `bedrock_models.CATALOG`);
    `today` dates their lifecycle; `default_region` is used when a request is not signed;
    `legacy_in_use` False makes Legacy models refuse as for an account that stopped using them;
    `strict_shapes` False only logs an answer that breaks botocore's shape instead of turning it
    into an `InternalServerException`.
    """

    def __init__(
        self,
        *,
        default_reply: Reply | None = None,
        clock: Callable[[], float] = time.time,
        catalog: ModelCatalog = CATALOG,
        today: Callable[[], date] = _utc_today,
        default_region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        legacy_in_use: bool = True,
        strict_shapes: bool = True,
    ) -> None:
        self.default_reply = default_reply
        self.catalog = catalog
        self.today = today
        self.default_region = default_region
        self.account_id = account_id
        self.legacy_in_use = legacy_in_use
        self.strict_shapes = strict_shapes
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._requests: RequestLog[RecordedRequest] = RequestLog()
        self._off_shape: list[OffShapeAnswer] = []
        self._tool_uses = 0

    def script(self, *replies: Reply) -> None:
        """Queue `replies`; each valid request takes the next one."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget queued replies, recorded requests, off-shape answers and the default reply."""
        with self._lock:
            self._queue.clear()
            self._off_shape.clear()
            self._tool_uses = 0
            self.default_reply = None
        self._requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copies of the recorded Converse requests, oldest first."""
        with self._lock:
            return [replace(record) for record in self._requests.entries]

    @property
    def off_shape(self) -> list[OffShapeAnswer]:
        """Answers that broke botocore's shape, oldest first (empty when all were on-shape)."""
        with self._lock:
            return list(self._off_shape)

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._queue)

    def next_reply(self) -> Reply:
        """The next scripted reply, else the default one."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            return self.default_reply or TextReply(NO_SCRIPTED_REPLY)

    def record(self, model_id: str, body: Any) -> RecordedRequest:
        """Log a request as it arrives; `answered` completes the record."""
        record = RecordedRequest(model_id, body, self._clock())
        self._requests.add(record)
        return record

    def answered(self, record: RecordedRequest, status: int, error_code: str | None) -> None:
        """Note how a logged request was answered."""
        with self._lock:
            record.status = status
            record.error_code = error_code

    def note_off_shape(self, answer: OffShapeAnswer) -> None:
        """Keep and log an answer that breaks botocore's shape."""
        logger.error(
            "Bedrock stand-in answer to %s is off botocore's shape: %s",
            answer.operation,
            "; ".join(answer.problems),
        )
        with self._lock:
            self._off_shape.append(answer)

    def new_tool_use_id(self) -> str:
        """A fresh toolUseId, predictable across runs."""
        with self._lock:
            self._tool_uses += 1
            return f"tooluse_emulated{self._tool_uses:06d}"

    # ------------------------------------------------------------ models

    def converse_target(self, model_id: str, region: str) -> FoundationModel | ErrorReply:
        """The model a Converse `modelId` runs in `region`, or Bedrock's refusal."""
        pattern = _input_pattern("bedrock-runtime", "Converse", "modelId")
        if pattern is not None and pattern.fullmatch(model_id) is None:
            return validation_error(_pattern_message(model_id, "modelId", pattern.pattern))
        identifier = _arn_tail(model_id, region, ("foundation-model", "inference-profile"))
        if identifier is None:
            return validation_error(INVALID_MODEL_MESSAGE)
        profile = self.catalog.profiles.get(identifier)
        if profile is not None:
            if not profile.offered_in(region):
                return validation_error(INVALID_MODEL_MESSAGE)
            return self._usable(self.catalog.models[profile.model_id], region)
        model = self.catalog.models.get(identifier)
        if model is None:
            return validation_error(INVALID_MODEL_MESSAGE)
        refused = self._usable(model, region)
        if isinstance(refused, ErrorReply) or region in model.on_demand_regions:
            return refused
        profiles = self.catalog.profiles.values()
        if any(p.model_id == model.model_id and p.offered_in(region) for p in profiles):
            return on_demand_unsupported(model.model_id)
        return validation_error(INVALID_MODEL_MESSAGE)

    def foundation_model(self, identifier: str, region: str) -> Answer:
        """GetFoundationModel's answer for `identifier` in `region`."""
        pattern = _input_pattern("bedrock", "GetFoundationModel", "modelIdentifier")
        if pattern is not None and pattern.fullmatch(identifier) is None:
            message = _pattern_message(identifier, "modelIdentifier", pattern.pattern)
            return Answer.refusal(validation_error(message))
        model_id = _arn_tail(identifier, None, ("foundation-model",))
        model = self.catalog.models.get(model_id or "")
        if model is None:
            return Answer.refusal(validation_error(INVALID_MODEL_MESSAGE))
        state = model.lifecycle(region, self.today())
        if state == "EOL":
            return Answer.refusal(end_of_life())
        return Answer(200, {"modelDetails": _model_details(model, region, state)})

    def inference_profile(self, identifier: str, region: str) -> Answer:
        """GetInferenceProfile's answer for `identifier` in `region`."""
        pattern = _input_pattern("bedrock", "GetInferenceProfile", "inferenceProfileIdentifier")
        if pattern is not None and pattern.fullmatch(identifier) is None:
            message = _pattern_message(identifier, "inferenceProfileIdentifier", pattern.pattern)
            return Answer.refusal(validation_error(message))
        profile_id = _arn_tail(identifier, region, ("inference-profile",))
        profile = self.catalog.profiles.get(profile_id or "")
        if profile is None or not profile.offered_in(region):
            return Answer.refusal(ErrorReply("ResourceNotFoundException", 404, _NO_SUCH_RESOURCE))
        return Answer(200, self._profile_body(profile, region))

    def _usable(self, model: FoundationModel, region: str) -> FoundationModel | ErrorReply:
        state = model.lifecycle(region, self.today())
        if state == "EOL":
            return end_of_life()
        if state == "LEGACY" and not self.legacy_in_use:
            return end_of_life(LEGACY_INACTIVE_MESSAGE)
        return model

    def _profile_body(self, profile: InferenceProfile, region: str) -> dict[str, Any]:
        model = self.catalog.models[profile.model_id]
        destinations = profile.routes_to(region)
        if profile.geography == "global":
            where = "globally across all supported AWS Regions"
        else:
            where = f"in {_spoken_list(sorted(destinations))}"
        body: dict[str, Any] = {
            "inferenceProfileName": f"{profile.geography.upper()} {model.display_name}",
            "description": f"Routes requests to {model.display_name} {where}.",
            "inferenceProfileArn": (
                f"arn:aws:bedrock:{region}:{self.account_id}:inference-profile/{profile.profile_id}"
            ),
            "models": [{"modelArn": model.arn(destination)} for destination in destinations],
            "inferenceProfileId": profile.profile_id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        }
        if profile.created_at is not None:
            body["createdAt"] = profile.created_at.isoformat()
        if profile.updated_at is not None:
            body["updatedAt"] = profile.updated_at.isoformat()
        return body


_NO_SUCH_RESOURCE = (
    "The specified resource Amazon Resource Name (ARN) was not found. "
    "Check the Amazon Resource Name (ARN) and try your request again."
)
"""ResourceNotFoundException as botocore's bedrock model documents it for GetInferenceProfile."""

_ARN = re.compile(
    r"^arn:aws(?:-[a-z-]+)?:bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:"
    r"(?P<kind>[a-z-]+)/(?P<id>.+)$"
)


def _arn_tail(identifier: str, region: str | None, kinds: tuple[str, ...]) -> str | None:
    """The id inside a Bedrock ARN of one of `kinds` (in `region` when given), or `identifier`."""
    if not identifier.startswith("arn:"):
        return identifier
    found = _ARN.match(identifier)
    if found is None or found["kind"] not in kinds:
        return None
    if region is not None and found["region"] not in ("", region):
        return None
    return found["id"]


def _input_pattern(service: str, operation: str, member: str) -> re.Pattern[str] | None:
    shape = service_model(service).operation_model(operation).input_shape
    pattern = shape.members[member].metadata.get("pattern") if shape is not None else None
    return re.compile(pattern) if isinstance(pattern, str) else None


def _pattern_message(value: str, member: str, pattern: str) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {pattern}"
    )


def _spoken_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _model_details(model: FoundationModel, region: str, state: str) -> dict[str, Any]:
    lifecycle: dict[str, Any] = {"status": state}
    if model.launched is not None:
        lifecycle["startOfLifeTime"] = _timestamp(model.launched)
    if model.legacy_from is not None and state == "LEGACY":
        lifecycle["legacyTime"] = _timestamp(model.legacy_from)
    if model.end_of_life is not None and state == "LEGACY":
        lifecycle["endOfLifeTime"] = _timestamp(model.end_of_life)
    on_demand = region in model.on_demand_regions
    return {
        "modelArn": model.arn(region),
        "modelId": model.model_id,
        "modelName": model.name,
        "providerName": model.provider,
        "inputModalities": list(model.input_modalities),
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"] if on_demand else ["INFERENCE_PROFILE"],
        "modelLifecycle": lifecycle,
    }


def _timestamp(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/")


def _region(request: web.Request, emulator: BedrockEmulator) -> str:
    """The Region the request was signed for (SigV4 credential scope), else the default."""
    found = _CREDENTIAL.search(request.headers.get("Authorization", ""))
    return found.group(1) if found else emulator.default_region


def _respond(
    emulator: BedrockEmulator, service: str, operation: str, answer: Answer
) -> web.Response:
    """`answer` to `operation`, once its body is checked against botocore's shape for it."""
    status, body, code = answer.status, answer.body, answer.error_code
    if code is None:
        problems = output_problems(service, operation, body)
    else:
        problems = error_problems(service, operation, code, body)
    if problems:
        emulator.note_off_shape(OffShapeAnswer(operation, status, body, tuple(problems)))
        if emulator.strict_shapes:
            message = f"stand-in answer is off botocore's shape: {'; '.join(problems)}"
            status, body, code = 500, {"message": message}, "InternalServerException"
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if code is not None:
        headers[ERROR_TYPE_HEADER] = code
    return web.json_response(body, status=status, headers=headers)


def create_app(emulator: BedrockEmulator) -> web.Application:
    """Converse, GetFoundationModel, GetInferenceProfile and `/_emulator/*`, from `emulator`."""

    async def converse(request: web.Request) -> web.Response:
        started = time.monotonic()
        model_id = request.match_info["model_id"]
        body = _parse_json(await request.read())
        record = emulator.record(model_id, body)
        answer = await _answer(emulator, model_id, _region(request, emulator), body, started)
        response = _respond(emulator, "bedrock-runtime", "Converse", answer)
        emulator.answered(record, response.status, response.headers.get(ERROR_TYPE_HEADER))
        return response

    async def get_foundation_model(request: web.Request) -> web.Response:
        identifier = request.match_info["model_identifier"]
        answer = emulator.foundation_model(identifier, _region(request, emulator))
        return _respond(emulator, "bedrock", "GetFoundationModel", answer)

    async def get_inference_profile(request: web.Request) -> web.Response:
        identifier = request.match_info["profile_identifier"]
        answer = emulator.inference_profile(identifier, _region(request, emulator))
        return _respond(emulator, "bedrock", "GetInferenceProfile", answer)

    async def list_off_shape(_: web.Request) -> web.Response:
        answers = emulator.off_shape
        return web.json_response(
            [
                {"operation": a.operation, "status": a.status, "problems": a.problems}
                for a in answers
            ]
        )

    async def script(request: web.Request) -> web.Response:
        specs = _parse_json(await request.read())
        try:
            if not isinstance(specs, list):
                raise ValueError("the body must be a JSON list of reply specs")
            replies = [reply_from_spec(spec) for spec in specs]
        except ValueError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        emulator.script(*replies)
        return web.json_response({"queued": len(replies), "pending": emulator.pending})

    app = web.Application()
    # ".+" because a hand-typed ARN may arrive with its '/' unencoded; botocore encodes it.
    app.router.add_post("/model/{model_id:.+}/converse", converse)
    app.router.add_get("/foundation-models/{model_identifier:.+}", get_foundation_model)
    app.router.add_get("/inference-profiles/{profile_identifier:.+}", get_inference_profile)
    add_control_routes(
        app,
        requests=lambda: [record.to_json() for record in emulator.requests],
        reset=emulator.reset,
        reset_answer={"ok": True},
    )
    app.router.add_get("/_emulator/off_shape", list_off_shape)
    app.router.add_post("/_emulator/script", script)
    return app


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def _answer(
    emulator: BedrockEmulator, model_id: str, region: str, body: Any, started: float
) -> Answer:
    target = emulator.converse_target(model_id, region)
    if isinstance(target, ErrorReply):
        return Answer.refusal(target)
    problem = request_problem(body)
    if problem is not None:
        return Answer.refusal(validation_error(problem))
    reply = emulator.next_reply()
    while isinstance(reply, DelayReply):
        await asyncio.sleep(reply.seconds)
        reply = reply.then
    if isinstance(reply, ErrorReply):
        return Answer.refusal(reply)
    content, stop_reason = _render(reply, body, emulator.new_tool_use_id)
    input_tokens = _tokens(_input_chars(body))
    output_tokens = _tokens(_output_chars(content))
    usage = {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
    }
    latency = round((time.monotonic() - started) * 1000)
    return Answer(
        200,
        {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
            "usage": usage,
            "metrics": {"latencyMs": latency},
        },
    )


_START_WITH_USER = (
    "A conversation must start with a user message. "
    "Try again with a conversation that starts with a user message."
)
_ALTERNATE = (
    "A conversation must alternate between user and assistant roles. "
    "Make sure the conversation alternates between user and assistant roles and try again."
)


def request_problem(body: Any) -> str | None:
    """Why Bedrock would reject this Converse body (the checks it makes first), or None."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _START_WITH_USER
    previous_role = None
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return f"messages.{index}.role must be one of: user, assistant."
        if index == 0 and role != "user":
            return _START_WITH_USER
        if role == previous_role:
            return _ALTERNATE
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return (
                f"The content field in the Message object at messages.{index} is empty. "
                "Add a ContentBlock object to the content field and try again."
            )
        previous_role = role
    return _tool_config_problem(body.get("toolConfig"))


def _tool_config_problem(tool_config: Any) -> str | None:
    if tool_config is None:
        return None
    if not isinstance(tool_config, dict) or not tool_config.get("tools"):
        return "toolConfig.tools must contain at least one tool."
    names = set(_tool_schemas(tool_config))
    choice = tool_config.get("toolChoice")
    if choice is None:
        return None
    if not isinstance(choice, dict) or len(choice) != 1 or next(iter(choice)) not in _CHOICES:
        return "toolConfig.toolChoice must set exactly one of: auto, any, tool."
    forced = choice.get("tool")
    if forced is not None and (not isinstance(forced, dict) or forced.get("name") not in names):
        name = forced.get("name") if isinstance(forced, dict) else None
        return f"toolChoice.tool.name {name!r} is not a tool defined in toolConfig.tools."
    return None


_CHOICES = ("auto", "any", "tool")


def _tool_schemas(tool_config: Any) -> dict[str, Any]:
    """Tool name -> its JSON input schema, in the order the tools were given."""
    schemas: dict[str, Any] = {}
    tools = tool_config.get("tools") if isinstance(tool_config, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            schema = spec.get("inputSchema")
            schemas[spec["name"]] = schema.get("json") if isinstance(schema, dict) else None
    return schemas


def _render(
    reply: TextReply | ToolUseReply | MalformedReply,
    body: dict[str, Any],
    new_tool_use_id: Callable[[], str],
) -> tuple[list[dict[str, Any]], str]:
    """Content blocks and stop reason for `reply` to `body`."""
    if isinstance(reply, TextReply):
        return _render_text(reply, body)
    if isinstance(reply, ToolUseReply):
        blocks: list[dict[str, Any]] = [] if reply.text is None else [{"text": reply.text}]
        call = {"toolUseId": new_tool_use_id(), "name": reply.name, "input": reply.tool_input}
        return [*blocks, {"toolUse": call}], "tool_use"
    if reply.mode == "no_tool_call":
        return [{"text": "(answered without calling a tool)"}], "end_turn"
    if reply.mode == "malformed_tool_use":
        return [], "malformed_tool_use"
    name, schema = _wanted_tool(body.get("toolConfig"))
    call = {"toolUseId": new_tool_use_id(), "name": name, "input": _wrongly_typed_input(schema)}
    return [{"toolUse": call}], "tool_use"


def _render_text(reply: TextReply, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    config = body.get("inferenceConfig")
    max_tokens = config.get("maxTokens") if isinstance(config, dict) else None
    if isinstance(max_tokens, int) and _tokens(len(reply.text)) > max_tokens:
        return [{"text": reply.text[: max_tokens * 4]}], "max_tokens"
    return [{"text": reply.text}], reply.stop_reason


def _wanted_tool(tool_config: Any) -> tuple[str, Any]:
    """The forced tool, else the first defined one, with its schema."""
    schemas = _tool_schemas(tool_config)
    choice = tool_config.get("toolChoice") if isinstance(tool_config, dict) else None
    forced = choice.get("tool") if isinstance(choice, dict) else None
    if isinstance(forced, dict) and forced.get("name") in schemas:
        return forced["name"], schemas[forced["name"]]
    return next(iter(schemas.items()), ("undefined_tool", None))


_WRONG_VALUE_FOR_TYPE: dict[str, Any] = {
    "string": 12345,
    "number": "not a number",
    "integer": "not an integer",
    "boolean": "not a boolean",
    "array": "not an array",
    "object": "not an object",
}


def _wrongly_typed_input(schema: Any) -> dict[str, Any]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        return {"unexpected": "malformed"}
    return {name: _wrong_value(prop) for name, prop in properties.items()}


def _wrong_value(prop: Any) -> Any:
    kind = prop.get("type") if isinstance(prop, dict) else None
    return _WRONG_VALUE_FOR_TYPE.get(kind) if isinstance(kind, str) else None


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _tokens(chars: int) -> int:
    return math.ceil(chars / 4)


def _input_chars(body: dict[str, Any]) -> int:
    tool_config = body.get("toolConfig")
    tools = tool_config.get("tools") if isinstance(tool_config, dict) else None
    parts = (body.get("system"), body.get("messages"), tools)
    return sum(len(_compact(part)) for part in parts if part is not None)


def _output_chars(content: list[dict[str, Any]]) -> int:
    chars = 0
    for block in content:
        if "text" in block:
            chars += len(block["text"])
        if "toolUse" in block:
            chars += len(block["toolUse"]["name"]) + len(_compact(block["toolUse"]["input"]))
    return chars


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m emulator.bedrock_api [--host H] [--port P]`: serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator.bedrock_api",
        description="A local Bedrock: Converse with scripted replies, and the model lookups.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3003)
    args = parser.parse_args(argv)
    url = f"http://{args.host}:{args.port}"
    print(
        f"Bedrock emulator on {url} "
        f"(AWS_ENDPOINT_URL_BEDROCK_RUNTIME={url} AWS_ENDPOINT_URL_BEDROCK={url})",
        flush=True,
    )
    web.run_app(create_app(BedrockEmulator()), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
