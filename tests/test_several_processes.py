"""Several API processes on one database, as a deployment on several cores runs them.

Each process has its own caches and its own group-commit writer; what they share is
the database. Started at the same instant on a new database, both create the tables
(under a lock), both store the text of
the same ruleset versions with their first decisions (once only: insert-if-absent),
queue for the one write lock, and append to one Merkle tree. Every decision must be
acknowledged, and the log must verify with every record in it exactly once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from approvals.api.settings import Settings
from approvals.api.wiring import wire
from approvals.bench.signed import run_in_processes
from approvals.store.tables import Application, RulesetText

PER_PROCESS = 40


def test_two_processes_share_one_log(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    url = f"sqlite:///{database}"
    # No schema yet: both processes create it at once, as `serve --workers 2` would, and
    # start together on the same applicants, so both store the same ruleset texts.
    run = run_in_processes(database, processes=2, per_process=PER_PROCESS, warm_up=0)
    assert run.decisions == 2 * PER_PROCESS  # every decision acknowledged

    engine = wire(Settings(database_url=url)).service.store.engine
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Application)).scalar() == (
            2 * PER_PROCESS
        )
        texts = conn.execute(select(RulesetText.hash)).scalars().all()
    assert len(texts) == len(set(texts)) >= 1
    # The auditor's own commands: the log signs a checkpoint over both processes'
    # records, then every signature, leaf hash, index, the root and checkpoint are checked.
    approvals = str(Path(sys.executable).parent / "approvals")
    for command in ("checkpoint", "verify"):
        verify = subprocess.run(
            [approvals, "audit", command, "--database", url],
            capture_output=True, text=True, timeout=120,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"{2 * PER_PROCESS} records, every signature verified" in verify.stdout
    assert "verified: all checks hold" in verify.stdout
