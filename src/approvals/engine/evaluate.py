"""Evaluate parsed expressions over a scope of facts.

Used for derived facts, autofill, input keys and what an approval issues. Checks are
not evaluated here: they are compiled to durable_rules (`approvals.engine.compile`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from approvals.engine import functions as fn
from approvals.engine.expr import (
    Attr,
    Binary,
    Call,
    Index,
    ListLit,
    Literal,
    Name,
    Node,
    Unary,
    parse,
)
from approvals.errors import EvaluationError


class _Missing:
    """A fact that could not be had (its source failed, or a required record is absent).

    Anything computed from it is missing too, so a check on it can never pass.
    """

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


class MissingFact(Exception):
    """Raised inside evaluation when a missing fact is read; caught by `evaluate_or_missing`."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def evaluate(source: str | Node, scope: Mapping[str, Any]) -> Any:
    node = parse(source) if isinstance(source, str) else source
    return _eval(node, scope)


def evaluate_or_missing(source: str | Node, scope: Mapping[str, Any]) -> Any:
    try:
        return evaluate(source, scope)
    except MissingFact:
        return MISSING


def _eval(node: Node, scope: Mapping[str, Any]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        if node.name not in scope:
            raise EvaluationError(f"unknown name '{node.name}'")
        value = scope[node.name]
        if value is MISSING:
            raise MissingFact(node.name)
        return value
    if isinstance(node, Attr):
        target = _eval(node.target, scope)
        if target is None:
            return None
        if not isinstance(target, Mapping):
            raise EvaluationError(f"cannot read field '{node.name}' of {_kind(target)}")
        if node.name not in target:
            raise EvaluationError(f"no field '{node.name}' (fields: {', '.join(sorted(target))})")
        value = target[node.name]
        if value is MISSING:
            raise MissingFact(node.name)
        return value
    if isinstance(node, Index):
        target = _eval(node.target, scope)
        key = _eval(node.index, scope)
        if isinstance(target, Mapping):
            if key not in target:
                raise EvaluationError(f"no entry '{key}' (entries: {', '.join(map(str, target))})")
            return target[key]
        if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
            return target[key] if -len(target) <= key < len(target) else None
        raise EvaluationError(f"cannot index {_kind(target)} with {key!r}")
    if isinstance(node, ListLit):
        return [_eval(item, scope) for item in node.items]
    if isinstance(node, Unary):
        value = _eval(node.operand, scope)
        if node.op == "not":
            return not _truth(value)
        return -fn._number(value)
    if isinstance(node, Binary):
        return _binary(node, scope)
    return _call(node, scope)


def _binary(node: Binary, scope: Mapping[str, Any]) -> Any:
    if node.op == "and":
        return _truth(_eval(node.left, scope)) and _truth(_eval(node.right, scope))
    if node.op == "or":
        return _truth(_eval(node.left, scope)) or _truth(_eval(node.right, scope))
    left = _eval(node.left, scope)
    right = _eval(node.right, scope)
    op = node.op
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("in", "not in"):
        if not isinstance(right, list | str | Mapping):
            raise EvaluationError(f"'{op}' needs a list on its right, found {_kind(right)}")
        return (left in right) == (op == "in")
    if op in ("<", "<=", ">", ">="):
        if left is None or right is None:
            return None  # null in, null out: a check reading it is missing, never passed
        if isinstance(left, str) != isinstance(right, str):
            raise EvaluationError(f"cannot compare {_kind(left)} with {_kind(right)}")
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        return bool(left >= right)
    a, b = fn._number(left), fn._number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        raise EvaluationError("division by zero")
    return a / b


def _call(node: Call, scope: Mapping[str, Any]) -> Any:
    name = node.func
    if name in fn.DATED:
        _arity(node, 1, 1)
        born = _eval(node.args[0], scope)
        return None if born is None else fn.full_years(born, scope["today"])
    if name in fn.PLAIN:
        low, high, impl = fn.PLAIN[name]
        _arity(node, low, high)
        args = [_eval(arg, scope) for arg in node.args]
        # null in, null out: a date that does not exist (no licence held) gives no age or
        # duration, and a check reading it is skipped or missing, never passed.
        return None if any(a is None for a in args) else impl(*args)
    if name in fn.ITEMWISE:
        return _itemwise(node, scope)
    raise EvaluationError(f"unknown function '{name}'")


def _itemwise(node: Call, scope: Mapping[str, Any]) -> Any:
    name = node.func
    _arity(node, 1, 3)
    items = _eval(node.args[0], scope)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise EvaluationError(f"{name}() expects a list first, found {_kind(items)}")
    per_item = node.args[1] if len(node.args) > 1 else None

    def each(item: Any) -> Any:
        if per_item is None:
            return item
        return _eval(per_item, {**scope, "it": item})

    if name == "count":
        return sum(1 for item in items if per_item is None or _truth(each(item)))
    if name == "any":
        return any(_truth(each(item)) for item in items)
    if name == "all":
        # No vacuous truth: "all of nothing" is false, so an empty list never passes a check.
        return bool(items) and all(_truth(each(item)) for item in items)
    if name == "filter":
        return [item for item in items if _truth(each(item))]
    if name == "first":
        return next((item for item in items if per_item is None or _truth(each(item))), None)
    values = [v for v in (each(item) for item in items) if v is not None]
    if not values:
        return _eval(node.args[2], scope) if len(node.args) > 2 else None
    return max(values) if name == "max" else min(values)


def _arity(node: Call, low: int, high: int) -> None:
    count = len(node.args)
    if not low <= count <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise EvaluationError(f"{node.func}() takes {expected} arguments, got {count}")


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise EvaluationError(f"expected true or false, found {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a record"
    return type(value).__name__
