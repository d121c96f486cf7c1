"""The engine: expressions, compilation to durable_rules, outcomes, session hygiene."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.engine.compile import HANDLED, compile_check, durable_definition
from approvals.engine.durable import runner
from approvals.engine.evaluate import MISSING, evaluate, evaluate_or_missing
from approvals.engine.expr import parse
from approvals.engine.functions import full_years
from approvals.engine.model import Gathered, Provenance
from approvals.engine.runtime import ABSENT, Engine
from approvals.errors import EvaluationError, ExpressionError, SpecErrors
from approvals.spec.catalog import load_ruleset_text

ROOT = Path(__file__).resolve().parent.parent
LONGEVITY = (ROOT / "rulesets/mz/longevity-allowance.yaml").read_text(encoding="utf-8")


def test_full_years_counts_29_february_as_1_march_in_common_years() -> None:
    assert full_years("2008-02-29", "2026-02-28") == 17
    assert full_years("2008-02-29", "2026-03-01") == 18
    assert full_years("2008-02-29", "2028-02-29") == 20
    assert full_years("1966-11-30", "2026-11-30") == 60
    assert full_years("1966-12-01", "2026-11-30") == 59


def test_expressions_evaluate_without_python_eval() -> None:
    scope = {
        "today": "2026-11-30",
        "xs": [{"c": "A1", "n": 2}, {"c": "D", "n": 5}],
        "params": {"classes": ["A1", "C1"], "limits": {"学士": 35}},
    }
    assert evaluate('any(xs, it.c in params.classes) and not ("D" in params.classes)', scope)
    assert evaluate("count(xs, it.n > 1)", scope) == 2
    assert evaluate("max(xs, it.n)", scope) == 5
    assert evaluate('params.limits["学士"] - 1', scope) == 34
    assert evaluate("all([], true)", scope) is False  # no vacuous truth
    assert evaluate("add_years(today, -3)", scope) == "2023-11-30"
    assert evaluate("first(filter(xs, it.n > 9)).c", scope) is None
    with pytest.raises(EvaluationError):
        evaluate("__import__", scope)
    with pytest.raises(ExpressionError):
        parse("age >= ")
    with pytest.raises(ExpressionError):
        parse("os.system('x')()")


def test_missing_facts_propagate() -> None:
    scope: dict[str, Any] = {"person": MISSING, "today": "2026-11-30"}
    assert evaluate_or_missing("age(person.birth_date) >= 18", scope) is MISSING


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("age >= other", "compares a fact with a constant"),
        ("age(person.birth_date) > 3", "compares a fact with a constant"),
        ("x in []", "non-empty list"),
        ("x == null", "cannot compare with None"),
        ("id == 3", "reserved: id, sid"),  # the keys the engine asserts beside the facts
        ("sid in ['a']", "reserved: id, sid"),
    ],
)
def test_checks_that_cannot_compile_are_refused(when: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        compile_check("c", when, {})


def test_ruleset_without_checks_is_refused() -> None:
    text = LONGEVITY.split("checks:")[0] + "checks: []\n"
    with pytest.raises(SpecErrors, match="at least 1"):
        load_ruleset_text(text, "x.yaml")


def test_lint_names_file_line_and_the_unknown_fact() -> None:
    text = LONGEVITY.replace("age(person.birth_date)", "age(person.birth_date) + agee", 1)
    with pytest.raises(SpecErrors) as caught:
        load_ruleset_text(text, "rulesets/mz/longevity-allowance.yaml")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "agee" in s)
    assert str(caught.value) == (
        f"rulesets/mz/longevity-allowance.yaml:{line}: derived.age: unknown fact 'agee'"
    )
    text = LONGEVITY.replace("when: age >= params.min_age", "when: agee >= params.min_age")
    with pytest.raises(
        SpecErrors, match=r"checks.1.when: unknown fact 'agee' \(did you mean 'age'\?\)"
    ):
        load_ruleset_text(text, "f.yaml")


def test_lint_reports_unknown_field_with_suggestion() -> None:
    text = LONGEVITY.replace("    on_fail:", "    on_fial:").replace(
        "    basis: sz-senior-duplicate", "    basis: sz-senior-duplicate\n    on_fial: refer"
    )
    with pytest.raises(SpecErrors) as caught:
        load_ruleset_text(text, "f.yaml")
    assert "unknown field 'on_fial' (did you mean 'on_fail'?)" in str(caught.value)
    assert str(caught.value).startswith("f.yaml:")


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(SpecErrors, match=r"^bad.yaml:2: not valid YAML"):
        load_ruleset_text("code: x\n  - : [\n", "bad.yaml")


def _longevity_inputs(person: dict[str, Any] | None) -> dict[str, Gathered]:
    prov = Provenance(source="case")
    return {
        "person": Gathered(value=[person] if person else [], provenance=prov),
        "allowance": Gathered(value=[], provenance=prov),
    }


PERSON = {
    "id_number": "440303194001150026",
    "name": "陈秀英",
    "gender": "女",
    "birth_date": "1940-01-15",
    "hukou_city": "深圳市",
    "hukou_address": "深圳市罗湖区",
    "deceased": False,
    "death_date": None,
}


def test_ten_thousand_decisions_do_not_leak_durable_sessions() -> None:
    """durable_rules fails at the 1,025th live session; every evaluation deletes its own."""
    loaded = load_ruleset_text(LONGEVITY, "longevity.yaml")
    engine = Engine()
    inputs = _longevity_inputs(PERSON)
    form = {"bank_account": "6217003320001234567"}
    outcomes = {
        engine.decide(loaded, inputs, form, dt.date(2026, 11, 30), {"id_number": "x"}).outcome
        for _ in range(10_000)
    }
    assert outcomes == {"approve"}


def test_decisions_are_deterministic() -> None:
    loaded = load_ruleset_text(LONGEVITY, "longevity.yaml")
    engine = Engine()
    args = (loaded, _longevity_inputs(PERSON), {"bank_account": "6217003320001234567"})
    first = engine.decide(*args, dt.date(2026, 11, 30), {"id_number": "x"})
    second = Engine().decide(*args, dt.date(2026, 11, 30), {"id_number": "x"})
    assert first.model_dump() == second.model_dump()


def test_a_check_on_a_missing_fact_never_approves() -> None:
    loaded = load_ruleset_text(LONGEVITY, "longevity.yaml")
    person = {**PERSON, "deceased": None}
    decision = Engine().decide(
        loaded,
        _longevity_inputs(person),
        {"bank_account": "6217003320001234567"},
        dt.date(2026, 11, 30),
        {"id_number": "x"},
    )
    assert decision.outcome == "refer"
    assert [c.status for c in decision.checks if c.id == "alive"] == ["missing"]


# Property: durable_rules and the Python evaluator agree on every check condition.
CONDITIONS = [
    "a >= 3 and b",
    'not (a < 2 or b) and c in ["x", "y"]',
    'c not in ["x"] or a != 4',
    "not not b and not (a > 1 and a <= 5)",
    "3 < a",
]
VALUES = st.fixed_dictionaries(
    {"a": st.integers(-2, 8), "b": st.booleans(), "c": st.sampled_from(["x", "y", "z"])}
)
RUNNER = runner()


@settings(max_examples=300, deadline=None)
@given(values=VALUES, which=st.integers(0, len(CONDITIONS) - 1))
def test_durable_agrees_with_the_evaluator(values: dict[str, Any], which: int) -> None:
    when = CONDITIONS[which]
    compiled = compile_check("c", when, {})
    name = f"prop-{which}"
    RUNNER.ensure(name, durable_definition([compiled], {}))
    fired = set(RUNNER.fire(name, values))
    expected = evaluate(when, values)
    assert ("approve" in fired) == expected
    assert ("fail__c" in fired) == (not expected)


THREE = [
    compile_check("young", "a < 5", {}),
    compile_check("yes", "b", {}),
    compile_check("listed", 'c in ["x", "y"]', {}),
]
THREE_VALUES = st.fixed_dictionaries(
    {
        "a": st.one_of(st.integers(-2, 8), st.just(ABSENT)),
        "b": st.one_of(st.booleans(), st.just(ABSENT)),
        "c": st.sampled_from(["x", "y", "z", ABSENT]),
    }
)


@settings(max_examples=300, deadline=None)
@given(values=THREE_VALUES)
def test_fire_answers_as_durable_rules_public_api_does(values: dict[str, Any]) -> None:
    """`fire` drives durable_rules' C calls itself (engine/durable.py); its rules must be
    those `Host.assert_fact` fires: none, one failure, several, or the approval."""
    name = "prop-three"
    RUNNER.ensure(name, durable_definition(THREE, {}))
    ours = RUNNER.fire(name, values)
    public = RUNNER.fire_through_host(name, values)
    assert sorted(ours) == sorted(public)
    assert len(ours) == len(set(ours))
    assert HANDLED in ours  # no fact is ever "not handled" (engine/compile.py)


def test_fire_deletes_every_session() -> None:
    """durable_rules fails at a ruleset's 1,025th live session; 3,000 decisions in a row,
    approving and failing, must all be answered."""
    name = "sessions-three"
    RUNNER.ensure(name, durable_definition(THREE, {}))
    cases = [
        (name, {"a": 1, "b": True, "c": "x"}, ["approve", HANDLED]),
        (
            name,
            {"a": 9, "b": False, "c": "z"},
            ["fail__listed", "fail__yes", "fail__young", HANDLED],
        ),
    ]
    for i in range(3_000):
        ruleset, values, expected = cases[i % len(cases)]
        assert sorted(RUNNER.fire(ruleset, values)) == expected
        assert sorted(RUNNER.fire_through_host(ruleset, values)) == expected


def test_fire_answers_a_fact_no_rule_matches(tmp_path: Path) -> None:
    """durable_rules answers "not handled" for a fact no rule matches; `fire` reports
    nothing fired and still deletes the session. Our compiled rulesets always match (an
    approval or a failure), so this uses a one-rule ruleset, in a fresh interpreter:
    in the test process, after the property tests above, durable_rules 2.0.28 aborted
    in `delete_state` on this ruleset through its own public API as well."""
    import subprocess
    import sys

    script = tmp_path / "lone.py"
    script.write_text(
        "from approvals.engine.durable import runner\n"
        "r = runner()\n"
        "r.ensure('lone', {'only': {'all': [{'m': {'k': 1}}]}})\n"
        "for i in range(3000):\n"
        "    k = 1 + i % 2\n"
        "    want = ['only'] if k == 1 else []\n"
        "    assert r.fire('lone', {'k': k}) == want\n"
        "    assert r.fire_through_host('lone', {'k': k}) == want\n"
        "print('answered')\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "answered"


def test_missing_facts_do_not_crash_durable_rules(tmp_path: Path) -> None:
    """durable_rules 2.0.28 segfaulted (depending on PYTHONHASHSEED) when an asserted fact
    lacked an attribute its rules read. Run a referral in fresh interpreters to prove the
    engine never asserts a partial fact."""
    import subprocess
    import sys

    script = tmp_path / "refer.py"
    script.write_text(
        "import datetime as dt\n"
        "from pathlib import Path\n"
        "from approvals.engine.model import Gathered, Provenance\n"
        "from approvals.engine.runtime import Engine\n"
        "from approvals.spec.catalog import Catalog\n"
        f"cat = Catalog.load(Path({str(ROOT / 'rulesets')!r}))\n"
        "rs = cat.latest('ride-hailing-driver-permit')\n"
        "p = Provenance(source='case')\n"
        "inputs = {n: Gathered(provenance=p, error='down') for n in rs.spec.inputs}\n"
        "for _ in range(200):\n"
        "    d = Engine().decide(rs, inputs, {'phone': '13800138000'}, dt.date(2026, 11, 30), "
        "{'id_number': 'x'})\n"
        "print(d.outcome)\n",
        encoding="utf-8",
    )
    for seed in range(6):
        done = subprocess.run(
            [sys.executable, str(script)],
            env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "refer"


@pytest.mark.parametrize(
    "fact",
    [
        {"name": "张三", "age": 65, "ok": True, "none": None, "sid": "1", "id": "facts"},
        {"score": 59.5, "big": 1e16, "sid": "2"},  # floats: json's number text
        {"serial": 123456789012345678901234567890, "sid": "3"},  # past 64 bits
    ],
)
def test_the_asserted_message_is_the_fact_as_json(fact: dict[str, object]) -> None:
    from approvals.engine.durable import _message

    message = _message(fact)
    assert json.loads(message) == fact
    if any(isinstance(v, float) or (isinstance(v, int) and v >= 2**64) for v in fact.values()):
        assert message == json.dumps(fact, ensure_ascii=False)
