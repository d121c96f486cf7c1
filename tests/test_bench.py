"""The benchmark's guards (not timed): the implementations agree, and the framework."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import zen

from approvals.bench.context import BenchContext
from approvals.bench.criteria import CRITERIA, Verdict
from approvals.bench.derive import DERIVE
from approvals.bench.peers import (
    FROM_FACTS,
    FROM_INPUTS,
    PYTHON,
    PYTHON_FACTS,
    Disagreement,
    check_agreement,
    disagreements,
    implementations,
)
from approvals.bench.python_peer import FROM_RAW, FUNCTIONS
from approvals.bench.report import SectionResult, Table, Target
from approvals.bench.runner import run_bench
from approvals.bench.samples import FLAGSHIP, ItemSamples
from approvals.bench.zen_peer import facts_jdm, jdm
from approvals.engine.runtime import Engine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def items() -> list[ItemSamples]:
    ctx = BenchContext(quick=True, charts=Path("unused"), rulesets=ROOT / "rulesets")
    return ctx.samples()


def test_inputs_cover_every_outcome_of_every_flagship_item(items: list[ItemSamples]) -> None:
    assert [i.code for i in items] == list(FLAGSHIP)
    for item in items:
        outcomes = {s.verdict.outcome for s in item.samples}
        assert outcomes == {"approve", "reject", "refer"}, item.code
        assert any(len(s.verdict.failed) > 1 for s in item.samples), item.code


def test_inputs_include_failed_sources_and_malformed_records(items: list[ItemSamples]) -> None:
    for item in items:
        raws = [s.raw for s in item.samples]
        failed = [k for r in raws for k, v in r.items() if v is None]
        assert failed, item.code  # some source failed
        assert any(r["person"] == [] for r in raws), item.code  # no population record
        assert any(not s.data_ok and s.raw["person"] for s in item.samples), item.code


def test_all_implementations_agree_on_every_input(items: list[ItemSamples]) -> None:
    zen_engine = zen.ZenEngine()
    for item in items:
        impls = implementations(Engine(), zen_engine, item)
        assert [i.key for i in impls] == [*FROM_INPUTS, *FROM_FACTS]
        assert disagreements(item, impls) == []


def test_hand_derivations_compute_exactly_our_engines_facts(items: list[ItemSamples]) -> None:
    """Stronger than verdicts agreeing: Python's and ZEN's facts equal ours on every input."""
    zen_engine = zen.ZenEngine()
    for item in items:
        zen_facts: dict[str, Any] = {}
        for s in item.samples:
            params = item.loaded.period_on(s.app.on).parameters
            ours = s.peer_facts(item.code)
            assert DERIVE[item.code](s.raw, params) == ours, (item.code, s.label)
            key = json.dumps(params, sort_keys=True)
            if key not in zen_facts:
                zen_facts[key] = zen_engine.create_decision(
                    json.dumps(facts_jdm(item.code, params))
                )
            got = zen_facts[key].evaluate(s.raw)["result"]
            assert {k: got.get(k) for k in ours} == ours, (item.code, s.label)


def _zen_facts(code: str, params: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    decision = zen.ZenEngine().create_decision(json.dumps(facts_jdm(code, params)))
    result: dict[str, Any] = decision.evaluate(raw)["result"]
    return result


def _longevity_raw(today: str, birth_date: str) -> dict[str, Any]:
    person = {"birth_date": birth_date, "hukou_city": "深圳市", "deceased": False}
    return {"today": today, "applicant": {}, "form": {}, "person": [person], "allowance": []}


@pytest.mark.parametrize(
    ("today", "age"),
    [("2027-02-28", 2), ("2027-03-01", 3), ("2028-02-28", 3), ("2028-02-29", 4)],
)
def test_every_derivation_counts_29_february_birthdays_as_the_bureaus_do(
    today: str, age: int
) -> None:
    raw = _longevity_raw(today, "2024-02-29")
    params = {"min_age": 80}
    assert DERIVE["longevity-allowance"](raw, params)["age"] == age
    assert _zen_facts("longevity-allowance", params, raw)["age"] == age


def test_a_malformed_birth_date_is_missing_data_in_every_derivation() -> None:
    raw = _longevity_raw("2026-11-30", "1940-13-45")
    for facts in (
        DERIVE["longevity-allowance"](raw, {"min_age": 80}),
        _zen_facts("longevity-allowance", {"min_age": 80}, raw),
    ):
        assert facts.get("age") is None
        assert facts["data_ok"] is False


def test_a_peer_that_decides_differently_stops_the_benchmark(items: list[ItemSamples]) -> None:
    item = items[0]  # longevity allowance: an off-by-one on the age limit
    impls = implementations(Engine(), zen.ZenEngine(), item)
    for key, function, given in (
        (PYTHON, FROM_RAW[item.code], lambda s: s.raw),
        (PYTHON_FACTS, FUNCTIONS[item.code], lambda s: s.peer_facts(item.code)),
    ):
        python = next(i for i in impls if i.key == key)
        wrong = [
            functools.partial(
                function,
                given(s),
                {**item.loaded.period_on(s.app.on).parameters, "min_age": 81},
            )
            for s in item.samples
        ]
        broken = dataclasses.replace(python, calls=wrong)
        with pytest.raises(Disagreement, match="refusing to time"):
            check_agreement(item, [broken])


def test_zen_graph_from_inputs_derives_the_facts_before_the_table() -> None:
    params = {
        "licence_classes": ["C1"],
        "min_driving_years": 3,
        "max_age": 60,
        "exam_valid_days": 365,
        "traffic_disqualifying": ["吸毒"],
        "violent_disqualifying": ["暴力犯罪"],
    }
    doc = jdm("ride-hailing-driver-permit", params, raw=True)
    order = {e["sourceId"]: e["targetId"] for e in doc["edges"]}
    path = ["input"]
    while path[-1] in order:
        path.append(order[path[-1]])
    assert path == ["input", "facts", "checks", "outcome", "output"]
    facts = next(n for n in doc["nodes"] if n["id"] == "facts")["content"]["expressions"]
    keys = {e["key"] for e in facts}
    assert {c.fact for c in CRITERIA["ride-hailing-driver-permit"]} | {"data_ok"} <= keys


def test_zen_tables_have_a_failing_and_a_missing_row_per_check() -> None:
    doc = jdm("ride-hailing-driver-permit", {"min_driving_years": 3, "max_age": 60})
    table = next(n for n in doc["nodes"] if n["type"] == "decisionTableNode")["content"]
    ids = [rule["_id"] for rule in table["rules"]]
    checks = [c.check for c in CRITERIA["ride-hailing-driver-permit"]]
    assert ids == [f"{c}-{status}" for c in checks for status in ("fail", "missing")]
    experience = next(r for r in table["rules"] if r["_id"] == "driving-experience-fail")
    assert sorted(v for k, v in experience.items() if k.startswith("in-") and v) == [
        "< 3",
        "true",
    ]


def _fake(ctx: BenchContext) -> SectionResult:
    return SectionResult(
        key="fake",
        title="Signed decision, in process",
        about="A later section plugs in like this.",
        table=Table(("measure", "value"), [("decisions/s", "2,345"), ("名称", "宽")]),
        targets=[Target("signed decisions/s", ">= 2,000", "2,345", True)],
    )


def test_sections_plug_in_and_reach_the_page_and_the_table(tmp_path: Path) -> None:
    printed: list[str] = []
    report = run_bench(tmp_path, quick=True, sections=[_fake], echo=printed.append)
    page = (tmp_path / "performance.md").read_text(encoding="utf-8")
    assert "## Signed decision, in process" in page
    assert "| decisions/s | 2,345 |" in page
    assert "| signed decisions/s | >= 2,000 | 2,345 | yes |" in page
    assert report.started.strftime("%Y-%m-%d") in page  # dated
    assert "Signed decision, in process" in printed[-1]
    assert [t.met for t in report.targets] == [True]


def test_verdicts_compare_outcome_and_failing_checks() -> None:
    a = Verdict("reject", frozenset({"age", "exam"}))
    assert a == Verdict("reject", frozenset({"exam", "age"}))
    assert a != Verdict("reject", frozenset({"age"}))
    assert a != Verdict("refer", frozenset({"age", "exam"}))


def test_bare_verification_windows_run_through_the_pass_and_leave_it_whole() -> None:
    """The audit section's bare Ed25519 windows (bench/audit_log.Interleaved): one before
    the first entry, one after every `every`-th, one after the last; every entry passes
    through once, in order; the windows' time is what the pass subtracts."""
    from approvals.audit.keys import generate_signing_key
    from approvals.audit.verify import LogEntry
    from approvals.bench.audit_log import Interleaved

    signer = generate_signing_key("bench.example/log")
    verifier = signer.verifier
    message = b"signed bytes"
    sample = [(verifier, message, signer.sign(message))] * 2_000
    entries = [LogEntry(bytes([i]), None, i) for i in range(25)]
    interleaved = Interleaved(entries, sample, every=10, window=0.01)
    assert list(interleaved) == entries
    assert len(interleaved.rates) == 4  # before 0, before 10, before 20, after the last
    assert all(r > 0 for r in interleaved.rates)
    assert interleaved.paused >= 4 * 0.01


def test_a_full_run_holds_itself_to_ten_minutes() -> None:
    """The run's own time is a target of a full run (issue 5: under 10 minutes), not of
    a quick smoke run."""
    from approvals.bench.report import BenchReport, Machine

    def report(quick: bool, seconds: float) -> BenchReport:
        r = BenchReport(dt.datetime(2026, 12, 1), quick, Machine.here(), {}, seconds=seconds)
        r.sections.append(_fake(BenchContext(quick=quick, charts=Path("unused"))))
        return r

    on_time = report(False, 429.0).targets[-1]
    assert (on_time.name, on_time.got, on_time.met) == ("make bench's own running time",
                                                        "429 s", True)
    assert not report(False, 663.0).targets[-1].met
    assert [t.name for t in report(True, 30.0).targets] == ["signed decisions/s"]
    assert "| make bench's own running time | < 10 min | 663 s | **no** |" in report(
        False, 663.0
    ).markdown(Path("docs"))
