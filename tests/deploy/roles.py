"""Each function's IAM role in a packaged template, and the DynamoDB calls the store makes.

The calls are read from the store's source, so a new call (an UpdateItem, a Query) that
reaches a function without its permission fails a test here instead of failing on AWS,
where the stand-ins cannot tell.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterable
from typing import Any

from bot.adapters import dynamodb_store
from tests.deploy.intrinsics import Stack

Template = dict[str, Any]

# The store's method that only the daily purge runs (handlers/purge.py).
PURGE_ENTRY = "purge_expired"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_resource(template: Template, name: str) -> tuple[str, dict[str, Any]]:
    """A function's logical id and resource by its key in serverless.yml."""
    for logical_id, resource in template["Resources"].items():
        if (
            resource["Type"] == "AWS::Lambda::Function"
            and resource["Properties"]["FunctionName"] == f"paybot-test-{name}"
        ):
            return logical_id, resource
    raise AssertionError(f"no {name} function in the template")


def invoke_configs(template: Template, name: str) -> dict[str, dict[str, Any]]:
    """The asynchronous-invocation configs the stack creates for a function, by qualifier
    (`$LATEST`, or an alias)."""
    function_id = function_resource(template, name)[0]
    stack = Stack(template)
    return {
        resource["Properties"]["Qualifier"]: dict(resource["Properties"])
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig"
        and resource["Properties"]["FunctionName"] == {"Ref": function_id}
        and stack.created(logical_id)
    }


def role_of(template: Template, name: str) -> str:
    """The logical id of the role a function runs with (a role the stack creates)."""
    role = function_resource(template, name)[1]["Properties"]["Role"]
    assert set(role) == {"Fn::GetAtt"}, role
    logical_id, attribute = role["Fn::GetAtt"]
    assert attribute == "Arn"
    assert template["Resources"][logical_id]["Type"] == "AWS::IAM::Role"
    return str(logical_id)


def policies_of(template: Template, role_id: str) -> list[tuple[str | None, dict[str, Any]]]:
    """Every policy document the role holds, inline or attached by an AWS::IAM::Policy,
    each with the logical id of that policy resource (None for the role's own)."""
    role = template["Resources"][role_id]["Properties"]
    documents: list[tuple[str | None, dict[str, Any]]] = [
        (None, policy["PolicyDocument"]) for policy in role.get("Policies", [])
    ]
    for logical_id, resource in template["Resources"].items():
        if (
            resource["Type"] == "AWS::IAM::Policy"
            and {"Ref": role_id} in resource["Properties"]["Roles"]
        ):
            documents.append((logical_id, resource["Properties"]["PolicyDocument"]))
    return documents


def statements_of(template: Template, role_id: str) -> list[dict[str, Any]]:
    """Every statement the role may be granted, whatever the stack's conditions."""
    return [s for _, document in policies_of(template, role_id) for s in document["Statement"]]


def actions_of(statements: Iterable[dict[str, Any]], prefix: str = "") -> set[str]:
    return {
        action
        for statement in statements
        for action in as_list(statement["Action"])
        if action.startswith(prefix)
    }


def _action(client_method: str) -> str:
    return "dynamodb:" + "".join(part.capitalize() for part in client_method.split("_"))


def _calls_by_method() -> dict[str, tuple[set[str], set[str]]]:
    """For each method of the store's classes: the DynamoDB actions its client calls make,
    and the other methods of its class it calls."""
    tree = ast.parse(inspect.getsource(dynamodb_store))
    found: dict[str, tuple[set[str], set[str]]] = {}
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for method in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
            actions: set[str] = set()
            helpers: set[str] = set()
            for node in ast.walk(method):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                owner = node.func.value
                if isinstance(owner, ast.Attribute) and owner.attr == "_client":
                    if node.func.attr == "get_paginator":
                        (operation,) = node.args
                        assert isinstance(operation, ast.Constant)
                        actions.add(_action(str(operation.value)))
                    else:
                        actions.add(_action(node.func.attr))
                elif isinstance(owner, ast.Name) and owner.id == "self":
                    helpers.add(node.func.attr)
            found[f"{cls.name}.{method.name}"] = (actions, helpers)
    return found


def _reachable(calls: dict[str, tuple[set[str], set[str]]], entries: Iterable[str]) -> set[str]:
    actions: set[str] = set()
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        method = todo.pop()
        if method in seen:
            continue
        seen.add(method)
        called, helpers = calls[method]
        actions |= called
        cls = method.split(".", 1)[0]
        todo += [f"{cls}.{h}" for h in helpers if f"{cls}.{h}" in calls]
    return actions


def store_actions() -> tuple[set[str], set[str]]:
    """The DynamoDB actions the store's calls need: (the slack function's, the purge's).

    The purge runs `purge_expired` and what it calls; the slack function every other
    public method of the session store and the event ledger.
    """
    calls = _calls_by_method()
    public = [m for m in calls if not re.search(r"\.(_|__)", m)]
    purge = [m for m in public if m.endswith(f".{PURGE_ENTRY}")]
    assert purge, f"the store has no {PURGE_ENTRY}"
    slack = [m for m in public if m not in purge]
    return _reachable(calls, slack), _reachable(calls, purge)
