"""store/pointread.py: the rows Core returns, from the latest commit, with no read left open."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select

from approvals.store import open_database
from approvals.store.consents import _ACTIVE_GRANTS, GRANT_TABLE, ConsentStore
from approvals.store.pointread import PointReads, point_reads_for
from approvals.store.repository import _BY_KEY
from test_store import _postgres, drop_schema

WHEN = dt.datetime(2026, 11, 30, 6, 5, 4, 321, tzinfo=dt.UTC)
APPLICANT = "440305198805129116"


def _grant(item: str, *, revoked: bool = False, offset: int = 0) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()), "applicant": APPLICANT, "item_code": item,
        "purpose": "办理 / to decide", "datasets": '["population"]',
        "licence_types": '["driving-licence"]', "granted_by": f"citizen:{APPLICANT}",
        "created_at": WHEN + dt.timedelta(seconds=offset),
        "expires_at": WHEN + dt.timedelta(days=1, seconds=offset),
        "revoked_at": WHEN if revoked else None,
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_rows_core_returns(backend: str, tmp_path: Path) -> None:
    """Datetimes, NULLs and order as Core converts them, on SQLite's direct path and on
    PostgreSQL (which reads through Core itself)."""
    if backend == "sqlite":
        engine, schema = open_database(f"sqlite:///{tmp_path / 'p.db'}"), ""
    else:
        engine, schema = _postgres()
    try:
        ConsentStore(engine)
        grants = [_grant("ride-hailing-driver-permit", offset=i) for i in range(3)]
        grants.append(_grant("ride-hailing-driver-permit", revoked=True))
        grants.append(_grant("graduate-hukou"))
        with engine.begin() as conn:
            conn.execute(insert(GRANT_TABLE), grants)
        params = {"applicant": APPLICANT, "item": "ride-hailing-driver-permit"}
        with engine.connect() as conn:
            core = [dict(r._mapping) for r in conn.execute(_ACTIVE_GRANTS, params)]
        ours = PointReads(engine).mappings(_ACTIVE_GRANTS, **params)
        assert ours == core
        assert [r["id"] for r in ours] == [g["id"] for g in reversed(grants[:3])]
        assert all(isinstance(r["expires_at"], dt.datetime) for r in ours)
        assert all(r["revoked_at"] is None for r in ours)
        assert PointReads(engine).rows(_BY_KEY, applicant=APPLICANT, key="absent") == []
    finally:
        engine.dispose()
        if schema:
            drop_schema(schema)


def test_reads_see_the_latest_commit_and_leave_no_read_open(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    engine = open_database(f"sqlite:///{path}")
    ConsentStore(engine)
    reads = PointReads(engine)
    params = {"applicant": APPLICANT, "item": "graduate-hukou"}
    assert reads.rows(_ACTIVE_GRANTS, **params) == []
    first = _grant("graduate-hukou")
    with engine.begin() as conn:  # another connection commits
        conn.execute(insert(GRANT_TABLE), [first])
    assert [r["id"] for r in reads.mappings(_ACTIVE_GRANTS, **params)] == [first["id"]]
    # A snapshot left open by a read would keep a checkpoint from reaching the WAL's
    # end (busy = 1); a finished read holds none.
    other = sqlite3.connect(path)
    try:
        other.execute("insert into consent_grants (id, applicant, item_code, purpose, "
                      "datasets, licence_types, granted_by, created_at, expires_at) "
                      "select 'x', applicant, item_code, purpose, datasets, licence_types, "
                      "granted_by, created_at, expires_at from consent_grants")
        other.commit()
        busy, _log, _done = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    finally:
        other.close()
    assert len(reads.rows(_ACTIVE_GRANTS, **params)) == 2
    engine.dispose()


def test_each_thread_reads_on_its_own_connection_closed_on_dispose(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 't.db'}")
    reads = point_reads_for(engine)
    assert point_reads_for(engine) is reads  # one per engine: the store's and the grants'
    seen: list[object] = []

    def read() -> None:
        reads.rows(_BY_KEY, applicant=APPLICANT, key="k")
        seen.append(reads._local.conn)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    read()
    assert len({id(c) for c in seen}) == 4
    # The engine's pragmas ran on them (opened through the engine, not beside it).
    assert reads._local.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert engine.pool.checkedout() == 0  # detached: the pool does not count them
    engine.dispose()
    with pytest.raises(sqlite3.ProgrammingError):  # closed with the engine
        seen[0].execute("select 1")  # type: ignore[attr-defined]
    # After a dispose the engine opens new connections, and so do the reads.
    assert reads.rows(_BY_KEY, applicant=APPLICANT, key="k") == []
    engine.dispose()



def test_values_the_statement_binds_itself(tmp_path: Path) -> None:
    """A statement may bind a value of its own (`applicant == '4403...'`) beside the
    parameters it is given: both reach SQLite in their places."""
    engine = open_database(f"sqlite:///{tmp_path / 'f.db'}")
    ConsentStore(engine)
    grants = [_grant("graduate-hukou"), _grant("longevity-allowance")]
    with engine.begin() as conn:
        conn.execute(insert(GRANT_TABLE), grants)
    statement = select(GRANT_TABLE.c.id).where(
        GRANT_TABLE.c.applicant == APPLICANT, GRANT_TABLE.c.item_code == bindparam("item")
    )
    reads = PointReads(engine)
    assert reads.rows(statement, item="longevity-allowance") == [(grants[1]["id"],)]
    assert reads.rows(statement, item="nothing") == []
    engine.dispose()
