"""The cyclic garbage collector's settings for a service process, once it has started.

A service process keeps what it loads at start-up (the rulesets, the sandbox's
fixtures, SQLAlchemy's and pydantic's schemas: ~200,000 objects) until it exits, and
each decision allocates a few dozen container objects that reference counting frees
at once. With CPython's defaults the collector ran about once every eleven decisions,
and each full collection walked the whole start-up heap: timed with `gc.callbacks` in
a signed in-process run, ~130-145 µs of a decision's ~1.7 ms of CPU
(docs/performance.md, "Signed decision").

`settle()` runs once start-up is over (the app's lifespan; the benchmark's service
processes call it as `approvals serve` does):

- collect once, then `gc.freeze()` what is left: the collector no longer walks it
  (reference counting still frees it; only a cycle among frozen objects would stay);
- collect the youngest generation every 10,000 container allocations instead of 700:
  the cycles a decision leaves, if any, wait a few hundred decisions longer.

Together: ~15-20 µs of collection a decision.
"""

from __future__ import annotations

import gc

#: Container allocations between collections of the youngest generation (CPython: 700).
YOUNG_THRESHOLD = 10_000


def settle() -> tuple[int, int, int]:
    """Freeze the start-up heap and collect the young generation less often; returns
    the thresholds before, for `unsettle`."""
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, before[1], before[2])
    return before


def unsettle(thresholds: tuple[int, int, int]) -> None:
    """Undo `settle` in a process that goes on to other work (the benchmark's)."""
    gc.unfreeze()
    gc.set_threshold(*thresholds)
