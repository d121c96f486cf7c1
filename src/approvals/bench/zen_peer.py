"""GoRules ZEN (`zen-engine`): each item as a JDM decision graph, generated from criteria.

The graph is input -> decision table -> expression -> output:

* the decision table (hit policy `collect`) has one input column per fact and, per
  check, a row that matches when the check fails and a row that matches when its fact
  is null (missing); a check that comes `after` another also requires that one's
  passing value in its rows, so it is skipped otherwise. Each row outputs the check, its
  status and its `on_fail`, collected under `results`;
* the expression node settles the outcome from `results` and `data_ok`, and lists the
  failing checks.

ZEN is given the same derived facts as the other peers; only `evaluate` is timed.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import zen

from approvals.bench.criteria import CRITERIA, Criterion, Verdict

_FAIL = {">=": "<", "<=": ">", "<": ">="}

OUTCOME = (
    "(not data_ok) or some(results, #.status == 'missing') ? 'refer'"
    " : some(results, #.on_fail == 'reject') ? 'reject'"
    " : len(results) > 0 ? 'refer' : 'approve'"
)
FAILED = "map(filter(results, #.status == 'fail'), #.check)"


def _passes(c: Criterion, params: dict[str, Any]) -> str:
    if c.op == "true":
        return "true"
    if c.op == "false":
        return "false"
    return f"{c.op} {json.dumps(params[c.param or ''])}"


def _fails(c: Criterion, params: dict[str, Any]) -> str:
    if c.op == "true":
        return "false"
    if c.op == "false":
        return "true"
    return f"{_FAIL[c.op]} {json.dumps(params[c.param or ''])}"


def jdm(code: str, params: dict[str, Any]) -> dict[str, Any]:
    """The JDM document for one item with one period's parameter values."""
    criteria = CRITERIA[code]
    by_check = {c.check: c for c in criteria}
    facts = list(dict.fromkeys(c.fact for c in criteria))
    column = {fact: f"in-{i}" for i, fact in enumerate(facts)}
    inputs = [{"id": column[f], "name": f, "field": f} for f in facts]
    outputs = [
        {"id": f"out-{name}", "name": name, "field": name}
        for name in ("check", "status", "on_fail")
    ]
    rules: list[dict[str, str]] = []
    for c in criteria:
        for status, test in (("fail", _fails(c, params)), ("missing", "null")):
            row = {column[f]: "" for f in facts}
            row[column[c.fact]] = test
            if c.after is not None:
                gate = by_check[c.after]
                row[column[gate.fact]] = _passes(gate, params)
            row |= {
                "_id": f"{c.check}-{status}",
                "out-check": json.dumps(c.check),
                "out-status": json.dumps(status),
                "out-on_fail": json.dumps(c.on_fail),
            }
            rules.append(row)
    table = {
        "hitPolicy": "collect",
        "outputPath": "results",
        "passThrough": True,
        "inputs": inputs,
        "outputs": outputs,
        "rules": rules,
    }
    outcome = {
        "expressions": [
            {"id": "outcome", "key": "outcome", "value": OUTCOME},
            {"id": "failed", "key": "failed", "value": FAILED},
        ]
    }
    where = {"x": 0, "y": 0}
    nodes = [
        {"id": "input", "type": "inputNode", "name": "facts", "position": where},
        {
            "id": "checks",
            "type": "decisionTableNode",
            "name": code,
            "content": table,
            "position": where,
        },
        {
            "id": "outcome",
            "type": "expressionNode",
            "name": "outcome",
            "content": outcome,
            "position": where,
        },
        {"id": "output", "type": "outputNode", "name": "verdict", "position": where},
    ]
    path = ["input", "checks", "outcome", "output"]
    edges = [
        {"id": f"e{i}", "type": "edge", "sourceId": a, "targetId": b}
        for i, (a, b) in enumerate(itertools.pairwise(path))
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


class ZenItem:
    """One item's compiled ZEN decision for one set of parameter values."""

    def __init__(self, engine: zen.ZenEngine, code: str, params: dict[str, Any]) -> None:
        self.document = jdm(code, params)
        self._decision = engine.create_decision(json.dumps(self.document))

    def evaluate(self, facts: dict[str, Any]) -> dict[str, Any]:
        return self._decision.evaluate(facts)["result"]


def verdict(result: dict[str, Any]) -> Verdict:
    return Verdict(result["outcome"], frozenset(result["failed"]))
