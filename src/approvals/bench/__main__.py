"""`python -m approvals.bench [--quick] [--out DIR]` (and `approvals bench`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from approvals.bench.runner import run_bench
from approvals.errors import ApprovalsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="approvals bench",
        description="Benchmark the engine against GoRules ZEN, hand-written durable_rules "
        "and plain Python; print the figures and write DIR/performance.md with charts.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="short timings and fewer inputs (a smoke run)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs"), help="default: docs")
    parser.add_argument("--rulesets", type=Path, default=Path("rulesets"), help="default: rulesets")
    args = parser.parse_args(argv)
    try:
        run_bench(args.out, args.quick, rulesets=args.rulesets)
    except ApprovalsError as exc:
        print(f"approvals bench: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
