"""Which database a URL names, as the store's parts that work beside it need to know."""

from __future__ import annotations

from sqlalchemy.engine import URL


def sqlite_file(url: URL) -> str | None:
    """The path of the SQLite file `url` names; None for another backend or an
    in-memory SQLite database (which no other connection or process can open)."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return database
