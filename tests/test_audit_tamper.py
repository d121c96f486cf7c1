"""Tampering with a stored log of 10,000 real signed decisions is always detected.

The log is built once: the showcase decisions through the real service path, then
copies of them (new ids, signed with the service key) appended by the service's own
`append_records`, and a checkpoint signed by `DecisionLog.sign`. Each test tampers
with a copy of the database file the way someone with write access to the database
could, then runs `approvals audit verify` (or the `verify_log` it runs, over the same
rows, for the larger samples).

Per-record tampering (a changed byte, a record re-signed with another key) is
sampled in bulk: step 1 counts every failing record, so "200 of 10000 records
fail" means each of the 200 was caught on its own.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from approvals.api.settings import Settings
from approvals.api.wiring import keyring_for, signer_for
from approvals.audit.keys import generate_signing_key
from approvals.audit.merkle import leaf_hash
from approvals.audit.record import sign_record
from approvals.audit.sqllog import DecisionLog
from approvals.audit.verify import VerifyReport, verify_log
from approvals.cli import app
from approvals.store import open_database
from audit_log_helpers import decide_showcases, grow_log

SIZE = 10_000
runner = CliRunner()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("log") / "approvals.db"
    settings = Settings(database_url=f"sqlite:///{path}")
    decide_showcases(settings, dates=(0, 1))
    engine = open_database(settings.database_url)
    key = signer_for(settings)
    grow_log(engine, key, SIZE)
    DecisionLog(engine, key, keyring_for(settings, key)).sign()
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    yield path


@pytest.fixture
def copy(pristine: Path, tmp_path: Path) -> Iterator[Path]:
    yield _copy(pristine, tmp_path / "copy.db")


def _copy(pristine: Path, target: Path) -> Path:
    shutil.copyfile(pristine, target)
    return target


def _sql(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    with sqlite3.connect(path) as conn:
        for sql, args in statements:
            conn.execute(sql, args)


def _leaf(path: Path, index: int) -> bytes:
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "select leaf from decision_records where leaf_index = ?", (index,)
        ).fetchone()
    return bytes(row[0])


def _cli_verify(path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--database", f"sqlite:///{path}", *args])
    return result.exit_code, result.output


def _report(path: Path, since: str | None = None) -> VerifyReport:
    """What `approvals audit verify --database` runs, without the RFC 8785 re-encoding
    of each record (step 1 still verifies every signature over the stored bytes)."""
    settings = Settings(database_url=f"sqlite:///{path}")
    engine = open_database(settings.database_url)
    try:
        log = DecisionLog(engine, None, keyring_for(settings, signer_for(settings)),
                          origin=settings.log_name)
        latest = log.latest()
        assert latest is not None
        return verify_log(log.entries(latest.size), latest.note, log.keyring, since=since,
                          check_canonical=False)
    finally:
        engine.dispose()


def _failed(report: VerifyReport) -> list[int]:
    return [s.number for s in report.steps if s.status == "fail"]


def test_the_untouched_log_verifies(copy: Path) -> None:
    code, out = _cli_verify(copy)
    assert code == 0, out
    assert f"PASS — {SIZE} records, every signature verified" in out
    assert f"{SIZE} leaf hashes computed, {SIZE} compared with stored hashes" in out
    assert out.rstrip().endswith("verified: all checks hold")


def test_one_changed_byte_in_any_record_is_detected(copy: Path) -> None:
    rng = random.Random(1)
    victims = rng.sample(range(SIZE), 200)
    changes = []
    for index in victims:
        leaf = bytearray(_leaf(copy, index))
        at = rng.randrange(len(leaf))
        leaf[at] = (leaf[at] + rng.randrange(1, 256)) % 256
        changes.append(("update decision_records set leaf = ? where leaf_index = ?",
                        (bytes(leaf), index)))
    _sql(copy, *changes)
    code, out = _cli_verify(copy)
    assert code == 1
    assert f"1. record signatures: FAIL — 200 of {SIZE} records fail" in out
    assert "2. leaf hashes: FAIL" in out and "3. root hash and size" in out
    assert "NOT verified" in out


def test_a_record_re_signed_with_another_key_is_detected(copy: Path) -> None:
    forger = generate_signing_key(Settings().log_name)  # same name, not the log's key
    rng = random.Random(2)
    victims = rng.sample(range(SIZE), 100)
    changes = []
    for index in victims:
        record = json.loads(_leaf(copy, index))["record"]
        record["outcome"] = "approve" if record["outcome"] != "approve" else "reject"
        del record["key_id"], record["log_origin"]
        forged = sign_record(record, forger).leaf
        changes.append(("update decision_records set leaf = ? where leaf_index = ?",
                        (forged, index)))
        changes.append(("update merkle_nodes set hash = ? where level = 0 and node = ?",
                        (leaf_hash(forged), index)))
    _sql(copy, *changes)
    code, out = _cli_verify(copy)
    assert code == 1
    assert f"1. record signatures: FAIL — 100 of {SIZE} records fail" in out
    assert "record key: expected one of the trusted keys" in out
    assert "3. root hash and size against the checkpoint: FAIL" in out


def test_a_whole_log_forged_with_another_key_is_detected(copy: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    assert runner.invoke(app, ["audit", "export", str(export), "--database",
                               f"sqlite:///{copy}"]).exit_code == 0
    forger = generate_signing_key(Settings().log_name)
    lines = (export / "records.jsonl").read_bytes().split(b"\n")[:-1]
    record = json.loads(lines[17])["record"]
    record["outcome"] = "approve"
    del record["key_id"], record["log_origin"]
    lines[17] = sign_record(record, forger).leaf
    (export / "records.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    # The forger also recomputes the tree and signs a checkpoint with their key.
    from approvals.audit import Checkpoint, MemoryTreeStore, MerkleLog, sign_checkpoint

    tree = MerkleLog(MemoryTreeStore())
    tree.append(lines)
    (export / "checkpoint.txt").write_text(
        sign_checkpoint(Checkpoint(forger.name, len(lines), tree.root()), forger)
    )
    result = runner.invoke(app, ["audit", "verify", "--export", str(export)])
    assert result.exit_code == 1
    assert "1. record signatures: FAIL — 1 of" in result.output
    assert "4. checkpoint signature: FAIL" in result.output


def test_a_deleted_record_is_detected(pristine: Path, tmp_path: Path) -> None:
    rng = random.Random(3)
    for n, index in enumerate([0, SIZE - 1, *rng.sample(range(1, SIZE - 1), 2)]):
        db = _copy(pristine, tmp_path / f"del-{n}.db")
        _sql(db, ("delete from decision_records where leaf_index = ?", (index,)))
        if n == 0:
            code, out = _cli_verify(db)
            assert code == 1 and "NOT verified" in out
        report = _report(db)
        assert not report.ok and 3 in _failed(report), (index, report.render())
        # Deleting it from the tree as well and closing the gap is caught the same way.
        _sql(db, ("delete from merkle_nodes where level = 0 and node = ?", (index,)),
             ("update decision_records set leaf_index = leaf_index - 1 where leaf_index > ?",
              (index,)))
        report = _report(db)
        assert not report.ok and 3 in _failed(report), (index, report.render())
        db.unlink()


def test_swapped_records_are_detected(pristine: Path, tmp_path: Path) -> None:
    rng = random.Random(4)
    pairs = [(0, 1), (SIZE - 2, SIZE - 1)] + [tuple(rng.sample(range(SIZE), 2)) for _ in range(3)]
    for n, (a, b) in enumerate(pairs):
        db = _copy(pristine, tmp_path / f"swap-{n}.db")
        # Swap the positions of two records, and their leaf hashes in the tree with them.
        _sql(db,
             ("update decision_records set leaf_index = -1 where leaf_index = ?", (a,)),
             ("update decision_records set leaf_index = ? where leaf_index = ?", (a, b)),
             ("update decision_records set leaf_index = ? where leaf_index = -1", (b,)),
             ("update merkle_nodes set node = -1 where level = 0 and node = ?", (a,)),
             ("update merkle_nodes set node = ? where level = 0 and node = ?", (a, b)),
             ("update merkle_nodes set node = ? where level = 0 and node = -1", (b,)))
        if n == 0:
            code, out = _cli_verify(db)
            assert code == 1 and "3. root hash and size against the checkpoint: FAIL" in out
        report = _report(db)
        assert _failed(report) == [3], ((a, b), report.render())
        db.unlink()


def test_truncation_is_detected(pristine: Path, tmp_path: Path) -> None:
    rng = random.Random(5)
    saved = _report(pristine).checkpoint
    assert saved is not None
    with sqlite3.connect(pristine) as conn:
        note = conn.execute("select note from log_checkpoints order by size desc").fetchone()[0]
    for n, keep in enumerate([0, SIZE - 1, *rng.sample(range(1, SIZE - 1), 2)]):
        db = _copy(pristine, tmp_path / f"trunc-{n}.db")
        _sql(db, ("delete from decision_records where leaf_index >= ?", (keep,)))
        report = _report(db)
        assert 3 in _failed(report), (keep, report.render())
        db.unlink()
    # Truncating the tree and the checkpoints too leaves a log that is consistent with
    # itself: only the checkpoint the auditor saved earlier (--since) catches it.
    db = _copy(pristine, tmp_path / "trunc-all.db")
    keep = 4096
    settings = Settings(database_url=f"sqlite:///{db}")
    engine = open_database(settings.database_url)
    key = signer_for(settings)
    truncated_note = None
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("delete from decision_records where leaf_index >= :k"), {"k": keep})
        conn.execute(text("delete from merkle_nodes where (node + 1) * (1 << level) > :k"),
                     {"k": keep})
        conn.execute(text("delete from log_checkpoints"))
    truncated_note = DecisionLog(engine, key, keyring_for(settings, key)).sign().note
    engine.dispose()
    assert truncated_note.split("\n")[1] == str(keep)
    saved_file = tmp_path / "saved-checkpoint.txt"
    saved_file.write_text(note)
    assert _cli_verify(db)[0] == 0
    code, out = _cli_verify(db, "--since", str(saved_file))
    assert code == 1
    assert "5. consistency with the earlier checkpoint: FAIL" in out
    assert f"the earlier checkpoint has size {SIZE}, the latest only {keep}" in out
