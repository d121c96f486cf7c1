"""The four flagship items' criteria, stated once without our layer, for the peers.

Every peer is given the facts our derivation step computes (`age`,
`has_valid_licence`, ...; `None` where a fact could not be had) plus `data_ok`, false
when a source failed or a fact could not be derived. What each peer must answer is the
same: the outcome and the set of failing checks, by the precedence the engine
documents (`approvals.engine.runtime`):

1. data not ok, or a check (not skipped) whose fact is missing -> `refer`;
2. a failing check whose `on_fail` is `reject` -> `reject`;
3. any other failing check -> `refer`; otherwise `approve`.

A check that comes `after` another is skipped unless that one passes.

The ZEN decision tables are generated from these criteria; the hand-written
durable_rules rulesets and the plain Python functions are written out by hand, so the
agreement check compares independent encodings, not one encoding four times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Op = Literal[">=", "<=", "<", "true", "false"]


@dataclass(frozen=True)
class Criterion:
    check: str
    fact: str
    op: Op  # the condition that passes: `fact >= params[param]`, `fact is true`, ...
    param: str | None = None
    on_fail: Literal["reject", "refer"] = "reject"
    after: str | None = None  # the check that must pass first


@dataclass(frozen=True)
class Verdict:
    outcome: str
    failed: frozenset[str]

    def __str__(self) -> str:
        return f"{self.outcome} {sorted(self.failed)}"


CRITERIA: dict[str, tuple[Criterion, ...]] = {
    "longevity-allowance": (
        Criterion("shenzhen-hukou", "shenzhen_hukou", "true"),
        Criterion("age-80", "age", ">=", "min_age"),
        Criterion("alive", "deceased", "false"),
        Criterion("not-receiving", "already_receiving", "false"),
    ),
    "ride-hailing-driver-permit": (
        Criterion("driving-licence", "has_valid_licence", "true"),
        Criterion(
            "driving-experience",
            "driving_years",
            ">=",
            "min_driving_years",
            after="driving-licence",
        ),
        Criterion("age", "age", "<=", "max_age"),
        Criterion("no-traffic-drug-record", "traffic_record", "false"),
        Criterion("no-violent-record", "violent_record", "false"),
        Criterion("no-full-score", "recent_full_score", "false"),
        Criterion("residence", "lives_in_shenzhen", "true"),
        Criterion("exam", "recent_exam_pass", "true"),
        Criterion("no-existing-permit", "holds_permit", "false"),
    ),
    "graduate-hukou": (
        Criterion("degree", "has_degree", "true"),
        Criterion("recent-graduation", "recent_graduate", "true", after="degree"),
        Criterion("age-limit", "under_age_limit", "true", after="degree"),
        Criterion("not-shenzhen-hukou", "shenzhen_hukou", "false"),
        Criterion("no-criminal-record", "any_criminal_record", "false", on_fail="refer"),
        Criterion("not-dishonest-debtor", "dishonest_debtor", "false", on_fail="refer"),
    ),
    "individual-business-registration": (
        Criterion("adult", "age", ">=", "min_age"),
        Criterion("not-dishonest-debtor", "dishonest_debtor", "false"),
        Criterion("name-available", "name_taken", "false"),
        Criterion("premises", "premises_proven", "true"),
        Criterion("scope-allowed", "scopes_allowed", "true"),
        Criterion("scope-prior-licence", "needs_prior_licence", "false", on_fail="refer"),
    ),
}


def fact_names(code: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.fact for c in CRITERIA[code]))


def peer_facts(code: str, derived: dict[str, Any], data_ok: bool) -> dict[str, Any]:
    """Exactly what a peer is given: the facts its criteria read, and `data_ok`."""
    return {name: derived.get(name) for name in fact_names(code)} | {"data_ok": data_ok}


def settle(data_ok: bool, missing: bool, rejects: bool, failed: Iterable[str]) -> Verdict:
    """The precedence above, shared by the hand-written peers after they evaluate."""
    failed = frozenset(failed)
    if not data_ok or missing:
        return Verdict("refer", failed)
    if rejects:
        return Verdict("reject", failed)
    return Verdict("refer" if failed else "approve", failed)
