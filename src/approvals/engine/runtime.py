"""Decide one application: facts in, outcome with every reason out.

Order of precedence (each step only when the ones before found nothing):

1. An input that could not be had (source failed, answered nonsense, a required record
   is absent) -> `refer`, naming the source. A failing source never becomes a rejection.
2. A check that reads a missing fact -> `refer`. A missing fact can never pass.
3. Any failed check whose `on_fail` is `reject` -> `reject`, with every failed check.
4. Any failed check whose `on_fail` is `refer` -> `refer` (the rules send it to the counter).
5. durable_rules' `approve` rule (the conjunction of all checks) fired -> `approve`.
   If it did not fire although nothing failed, the engine contradicts itself: `refer`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from approvals.engine.durable import runner
from approvals.engine.evaluate import (
    MISSING,
    Compiled,
    MissingFact,
    compile_expression,
    evaluate,
    evaluate_or_missing,
)
from approvals.engine.form import validate_form
from approvals.engine.model import (
    Basis,
    CheckResult,
    Decision,
    Gathered,
    Reason,
    RulesetRef,
)
from approvals.errors import ApprovalsError, EvaluationError
from approvals.spec.catalog import LoadedRuleset, Period
from approvals.spec.ruleset import DatasetInput, Ruleset

_SCALARS = (str, int, float, bool)
# Stands in for a fact that is not there; U+2400 (SYMBOL FOR NULL) cannot come from a form
# or a data source, because the engine only puts it here.
ABSENT = "\u2400absent"


class Engine:
    """Evaluates decisions; every engine shares the process's one durable_rules host."""

    def __init__(self) -> None:
        self._durable = runner()
        self._prepared_by_period: dict[tuple[str, dt.date], _Prepared] = {}

    def decide(
        self,
        loaded: LoadedRuleset,
        inputs: Mapping[str, Gathered],
        form: Mapping[str, Any],
        on: dt.date,
        applicant: Mapping[str, Any],
    ) -> Decision:
        spec = loaded.spec
        period = loaded.period_on(on)
        prepared = self._prepared(loaded, period)
        reasons: list[Reason] = []

        scope, input_problems = input_scope(spec, inputs)
        for name, problem in input_problems.items():
            reasons.append(_data_reason(name, problem))
        scope.update(
            today=on.isoformat(),
            applicant=dict(applicant),
            params=period.parameters,
        )
        scope["form"] = validate_form(spec, form, autofilled(spec, scope))
        derived: dict[str, Any] = {}
        for name, expression in prepared.derived:
            try:
                value = expression(scope)
            except MissingFact:
                value = MISSING
            except EvaluationError as exc:
                reasons.append(_data_reason(name, f"cannot compute: {exc}"))
                value = MISSING
            derived[name] = value
            scope[name] = value

        outcome, checks = self.judge(loaded, on, scope, reasons)
        issues = None
        if outcome == "approve":
            issues = _issues(spec, scope)
        return Decision(
            outcome=outcome,
            reasons=reasons,
            checks=checks,
            facts={k: None if v is MISSING else v for k, v in derived.items()}
            | {"form": scope["form"]},
            parameters=period.parameters,
            ruleset=prepared.ruleset,
            on=on,
            issues=issues,
        )

    def judge(
        self,
        loaded: LoadedRuleset,
        on: dt.date,
        scope: Mapping[str, Any],
        reasons: list[Reason],
    ) -> tuple[str, list[CheckResult]]:
        """The rules half of `decide`: outcome and explained checks from derived facts.

        `scope` holds the facts the checks read (missing ones absent, `None` or `MISSING`);
        `reasons` holds the data problems found while gathering and deriving, and gets the
        checks' reasons appended. The benchmark times this against peers that are given
        the same derived facts.
        """
        checks, fired = self._run_checks(loaded, loaded.period_on(on), scope)
        return _outcome(loaded.spec, checks, fired, reasons), checks

    def _prepared(self, loaded: LoadedRuleset, period: Period) -> _Prepared:
        key = (loaded.hash, period.start)
        prepared = self._prepared_by_period.get(key)
        if prepared is None:
            prepared = self._prepared_by_period[key] = _prepare(loaded, period)
        return prepared

    def _run_checks(
        self, loaded: LoadedRuleset, period: Period, scope: Mapping[str, Any]
    ) -> tuple[list[CheckResult], set[str]]:
        prepared = self._prepared(loaded, period)
        facts: dict[str, Any] = {}
        values_by_check: dict[str, dict[str, Any]] = {}
        missing: set[str] = set()
        for check_id, reads in prepared.reads:
            values: dict[str, Any] = {}
            for dotted, path, key in reads:
                value = scope.get(path[0], MISSING) if len(path) == 1 else _lookup(scope, path)
                values[dotted] = None if value is MISSING else value
                if isinstance(value, _SCALARS):
                    facts[key] = value
                else:
                    # Missing, null, or (a ruleset error) a list or record: the check is
                    # `missing`. The key is still asserted, holding a text no condition
                    # compares equal to: durable_rules 2.0.28 crashes (segfault) when a
                    # fact lacks an attribute its rules read.
                    missing.add(check_id)
                    facts[key] = ABSENT
            values_by_check[check_id] = values

        self._durable.ensure(prepared.name, period.durable)
        fired = set(self._durable.fire(prepared.name, facts))

        results: list[CheckResult] = []
        status_of: dict[str, str] = {}
        for check in prepared.explained:
            if check.after and any(status_of.get(dep) != "pass" for dep in check.after):
                status = "skipped"
            elif check.id in missing:
                status = "missing"
            elif check.fail_rule in fired:
                status = "fail"
            else:
                status = "pass"
            status_of[check.id] = status
            results.append(
                CheckResult(
                    id=check.id,
                    status=status,
                    on_fail=check.on_fail,
                    values=values_by_check[check.id],
                    basis=check.basis,
                )
            )
        return results, fired


