"""Many rows into one table with one executemany and no per-row SQLAlchemy work.

For bulk loads (the benchmark's million-record log, 10,000 rows a transaction):
SQLAlchemy's ORM-enabled executemany collected and type-processed each row in Python,
about half of the 180 µs a record took to insert (docs/performance.md, "Memory and
growth"). Here the statement is compiled once per (dialect, table, columns), only the
columns whose type needs it are converted (SQLite's DATE/DATETIME text, by the same
SQLAlchemy processors, so the stored text is identical), and the rows go to the
driver through `exec_driver_sql`, so errors are still SQLAlchemy's.

The group-commit writer does not use it: with a handful of rows per decision the
difference did not show through the noise. The writer runs SQLAlchemy Core inserts,
each statement built once, on the transaction's connection (store/groupcommit.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

Processor = Callable[[Any], Any]


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts of column values, all with the same keys) in the session's
    transaction. Rows that differ in their keys, or leave out a column with a
    Python-side default, take SQLAlchemy's own path."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    keys = tuple(rows[0])
    if any(tuple(row) != keys for row in rows) or _defaults_left_out(table, keys):
        session.execute(insert(table), list(rows))
        return
    sql, order = _compiled(dialect, table, keys)
    if order is None:  # named parameters (psycopg): the dicts as they are
        params: list[Any] = list(rows)
    else:
        params = [
            tuple(row[k] if convert is None else convert(row[k]) for k, convert in order)
            for row in rows
        ]
    session.connection().exec_driver_sql(sql, params)


@functools.cache
def _defaults_left_out(table: Table, keys: tuple[str, ...]) -> bool:
    return any(c.default is not None and c.name not in keys for c in table.columns)


@functools.cache
def _compiled(
    dialect: Dialect, table: Table, keys: tuple[str, ...]
) -> tuple[str, tuple[tuple[str, Processor | None], ...] | None]:
    """The SQL text, and for positional paramstyles the key and converter of each
    placeholder in order (None for named paramstyles)."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    if compiled.positiontup is None:
        return compiled.string, None
    order = tuple(
        (key, table.columns[key].type.dialect_impl(dialect).bind_processor(dialect))
        for key in compiled.positiontup
    )
    return compiled.string, order
