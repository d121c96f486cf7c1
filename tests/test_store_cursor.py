"""Statements on the DB-API cursor (store/cursor.py) give what SQLAlchemy's Core gives:
the same rows with the same conversions, in the caller's transaction, and its errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from approvals.store import Application, open_database
from approvals.store import cursor as direct
from approvals.store.bulkinsert import insert_many

APPS = Application.__table__  # type: ignore[attr-defined]
NOW = dt.datetime(2026, 11, 30, 8, 30, 1, 250, tzinfo=dt.UTC)
BY_APPLICANT = (
    select(APPS.c.id, APPS.c.application_date, APPS.c.created_at)
    .where(APPS.c.applicant == bindparam("applicant"), APPS.c.outcome == "approve")
    .order_by(APPS.c.id)
)


def _row(n: int, outcome: str = "approve") -> dict[str, object]:
    return {
        "id": f"app-{n}", "applicant": "110101194001010015", "item_code": "x",
        "ruleset_version": "1", "ruleset_hash": "sha256:h",
        "application_date": dt.date(2026, 11, n),
        "outcome": outcome, "filed_by": None, "idempotency_key": f"k-{n}",
        "request_digest": "sha256:x", "created_at": NOW,
    }


def test_rows_and_errors_match_core_inside_the_transaction(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'cursor.db'}")
    with Session(engine) as session:
        session.connection().exec_driver_sql("PRAGMA foreign_keys=OFF")  # no ruleset rows
        insert_many(session, APPS, [_row(1), _row(2), _row(3, "reject")])  # via the cursor
        conn = session.connection()
        ours = direct.rows(conn, BY_APPLICANT, applicant="110101194001010015")
        core = [tuple(r) for r in conn.execute(BY_APPLICANT, {"applicant": "110101194001010015"})]
        assert ours == core  # uncommitted rows: the same transaction
        assert [r[0] for r in ours] == ["app-1", "app-2"]  # the statement's own `approve`
        assert ours[0][1] == dt.date(2026, 11, 1) and ours[0][2].replace(tzinfo=dt.UTC) == NOW
        assert direct.scalar(conn, BY_APPLICANT, applicant="nobody") is None
        direct.execute(conn, update(APPS).where(APPS.c.id == bindparam("which"))
                       .values(outcome="refer"), which="app-2")
        assert direct.scalar(conn, select(APPS.c.outcome).where(APPS.c.id == "app-2")) == "refer"
        with pytest.raises(IntegrityError):  # SQLAlchemy's, as the store's callers catch
            insert_many(session, APPS, [_row(1)])
        session.rollback()
    with Session(engine) as session:
        assert direct.rows(session.connection(), BY_APPLICANT, applicant="110101194001010015") == []
