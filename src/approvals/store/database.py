"""Open the database: SQLite (WAL) by default, PostgreSQL through `APPROVALS_DATABASE_URL`.

SQLite runs with `synchronous=FULL`: in WAL mode, NORMAL may lose the last
transactions on power loss, and an acknowledged decision must never be lost
(DESIGN.md, "Record"). FULL syncs the WAL on every commit.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, event, func, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel, create_engine

# Imported to register the tables on SQLModel.metadata.
from approvals.store import logtables, tables  # noqa: F401
from approvals.store.urls import sqlite_file
from approvals.store.writerlock import writer_lock

DATABASE_URL_ENV = "APPROVALS_DATABASE_URL"
DEFAULT_URL = "sqlite:///var/approvals.db"
# How long a SQLite writer waits for another to finish before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Pooled SQLite connections kept open. SQLAlchemy's default of 5 (+10 overflow) made
# concurrent requests open and close a connection (four PRAGMAs) for most reads; 48
# stopped that but each connection keeps its own page and statement caches, which
# held ~300 MB more at a million log records. 16 kept, up to 48 open at once.
SQLITE_POOL_SIZE = 16
SQLITE_POOL_OVERFLOW = 32
# PostgreSQL advisory lock key for creating the schema ("APPR" + "LOG" + 3; see
# store/treestore.py for 1 and 2).
SCHEMA_LOCK = 0x41505052_4C4F4703
# Columns an earlier version created and this one drops at open. Each held only a
# copy of data kept elsewhere, so dropping it loses nothing.
DROPPED_COLUMNS = (
    # The record's signed bytes, which the leaf holds too (audit.record.signed_bytes_of):
    # ~5.6 KB of ~13.6 KB a decision.
    ("decision_records", "record"),
)
log = logging.getLogger("approvals.store")


def database_url(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(DATABASE_URL_ENV) or DEFAULT_URL


def open_database(url: str | None = None, *, create: bool = True) -> Engine:
    """An engine for `url` (default: `database_url()`), with the tables created."""
    url = url or database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite(url, sqlite_file(parsed))
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if create:
        create_schema(engine)
    return engine


def create_schema(engine: Engine, only: Sequence[Table] | None = None) -> None:
    """Create the tables that are missing, also when several processes start at once
    (`approvals serve --workers N`): create_all checks, then creates, and a second
    process between the two would fail with "table already exists". The check and
    the creation run under a lock: PostgreSQL's advisory lock (DDL is transactional
    there), or the SQLite file's writer lock."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            SQLModel.metadata.create_all(conn, tables=only)
            _drop_old_columns(conn)
        return
    lock = writer_lock(engine)
    try:
        with lock.held() if lock is not None else nullcontext(), engine.begin() as conn:
            SQLModel.metadata.create_all(conn, tables=only)
            _drop_old_columns(conn)
    finally:
        if lock is not None:
            lock.close()


def _drop_old_columns(conn: Connection) -> None:
    """Bring a database an earlier version created up to this version's tables."""
    inspector = inspect(conn)
    for table, column in DROPPED_COLUMNS:
        if not inspector.has_table(table):
            continue
        if column in {c["name"] for c in inspector.get_columns(table)}:
            # SQLite 3.35+ and PostgreSQL both drop a column in place.
            conn.execute(text(f'ALTER TABLE "{table}" DROP COLUMN "{column}"'))
            log.warning("upgraded the database: dropped %s.%s", table, column)


def _sqlite(url: str, database: str | None) -> Engine:
    """`database`: the file, or None for an in-memory database."""
    in_memory = database is None
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        # One shared connection, or each session would see its own empty database.
        options["poolclass"] = StaticPool
    else:
        Path(database or "").parent.mkdir(parents=True, exist_ok=True)
        # Last in, first out: a quiet service keeps reusing the same few connections,
        # whose page caches (2 MB each, SQLite's default) are warm, instead of cycling
        # through all 16 and filling every cache (make bench saw RSS grow 39-69 MB from
        # 100k to 1M records, most of it SQLite's caches on rotated connections).
        options.update(
            pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_OVERFLOW, pool_use_lifo=True
        )
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    return engine
