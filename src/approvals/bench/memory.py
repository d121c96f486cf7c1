"""Issue 5, part 5 (engine half): resident memory while the engine decides on and on.

durable_rules keeps session state in C memory, out of sight of Python's allocator; a
session that is not deleted leaks there (and the 1,025th live one breaks the ruleset),
so RSS, not `tracemalloc`, is the figure that shows a leak. The engine cycles through
every flagship item's inputs; RSS is read after a warm-up (caches, interned strings,
allocator arenas) and then at fixed counts. Flat means no leak.
"""

from __future__ import annotations

import functools
import gc
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import psutil

from approvals.bench.charts import line
from approvals.bench.context import BenchContext
from approvals.bench.report import SectionResult, Table, Target
from approvals.bench.samples import ItemSamples
from approvals.engine.runtime import Engine

MB = 2**20
FLAT_MB = 50.0  # issue 5: RSS flat within 50 MB (there from 100k to 1M decisions)
WARM_UP = 2_000


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / MB


@dataclass(frozen=True)
class RssCurve:
    warm: float  # RSS after the warm-up, MB
    points: list[tuple[int, float]]  # (decisions after warm-up, RSS MB)

    def at(self, count: int) -> float:
        return next(mb for n, mb in self.points if n == count)


def decisions(engine: Engine, items: Sequence[ItemSamples]) -> Iterator[Callable[[], object]]:
    """Endless full decides, round-robin over every item's inputs."""
    calls = [
        (item.loaded, s.app) for item in items for s in item.samples
    ]  # one list, so the cycle does not hold per-item iterators
    for loaded, app in itertools.cycle(calls):
        yield functools.partial(engine.decide, loaded, app.inputs, app.form, app.on, app.applicant)


def rss_curve(engine: Engine, items: Sequence[ItemSamples], total: int, every: int) -> RssCurve:
    stream = decisions(engine, items)
    for call in itertools.islice(stream, WARM_UP):
        call()
    gc.collect()
    warm = rss_mb()
    points: list[tuple[int, float]] = [(0, warm)]
    done = 0
    while done < total:
        for call in itertools.islice(stream, every):
            call()
        done += every
        gc.collect()
        points.append((done, rss_mb()))
    return RssCurve(warm, points)


def engine_memory(ctx: BenchContext) -> SectionResult:
    small, large = (2_000, 20_000) if ctx.quick else (10_000, 100_000)
    curve = rss_curve(ctx.engine, ctx.samples(), large, small)
    growth = curve.at(large) - curve.at(small)
    chart = line(
        ctx.charts / "engine-rss.png",
        title="Engine RSS while deciding (all four items, round-robin)",
        xs=[n for n, _ in curve.points],
        ys=[mb for _, mb in curve.points],
        xlabel="decisions after warm-up",
        ylabel="RSS (MB)",
    )
    rows = [
        ("after warm-up", f"{WARM_UP:,}", f"{curve.warm:.1f}", "—"),
        *(
            (
                f"after {n:,}",
                f"{n + WARM_UP:,}",
                f"{curve.at(n):.1f}",
                f"{curve.at(n) - curve.warm:+.1f}",
            )
            for n in (small, large)
        ),
    ]
    return SectionResult(
        key="engine-memory",
        title="Engine memory",
        about=__doc__ or "",
        table=Table(("point", "decisions in all", "RSS (MB)", "since warm-up (MB)"), rows),
        targets=[
            Target(
                f"engine RSS flat from {small:,} to {large:,} decisions",
                f"within {FLAT_MB:.0f} MB",
                f"{growth:+.1f} MB",
                abs(growth) <= FLAT_MB,
            )
        ],
        charts=[chart],
    )
