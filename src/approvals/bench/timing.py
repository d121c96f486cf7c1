"""Decisions per second, measured fairly between implementations on one noisy machine.

Every implementation is timed over the same list of prepared calls (one per input, so
preparing the input is never timed). Rounds are interleaved — A, B, C, A, B, C, ... —
so a burst of load from another process hits every implementation alike, and the
figure kept is the best round (as `timeit` does: noise only ever slows a round down).
The garbage collector stays on: allocation is part of what an implementation costs.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Call = Callable[[], object]


@dataclass(frozen=True)
class Rate:
    best: float  # decisions per second in the fastest round
    median: float
    rounds: int
    decisions: int  # per round


@dataclass(frozen=True)
class Budget:
    round_seconds: float
    rounds: int

    @classmethod
    def for_run(cls, quick: bool) -> Budget:
        return cls(0.15, 3) if quick else cls(0.6, 3)


def _passes(calls: Sequence[Call], seconds: float) -> int:
    """How many passes over `calls` one round needs to last about `seconds`."""
    start = time.perf_counter()
    for call in calls:
        call()
    once = max(time.perf_counter() - start, 1e-6)
    return max(1, round(seconds / once))


def measure(named: Sequence[tuple[str, Sequence[Call]]], budget: Budget) -> dict[str, Rate]:
    passes = {name: _passes(calls, budget.round_seconds) for name, calls in named}
    samples: dict[str, list[float]] = {name: [] for name, _ in named}
    for _ in range(budget.rounds):
        for name, calls in named:
            gc.collect()
            start = time.perf_counter()
            for _ in range(passes[name]):
                for call in calls:
                    call()
            elapsed = time.perf_counter() - start
            samples[name].append(passes[name] * len(calls) / elapsed)
    return {
        name: Rate(
            best=max(values),
            median=statistics.median(values),
            rounds=len(values),
            decisions=passes[name] * len(dict(named)[name]),
        )
        for name, values in samples.items()
    }
