"""Scenario cases that live beside each ruleset (`<item>.cases.yaml`).

A rule author writes a baseline application that approves (`defaults`) and then, per
case, only what differs: a dotted `patch` of the baseline inputs, whole `inputs`
replaced, `form` fields, sources that are `unavailable`, the application date `on`.
`expect` states the outcome, the exact set of reason codes, and optionally a subset of
what the approval grants or issues. `approvals items test` and the pytest suite run
them through the same engine as production.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from approvals.engine.model import Decision, Gathered, Provenance
from approvals.engine.runtime import Engine
from approvals.spec.catalog import CASES_SUFFIX, LoadedRuleset, load_ruleset
from approvals.spec.ruleset import DatasetInput
from approvals.spec.yamlfile import load_model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Expect(_Strict):
    outcome: Literal["approve", "reject", "refer"]
    reasons: list[str] = Field(default_factory=list, description="Exact set of reason codes")
    grant: dict[str, Any] = Field(default_factory=dict, description="Subset of the grant")
    licence: dict[str, Any] = Field(default_factory=dict, description="Subset of the licence")


class Baseline(_Strict):
    on: dt.date
    applicant: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    form: dict[str, Any] = Field(default_factory=dict)


class Case(_Strict):
    name: str
    on: dt.date | None = None
    applicant: str | None = None
    patch: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, Any] = Field(default_factory=dict)
    form: dict[str, Any] = Field(default_factory=dict)
    unavailable: dict[str, str] = Field(default_factory=dict)
    expect: Expect


class CasesFile(_Strict):
    defaults: Baseline
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class CaseResult:
    file: str
    case: Case
    decision: Decision
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def cases_path(ruleset_path: Path) -> Path:
    return ruleset_path.with_name(ruleset_path.name.removesuffix(".yaml") + CASES_SUFFIX)


def load_cases(path: Path) -> CasesFile:
    model, _data, _lines = load_model(CasesFile, path.read_text(encoding="utf-8"), str(path))
    return model


@dataclass(frozen=True)
class Application:
    """What `Engine.decide` is given for one case: gathered inputs, form, date, applicant."""

    inputs: dict[str, Gathered]
    form: dict[str, Any]
    on: dt.date
    applicant: dict[str, Any]


def run_case(engine: Engine, loaded: LoadedRuleset, baseline: Baseline, case: Case) -> Decision:
    app = case_application(loaded, baseline, case)
    return engine.decide(loaded, app.inputs, app.form, app.on, app.applicant)


def case_application(loaded: LoadedRuleset, baseline: Baseline, case: Case) -> Application:
    """The baseline with the case's changes applied, as the data sources would deliver it."""
    inputs = _iso(copy.deepcopy(baseline.inputs))
    inputs.update(_iso(copy.deepcopy(case.inputs)))
    for dotted, value in case.patch.items():
        _set(inputs, dotted.split("."), _iso(value))
    gathered: dict[str, Gathered] = {}
    for name, source in loaded.spec.inputs.items():
        provenance = Provenance(source="case", key=name)
        if name in case.unavailable:
            gathered[name] = Gathered(provenance=provenance, error=case.unavailable[name])
            continue
        value = inputs.get(name)
        if isinstance(source, DatasetInput) and source.one:
            value = [] if value is None else [value]
        gathered[name] = Gathered(value=value if value is not None else [], provenance=provenance)
    form = _iso({**baseline.form, **case.form})
    applicant = case.applicant or baseline.applicant
    return Application(gathered, form, case.on or baseline.on, {"id_number": applicant})


def check_expectation(decision: Decision, expect: Expect) -> list[str]:
    problems: list[str] = []
    expect = Expect.model_validate(_iso(expect.model_dump()))
    if decision.outcome != expect.outcome:
        problems.append(f"outcome: expected {expect.outcome}, got {decision.outcome}")
    got = sorted({r.code for r in decision.reasons})
    if got != sorted(set(expect.reasons)):
        problems.append(f"reasons: expected {sorted(set(expect.reasons))}, got {got}")
    issues = decision.issues or {}
    for section in ("grant", "licence"):
        wanted: dict[str, Any] = getattr(expect, section)
        have = issues.get(section) or {}
        for key, value in wanted.items():
            actual = have.get(key, have.get("fields", {}).get(key))
            if actual != value:
                problems.append(f"{section}.{key}: expected {value!r}, got {actual!r}")
    return problems


def run_file(engine: Engine, ruleset_path: Path) -> Iterator[CaseResult]:
    loaded = load_ruleset(ruleset_path)
    cases = load_cases(cases_path(ruleset_path))
    for case in cases.cases:
        decision = run_case(engine, loaded, cases.defaults, case)
        yield CaseResult(
            str(ruleset_path), case, decision, check_expectation(decision, case.expect)
        )


def _set(target: Any, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = path[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


def _iso(value: Any) -> Any:
    """YAML reads 2026-11-30 as a date; the data sources send ISO text, so cases do too."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_iso(v) for v in value]
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    return value
