"""Point reads on a SQLite file, straight through the DB-API.

Two reads precede every decision: the Idempotency-Key probe and the grant lookup.
Through SQLAlchemy Core (a pooled connection checked out and reset, an execution
context, a result object) they cost 125 and 160 µs of CPU in a signed decision on the
event loop, against ~4 µs for the probe's SELECT on a sqlite3 connection
(docs/performance.md, "Signed decision"). Here each thread that reads keeps one
connection of its own, opened through the engine (so with its pragmas) and detached
from the pool, and runs the statement SQLAlchemy compiled for it once, converting
the columns with the types' own result processors: the rows are those Core returns.

In WAL mode a read never waits for the writer and sees every transaction committed
before it starts (SQLite's WAL documentation, "Concurrency"). Each read fetches all
its rows, which ends its read transaction: a statement left open would hold a
snapshot and stop checkpoints from reaching the end of the WAL.

Other databases (PostgreSQL, an in-memory SQLite with its one shared connection)
read through Core, as before.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from approvals.store.cursor import compiled
from approvals.store.urls import sqlite_file

Row = Sequence[Any]


class PointReads:
    """`rows(statement, **params)`: the statement's rows, as Core would return them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._direct = sqlite_file(engine.url) is not None
        self._local = threading.local()
        self._opened: list[Any] = []  # every thread's connection, closed on dispose
        self._lock = threading.Lock()
        if self._direct:
            event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def rows(self, statement: Select[Any], **params: Any) -> list[Row]:
        if not self._direct:
            with self.engine.connect() as conn:
                return list(conn.execute(statement, params).all())
        made = compiled(self.engine.dialect, statement)
        cursor = self._connection().execute(made.sql, made.values(params))
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        return made.converted(fetched)

    def mappings(self, statement: Select[Any], **params: Any) -> list[dict[str, Any]]:
        columns = compiled(self.engine.dialect, statement).columns
        return [dict(zip(columns, row, strict=True)) for row in self.rows(statement, **params)]

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            proxied = self.engine.raw_connection()  # the engine's connect pragmas run
            proxied.detach()  # ours for this thread's life, not the pool's
            conn = self._local.conn = proxied.dbapi_connection
            with self._lock:
                self._opened.append(proxied)
        return conn


_READERS: weakref.WeakKeyDictionary[Engine, PointReads] = weakref.WeakKeyDictionary()
_READERS_LOCK = threading.Lock()


def point_reads_for(engine: Engine) -> PointReads:
    """The one `PointReads` of `engine` in this process (the store and the consent
    store read through the same connections)."""
    with _READERS_LOCK:
        reads = _READERS.get(engine)
        if reads is None:
            reads = _READERS[engine] = PointReads(engine)
        return reads
