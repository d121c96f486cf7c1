"""The tables: applications, their signed decision records, ruleset texts, licences issued.

Times are stored in UTC. SQLite has no time zone type, so values read back from it
are naive; `utc()` re-attaches UTC on the way out.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _when() -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=False)


class Application(SQLModel, table=True):
    """One submitted application and its outcome.

    `(applicant, idempotency_key)` is unique: two submissions with the same key can
    never both be stored, whichever process or machine handles them (the database
    arbitrates the race, not the application code).
    """

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("applicant", "idempotency_key", name="uq_applications_idempotency"),
    )

    id: str = Field(primary_key=True, max_length=36, description="UUID")
    applicant: str = Field(index=True, max_length=32)
    item_code: str = Field(index=True, max_length=100)
    ruleset_version: str = Field(max_length=50)
    ruleset_hash: str = Field(max_length=80, foreign_key="ruleset_texts.hash")
    application_date: dt.date
    outcome: str = Field(max_length=10)
    filed_by: str | None = Field(
        default=None, max_length=32, description="Staff member, if not the applicant"
    )
    idempotency_key: str | None = Field(default=None, max_length=255)
    request_digest: str = Field(max_length=80, description="sha256: of the canonical request body")
    created_at: dt.datetime = Field(sa_column=_when())


class DecisionRecord(SQLModel, table=True):
    """The signed decision record of one application, as it will be a Merkle leaf.

    `seq` orders records as they were committed; the log sequencer appends them in
    that order and fills `leaf_index`.
    """

    __tablename__ = "decision_records"

    # Column order is storage order: the small columns first, then the leaf, which
    # overflows its page. The leaf holds the record's signed bytes (`signed_bytes_of`),
    # so they are stored once; a `record` column with a second copy (~5.6 KB a
    # decision) was dropped (store/database.py, DROPPED_COLUMNS).
    seq: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(foreign_key="applications.id", unique=True, max_length=36)
    key_id: str = Field(max_length=200)
    leaf_index: int | None = Field(default=None, unique=True)
    created_at: dt.datetime = Field(sa_column=_when())
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RulesetText(SQLModel, table=True):
    """Every ruleset version a decision was made under, so it can be replayed later."""

    __tablename__ = "ruleset_texts"

    hash: str = Field(primary_key=True, max_length=80)
    code: str = Field(index=True, max_length=100)
    version: str = Field(max_length=50)
    path: str = Field(max_length=500)
    text: str = Field(sa_column=Column(Text, nullable=False))
    stored_at: dt.datetime = Field(sa_column=_when())


class IssuedLicence(SQLModel, table=True):
    """A licence an approval issues: stored signed before it is sent to the licence store.

    `status` is `pending` until the licence store accepts it (`issued`); a failed
    delivery stays `pending` with `error` set, and can be retried with the same document.
    """

    __tablename__ = "issued_licences"

    licence_id: str = Field(primary_key=True, max_length=200)
    application_id: str = Field(foreign_key="applications.id", index=True, max_length=36)
    holder: str = Field(index=True, max_length=32)
    type: str = Field(max_length=100)
    document: str = Field(sa_column=Column(Text, nullable=False), description="Signed licence JSON")
    status: str = Field(default="pending", max_length=10)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_column=_when())
    issued_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
