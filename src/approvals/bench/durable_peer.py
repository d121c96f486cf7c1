"""The flagship items as durable_rules rulesets written by hand, without our layer.

This is what a team would write using durable_rules directly: one rule per way to
fail, an `approve` rule for the conjunction, thresholds read from the item's
parameters, facts asserted in a fresh session that is deleted afterwards. Rule
names prefixed `bench-hand:` keep clear of the engine's own rulesets, and they are
registered on the process's one runner (`approvals.engine.durable.runner`), because two
durable_rules hosts registering rulesets in one process is what crashed it. Facts are
asserted through durable_rules' public API (`Host.assert_fact`, each action run in a
`Closure`: `DurableRunner.fire_through_host`), as a team using durable_rules would;
our engine's `fire` drives the same C calls without the Closures (engine/durable.py).

A condition on a fact that is absent never matches, so which checks are missing (a
fact of `None`, unless the check is skipped because its prerequisite failed) is
worked out in Python, as durable_rules' `$nex` hangs the host in this version.

From the gathered inputs (`decide_raw`) the facts are first derived in Python by hand
(`approvals.bench.derive`): durable_rules has no way to filter a list of records by
date, so that is what a team using it would do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from approvals.bench.criteria import Verdict, settle
from approvals.bench.derive import DERIVE, RawInputs
from approvals.engine.durable import DurableRunner

Rules = dict[str, dict[str, Any]]


def _all(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"all": [{"m": {"$and": list(conditions)} if len(conditions) > 1 else conditions[0]}]}


def _longevity(p: dict[str, Any]) -> Rules:
    return {
        "approve": _all(
            {"shenzhen_hukou": True},
            {"$gte": {"age": p["min_age"]}},
            {"deceased": False},
            {"already_receiving": False},
        ),
        "shenzhen-hukou": _all({"shenzhen_hukou": False}),
        "age-80": _all({"$lt": {"age": p["min_age"]}}),
        "alive": _all({"deceased": True}),
        "not-receiving": _all({"already_receiving": True}),
    }


def _ride_hailing(p: dict[str, Any]) -> Rules:
    return {
        "approve": _all(
            {"has_valid_licence": True},
            {"$gte": {"driving_years": p["min_driving_years"]}},
            {"$lte": {"age": p["max_age"]}},
            {"traffic_record": False},
            {"violent_record": False},
            {"recent_full_score": False},
            {"lives_in_shenzhen": True},
            {"recent_exam_pass": True},
            {"holds_permit": False},
        ),
        "driving-licence": _all({"has_valid_licence": False}),
        "driving-experience": _all(
            {"has_valid_licence": True}, {"$lt": {"driving_years": p["min_driving_years"]}}
        ),
        "age": _all({"$gt": {"age": p["max_age"]}}),
        "no-traffic-drug-record": _all({"traffic_record": True}),
        "no-violent-record": _all({"violent_record": True}),
        "no-full-score": _all({"recent_full_score": True}),
        "residence": _all({"lives_in_shenzhen": False}),
        "exam": _all({"recent_exam_pass": False}),
        "no-existing-permit": _all({"holds_permit": True}),
    }


def _graduate(p: dict[str, Any]) -> Rules:
    return {
        "approve": _all(
            {"has_degree": True},
            {"recent_graduate": True},
            {"under_age_limit": True},
            {"shenzhen_hukou": False},
            {"any_criminal_record": False},
            {"dishonest_debtor": False},
        ),
        "degree": _all({"has_degree": False}),
        "recent-graduation": _all({"has_degree": True}, {"recent_graduate": False}),
        "age-limit": _all({"has_degree": True}, {"under_age_limit": False}),
        "not-shenzhen-hukou": _all({"shenzhen_hukou": True}),
        "no-criminal-record": _all({"any_criminal_record": True}),
        "not-dishonest-debtor": _all({"dishonest_debtor": True}),
    }


def _business(p: dict[str, Any]) -> Rules:
    return {
        "approve": _all(
            {"$gte": {"age": p["min_age"]}},
            {"dishonest_debtor": False},
            {"name_taken": False},
            {"premises_proven": True},
            {"scopes_allowed": True},
            {"needs_prior_licence": False},
        ),
        "adult": _all({"$lt": {"age": p["min_age"]}}),
        "not-dishonest-debtor": _all({"dishonest_debtor": True}),
        "name-available": _all({"name_taken": True}),
        "premises": _all({"premises_proven": False}),
        "scope-allowed": _all({"scopes_allowed": False}),
        "scope-prior-licence": _all({"needs_prior_licence": True}),
    }


# Per item: the rules, which fact each check reads, which checks wait for another
# (check -> (fact, value) that must hold), and which failures only refer.
_Spec = tuple[
    Callable[[dict[str, Any]], Rules], dict[str, str], dict[str, tuple[str, Any]], frozenset[str]
]
_ITEMS: dict[str, _Spec] = {
    "longevity-allowance": (
        _longevity,
        {
            "shenzhen-hukou": "shenzhen_hukou",
            "age-80": "age",
            "alive": "deceased",
            "not-receiving": "already_receiving",
        },
        {},
        frozenset(),
    ),
    "ride-hailing-driver-permit": (
        _ride_hailing,
        {
            "driving-licence": "has_valid_licence",
            "driving-experience": "driving_years",
            "age": "age",
            "no-traffic-drug-record": "traffic_record",
            "no-violent-record": "violent_record",
            "no-full-score": "recent_full_score",
            "residence": "lives_in_shenzhen",
            "exam": "recent_exam_pass",
            "no-existing-permit": "holds_permit",
        },
        {"driving-experience": ("has_valid_licence", True)},
        frozenset(),
    ),
    "graduate-hukou": (
        _graduate,
        {
            "degree": "has_degree",
            "recent-graduation": "recent_graduate",
            "age-limit": "under_age_limit",
            "not-shenzhen-hukou": "shenzhen_hukou",
            "no-criminal-record": "any_criminal_record",
            "not-dishonest-debtor": "dishonest_debtor",
        },
        {"recent-graduation": ("has_degree", True), "age-limit": ("has_degree", True)},
        frozenset({"no-criminal-record", "not-dishonest-debtor"}),
    ),
    "individual-business-registration": (
        _business,
        {
            "adult": "age",
            "not-dishonest-debtor": "dishonest_debtor",
            "name-available": "name_taken",
            "premises": "premises_proven",
            "scope-allowed": "scopes_allowed",
            "scope-prior-licence": "needs_prior_licence",
        },
        {},
        frozenset({"scope-prior-licence"}),
    ),
}


class HandWritten:
    """One item's hand-written ruleset for one set of parameter values."""

    def __init__(self, runner: DurableRunner, code: str, start: str, params: dict[str, Any]):
        rules, self._reads, self._gates, self._refer_only = _ITEMS[code]
        self._derive, self._params = DERIVE[code], params
        self._runner = runner
        self._name = f"bench-hand:{code}@{start}"
        runner.ensure(self._name, rules(params))

    def decide(self, facts: dict[str, Any]) -> Verdict:
        present = {k: v for k, v in facts.items() if v is not None and k != "data_ok"}
        failed = [
            n for n in self._runner.fire_through_host(self._name, present) if n != "approve"
        ]
        missing = any(
            facts[fact] is None
            and (check not in self._gates or facts[self._gates[check][0]] == self._gates[check][1])
            for check, fact in self._reads.items()
        )
        rejects = any(n not in self._refer_only for n in failed)
        return settle(facts["data_ok"], missing, rejects, failed)

    def decide_raw(self, raw: RawInputs) -> Verdict:
        """From the gathered inputs: derive the facts in Python, then decide as above."""
        return self.decide(self._derive(raw, self._params))
