"""A full verification on several processes (`approvals.audit.parallel`), each reading
its own range of the log, reports what the one-process verification reports, word
for word: on a good log, and on one tampered with on both sides of range boundaries."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from approvals.api.settings import Settings
from approvals.api.wiring import keyring_for, signer_for
from approvals.audit import parallel
from approvals.audit.checkpoint import Checkpoint, sign_checkpoint
from approvals.audit.keys import Keyring, generate_signing_key
from approvals.audit.merkle import MemoryTreeStore, MerkleLog
from approvals.audit.record import sign_record
from approvals.audit.sqllog import DecisionLog, StoredEntries
from approvals.audit.verify import verify_log
from approvals.store import open_database
from audit_log_helpers import decide_showcases, grow_log

SIZE = 230  # ranges of 50 (below): four full ranges and a part


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("parallel") / "approvals.db"
    settings = Settings(database_url=f"sqlite:///{path}")
    decide_showcases(settings, dates=(0,))
    engine = open_database(settings.database_url)
    key = signer_for(settings)
    grow_log(engine, key, SIZE)
    DecisionLog(engine, key, keyring_for(settings, key)).sign()
    engine.dispose()
    yield path


@pytest.fixture(autouse=True)
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Small ranges, and a count of the process pools started."""
    monkeypatch.setattr(parallel, "BATCH", 50)
    started: list[int] = []
    real = parallel.ProcessPoolExecutor

    def counted(workers: int, **options: Any) -> Any:
        started.append(workers)
        return real(workers, **options)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", counted)
    return started


def _reports(url: str) -> tuple[str, str]:
    settings = Settings(database_url=url)
    engine = open_database(url)
    try:
        log = DecisionLog(engine, None, keyring_for(settings, signer_for(settings)),
                          origin=settings.log_name)
        latest = log.latest()
        assert latest is not None
        one = verify_log(log.entries(latest.size), latest.note, log.keyring, workers=1)
        two = verify_log(log.entries(latest.size), latest.note, log.keyring, workers=2)
        return one.render(), two.render()
    finally:
        engine.dispose()


def test_a_good_log_verifies_alike_on_two_processes(log_file: Path, pools: list[int]) -> None:
    one, two = _reports(f"sqlite:///{log_file}")
    assert pools == [2]  # only the second run started processes
    assert two == one and one.endswith("verified: all checks hold\n")
    assert f"{SIZE} records, every signature verified" in one


def test_every_fault_is_reported_alike_on_two_processes(
    log_file: Path, tmp_path: Path, pools: list[int]
) -> None:
    path = tmp_path / "tampered.db"
    with sqlite3.connect(log_file) as source, sqlite3.connect(path) as target:
        source.backup(target)
    with sqlite3.connect(path) as conn:
        # A changed byte in a leaf at the end of a range; a stored hash changed at the
        # start of the next; a record gone; the last record's leaf made garbage.
        leaf = bytes(conn.execute(
            "select leaf from decision_records where leaf_index = 49").fetchone()[0])
        changed = leaf.replace(b'"outcome":"', b'"outcome":"X', 1)
        conn.execute("update decision_records set leaf = ? where leaf_index = 49", (changed,))
        conn.execute("update merkle_nodes set hash = ? where level = 0 and node = 50",
                     (b"\x00" * 32,))
        conn.execute("delete from decision_records where leaf_index = 120")
        conn.execute("update decision_records set leaf = ? where leaf_index = ?",
                     (b"not json", SIZE - 1))
    one, two = _reports(f"sqlite:///{path}")
    assert pools == [2]
    assert two == one
    assert one.endswith("NOT verified\n")
    for expected in ("record 49:", "record 50: stored leaf hash",
                     "record at position 120 is labelled index 121", f"record {SIZE - 2}:"):
        assert expected in one, one


def test_leaves_not_in_a_database_are_checked_in_this_process(pools: list[int]) -> None:
    """An export's leaves, or an in-memory database, cannot be read by another process:
    no processes are started, and the report is the usual one."""
    key = generate_signing_key("approvals.test/parallel")
    leaves = [sign_record({"decision_id": f"D-{i}"}, key).leaf for i in range(SIZE)]
    tree = MerkleLog(MemoryTreeStore())
    tree.append(leaves)
    note = sign_checkpoint(Checkpoint(key.name, SIZE, tree.root(SIZE)), key)
    report = verify_log(leaves, note, Keyring([key.verifier]), workers=2)
    assert report.ok, report.render()
    engine = open_database("sqlite://")
    try:
        assert StoredEntries(engine, 0, SIZE).url is None
    finally:
        engine.dispose()
    assert pools == []
