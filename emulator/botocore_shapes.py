"""Check JSON an AWS stand-in sends against botocore's own service model for that answer.

botocore parses what a rest-json service sends by the output shape of the operation; a
stand-in that drifts from that shape would teach the product to read answers AWS never gives.
`output_problems("bedrock-runtime", "Converse", body)` lists every way `body` differs from the
documented shape: unknown member names, missing required members, wrong JSON types, values
outside an enum, a length or pattern constraint broken, a tagged union (such as Converse's
`ContentBlock`) with other than exactly one member set. An empty list means on-shape.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Mapping
from datetime import datetime

import botocore.session
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StringShape, StructureShape

__all__ = [
    "BEYOND_BOTOCORE_ENUMS",
    "PATTERNS_AWS_BREAKS",
    "error_problems",
    "output_problems",
    "service_model",
    "shape_problems",
]

BEYOND_BOTOCORE_ENUMS: Mapping[tuple[str, str], frozenset[str]] = {
    # Bedrock reports models served only through cross-Region inference profiles (Nova 2 Lite,
    # current Claude models) with inferenceTypesSupported ["INFERENCE_PROFILE"]; botocore's
    # InferenceType enum lists only ON_DEMAND and PROVISIONED. Enums are open in botocore (it
    # passes unknown values through), so this value parses; it is the one allowed beyond it.
    ("bedrock", "InferenceType"): frozenset({"INFERENCE_PROFILE"}),
}
"""Enum values AWS is known to send that botocore's model does not list, per service and shape."""

PATTERNS_AWS_BREAKS: Mapping[tuple[str, str], str] = {
    # `aws bedrock list-inference-profiles` shows system-defined profiles described as "Routes
    # requests to Amazon Nova 2 Lite in ca-central-1, us-east-1, us-east-2 and us-west-2.": the
    # commas are outside the pattern, which constrains the description a caller may set.
    ("bedrock", "InferenceProfileDescription"): r"Routes requests to [^\n]+\.",
    # The same listing gives a global profile's models as the regionless
    # arn:aws:bedrock:::foundation-model/amazon.nova-2-lite-v1:0 (plus the source Region's ARN);
    # the pattern wants a Region.
    ("bedrock", "FoundationModelArn"): r"arn:aws(-[^:]+)?:bedrock:::foundation-model/[a-z0-9.:-]+",
}
"""Values AWS's own answers are known to send outside a shape's `pattern` (a request-side
constraint; botocore checks none when parsing): per service and shape, the further pattern such
a value matches. Every other value must match the shape's pattern."""

# Members bound to HTTP headers, the status code or the URI are not part of the JSON body.
_NOT_IN_BODY = frozenset({"header", "headers", "statusCode", "uri", "querystring"})


@functools.cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of `service` (e.g. "bedrock-runtime"), loaded once."""
    return botocore.session.get_session().get_service_model(service)


def output_problems(service: str, operation: str, body: object) -> list[str]:
    """How `body`, the JSON answer to `operation`, differs from botocore's output shape."""
    output = service_model(service).operation_model(operation).output_shape
    if output is None:
        return [] if body in (None, {}) else [f"{operation} has no output, got {body!r}"]
    return shape_problems(output, body, service=service)


def error_problems(service: str, operation: str, code: str, body: object) -> list[str]:
    """How an error answer differs from the error shape `code` that `operation` documents."""
    errors = {
        shape.name: shape
        for shape in service_model(service).operation_model(operation).error_shapes
    }
    shape = errors.get(code)
    if shape is None:
        return [f"{operation} does not document the error {code} (it has {', '.join(errors)})"]
    return shape_problems(shape, body, service=service)


def shape_problems(shape: Shape, value: object, *, service: str, path: str = "$") -> list[str]:
    """Every way `value` (decoded JSON) breaks `shape`, each naming where, e.g. `$.output`."""
    if value is None:
        return []  # an absent member; `required` is checked by the enclosing structure
    if isinstance(shape, StructureShape):
        if shape.is_document_type:
            return _document_problems(value, path)
        return _structure_problems(shape, value, service=service, path=path)
    if isinstance(shape, ListShape):
        return _list_problems(shape, value, service=service, path=path)
    if isinstance(shape, MapShape):
        return _map_problems(shape, value, service=service, path=path)
    return _scalar_problems(shape, value, service=service, path=path)


