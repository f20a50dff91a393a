"""CloudFormation's intrinsic functions, evaluated as a stack in one account and Region would.

Only what the packaged template uses in the places tests read (IAM resources, environment
variables, conditions); anything else is an error, so a test never passes on a value it
did not understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")
_NO_VALUE = object()
"""`Ref: AWS::NoValue`: the list item or property it stands for is left out."""


@dataclass(frozen=True)
class Stack:
    """A template as deployed by `account` in `region`."""

    template: dict[str, Any]
    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"

    def pseudo(self, name: str) -> str:
        values = {
            "AWS::AccountId": self.account,
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
        }
        if name not in values:
            raise NotImplementedError(f"no value for {name}")
        return values[name]

    def condition(self, name: str) -> bool:
        return self._truth(self.template.get("Conditions", {})[name])

    def created(self, logical_id: str) -> bool:
        """Whether the stack creates the resource (its Condition, if any, holds)."""
        condition = self.template["Resources"][logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def value(self, node: Any) -> Any:
        """`node` with every intrinsic function replaced by its value."""
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Fn::", "Ref", "Condition")):
            values = {key: self.value(item) for key, item in node.items()}
            return {key: value for key, value in values.items() if value is not _NO_VALUE}
        ((function, argument),) = node.items()
        return self._call(function, argument)

    def _call(self, function: str, argument: Any) -> Any:
        if function == "Ref":
            return _NO_VALUE if argument == "AWS::NoValue" else self.pseudo(argument)
        if function == "Fn::If":
            name, when_true, when_false = argument
            return self.value(when_true if self.condition(name) else when_false)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            values = {key: self.value(item) for key, item in variables.items()}
            return _SUB_VARIABLE.sub(
                lambda match: values[match[1]] if match[1] in values else self.pseudo(match[1]),
                text,
            )
        if function == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(self.value(items))
        if function == "Fn::Split":
            delimiter, text = argument
            return self.value(text).split(delimiter)
        if function == "Fn::Select":
            index, items = argument
            return self.value(items)[int(index)]
        raise NotImplementedError(function)

    def _truth(self, node: Any) -> bool:
        ((function, argument),) = node.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = argument
            return bool(self.value(left) == self.value(right))
        if function == "Fn::Not":
            (inner,) = argument
            return not self._truth(inner)
        if function == "Fn::And":
            return all(self._truth(inner) for inner in argument)
        if function == "Fn::Or":
            return any(self._truth(inner) for inner in argument)
        raise NotImplementedError(function)
