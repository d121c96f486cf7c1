"""Many rows into one table with one executemany and no per-row SQLAlchemy work.

For bulk loads (the benchmark's million-record log, 10,000 rows a transaction):
SQLAlchemy's ORM-enabled executemany collected and type-processed each row in Python,
about half of the 180 µs a record took to insert (docs/performance.md, "Memory and
growth"). Here the statement is compiled once per (dialect, table, columns), only the
columns whose type needs it are converted (SQLite's DATE/DATETIME text, by the same
SQLAlchemy processors, so the stored text is identical), and the rows go to the
driver's `executemany` (`store/cursor.py`), with errors still raised as SQLAlchemy's.

The tree's node rows always come through here (`SqlTreeStore.append`: the bulk load's
10,000 leaves a batch and the group-commit writer's few alike), and so do the
group-commit writer's other rows (store/groupcommit.py): through Core's executemany,
processing each row's parameters was most of the writer thread's time holding the
GIL, and the writer's user CPU a decision fell by about a sixth without it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import LargeBinary, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from approvals.store import cursor

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
    params: list[Any] = list(rows) if order is None else _positional(order, rows)
    cursor.executemany(session.connection(), sql, params)  # on SQLite, past Core (cursor.py)


def _positional(
    order: tuple[tuple[str, Processor | None], ...], rows: Sequence[dict[str, Any]]
) -> list[Any]:
    """Each row's values in placeholder order, converted where the column needs it.

    The values are taken in C (`itemgetter`), and a converted value is reused while the
    next row holds the very same object: a bulk load stamps a whole batch with one
    `created_at`, and converting it cost about as much as the rest of the row.
    """
    keys = [key for key, _ in order]
    get: Callable[[dict[str, Any]], tuple[Any, ...]] = (
        itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    )  # itemgetter of one key returns the value, not a tuple
    converted = [(i, convert) for i, (_, convert) in enumerate(order) if convert is not None]
    if not converted:
        return [get(row) for row in rows]
    last: dict[int, tuple[Any, Any]] = {}
    params = []
    for row in rows:
        values = list(get(row))
        for i, convert in converted:
            value = values[i]
            seen = last.get(i)
            if seen is not None and seen[0] is value:
                values[i] = seen[1]
            else:
                values[i] = out = convert(value)
                last[i] = (value, out)
        params.append(tuple(values))
    return params


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """The column type's bind processor, but none for binary columns on SQLite: there it
    wraps the bytes in `sqlite3.Binary` (a memoryview), which the driver binds as the
    same BLOB as the bytes themselves (SQLAlchemy's own comment says sqlite3 does not
    need it), and that wrapping was a tenth of a bulk load's inserting."""
    if dialect.name == "sqlite" and isinstance(column_type, LargeBinary):
        return None
    processor: Processor | None = column_type.dialect_impl(dialect).bind_processor(dialect)
    return processor


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
        (key, _processor(table.columns[key].type, dialect)) for key in compiled.positiontup
    )
    return compiled.string, order
