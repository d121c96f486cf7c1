"""Storage: sqlmodel tables and sessions (SQLite in WAL mode by default, PostgreSQL for scale)."""

from approvals.store.database import (
    DATABASE_URL_ENV,
    DEFAULT_URL,
    create_schema,
    database_url,
    open_database,
)
from approvals.store.repository import DuplicateSubmission, Store, StoredApplication
from approvals.store.tables import (
    Application,
    DecisionRecord,
    IssuedLicence,
    RulesetText,
    utc,
)

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_URL",
    "Application",
    "DecisionRecord",
    "DuplicateSubmission",
    "IssuedLicence",
    "RulesetText",
    "Store",
    "StoredApplication",
    "create_schema",
    "database_url",
    "open_database",
    "utc",
]