@dataclass(frozen=True)
class _Explained:
    id: str
    on_fail: Literal["reject", "refer"]
    after: tuple[str, ...]
    fail_rule: str  # the durable_rules rule that fires when the check fails
    basis: Basis


@dataclass(frozen=True)
class _Prepared:
    """What evaluating one period's checks needs that does not change between decisions.

    Worked out once per ruleset and period instead of per decision: the durable_rules
    ruleset name, each check's fact paths with their dotted names, each check's
    explanation (its legal basis is one `Basis` shared by every decision's results,
    as a decision's reasons already share their check's), the derived facts' compiled
    expressions and the ruleset reference.
    """

    name: str
    reads: tuple[tuple[str, tuple[tuple[str, tuple[str, ...], str], ...]], ...]
    explained: tuple[_Explained, ...]
    derived: tuple[tuple[str, Compiled], ...]  # each derived fact's compiled expression
    ruleset: RulesetRef


def _compiled(expression: str) -> Compiled:
    """The expression's closure; one that does not compile raises when used, as before."""
    try:
        return compile_expression(expression)
    except ApprovalsError:
        return lambda scope: evaluate(expression, scope)


def _prepare(loaded: LoadedRuleset, period: Period) -> _Prepared:
    spec = loaded.spec
    return _Prepared(
        name=f"{spec.code}@{spec.version}@{loaded.hash[7:19]}@{period.start.isoformat()}",
        reads=tuple(
            (
                compiled.id,
                tuple(
                    (".".join(path), path, key)
                    for path, key in zip(compiled.paths, compiled.facts, strict=True)
                ),
            )
            for compiled in period.checks
        ),
        explained=tuple(
            _Explained(
                id=check.id,
                on_fail=check.on_fail,
                after=tuple(check.after),
                fail_rule=f"fail__{check.id}",
                basis=Basis(
                    title=spec.legal_basis[check.basis].title,
                    article=spec.legal_basis[check.basis].article,
                ),
            )
            for check in spec.checks
        ),
        derived=tuple((name, _compiled(expr)) for name, expr in spec.derived.items()),
        ruleset=RulesetRef(code=spec.code, version=spec.version, hash=loaded.hash),
    )


def autofilled(spec: Ruleset, scope: Mapping[str, Any]) -> dict[str, Any]:
    """Form values the government already holds (秒报), computed from the inputs."""
    values: dict[str, Any] = {}
    for form_field in spec.form:
        if form_field.autofill:
            try:
                value = evaluate_or_missing(form_field.autofill, scope)
            except EvaluationError:
                value = MISSING
            values[form_field.name] = None if value is MISSING else value
    return values