def _structure_problems(
    shape: StructureShape, value: object, *, service: str, path: str
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {shape.name} must be a JSON object, got {_kind(value)}"]
    members = {
        member.serialization.get("name", name): (name, member)
        for name, member in shape.members.items()
        if member.serialization.get("location") not in _NOT_IN_BODY
    }
    problems = [
        f"{path}: {shape.name} has no member {key!r}" for key in value if key not in members
    ]
    if shape.is_tagged_union:
        present = [key for key in value if value[key] is not None]
        if len(present) != 1:
            problems.append(
                f"{path}: union {shape.name} must set exactly one member, got {present or 'none'}"
            )
    else:
        problems.extend(
            f"{path}: {shape.name} is missing required member {name!r}"
            for name in shape.required_members
            if value.get(shape.members[name].serialization.get("name", name)) is None
        )
    for key, member_value in value.items():
        if key in members:
            _, member = members[key]
            problems.extend(
                shape_problems(member, member_value, service=service, path=f"{path}.{key}")
            )
    return problems


def _list_problems(shape: ListShape, value: object, *, service: str, path: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: {shape.name} must be a JSON array, got {_kind(value)}"]
    problems = _length_problems(shape, len(value), path, "items")
    for index, item in enumerate(value):
        if item is None:
            problems.append(f"{path}[{index}]: a list item must not be null")
        problems.extend(
            shape_problems(shape.member, item, service=service, path=f"{path}[{index}]")
        )
    return problems


def _map_problems(shape: MapShape, value: object, *, service: str, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {shape.name} must be a JSON object, got {_kind(value)}"]
    problems = _length_problems(shape, len(value), path, "entries")
    for key, item in value.items():
        problems.extend(shape_problems(shape.key, key, service=service, path=f"{path}<key>"))
        problems.extend(shape_problems(shape.value, item, service=service, path=f"{path}.{key}"))
    return problems


def _scalar_problems(shape: Shape, value: object, *, service: str, path: str) -> list[str]:
    kind = shape.type_name
    if kind == "string":
        return _string_problems(shape, value, service=service, path=path)
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: {shape.name} must be an integer, got {_kind(value)}"]
        return _range_problems(shape, value, path)
    if kind in ("float", "double"):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            return [f"{path}: {shape.name} must be a finite number, got {_kind(value)}"]
        return _range_problems(shape, value, path)
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {shape.name} must be a boolean"]
    if kind == "timestamp":
        return _timestamp_problems(shape, value, path)
    if kind == "blob":
        return _blob_problems(shape, value, path)
    return [f"{path}: {shape.name} has a type ({kind}) this check does not know"]


def _string_problems(shape: Shape, value: object, *, service: str, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: {shape.name} must be a string, got {_kind(value)}"]
    problems = _length_problems(shape, len(value), path, "characters")
    enum = shape.enum if isinstance(shape, StringShape) else []
    allowed = set(enum) | BEYOND_BOTOCORE_ENUMS.get((service, shape.name), frozenset())
    if enum and value not in allowed:
        problems.append(f"{path}: {value!r} is not one of {shape.name}'s values {sorted(allowed)}")
    pattern = shape.metadata.get("pattern")
    also = PATTERNS_AWS_BREAKS.get((service, shape.name))
    if (
        isinstance(pattern, str)
        and _compiled(pattern).fullmatch(value) is None
        and (also is None or _compiled(also).fullmatch(value) is None)
    ):
        problems.append(f"{path}: {value!r} does not match {shape.name}'s pattern {pattern}")
    return problems


def _length_problems(shape: Shape, length: int, path: str, unit: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if isinstance(low, int) and length < low:
        return [f"{path}: {shape.name} needs at least {low} {unit}, got {length}"]
    if isinstance(high, int) and length > high:
        return [f"{path}: {shape.name} allows at most {high} {unit}, got {length}"]
    return []


def _range_problems(shape: Shape, value: float, path: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if isinstance(low, int | float) and value < low:
        return [f"{path}: {shape.name} must be at least {low}, got {value}"]
    if isinstance(high, int | float) and value > high:
        return [f"{path}: {shape.name} must be at most {high}, got {value}"]
    return []


def _timestamp_problems(shape: Shape, value: object, path: str) -> list[str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return []  # epoch seconds, rest-json's default in a body
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return [f"{path}: {shape.name} {value!r} is not an ISO 8601 timestamp"]
        return []
    return [f"{path}: {shape.name} must be a timestamp, got {_kind(value)}"]


def _blob_problems(shape: Shape, value: object, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: {shape.name} must be base64 text, got {_kind(value)}"]
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return [f"{path}: {shape.name} is not valid base64"]
    return []


def _document_problems(value: object, path: str) -> list[str]:
    """A document member holds any JSON value (a tool's input, say): only JSON-ness is checked."""
    if isinstance(value, dict):
        problems = [
            f"{path}: a document key must be a string" for key in value if not isinstance(key, str)
        ]
        for key, item in value.items():
            problems.extend(_document_problems(item, f"{path}.{key}"))
        return problems
    if isinstance(value, list):
        return [
            p
            for index, item in enumerate(value)
            for p in _document_problems(item, f"{path}[{index}]")
        ]
    if value is None or isinstance(value, str | bool | int):
        return []
    if isinstance(value, float) and math.isfinite(value):
        return []
    return [f"{path}: {_kind(value)} is not a JSON value"]


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
