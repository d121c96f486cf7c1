"""store/bulkinsert.py writes exactly what SQLAlchemy's own executemany writes."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from approvals.store import open_database
from approvals.store.bulkinsert import insert_many
from approvals.store.logtables import TreeNode
from approvals.store.tables import Application
from test_store import _postgres, _ruleset, drop_schema

TABLE = Application.__table__  # type: ignore[attr-defined]
NODES = TreeNode.__table__  # type: ignore[attr-defined]
WHEN = dt.datetime(2026, 11, 30, 6, 5, 4, 321, tzinfo=dt.UTC)


def _rows(n: int, key: str) -> list[dict[str, Any]]:
    return [
        {"id": str(uuid.uuid4()), "applicant": "440305198805129116",
         "item_code": "longevity-allowance", "ruleset_version": "2025.1",
         "ruleset_hash": _ruleset().hash, "application_date": dt.date(2024, 2, 28 + i % 2),
         "outcome": "approve", "filed_by": None if i % 2 else "staff:1",
         "idempotency_key": f"{key}{i}", "request_digest": "sha256:cd",
         "created_at": WHEN + dt.timedelta(microseconds=i)}
        for i in range(n)
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_same_rows_as_sqlalchemys_executemany(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        engine, schema = open_database(f"sqlite:///{tmp_path / 'b.db'}"), ""
    else:
        engine, schema = _postgres()
    try:
        ours, theirs = _rows(5, "ours"), _rows(5, "theirs")
        with Session(engine) as s:
            s.add(_ruleset())
            s.flush()
            insert_many(s, TABLE, ours)
            s.execute(insert(TABLE), theirs)
            s.commit()
        with engine.connect() as conn:  # raw column values, as the database holds them
            got = {r[0]: tuple(r[1:]) for r in conn.execute(text(
                "select id, application_date, created_at, filed_by, idempotency_key "
                "from applications"))}
        for a, b in zip(ours, theirs, strict=True):
            assert got[a["id"]][:3] == got[b["id"]][:3]  # dates, times, NULLs alike
        # A duplicate Idempotency-Key is still SQLAlchemy's IntegrityError.
        with Session(engine) as s, pytest.raises(IntegrityError):
            insert_many(s, TABLE, [ours[0] | {"id": str(uuid.uuid4())}])
    finally:
        engine.dispose()
        if schema:
            drop_schema(schema)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_binary_columns_hold_the_same_bytes(backend: str, tmp_path: Path) -> None:
    """On SQLite the bytes go to the driver unwrapped (no `sqlite3.Binary`): they must
    still be stored as the BLOB SQLAlchemy's own insert stores."""
    if backend == "sqlite":
        engine, schema = open_database(f"sqlite:///{tmp_path / 'n.db'}"), ""
    else:
        engine, schema = _postgres()
    hashes = [bytes([i]) * 32 for i in range(6)]
    try:
        with Session(engine) as s:
            insert_many(
                s, NODES, [{"level": 0, "node": i, "hash": h} for i, h in enumerate(hashes[:3])]
            )
            s.execute(
                insert(NODES),
                [{"level": 0, "node": i + 3, "hash": h} for i, h in enumerate(hashes[3:])],
            )
            s.commit()
        with engine.connect() as conn:
            kind = "typeof(hash)" if backend == "sqlite" else "pg_typeof(hash)::text"
            got = list(
                conn.execute(text(f"select node, hash, {kind} from merkle_nodes order by node"))
            )
        assert [bytes(r[1]) for r in got] == hashes
        assert {r[2] for r in got} == {"blob" if backend == "sqlite" else "bytea"}
    finally:
        engine.dispose()
        if schema:
            drop_schema(schema)
