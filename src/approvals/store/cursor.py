"""Statements run straight on a SQLite DB-API cursor, compiled once by SQLAlchemy.

Two callers: the point reads before every decision (store/pointread.py, on a
connection of the reading thread's own), and the group-commit writer's statements
inside its transaction (store/groupcommit.py, store/treestore.py). Through a SQLAlchemy
`Connection` each statement costs its execution context, events and result set-up in
Python: ~12 µs for `exec_driver_sql`, ~30 µs for a compiled Core SELECT, against 2-3
µs on the cursor (timed on the development machine). The writer runs about ten a
transaction, and under HTTP load a transaction holds about two decisions.

A statement is compiled once per dialect, with the bind and result processors of its
columns' types, so values go in and come out as SQLAlchemy would convert them. Errors
are raised as SQLAlchemy's (`IntegrityError` for a duplicate key), which is what the
callers catch. Only SQLite's qmark style is run this way; other databases (PostgreSQL:
a network round trip per statement) go through SQLAlchemy as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]
Row = Sequence[Any]


@dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # bind parameters, in the order of the SQL's `?`
    binds: tuple[Processor | None, ...]
    fixed: dict[str, Any]  # values the statement binds itself (`level == 0`)
    columns: tuple[str, ...]  # a SELECT's columns (empty for other statements)
    results: tuple[Processor | None, ...]

    def values(self, params: dict[str, Any]) -> list[Any]:
        """The parameters in placeholder order, converted as the columns' types do."""
        if self.fixed:
            params = {**self.fixed, **params}
        return [
            params[name] if bind is None else bind(params[name])
            for name, bind in zip(self.names, self.binds, strict=True)
        ]

    def converted(self, fetched: Sequence[Row]) -> list[Row]:
        """Fetched rows with each column converted as its type's result processor does."""
        if not any(self.results):
            return list(fetched)
        return [
            tuple(v if f is None or v is None else f(v) for f, v in zip(self.results, row,
                                                                        strict=True))
            for row in fetched
        ]


@functools.cache
def compiled(dialect: Dialect, statement: ClauseElement) -> Compiled:
    """`statement` compiled for `dialect` (statements are module constants: the cache
    keeps each alive, and its identity is its key)."""
    done = statement.compile(dialect=dialect)
    assert isinstance(done, SQLCompiler)  # a SQL statement, so bind names and positions
    names = tuple(done.positiontup or ())
    selected = list(statement.selected_columns) if isinstance(statement, Select) else []
    return Compiled(
        sql=str(done),
        names=names,
        binds=tuple(
            done.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        ),
        fixed={n: done.binds[n].value for n in names if not done.binds[n].required},
        columns=tuple(str(c.key) for c in selected),
        results=tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in selected
        ),
    )


def direct(connection: Connection) -> bool:
    """Whether `connection`'s statements may go straight to its DB-API cursor."""
    return connection.dialect.name == "sqlite"


def _on_cursor(
    connection: Connection, sql: str, params: Any, *, many: bool = False, fetch: bool = False
) -> list[Row]:
    """Run `sql` on the transaction's own DB-API connection; SQLAlchemy's error types."""
    dbapi_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.cursor()
    try:
        (cursor.executemany if many else cursor.execute)(sql, params)
        return list(cursor.fetchall()) if fetch else []
    except dbapi_error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc
    finally:
        cursor.close()


def rows(connection: Connection, statement: Select[Any], **params: Any) -> list[Row]:
    """The SELECT's rows, in the connection's transaction."""
    if not direct(connection):
        return list(connection.execute(statement, params).all())
    made = compiled(connection.dialect, statement)
    return made.converted(_on_cursor(connection, made.sql, made.values(params), fetch=True))


def scalar(connection: Connection, statement: Select[Any], **params: Any) -> Any:
    """The first column of the first row, or None."""
    found = rows(connection, statement, **params)
    return found[0][0] if found else None


def execute(connection: Connection, statement: ClauseElement, **params: Any) -> None:
    """Run a statement whose result is not read (a lock, an update)."""
    if not direct(connection):
        connection.execute(statement, params)  # type: ignore[call-overload]
        return
    made = compiled(connection.dialect, statement)
    _on_cursor(connection, made.sql, made.values(params))


def executemany(connection: Connection, sql: str, params: Sequence[Any]) -> None:
    """`exec_driver_sql(sql, params)` for many rows of driver-ready values."""
    if not direct(connection):
        connection.exec_driver_sql(sql, params)
        return
    _on_cursor(connection, sql, params, many=True)
