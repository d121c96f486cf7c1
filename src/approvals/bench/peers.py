"""The implementations of each flagship item, as timed calls over the same inputs.

Four start from the gathered inputs (the headline, like for like with a real decision):
our `Engine.decide`, a ZEN graph that derives the facts itself, hand-written
durable_rules after a hand-written Python derivation, and one plain Python function.
Four start from the facts our engine derived (the rules-only comparison): our
`Engine.judge`, a ZEN decision table, the same hand-written durable_rules ruleset, and
plain Python.

Each implementation turns one item's samples into one zero-argument call per input
(everything it is given is prepared beforehand, so only deciding is timed) and a way to
read a verdict from what a call returns. All of them must reach our engine's verdict on
every input before anything is timed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zen

from approvals.bench.criteria import Verdict
from approvals.bench.durable_peer import HandWritten
from approvals.bench.python_peer import FROM_RAW, FUNCTIONS
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


# The headline comparison: every implementation starts from the gathered inputs.
OURS = "ours"
ZEN = "zen"
DURABLE = "durable"
PYTHON = "python"
# The rules-only comparison: every implementation starts from our derived facts.
OURS_RULES = "ours-rules"
ZEN_FACTS = "zen-facts"
DURABLE_FACTS = "durable-facts"
PYTHON_FACTS = "python-facts"

FROM_INPUTS = (OURS, ZEN, DURABLE, PYTHON)
FROM_FACTS = (OURS_RULES, ZEN_FACTS, DURABLE_FACTS, PYTHON_FACTS)

LABELS = {
    OURS: "our engine (Engine.decide)",
    ZEN: "GoRules ZEN (JDM graph)",
    DURABLE: "durable_rules by hand",
    PYTHON: "plain Python",
    OURS_RULES: "our engine, rules only (Engine.judge)",
    ZEN_FACTS: "GoRules ZEN (JDM table)",
    DURABLE_FACTS: "durable_rules by hand",
    PYTHON_FACTS: "plain Python",
}

GIVEN = {
    OURS: "the `Gathered` inputs, form, date and applicant: validates the form, derives "
    "the facts from the ruleset's expressions, evaluates the checks on durable_rules, "
    "records every check with its values and legal basis, and on approval computes what "
    "it issues",
    ZEN: "the same inputs unwrapped (each source's records, `null` where it failed; date, "
    "applicant, form): one graph — an expression node deriving the facts in ZEN's "
    "expression language, the decision table, the outcome expression",
    DURABLE: "the same inputs unwrapped: facts derived in Python (`bench.derive`), asserted "
    "in a fresh session of a hand-written ruleset, state deleted, outcome settled",
    PYTHON: "the same inputs unwrapped: one function deriving the facts and deciding",
    OURS_RULES: "our derived facts: `Engine.judge` (durable_rules, explained checks, outcome)",
    ZEN_FACTS: "our derived facts + `data_ok`: the decision table and outcome expression",
    DURABLE_FACTS: "our derived facts + `data_ok`: assert in a fresh session, delete it, settle",
    PYTHON_FACTS: "our derived facts + `data_ok`: one hand-written function per item",
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
    """All eight implementations of `item`: the four from inputs, then the four from facts."""
    loaded, code = item.loaded, item.code
    periods = {s.app.on: loaded.period_on(s.app.on) for s in item.samples}
    zens: dict[str, ZenItem] = {}
    zens_raw: dict[str, ZenItem] = {}
    hands: dict[str, HandWritten] = {}
    for period in periods.values():
        start = period.start.isoformat()
        if start not in zens:
            zens[start] = ZenItem(zen_engine, code, period.parameters)
            zens_raw[start] = ZenItem(zen_engine, code, period.parameters, raw=True)
            hands[start] = HandWritten(runner(), code, start, period.parameters)

    calls: dict[str, list[Call]] = {key: [] for key in LABELS}
    function, from_inputs = FUNCTIONS[code], FROM_RAW[code]
    for s in item.samples:
        app, period = s.app, periods[s.app.on]
        start, params = period.start.isoformat(), period.parameters
        raw, facts = s.raw, s.peer_facts(code)
        calls[OURS].append(
            functools.partial(engine.decide, loaded, app.inputs, app.form, app.on, app.applicant)
        )
        calls[ZEN].append(functools.partial(zens_raw[start].evaluate, raw))
        calls[DURABLE].append(functools.partial(hands[start].decide_raw, raw))
        calls[PYTHON].append(functools.partial(from_inputs, raw, params))
        problems = () if s.data_ok else (_UNAVAILABLE,)
        calls[OURS_RULES].append(
            functools.partial(_judge, engine, loaded, app.on, s.derived, problems)
        )
        calls[ZEN_FACTS].append(functools.partial(zens[start].evaluate, facts))
        calls[DURABLE_FACTS].append(functools.partial(hands[start].decide, facts))
        calls[PYTHON_FACTS].append(functools.partial(function, facts, params))
    verdicts: dict[str, Callable[[Any], Verdict]] = {
        OURS: verdict_of,
        ZEN: zen_verdict,
        OURS_RULES: _judged,
        ZEN_FACTS: zen_verdict,
    }
    return [
        Implementation(key, LABELS[key], GIVEN[key], calls[key], verdicts.get(key, _same))
        for key in (*FROM_INPUTS, *FROM_FACTS)
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
