"""GoRules ZEN (`zen-engine`): each item as a JDM decision graph.

Two graphs per item, both generated from `criteria` and one period's parameters:

* **from the gathered inputs** (the headline comparison): input -> expression node
  deriving the facts from the records -> decision table -> expression -> output. The
  expression node is what a GoRules user writes in ZEN's expression language for the
  item's derived facts (`FACTS`): `filter`/`some`/`len` over the records, `d()` dates
  for validity windows, ages and spans, a null test wherever a source may have failed,
  and `data_ok` (every source answered, the one population record is there, its birth
  date parses). Two workarounds for ZEN's date library are the only unusual lines:
  `d(a).diff(d(b), 'year')` counts someone born on 29 February a year older on 28
  February (the bureaus count 1 March), so ages compare month and day by hand; and
  `d('2028-02-29').sub(3, 'y')` is an invalid date, so "three years before" steps
  from the next day on 29 February.
* **from derived facts** (the rules-only comparison): input -> decision table ->
  expression -> output, given the facts our derivation computed.

The decision table (hit policy `collect`) has one input column per fact and, per check,
a row that matches when the check fails and a row that matches when its fact is null
(missing); a check that comes `after` another also requires that one's passing value in
its rows, so it is skipped otherwise. Each row outputs the check, its status and its
`on_fail`, collected under `results`. The expression node after it settles the outcome
from `results` and `data_ok`, and lists the failing checks.

Only `evaluate` is timed (the Python dict goes through the binding as it would in use).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import zen

from approvals.bench import derive
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


def jdm(code: str, params: dict[str, Any], *, raw: bool = False) -> dict[str, Any]:
    """The JDM document for one item with one period's parameter values.

    `raw`: the graph starts from the gathered inputs and derives the facts itself.
    """
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
        {"id": "input", "type": "inputNode", "name": "inputs", "position": where},
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
    if raw:
        derive = [
            {"id": f"fact-{i}", "key": key, "value": value}
            for i, (key, value) in enumerate(facts_expressions(code, params))
        ]
        nodes.append(
            {
                "id": "facts",
                "type": "expressionNode",
                "name": "derive facts",
                "content": {"expressions": derive},
                "position": where,
            }
        )
        path.insert(1, "facts")
    edges = [
        {"id": f"e{i}", "type": "edge", "sourceId": a, "targetId": b}
        for i, (a, b) in enumerate(itertools.pairwise(path))
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def facts_jdm(code: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the fact-deriving node, input to output: to compare its facts with ours."""
    where = {"x": 0, "y": 0}
    derive_node = next(n for n in jdm(code, params, raw=True)["nodes"] if n["id"] == "facts")
    nodes = [
        {"id": "input", "type": "inputNode", "name": "inputs", "position": where},
        derive_node,
        {"id": "output", "type": "outputNode", "name": "facts", "position": where},
    ]
    edges = [
        {"id": "e0", "type": "edge", "sourceId": "input", "targetId": "facts"},
        {"id": "e1", "type": "edge", "sourceId": "facts", "targetId": "output"},
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


class ZenItem:
    """One item's compiled ZEN decision for one set of parameter values."""

    def __init__(
        self, engine: zen.ZenEngine, code: str, params: dict[str, Any], *, raw: bool = False
    ) -> None:
        self.document = jdm(code, params, raw=raw)
        self._decision = engine.create_decision(json.dumps(self.document))

    def evaluate(self, context: dict[str, Any]) -> dict[str, Any]:
        return self._decision.evaluate(context)["result"]


def verdict(result: dict[str, Any]) -> Verdict:
    return Verdict(result["outcome"], frozenset(result["failed"]))


# ---------------------------------------------------------------------------------------
# Deriving the facts in ZEN's expression language. `$.x` reads an earlier expression of
# the same node; a key whose value is null is left out of the node's output, which the
# decision table reads as null (missing) all the same.

_PERSON = [
    ("person_ok", "person != null and len(person) == 1"),
    ("p", "$.person_ok ? person[0] : null"),
    ("t", "d(today)"),
    ("born", "d($.p.birth_date)"),
    ("birth_ok", "$.p.birth_date == null or $.born.isValid()"),
]


def _years_since(date: str) -> str:
    """Whole years from `date` (a `d()` value) to today, 29 February as the bureaus count."""
    return (
        f"$.t.year() - {date}.year() - "
        f"($.t.month() * 100 + $.t.day() < {date}.month() * 100 + {date}.day() ? 1 : 0)"
    )


def _years_before(key: str, years: str) -> tuple[str, str]:
    return (
        key,
        f"$.t.sub({years}, 'y').isValid() ? $.t.sub({years}, 'y')"
        f" : $.t.add(1, 'd').sub({years}, 'y')",
    )


_AGE = ("age", f"$.born.isValid() ? {_years_since('$.born')} : null")
_HUKOU = ("shenzhen_hukou", "$.person_ok ? $.p.hukou_city == '深圳市' : null")
_VALID_ON_T = (
    "#.signature_valid and #.status == 'valid' and d(#.valid_from) <= $.t"
    " and (#.valid_to == null or d(#.valid_to) >= $.t)"
)
_LISTED = (
    "debtors == null ? null : some(debtors, d(#.listed_on) <= $.t"
    " and (#.removed_on == null or d(#.removed_on) > $.t))"
)


def _data_ok(sources: list[str]) -> tuple[str, str]:
    answered = " and ".join(f"{s} != null" for s in sources)
    return ("data_ok", f"$.person_ok and $.birth_ok and {answered}")


def facts_expressions(code: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The expression node deriving `code`'s facts from the gathered inputs."""

    def lit(name: str) -> str:
        return json.dumps(params[name], ensure_ascii=False)

    if code == "longevity-allowance":
        return [
            *_PERSON,
            _AGE,
            _HUKOU,
            ("deceased", "$.p.deceased"),
            (
                "already_receiving",
                "allowance == null ? null : some(allowance, #.status == 'active')",
            ),
            _data_ok(["allowance"]),
        ]
    if code == "ride-hailing-driver-permit":
        return [
            *_PERSON,
            _AGE,
            _HUKOU,
            (
                "valid_licences",
                "driving_licences == null ? null : filter(driving_licences, "
                f"{_VALID_ON_T} and #.class in {lit('licence_classes')})",
            ),
            (
                "has_valid_licence",
                "$.valid_licences == null ? null : len($.valid_licences) > 0",
            ),
            (
                "first_issued",
                "$.has_valid_licence == true"
                " ? min(map($.valid_licences, d(#.first_issue_date))) : null",
            ),
            (
                "driving_years",
                f"$.has_valid_licence == true ? {_years_since('$.first_issued')} : null",
            ),
            (
                "traffic_record",
                "records == null ? null"
                f" : some(records, #.category in {lit('traffic_disqualifying')})",
            ),
            (
                "violent_record",
                "records == null ? null"
                f" : some(records, #.category in {lit('violent_disqualifying')})",
            ),
            _years_before("three_years_ago", "3"),
            (
                "recent_full_score",
                "scores == null ? null : some(scores, d(#.period_end) < $.t"
                " and d(#.period_end) >= $.three_years_ago and #.points >= 12)",
            ),
            (
                "valid_residence_permit",
                f"residence_permits == null ? null : some(residence_permits, {_VALID_ON_T})",
            ),
            (
                "lives_in_shenzhen",
                "$.shenzhen_hukou == null ? null"
                " : $.shenzhen_hukou ? true : $.valid_residence_permit",
            ),
            (
                "recent_exam_pass",
                "exams == null ? null : some(exams, #.passed and d(#.exam_date) <= $.t"
                f" and $.t.diff(d(#.exam_date), 'day') <= {lit('exam_valid_days')})",
            ),
            ("holds_permit", f"permits == null ? null : some(permits, {_VALID_ON_T})"),
            _data_ok(list(derive.RIDE_HAILING_SOURCES)),
        ]
    if code == "graduate-hukou":
        return [
            *_PERSON,
            _AGE,
            _HUKOU,
            (
                "valid_degrees",
                "degrees == null ? null : filter(degrees, #.signature_valid"
                " and #.status == 'valid' and #.study_mode == '全日制'"
                f" and #.level in {lit('degree_levels')})",
            ),
            ("has_degree", "$.valid_degrees == null ? null : len($.valid_degrees) > 0"),
            _years_before("window_start", lit("graduation_window_years")),
            (
                "recent_graduate",
                "$.valid_degrees == null ? null : some($.valid_degrees,"
                " d(#.graduation_date) <= $.t and d(#.graduation_date) >= $.window_start)",
            ),
            ("age_limits", lit("age_limit")),
            (
                "under_age_limit",
                "$.has_degree == true and $.age != null"
                " ? $.age < max(map($.valid_degrees, $.age_limits[#.level])) : null",
            ),
            ("any_criminal_record", "records == null ? null : len(records) > 0"),
            ("dishonest_debtor", _LISTED),
            _data_ok(list(derive.GRADUATE_SOURCES)),
        ]
    if code == "individual-business-registration":
        return [
            *_PERSON,
            _AGE,
            ("dishonest_debtor", _LISTED),
            ("name_taken", "same_name == null ? null : len(same_name) > 0"),
            (
                "owns_premises",
                "property == null ? null : some(property, #.signature_valid"
                " and #.status == 'valid' and #.address == form.premises_address)",
            ),
            (
                "leases_premises",
                "leases == null ? null : some(leases, #.address == form.premises_address"
                " and #.lessee_id_number == applicant.id_number"
                " and d(#.valid_from) <= $.t and d(#.valid_to) >= $.t)",
            ),
            (
                "premises_proven",
                "$.owns_premises == null ? null : $.owns_premises ? true : $.leases_premises",
            ),
            # No vacuous truth: an empty list of scopes is not allowed.
            (
                "scopes_allowed",
                "len(form.scope_codes) > 0"
                f" and all(form.scope_codes, # in {lit('allowed_scopes')})",
            ),
            (
                "needs_prior_licence",
                f"some(form.scope_codes, # in {lit('licensed_scopes')})",
            ),
            _data_ok(list(derive.BUSINESS_SOURCES)),
        ]
    raise KeyError(code)
