"""Build real decision logs for the audit tests.

`decide_showcases` runs the real service path (sources, engine, signing, one
transaction per decision) for the sandbox's showcase applicants. `grow_log` adds
more records that are real in every way that matters to the log: the decisions of
real records with a new decision id, signed with the service's key by `sign_record`,
committed as the log's next leaves by the same `append_records` the service uses —
only many per transaction, so 10,000 take seconds rather than minutes of fsyncs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, select

from approvals.api.settings import Settings
from approvals.api.wiring import wire
from approvals.audit.keys import SigningKey
from approvals.audit.record import sign_record
from approvals.sandbox.fixtures import load_fixtures
from approvals.service import Submission
from approvals.store import Application, DecisionRecord, open_database
from approvals.store.treestore import append_records

PG_URL = os.environ.get(
    "APPROVALS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)


def decide_showcases(settings: Settings, dates: tuple[int, ...] = (0,)) -> list[str]:
    """Decide every showcase case through the service, once per day offset; return ids."""
    cases = load_fixtures(settings.fixtures).showcase

    async def main() -> list[str]:
        wired = wire(settings, clock=lambda: NOW)
        ids: list[str] = []
        try:
            for offset in dates:
                for case in cases:
                    on = case.on + dt.timedelta(days=offset)
                    outcome = await wired.service.submit(
                        Submission(case.id_number, case.item, case.form, on=on)
                    )
                    ids.append(outcome.stored.application.id)
        finally:
            await wired.aclose()
        return ids

    return asyncio.run(main())


def grow_log(engine: Engine, key: SigningKey, total: int, chunk: int = 2000) -> None:
    """Append copies of the stored decisions (new ids, freshly signed) until `total` leaves."""
    with Session(engine) as s:
        templates = [
            (s.get(Application, r.application_id), json.loads(r.leaf)["record"])
            for r in s.exec(select(DecisionRecord).order_by(DecisionRecord.leaf_index)).all()
        ]
        have = len(templates)
    assert templates, "grow_log needs real decisions to copy"
    n = have
    while n < total:
        with Session(engine) as s:
            rows: list[DecisionRecord] = []
            for _ in range(min(chunk, total - n)):
                app, record = templates[n % have]
                assert app is not None
                new_id = str(uuid.UUID(int=n, version=4))
                copy: dict[str, Any] = dict(record, decision_id=new_id, application_id=new_id)
                signed = sign_record(copy, key)
                s.add(Application(**(app.model_dump() | {"id": new_id, "idempotency_key": None})))
                row = DecisionRecord(
                    application_id=new_id, leaf=signed.leaf,
                    signature=signed.signature, key_id=signed.key_id, created_at=NOW,
                )
                s.add(row)
                rows.append(row)
                n += 1
            s.flush()
            append_records(s, rows)
            s.commit()


def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema's URL; skips without PostgreSQL unless CI=true."""
    try:
        engine = open_database(PG_URL, create=False)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f"create schema {schema}"))
    url = PG_URL + f"?options=-csearch_path%3D{schema}"
    scoped = open_database(url, create=False)
    SQLModel.metadata.create_all(scoped)
    scoped.dispose()
    try:
        yield url
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"drop schema {schema} cascade"))
        engine.dispose()
