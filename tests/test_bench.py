"""The benchmark's guards (not timed): the four implementations agree, and the framework."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest
import zen

from approvals.bench import SectionResult, Table, Target, run_bench
from approvals.bench.context import BenchContext
from approvals.bench.criteria import CRITERIA, Verdict
from approvals.bench.peers import (
    PYTHON,
    Disagreement,
    check_agreement,
    disagreements,
    implementations,
)
from approvals.bench.python_peer import FUNCTIONS
from approvals.bench.samples import FLAGSHIP, ItemSamples
from approvals.bench.zen_peer import jdm
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


def test_all_implementations_agree_on_every_input(items: list[ItemSamples]) -> None:
    zen_engine = zen.ZenEngine()
    for item in items:
        impls = implementations(Engine(), zen_engine, item)
        assert len(impls) == 5
        assert disagreements(item, impls) == []


def test_a_peer_that_decides_differently_stops_the_benchmark(items: list[ItemSamples]) -> None:
    item = items[0]  # longevity allowance: an off-by-one on the age limit
    impls = implementations(Engine(), zen.ZenEngine(), item)
    python = next(i for i in impls if i.key == PYTHON)
    wrong = [
        functools.partial(
            FUNCTIONS[item.code],
            s.peer_facts(item.code),
            {**item.loaded.period_on(s.app.on).parameters, "min_age": 81},
        )
        for s in item.samples
    ]
    broken = dataclasses.replace(python, calls=wrong)
    with pytest.raises(Disagreement, match="refusing to time"):
        check_agreement(item, [broken])


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
