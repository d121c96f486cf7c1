"""`approvals bench`: our engine against its peers and the limits (issue 5)."""

from approvals.bench.report import BenchReport, SectionResult, Table, Target
from approvals.bench.runner import SECTIONS, Section, run_bench

__all__ = ["SECTIONS", "BenchReport", "Section", "SectionResult", "Table", "Target", "run_bench"]
