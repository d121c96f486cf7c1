"""The four implementations of each flagship item, as timed calls over the same inputs.

Each implementation turns one item's samples into one zero-argument call per input
(everything it is given is prepared beforehand, so only deciding is timed) and a way to
read a verdict from what a call returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zen

from approvals.bench.criteria import Verdict
from approvals.bench.durable_peer import HandWritten
from approvals.bench.python_peer import FUNCTIONS
from approvals.bench.samples import ItemSamples, verdict_of
from approvals.bench.timing import Call
from approvals.bench.zen_peer import ZenItem
from approvals.bench.zen_peer import verdict as zen_verdict
from approvals.engine.durable import runner
from approvals.engine.model import CheckResult, Reason
from approvals.engine.runtime import Engine
from approvals.errors import ApprovalsError


@dataclass(frozen=True)
class Implementation:
    key: str
    label: str
    given: str  # what it is handed, for the docs
    calls: list[Call]
    verdict: Callable[[Any], Verdict]


class Disagreement(ApprovalsError):
    """Implementations reached different verdicts: timing them would compare nothing."""


OURS = "ours"
OURS_RULES = "ours-rules"
ZEN = "zen"
DURABLE = "durable"
PYTHON = "python"

LABELS = {
    OURS: "our engine, full decide",
    OURS_RULES: "our engine, rules only",
    ZEN: "GoRules ZEN (JDM table)",
    DURABLE: "durable_rules by hand",
    PYTHON: "plain Python",
}

GIVEN = {
    OURS: "gathered inputs (records, licences), form, date: derives facts, evaluates, "
    "explains every check",
    OURS_RULES: "derived facts: `Engine.judge` (durable_rules + explained checks + outcome)",
    ZEN: "derived facts + `data_ok`: `ZenDecision.evaluate` (table + outcome expression)",
    DURABLE: "derived facts + `data_ok`: assert in a fresh session, delete it, settle",
    PYTHON: "derived facts + `data_ok`: one hand-written function per item",
}

_UNAVAILABLE = Reason(
    code="DATA_UNAVAILABLE",
    check="",
    outcome="refer",
    zh="无法获取审查所需数据，转人工审核",
    en="Data needed for the decision could not be had; referred to a clerk",
)


def _judged(result: tuple[str, list[CheckResult]]) -> Verdict:
    outcome, checks = result
    return Verdict(outcome, frozenset(c.id for c in checks if c.status == "fail"))


def implementations(
    engine: Engine, zen_engine: zen.ZenEngine, item: ItemSamples
) -> list[Implementation]:
    loaded, code = item.loaded, item.code
    periods = {s.app.on: loaded.period_on(s.app.on) for s in item.samples}
    zens: dict[str, ZenItem] = {}
    hands: dict[str, HandWritten] = {}
    for period in periods.values():
        start = period.start.isoformat()
        if start not in zens:
            zens[start] = ZenItem(zen_engine, code, period.parameters)
            hands[start] = HandWritten(runner(), code, start, period.parameters)

    ours: list[Call] = []
    rules: list[Call] = []
    zen_calls: list[Call] = []
    durable: list[Call] = []
    python: list[Call] = []
    function = FUNCTIONS[code]
    for s in item.samples:
        app, period = s.app, periods[s.app.on]
        start = period.start.isoformat()
        facts = s.peer_facts(code)
        ours.append(
            functools.partial(engine.decide, loaded, app.inputs, app.form, app.on, app.applicant)
        )
        problems = () if s.data_ok else (_UNAVAILABLE,)
        rules.append(functools.partial(_judge, engine, loaded, app.on, s.derived, problems))
        zen_calls.append(functools.partial(zens[start].evaluate, facts))
        durable.append(functools.partial(hands[start].decide, facts))
        python.append(functools.partial(function, facts, period.parameters))
    return [
        Implementation(OURS, LABELS[OURS], GIVEN[OURS], ours, verdict_of),
        Implementation(OURS_RULES, LABELS[OURS_RULES], GIVEN[OURS_RULES], rules, _judged),
        Implementation(ZEN, LABELS[ZEN], GIVEN[ZEN], zen_calls, zen_verdict),
        Implementation(DURABLE, LABELS[DURABLE], GIVEN[DURABLE], durable, _same),
        Implementation(PYTHON, LABELS[PYTHON], GIVEN[PYTHON], python, _same),
    ]


def _judge(
    engine: Engine,
    loaded: Any,
    on: Any,
    derived: dict[str, Any],
    problems: tuple[Reason, ...],
) -> tuple[str, list[CheckResult]]:
    return engine.judge(loaded, on, derived, list(problems))


def _same(verdict: Verdict) -> Verdict:
    return verdict


def disagreements(item: ItemSamples, impls: list[Implementation]) -> list[str]:
    """Every input on which an implementation's verdict differs from our engine's."""
    found: list[str] = []
    for impl in impls:
        for sample, call in zip(item.samples, impl.calls, strict=True):
            got = impl.verdict(call())
            if got != sample.verdict:
                found.append(
                    f"{item.code}: {sample.label}: {impl.label} says {got}, "
                    f"our engine says {sample.verdict}"
                )
    return found


def check_agreement(item: ItemSamples, impls: list[Implementation]) -> None:
    found = disagreements(item, impls)
    if found:
        shown = "\n  ".join(found[:10])
        more = f"\n  ... and {len(found) - 10} more" if len(found) > 10 else ""
        raise Disagreement(
            f"{len(found)} verdict(s) differ; refusing to time implementations that "
            f"decide differently:\n  {shown}{more}"
        )
