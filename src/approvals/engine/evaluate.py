"""Evaluate parsed expressions over a scope of facts.

Used for derived facts, autofill, input keys and what an approval issues. Checks are
not evaluated here: they are compiled to durable_rules (`approvals.engine.compile`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
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


Compiled = Callable[[Mapping[str, Any]], Any]
_COMPILED: dict[str, Compiled] = {}


def compile_expression(source: str | Node) -> Compiled:
    """The expression as a Python closure over a scope, built once per expression text.

    Walking the syntax tree on every decision cost about half of a decision's time;
    closures do the dispatch once, at load.
    """
    if isinstance(source, str):
        compiled = _COMPILED.get(source)
        if compiled is None:
            compiled = _COMPILED[source] = _compile(parse(source))
        return compiled
    return _compile(source)


def evaluate(source: str | Node, scope: Mapping[str, Any]) -> Any:
    return compile_expression(source)(scope)


def evaluate_or_missing(source: str | Node, scope: Mapping[str, Any]) -> Any:
    try:
        return evaluate(source, scope)
    except MissingFact:
        return MISSING


def _compile(node: Node) -> Compiled:
    if isinstance(node, Literal):
        constant = node.value
        return lambda scope: constant
    if isinstance(node, Name):
        return _name(node.name)
    if isinstance(node, Attr):
        return _attr(_compile(node.target), node.name)
    if isinstance(node, Index):
        return _index(_compile(node.target), _compile(node.index))
    if isinstance(node, ListLit):
        items = [_compile(item) for item in node.items]
        return lambda scope: [item(scope) for item in items]
    if isinstance(node, Unary):
        operand = _compile(node.operand)
        if node.op == "not":
            return lambda scope: not _truth(operand(scope))
        return lambda scope: -fn._number(operand(scope))
    if isinstance(node, Binary):
        return _binary(node.op, _compile(node.left), _compile(node.right))
    return _call(node)


def _name(name: str) -> Compiled:
    def read(scope: Mapping[str, Any]) -> Any:
        try:
            value = scope[name]
        except KeyError:
            raise EvaluationError(f"unknown name '{name}'") from None
        if value is MISSING:
            raise MissingFact(name)
        return value

    return read


def _attr(target: Compiled, name: str) -> Compiled:
    def read(scope: Mapping[str, Any]) -> Any:
        record = target(scope)
        if record is None:
            return None
        if not isinstance(record, dict):  # records are JSON objects; dict is the fast check
            raise EvaluationError(f"cannot read field '{name}' of {_kind(record)}")
        if name not in record:
            raise EvaluationError(f"no field '{name}' (fields: {', '.join(sorted(record))})")
        value = record[name]
        if value is MISSING:
            raise MissingFact(name)
        return value

    return read


def _index(target: Compiled, index: Compiled) -> Compiled:
    def read(scope: Mapping[str, Any]) -> Any:
        container = target(scope)
        key = index(scope)
        if isinstance(container, dict):
            if key not in container:
                raise EvaluationError(
                    f"no entry '{key}' (entries: {', '.join(map(str, container))})"
                )
            return container[key]
        if isinstance(container, list) and isinstance(key, int) and not isinstance(key, bool):
            return container[key] if -len(container) <= key < len(container) else None
        raise EvaluationError(f"cannot index {_kind(container)} with {key!r}")

    return read


def _binary(op: str, left: Compiled, right: Compiled) -> Compiled:
    if op == "and":
        return lambda scope: _truth(left(scope)) and _truth(right(scope))
    if op == "or":
        return lambda scope: _truth(left(scope)) or _truth(right(scope))
    if op == "==":
        return lambda scope: bool(left(scope) == right(scope))
    if op == "!=":
        return lambda scope: bool(left(scope) != right(scope))
    if op in ("in", "not in"):
        wanted = op == "in"

        def member(scope: Mapping[str, Any]) -> bool:
            item, container = left(scope), right(scope)
            if not isinstance(container, list | str | dict):
                raise EvaluationError(f"'{op}' needs a list on its right, found {_kind(container)}")
            return (item in container) == wanted

        return member
    if op in _ORDER:
        compare = _ORDER[op]

        def order(scope: Mapping[str, Any]) -> bool | None:
            a, b = left(scope), right(scope)
            if a is None or b is None:
                return None  # null in, null out: a check reading it is missing, never passed
            if isinstance(a, str) != isinstance(b, str):
                raise EvaluationError(f"cannot compare {_kind(a)} with {_kind(b)}")
            return bool(compare(a, b))

        return order
    arithmetic = _ARITHMETIC[op]
    return lambda scope: arithmetic(fn._number(left(scope)), fn._number(right(scope)))


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise EvaluationError("division by zero")
    return a / b


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _divide,
}


def _call(node: Call) -> Compiled:
    name = node.func
    if name in fn.DATED:
        _arity(node, 1, 1)
        born = _compile(node.args[0])

        def age(scope: Mapping[str, Any]) -> Any:
            value = born(scope)
            return None if value is None else fn.full_years(value, scope["today"])

        return age
    if name in fn.PLAIN:
        low, high, impl = fn.PLAIN[name]
        _arity(node, low, high)
        args = [_compile(arg) for arg in node.args]

        def call(scope: Mapping[str, Any]) -> Any:
            values = [arg(scope) for arg in args]
            # null in, null out: a date that does not exist (no licence held) gives no age
            # or duration, and a check reading it is skipped or missing, never passed.
            return None if any(v is None for v in values) else impl(*values)

        return call
    if name in fn.ITEMWISE:
        return _itemwise(node)
    raise EvaluationError(f"unknown function '{name}'")


def _itemwise(node: Call) -> Compiled:
    name = node.func
    _arity(node, 1, 3)
    items_of = _compile(node.args[0])
    per_item = _compile(node.args[1]) if len(node.args) > 1 else None
    default = _compile(node.args[2]) if len(node.args) > 2 else None

    def items(scope: Mapping[str, Any]) -> list[Any]:
        value = items_of(scope)
        if value is None:
            return []
        if not isinstance(value, list):
            raise EvaluationError(f"{name}() expects a list first, found {_kind(value)}")
        return value

    def each(scope: Mapping[str, Any]) -> Callable[[Any], Any]:
        if per_item is None:
            return lambda item: item
        inner = dict(scope)
        bound = per_item

        def apply(item: Any) -> Any:
            inner["it"] = item
            return bound(inner)

        return apply

    def test(scope: Mapping[str, Any]) -> Callable[[Any], bool]:
        if per_item is None:
            return lambda item: True
        apply = each(scope)
        return lambda item: _truth(apply(item))

    if name == "count":
        return lambda scope: sum(map(test(scope), items(scope)))
    if name == "any":
        return lambda scope: any(map(test(scope), items(scope)))
    if name == "all":
        # No vacuous truth: "all of nothing" is false, so an empty list never passes a check.
        def every(scope: Mapping[str, Any]) -> bool:
            values = items(scope)
            return bool(values) and all(map(test(scope), values))

        return every
    if name == "filter":
        return lambda scope: list(filter(test(scope), items(scope)))
    if name == "first":
        return lambda scope: next(filter(test(scope), items(scope)), None)
    pick = max if name == "max" else min

    def extreme(scope: Mapping[str, Any]) -> Any:
        values = [v for v in map(each(scope), items(scope)) if v is not None]
        if values:
            return pick(values)
        return default(scope) if default is not None else None

    return extreme


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
    if isinstance(value, dict):
        return "a record"
    return type(value).__name__
