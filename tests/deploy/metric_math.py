"""CloudWatch metric math, for one period's values: enough to ask what an alarm's expression
gives for a given set of metric values.

Only what the template's alarms use (+ - * /, >= > <= < ==, IF, FILL, parentheses); anything
else is an error, so a test never passes on an expression it did not understand. A metric
with no datapoint is None; so is a division by zero, as CloudWatch leaves that datapoint out.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

Value = float | None

_ARITHMETIC: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARISON: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.GtE: operator.ge,
    ast.Gt: operator.gt,
    ast.LtE: operator.le,
    ast.Lt: operator.lt,
    ast.Eq: operator.eq,
}


def evaluate(expression: str, values: Mapping[str, Value]) -> Value:
    """`expression`'s value when each id in `values` has that value (None: no datapoint)."""
    return _value(ast.parse(expression, mode="eval").body, values)


def _value(node: ast.expr, values: Mapping[str, Value]) -> Value:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left, values), _value(node.right, values)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Div) and right == 0:
            return None
        return _ARITHMETIC[type(node.op)](left, right)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _value(node.left, values), _value(node.comparators[0], values)
        if left is None or right is None:
            return None
        return 1.0 if _COMPARISON[type(node.ops[0])](left, right) else 0.0
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call(node.func.id, node.args, values)
    raise NotImplementedError(ast.dump(node))


def _call(function: str, args: list[ast.expr], values: Mapping[str, Value]) -> Value:
    if function == "FILL":
        series, filler = args
        found = _value(series, values)
        return _value(filler, values) if found is None else found
    if function == "IF":
        condition, when_true, when_false = args
        truth = _value(condition, values)
        if truth is None:
            return None
        return _value(when_true if truth else when_false, values)
    raise NotImplementedError(function)
