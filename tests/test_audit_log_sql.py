"""The log in SQL: same tree as the reference, leaf indexes at commit, restart safety,
key rotation, and the PostgreSQL path (several writers, one elected sequencer)."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from approvals.audit import Keyring, MemoryTreeStore, MerkleLog, open_checkpoint
from approvals.audit.keys import generate_signing_key
from approvals.audit.merkle import verify_consistency
from approvals.audit.record import sign_record
from approvals.audit.sequencer import Sequencer
from approvals.audit.sqllog import DecisionLog, LogIntegrityError
from approvals.audit.verify import verify_log
from approvals.store import Application, DecisionRecord, RulesetText, Store, open_database
from approvals.store.treestore import SqlTreeStore, append_records
from audit_log_helpers import postgres_schema

ORIGIN = "approvals.test/log"
KEY = generate_signing_key(ORIGIN)
NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
RULESET_HASH = "sha256:" + "ab" * 32


def _ruleset() -> RulesetText:
    return RulesetText(hash=RULESET_HASH, code="x", version="1", path="x.yaml",
                       text="code: x\n", stored_at=NOW)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
    else:
        yield from postgres_schema()


def _decide(store: Store, n: int, key=KEY) -> list[DecisionRecord]:  # type: ignore[no-untyped-def]
    out = []
    for i in range(n):
        app_id = str(uuid.uuid4())
        signed = sign_record({"decision_id": app_id, "outcome": "approve", "i": i}, key)
        app = Application(id=app_id, applicant="110101194001010015", item_code="x",
                          ruleset_version="1", ruleset_hash=RULESET_HASH,
                          application_date=dt.date(2026, 11, 30), outcome="approve",
                          request_digest="sha256:", created_at=NOW)
        row = DecisionRecord(application_id=app_id, leaf=signed.leaf,
                             signature=signed.signature, key_id=signed.key_id, created_at=NOW)
        out.append(store.save_decision(app, row).record)
    return out


def _store(url: str) -> Store:
    store = Store(open_database(url))
    store.keep_ruleset(_ruleset())
    return store


def test_sql_tree_equals_the_reference_tree(url: str) -> None:
    engine = open_database(url)
    rng = random.Random(11)
    leaves = [rng.randbytes(rng.randint(1, 40)) for _ in range(300)]
    reference = MerkleLog(MemoryTreeStore())
    done = 0
    with Session(engine) as s:
        tree = MerkleLog(SqlTreeStore(s))
        while done < len(leaves):
            batch = leaves[done : done + rng.randint(1, 37)]
            assert tree.append(batch) == reference.append(batch) == done
            done += len(batch)
        s.commit()
    with Session(engine) as s:
        tree = MerkleLog(SqlTreeStore(s))
        for _ in range(60):
            size = rng.randint(1, 300)
            index = rng.randrange(size)
            assert tree.root(size) == reference.root(size)
            assert tree.inclusion_proof(index, size) == reference.inclusion_proof(index, size)
            first = rng.randint(0, size)
            assert tree.consistency_proof(first, size) == reference.consistency_proof(first, size)
    engine.dispose()


def test_concurrent_decisions_get_consecutive_leaf_indexes(url: str) -> None:
    # Two engines stand for two API processes sharing the database.
    stores = [_store(url), _store(url)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work(store: Store) -> None:
        try:
            barrier.wait()
            _decide(store, 15)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(stores[i % 2],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    log = DecisionLog(stores[0].engine, KEY, Keyring())
    assert log.size() == 90
    cp = log.sign()
    report = verify_log(log.entries(cp.size), cp.note, log.keyring)
    assert report.ok, report.render()
    for store in stores:
        store.engine.dispose()


def test_a_restart_signs_only_checkpoints_consistent_with_before(url: str) -> None:
    store = _store(url)
    _decide(store, 7)
    before = DecisionLog(store.engine, KEY, Keyring()).sign()
    store.engine.dispose()

    store = _store(url)  # a new process: fresh engine, fresh log object
    _decide(store, 5)
    log = DecisionLog(store.engine, KEY, Keyring())
    assert log.verify_stored() == before
    after = log.sign()
    assert (before.size, after.size) == (7, 12)
    ring = Keyring([KEY.verifier])
    old, new = open_checkpoint(before.note, ring), open_checkpoint(after.note, ring)
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash,
                       log.consistency_proof(7, 12))
    assert log.sign() == after  # nothing new: the same checkpoint
    store.engine.dispose()


def _tamper_with_leaf_hash(engine: Engine, index: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("update merkle_nodes set hash = :h where level = 0 and node = :n"),
                     {"h": b"\x00" * 32, "n": index})


def test_a_tree_that_disagrees_with_the_signed_checkpoint_is_never_signed(url: str) -> None:
    store = _store(url)
    _decide(store, 6)
    DecisionLog(store.engine, KEY, Keyring()).sign()
    _tamper_with_leaf_hash(store.engine, 2)
    _decide(store, 1)
    restarted = DecisionLog(store.engine, KEY, Keyring())
    with pytest.raises(LogIntegrityError, match="refusing to sign"):
        restarted.sign()
    with pytest.raises(LogIntegrityError):
        Sequencer(restarted).start()
    store.engine.dispose()


def test_lost_records_stop_signing(url: str) -> None:
    store = _store(url)
    _decide(store, 6)
    DecisionLog(store.engine, KEY, Keyring()).sign()
    with store.engine.begin() as conn:  # e.g. a database restored from an older backup
        conn.execute(text("delete from merkle_nodes where level = 0 and node = 5"))
    with pytest.raises(LogIntegrityError, match="fewer than the 6"):
        DecisionLog(store.engine, KEY, Keyring()).verify_stored()
    store.engine.dispose()


def test_key_rotation_keeps_old_decisions_verifiable(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path / 'log.db'}")
    _decide(store, 4, KEY)
    old_cp = DecisionLog(store.engine, KEY, Keyring()).sign()
    new_key = generate_signing_key(ORIGIN)
    # After rotation the old public key stays trusted (APPROVALS_PREVIOUS_KEYS).
    log = DecisionLog(store.engine, new_key, Keyring([KEY.verifier]))
    _decide(store, 3, new_key)
    new_cp = log.sign()
    ring = Keyring([KEY.verifier, new_key.verifier])
    report = verify_log(log.entries(new_cp.size), new_cp.note, ring, since=old_cp.note)
    assert report.ok, report.render()
    keys = {r.key_id for r in (log.record_of(e) for e in _ids(store))}
    assert keys == {KEY.record_key_id, new_key.record_key_id}
    # Without the old key, the old records cannot be checked: keep every retired key.
    alone = verify_log(log.entries(new_cp.size), new_cp.note, Keyring([new_key.verifier]))
    assert alone.step(1).status == "fail" and alone.step(1).problem_count == 4
    store.engine.dispose()


def _ids(store: Store) -> list[str]:
    with Session(store.engine) as s:
        return [r for (r,) in s.execute(text("select application_id from decision_records"))]


def test_one_sequencer_among_processes(url: str) -> None:
    """PostgreSQL elects with an advisory lock, a SQLite file with a flock beside it:
    either way one process signs, and another takes over when it goes away."""
    first, second = _store(url), _store(url)
    _decide(first, 3)
    a = Sequencer(DecisionLog(first.engine, KEY, Keyring()))
    b = Sequencer(DecisionLog(second.engine, KEY, Keyring()))
    try:
        assert a.lead()
        assert not b.lead()
        cp = a.tick()
        assert cp is not None and cp.size == 3
        _decide(second, 2)
        cp = a.tick()
        assert cp is not None and cp.size == 5
        assert b.tick() is None
        a.close()  # the sequencer's process goes away: another takes over
        assert b.lead()
        _decide(second, 1)
        cp = b.tick()
        assert cp is not None and cp.size == 6
    finally:
        a.close()
        b.close()
        first.engine.dispose()
        second.engine.dispose()


def test_records_committed_before_the_sql_log_are_integrated_in_commit_order(
    tmp_path: Path,
) -> None:
    store = _store(f"sqlite:///{tmp_path / 'log.db'}")
    rows = _decide(store, 3)
    with store.engine.begin() as conn:  # a database from before the log was kept in SQL
        conn.execute(text("update decision_records set leaf_index = null"))
        conn.execute(text("delete from merkle_nodes"))
    log = DecisionLog(store.engine, KEY, Keyring())
    cp = Sequencer(log).start()
    assert cp.size == 3
    assert [log.record_of(r.application_id).leaf_index for r in rows] == [0, 1, 2]
    with Session(store.engine) as s:
        more = DecisionRecord(application_id=rows[0].application_id, leaf=b"",
                              signature=b"", key_id="", created_at=NOW)
        assert more.leaf_index is None
        with pytest.raises(Exception):  # noqa: B017 - appending nothing is refused
            append_records(s, [])
    store.engine.dispose()
