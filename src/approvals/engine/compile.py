"""Compile a ruleset's checks to a durable_rules ruleset (its JSON rule format).

Each check's `when` becomes a durable_rules condition over one fact holding the
decision's scalar facts. Per parameter period (thresholds keyed by date) one ruleset is
compiled, with that period's values inlined as constants, so durable_rules itself
compares `age` with `60`.

The compiled ruleset has:

* `approve`: the conjunction of every check. It is the only rule that can approve.
* `fail__<check>`: the negation of one check (and the conjunction of the checks it
  comes `after`), so every failing check is reported, not just the first.
* `handled`: matches every decision's fact, so durable_rules never answers "not
  handled". In durable_rules 2.0.28 a fact that no rule matches crashed the process
  (segmentation fault or abort, through its public API as well; the first such fact
  on a one-rule ruleset was enough, depending on the heap's layout). With the
  negations above one rule always matches anyway (a probe of 804 random and missing
  values over the four rulesets: always handled), so this rule is insurance against
  a condition and its negation that are both false for some value.

Conditions may compare a fact with a constant, test membership in a constant list, or
combine those with and/or/not. Anything else (arithmetic, functions, comparing two
facts) belongs in a derived fact, where the rule author can name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from approvals.engine.durable import ASSERTED_KEYS, FACT_ID
from approvals.engine.expr import Binary, Index, ListLit, Literal, Node, Unary, parse, path_of
from approvals.errors import ExpressionError

#: The rule that matches every decision's fact (by the `id` `DurableRunner.fire` gives
#: it); it says nothing about the decision. A check reading a fact named like one of the
#: keys `fire` adds (ASSERTED_KEYS) would read those instead, so it is refused.
HANDLED = "handled"
_DURABLE_OP = {"==": None, "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

Scalar = str | int | float | bool


def fact_key(path: tuple[str, ...]) -> str:
    """The key a dotted fact path has in the asserted durable_rules fact."""
    return "__".join(path)


@dataclass(frozen=True)
class CompiledCheck:
    id: str
    condition: dict[str, Any]
    negation: dict[str, Any]
    facts: tuple[str, ...]  # fact keys the condition reads
    paths: tuple[tuple[str, ...], ...]


class _Compiler:
    def __init__(self, source: str, params: dict[str, Any]) -> None:
        self.source = source
        self.params = params
        self.paths: list[tuple[str, ...]] = []

    def fail(self, message: str) -> ExpressionError:
        return ExpressionError(message, self.source)

    def constant(self, node: Node) -> Any:
        """A literal, a list of literals, or a parameter (inlined for this period)."""
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, ListLit):
            return [self.constant(item) for item in node.items]
        path = path_of(node)
        if path is not None and path[0] == "params":
            value: Any = self.params
            for part in path[1:]:
                if not isinstance(value, dict) or part not in value:
                    raise self.fail(f"no parameter '{'.'.join(path[1:])}' in force")
                value = value[part]
            return value
        if isinstance(node, Index):
            base = self.constant(node.target)
            key = self.constant(node.index)
            try:
                return base[key]
            except (KeyError, IndexError, TypeError) as exc:
                raise self.fail(f"parameter has no entry {key!r}") from exc
        raise self.fail("expected a constant or parameter here")

    def fact(self, node: Node) -> str:
        path = path_of(node)
        if path is None or path[0] == "params":
            raise self.fail(
                "a check compares a fact with a constant; compute anything else in `derived`"
            )
        key = fact_key(path)
        if key in ASSERTED_KEYS:
            raise self.fail(
                f"a fact named '{key}' would be overwritten by the rules engine's own "
                f"'{key}' (reserved: {', '.join(sorted(ASSERTED_KEYS))}); rename it in "
                "`derived`"
            )
        self.paths.append(path)
        return key

    def is_constant(self, node: Node) -> bool:
        if isinstance(node, Literal | ListLit | Index):
            return True
        path = path_of(node)
        return path is not None and path[0] == "params"

    def compile(self, node: Node, negate: bool = False) -> dict[str, Any]:
        if isinstance(node, Unary) and node.op == "not":
            return self.compile(node.operand, not negate)
        if isinstance(node, Binary) and node.op in ("and", "or"):
            # De Morgan: not (a and b) == (not a) or (not b)
            op = node.op if not negate else ("or" if node.op == "and" else "and")
            parts = [self.compile(node.left, negate), self.compile(node.right, negate)]
            return {f"${op}": _flatten(f"${op}", parts)}
        if isinstance(node, Binary) and node.op in ("in", "not in"):
            key = self.fact(node.left)
            values = self.constant(node.right)
            if not isinstance(values, list) or not values:
                raise self.fail("'in' needs a non-empty list of constants on its right")
            inside = (node.op == "in") != negate
            if inside:
                return {"$or": [_compare("==", key, _scalar(v, self)) for v in values]}
            return {"$and": [_compare("!=", key, _scalar(v, self)) for v in values]}
        if isinstance(node, Binary) and node.op in _DURABLE_OP:
            op = node.op
            if self.is_constant(node.left) and not self.is_constant(node.right):
                left, right, op = node.right, node.left, _MIRROR[op]
            else:
                left, right = node.left, node.right
            key = self.fact(left)
            if not self.is_constant(right):
                raise self.fail(
                    "a check compares a fact with a constant; compute anything else in `derived`"
                )
            value = _scalar(self.constant(right), self)
            return _compare(_NEGATE[op] if negate else op, key, value)
        path = path_of(node)
        if path is not None:  # a boolean fact on its own: `is_student`
            return _compare("!=" if negate else "==", self.fact(node), True)
        raise self.fail("a check must be a comparison, a membership test or a boolean fact")


def _scalar(value: Any, compiler: _Compiler) -> Scalar:
    if value is None or isinstance(value, list | dict):
        raise compiler.fail(f"cannot compare with {value!r}: use a number, text or true/false")
    if not isinstance(value, str | int | float | bool):
        raise compiler.fail(f"unsupported constant {value!r}")
    return value


def _compare(op: str, key: str, value: Scalar) -> dict[str, Any]:
    durable = _DURABLE_OP[op]
    return {key: value} if durable is None else {durable: {key: value}}


def _flatten(op: str, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in parts:
        out.extend(part[op] if set(part) == {op} else [part])
    return out


def compile_check(check_id: str, when: str, params: dict[str, Any]) -> CompiledCheck:
    compiler = _Compiler(when, params)
    node = parse(when)
    condition = compiler.compile(node)
    negation = compiler.compile(node, negate=True)
    paths = tuple(dict.fromkeys(compiler.paths))
    return CompiledCheck(
        id=check_id,
        condition=condition,
        negation=negation,
        facts=tuple(fact_key(p) for p in paths),
        paths=paths,
    )


def durable_definition(
    checks: list[CompiledCheck], after: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """The durable_rules ruleset (without actions) for one parameter period."""
    if not checks:
        raise ExpressionError("a ruleset with no checks can never approve")
    by_id = {c.id: c for c in checks}
    rules: dict[str, dict[str, Any]] = {
        "approve": {"all": [{"m": {"$and": [c.condition for c in checks]}}]},
        HANDLED: {"all": [{"m": {"id": FACT_ID}}]},  # every fact: see the module notes
    }
    for check in checks:
        prerequisites = [by_id[dep].condition for dep in after.get(check.id, [])]
        condition = {"$and": [*prerequisites, check.negation]} if prerequisites else check.negation
        rules[f"fail__{check.id}"] = {"all": [{"m": condition}]}
    return rules
