"""Flat memory over 100k decisions (issue 5's Done means; not timed).

RSS, not tracemalloc: durable_rules keeps session state in C memory, where a session
left undeleted (or a per-decision entry left in the runner's bookkeeping) would grow
it by far more than the bound below over 90k decisions.
"""

from __future__ import annotations

from pathlib import Path

from approvals.bench.context import BenchContext
from approvals.bench.memory import rss_curve

ROOT = Path(__file__).resolve().parent.parent
BOUND_MB = 10.0  # generous: the benchmark measures +0.0 MB; allocator noise is a few MB


def test_rss_stays_flat_over_100k_decisions() -> None:
    ctx = BenchContext(quick=True, charts=Path("unused"), rulesets=ROOT / "rulesets")
    items = [i for i in ctx.samples() if i.code in ("longevity-allowance", "graduate-hukou")]
    curve = rss_curve(ctx.engine, items, total=100_000, every=10_000)
    growth = curve.at(100_000) - curve.at(10_000)
    assert growth < BOUND_MB, f"RSS grew {growth:.1f} MB from 10k to 100k decisions: {curve}"
