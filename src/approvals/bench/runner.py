"""Run the benchmark sections in one process, print the table, write the docs page.

A section is any `Section`: a function from the shared `BenchContext` to a
`SectionResult`. Issue 5's remaining parts — signed decision in process, over HTTP,
audit verification, memory and growth to 1M decisions — are added by appending their
functions to `SECTIONS`; the table, the targets summary, the charts and
docs/performance.md pick them up unchanged.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from zoneinfo import ZoneInfo

from approvals.bench.audit_log import audit_verification, memory_and_growth
from approvals.bench.context import BenchContext
from approvals.bench.engine_only import engine_only, engine_rules_only
from approvals.bench.http_load import over_http
from approvals.bench.memory import engine_memory
from approvals.bench.report import BenchReport, Machine, SectionResult
from approvals.bench.signed import signed_decisions

Section = Callable[[BenchContext], SectionResult]

SECTIONS: tuple[Section, ...] = (
    engine_only,
    engine_rules_only,
    engine_memory,
    signed_decisions,
    over_http,
    audit_verification,
    memory_and_growth,
)

# The application date is Shenzhen's; so is the date a benchmark run is filed under.
SHENZHEN = ZoneInfo("Asia/Shanghai")
PAGE = "performance.md"
CHARTS = "performance"
_PACKAGES = ("durable_rules", "zen-engine", "pydantic")


def run_bench(
    out_dir: Path,
    quick: bool,
    *,
    sections: Sequence[Section] = SECTIONS,
    rulesets: Path = Path("rulesets"),
    echo: Callable[[str], None] = print,
) -> BenchReport:
    """Run `sections`, print the report, write `out_dir/performance.md` and its charts."""
    report = BenchReport(
        started=dt.datetime.now(SHENZHEN),
        quick=quick,
        machine=Machine.here(),
        versions={p: metadata.version(p) for p in _PACKAGES},
    )
    ctx = BenchContext(quick=quick, charts=out_dir / CHARTS, rulesets=rulesets)
    start = time.perf_counter()
    for section in sections:
        echo(f"... {section.__name__}")
        began = time.perf_counter()
        report.sections.append(section(ctx))
        report.section_seconds.append(time.perf_counter() - began)
    report.seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / PAGE).write_text(report.markdown(out_dir), encoding="utf-8")
    echo(report.text())
    return report
