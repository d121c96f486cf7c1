"""The instruction counter for A/B work on the signed path (approvals.bench.instructions)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from approvals.bench import instructions


def test_thread_totals_read_each_threads_file(tmp_path: Path) -> None:
    (tmp_path / "cg.out-01").write_text("events: Ir\nsummary: 0\ntotals: 1500\n")
    (tmp_path / "cg.out-02").write_text("events: Ir\ntotals: 0\n")
    (tmp_path / "cg.out-05").write_text("events: Ir\ntotals: 300\n")
    (tmp_path / "cg.out").write_text("totals: 999\n")  # not a thread's file
    assert instructions.thread_totals(tmp_path) == {1: 1500, 2: 0, 5: 300}
    counts = instructions.Counts(decisions=3, main=1500, others=300)
    assert counts.per_decision() == (600.0, 500.0, 100.0)


def test_counts_signed_decisions_under_callgrind() -> None:
    """End to end, where valgrind is installed (every machine kind here has it): the
    event loop's thread does most of a decision's instructions, the writer the rest."""
    if shutil.which("valgrind") is None:
        with pytest.raises(SystemExit, match="valgrind is not installed"):
            instructions.count(10)
        return
    counts = instructions.count(10)
    every, main, others = counts.per_decision()
    # A signed decision is millions of instructions; most run on the event loop.
    assert main > 1_000_000 and others > 0 and main > others
    assert every == pytest.approx(main + others)
