"""Every ruleset's scenario cases (`rulesets/**/<item>.cases.yaml`) as pytest items."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvals.engine.cases import cases_path, check_expectation, load_cases, run_case
from approvals.engine.runtime import Engine
from approvals.licence import uscc
from approvals.spec.catalog import load_ruleset, ruleset_files

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ruleset_files(ROOT / "rulesets")
ENGINE = Engine()


def _params() -> list[object]:
    params = []
    for path in RULESETS:
        for case in load_cases(cases_path(path)).cases:
            params.append(pytest.param(path, case.name, id=f"{path.stem}: {case.name}"))
    return params


def test_every_ruleset_has_cases() -> None:
    assert RULESETS, "no rulesets found"
    for path in RULESETS:
        assert cases_path(path).exists(), f"{path} has no cases file beside it"


@pytest.mark.parametrize(("path", "name"), _params())
def test_case(path: Path, name: str) -> None:
    loaded = load_ruleset(path)
    cases = load_cases(cases_path(path))
    case = next(c for c in cases.cases if c.name == name)
    decision = run_case(ENGINE, loaded, cases.defaults, case)
    assert check_expectation(decision, case.expect) == []


@pytest.mark.parametrize("path", RULESETS, ids=[p.stem for p in RULESETS])
def test_cases_cover_every_outcome_and_reason(path: Path) -> None:
    """Each item ships cases that approve, that refer, and that fail each check on its own."""
    loaded = load_ruleset(path)
    cases = load_cases(cases_path(path)).cases
    outcomes = {c.expect.outcome for c in cases}
    assert {"approve", "refer"} <= outcomes
    alone = {c.expect.reasons[0] for c in cases if len(c.expect.reasons) == 1}
    for check in loaded.spec.checks:
        assert check.reason.code in alone, f"no case fails only '{check.id}'"


def test_issued_business_licence_carries_a_valid_uscc() -> None:
    path = ROOT / "rulesets/sj/individual-business-registration.yaml"
    loaded = load_ruleset(path)
    cases = load_cases(cases_path(path))
    decision = run_case(ENGINE, loaded, cases.defaults, cases.cases[0])
    assert decision.outcome == "approve" and decision.issues is not None
    code = decision.issues["licence"]["fields"]["uscc"]
    assert uscc.is_valid(code) and code.startswith("92440300")
    again = run_case(ENGINE, loaded, cases.defaults, cases.cases[0])
    assert again.issues is not None and again.issues["licence"]["fields"]["uscc"] == code