def input_scope(
    spec: Ruleset, inputs: Mapping[str, Gathered]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The inputs as the expressions see them, and what was wrong with each unusable one.

    Prefill builds its scope with this too, so a form is filled from exactly the facts a
    decision would read.
    """
    scope: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, source in spec.inputs.items():
        got = inputs.get(name)
        label = source.dataset if isinstance(source, DatasetInput) else source.type
        if got is None:
            problems[name] = f"input '{name}' ({label}) was not gathered"
            scope[name] = MISSING
            continue
        if got.error is not None:
            problems[name] = f"{label}: {got.error}"
            scope[name] = MISSING
            continue
        value = got.value if got.value is not None else []
        if not isinstance(value, list):
            problems[name] = f"{label}: expected a list of records, got {type(value).__name__}"
            scope[name] = MISSING
            continue
        if isinstance(source, DatasetInput):
            if source.required and not value:
                problems[name] = f"{label}: no record for this applicant"
                scope[name] = MISSING
                continue
            if source.one:
                if len(value) > 1:
                    problems[name] = f"{label}: {len(value)} records where one was expected"
                    scope[name] = MISSING
                    continue
                value = value[0] if value else None
        scope[name] = value
    return scope, problems


def _outcome(
    spec: Ruleset, checks: list[CheckResult], fired: set[str], reasons: list[Reason]
) -> str:
    by_id = {c.id: c for c in spec.checks}
    for result in checks:
        check = by_id[result.id]
        if result.status == "missing":
            reasons.append(
                Reason(
                    code="DATA_MISSING",
                    check=check.id,
                    outcome="refer",
                    zh=f"审查所需数据缺失，转人工审核：{check.description.zh}",
                    en=(
                        "Data needed for this check is missing; referred to a clerk: "
                        f"{check.description.en}"
                    ),
                    basis=result.basis,
                )
            )
        elif result.status == "fail":
            reasons.append(
                Reason(
                    code=check.reason.code,
                    check=check.id,
                    outcome=check.on_fail,
                    zh=check.reason.zh,
                    en=check.reason.en,
                    basis=result.basis,
                )
            )
    if any(
        r.outcome == "refer" and r.code in ("DATA_UNAVAILABLE", "DATA_MISSING") for r in reasons
    ):
        return "refer"
    if any(r.outcome == "reject" for r in reasons):
        return "reject"
    if reasons:
        return "refer"
    if "approve" in fired and all(c.status == "pass" for c in checks):
        return "approve"
    reasons.append(
        Reason(
            code="ENGINE_INCONSISTENT",
            check="",
            outcome="refer",
            zh="规则引擎结果不一致，转人工审核",
            en="The rules engine did not confirm approval although no check failed; referred",
        )
    )
    return "refer"


def _data_reason(name: str, problem: str) -> Reason:
    return Reason(
        code="DATA_UNAVAILABLE",
        check="",
        outcome="refer",
        zh=f"无法获取审查所需数据（{name}），转人工审核：{problem}",
        en=(
            f"Data needed for the decision ({name}) could not be had; "
            f"referred to a clerk: {problem}"
        ),
    )


def _issues(spec: Ruleset, scope: Mapping[str, Any]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if spec.issues.grant:
        out["grant"] = {k: _plain(evaluate(v, scope)) for k, v in spec.issues.grant.items()}
    lic = spec.issues.licence
    if lic is not None:
        out["licence"] = {
            "type": lic.type,
            "issuer": lic.issuer,
            "valid_from": evaluate(lic.valid_from, scope),
            "valid_to": evaluate(lic.valid_to, scope) if lic.valid_to else None,
            "fields": {k: _plain(evaluate(v, scope)) for k, v in lic.fields.items()},
        }
    return out or None


def _lookup(scope: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = scope
    for part in path:
        if value is MISSING or value is None:
            return value
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def _plain(value: Any) -> Any:
    """JSON-ready: MISSING becomes null (the check's status says it was missing).

    MISSING only ever stands for a whole fact: an expression that reads it raises
    instead of returning, so no list or record can hold it and none is walked.
    """
    return None if value is MISSING else value


__all__ = ["ApprovalsError", "Engine", "autofilled", "input_scope"]
