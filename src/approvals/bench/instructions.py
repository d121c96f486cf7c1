"""Instructions per signed decision, counted by valgrind: an A/B measure that noise
does not move.

On the shared 2-core development machine, decisions/s and CPU time a decision moved by
5-15% between identical runs (docs/performance.md, "Signed decision"), so a change
worth 1-3% could not be seen. callgrind counts the instructions each thread executes
instead of timing them; with a fixed hash seed, two runs of the same code agree to
about 0.1% on the event loop's thread. Run it once on the old code and once on the new:

    python -m approvals.bench.instructions            # 300 decisions
    python -m approvals.bench.instructions -n 1000

It wires the service as the benchmark's signed section does (sandbox sources in
process, a SQLite file in a temporary directory, the collector settled), makes a
warm-up of decisions uninstrumented, then switches counting on (`callgrind_control
-i on`) for the measured decisions only. The event loop's thread is reported apart
from the others (the group-commit writer, worker threads), whose counts also depend on
how decisions happen to be batched. Instructions are not time (cache misses and the
GIL are not counted), so the benchmark's rates remain the figures that count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

INNER = "--instrumented"
WARM_UP = 300


@dataclass(frozen=True)
class Counts:
    decisions: int
    main: int  # instructions of the thread that runs the event loop
    others: int  # every other thread's

    def per_decision(self) -> tuple[float, float, float]:
        n = self.decisions
        return (self.main + self.others) / n, self.main / n, self.others / n


def thread_totals(out_dir: Path) -> dict[int, int]:
    """Each thread's instruction total from callgrind's `--separate-threads` files
    (`cg.out-01` is the main thread)."""
    totals: dict[int, int] = {}
    for path in sorted(out_dir.glob("cg.out-*")):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                totals[int(path.name.rsplit("-", 1)[1])] = int(line.split()[1])
                break
    return totals


def count(decisions: int) -> Counts:
    """Run the measurement under callgrind; its per-thread totals."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="approvals-instructions-") as tmp:
        out = Path(tmp)
        command = [
            "valgrind", "--tool=callgrind", "--separate-threads=yes", "--instr-atstart=no",
            f"--callgrind-out-file={out / 'cg.out'}",
            sys.executable, "-m", "approvals.bench.instructions", INNER, str(decisions),
        ]
        # A fixed hash seed: set and dict orders, and so the work, are the same each run.
        env = dict(os.environ, PYTHONHASHSEED="0")
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the instrumented run failed:\n{done.stderr[-2000:]}")
        totals = thread_totals(out)
    if not totals.get(1):
        raise SystemExit("callgrind counted nothing: was instrumentation switched on?")
    return Counts(decisions, totals[1], sum(totals.values()) - totals[1])


def _instrumented(decisions: int) -> None:
    """Inside valgrind: warm up, count `decisions` signed decisions, stop counting."""
    from approvals.bench.signed import run_decisions, served
    from approvals.sandbox.fixtures import load_fixtures

    def switch(state: str) -> None:
        subprocess.run(
            ["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True
        )

    async def main(database: Path) -> None:
        wired, _ = served(database)
        try:
            cases = list(load_fixtures(None).showcase)
            await run_decisions(wired, cases, WARM_UP)
            switch("on")
            await run_decisions(wired, cases, decisions)
            switch("off")
        finally:
            await wired.aclose()

    with tempfile.TemporaryDirectory(prefix="approvals-instructions-db-") as tmp:
        asyncio.run(main(Path(tmp) / "signed.db"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == [INNER]:
        _instrumented(int(args[1]))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m approvals.bench.instructions", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("-n", "--decisions", type=int, default=300)
    decisions = parser.parse_args(args).decisions
    every, main_thread, others = count(decisions).per_decision()
    print(
        f"{decisions} signed decisions: {every / 1e6:.3f} M instructions a decision "
        f"(event loop {main_thread / 1e6:.3f} M, other threads {others / 1e6:.3f} M)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
