"""Consent grants and usage records (用证留痕): their tables and the reads and writes on them.

A grant is what a citizen agreed to: their data, for one item, for a stated purpose,
until an expiry, covering the datasets and licence types the item's ruleset reads. A
usage record is one read (or refusal, or cache reuse) of a citizen's data: who read it
(the service, and the staff member if one acted), whose it was, for which item and
application, under which grant, for what purpose, when, and the digest of the answer.
Usage records are only ever inserted.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, Table, Text, bindparam, insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from approvals.store.database import create_schema
from approvals.store.groupcommit import commit
from approvals.store.pointread import point_reads_for
from approvals.store.rows import build_row
from approvals.store.tables import utc


def _when(nullable: bool = False) -> Column[dt.datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class ConsentGrant(SQLModel, table=True):
    __tablename__ = "consent_grants"

    id: str = Field(primary_key=True, max_length=36, description="UUID; the authorization code")
    applicant: str = Field(index=True, max_length=32)
    item_code: str = Field(index=True, max_length=100)
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    datasets: str = Field(sa_column=Column(Text, nullable=False), description="JSON list")
    licence_types: str = Field(sa_column=Column(Text, nullable=False), description="JSON list")
    granted_by: str = Field(max_length=64, description="citizen:<id> or staff:<id> (at a counter)")
    created_at: dt.datetime = Field(sa_column=_when())
    expires_at: dt.datetime = Field(sa_column=_when())
    revoked_at: dt.datetime | None = Field(default=None, sa_column=_when(nullable=True))

    def active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and utc(self.expires_at) > now

    def status(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if utc(self.expires_at) > now else "expired"

    def covers(self, datasets: Sequence[str], licence_types: Sequence[str]) -> bool:
        return _listed(self.datasets).issuperset(datasets) and _listed(
            self.licence_types
        ).issuperset(licence_types)

    def as_json(self, now: dt.datetime) -> dict[str, object]:
        return {
            "id": self.id,
            "applicant": self.applicant,
            "item": self.item_code,
            "purpose": self.purpose,
            "datasets": json.loads(self.datasets),
            "licence_types": json.loads(self.licence_types),
            "granted_by": self.granted_by,
            "created_at": utc(self.created_at).isoformat(),
            "expires_at": utc(self.expires_at).isoformat(),
            "revoked_at": None if self.revoked_at is None else utc(self.revoked_at).isoformat(),
            "status": self.status(now),
        }


@functools.lru_cache(maxsize=1024)
def _listed(text: str) -> frozenset[str]:
    """A grant's JSON list of names, parsed once per text: every decision checks its
    grant's scope, and a process sees only the few scopes its items define."""
    return frozenset(json.loads(text))


class UsageRecord(SQLModel, table=True):
    __tablename__ = "usage_records"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_column=_when())
    service: str = Field(max_length=100, description="The reading system")
    actor: str = Field(max_length=64, description="citizen:<id> or staff:<id>")
    applicant: str = Field(index=True, max_length=32, description="Whose data")
    item_code: str = Field(max_length=100)
    application_id: str | None = Field(default=None, index=True, max_length=36)
    stage: str = Field(max_length=10, description="prefill | submit")
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    grant_id: str | None = Field(default=None, max_length=36)
    correlation: str = Field(max_length=64, description="X-Correlation-Id sent to the source")
    source: str = Field(max_length=10, description="platform | licences")
    name: str = Field(max_length=100, description="Dataset or licence type")
    key: str = Field(max_length=500)
    outcome: str = Field(max_length=10, description="ok | cached | refused | failed")
    digest: str | None = Field(default=None, max_length=80)
    licence_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    def as_json(self) -> dict[str, object]:
        return {
            "at": utc(self.at).isoformat(),
            "service": self.service,
            "actor": self.actor,
            "applicant": self.applicant,
            "item": self.item_code,
            "application_id": self.application_id,
            "stage": self.stage,
            "purpose": self.purpose,
            "grant_id": self.grant_id,
            "correlation": self.correlation,
            "source": self.source,
            "name": self.name,
            "key": self.key,
            "outcome": self.outcome,
            "digest": self.digest,
            "licence_ids": json.loads(self.licence_ids),
            "detail": self.detail,
        }


TABLES = [ConsentGrant.__table__, UsageRecord.__table__]  # type: ignore[attr-defined]

#: One usage record as a row: `UsageRecord`'s columns but `id`. Rows, not ORM objects:
#: a decision writes five or so, and building them as objects was 5% of its CPU.
UsageRow = dict[str, Any]
GRANT_TABLE: Table = ConsentGrant.__table__  # type: ignore[attr-defined]
_ACTIVE_GRANTS = (
    sa_select(GRANT_TABLE)
    .where(
        GRANT_TABLE.c.applicant == bindparam("applicant"),
        GRANT_TABLE.c.item_code == bindparam("item"),
        GRANT_TABLE.c.revoked_at.is_(None),
    )
    .order_by(GRANT_TABLE.c.created_at.desc())
)
USAGE_TABLE: Table = UsageRecord.__table__  # type: ignore[attr-defined]


def insert_usage(session: Session, rows: Sequence[UsageRow]) -> None:
    """Insert usage records in the session's transaction (one executemany)."""
    if rows:
        session.execute(insert(USAGE_TABLE), list(rows))


def commit_usage(engine: Engine, rows: Sequence[UsageRow]) -> None:
    """Insert usage records in a committed transaction of their own (grouped)."""
    if rows:
        commit(engine, lambda session, _batch: insert_usage(session, rows))


@dataclass
class ConsentStore:
    """Grants and usage records in the service's database (tables created on first use)."""

    engine: Engine

    def __post_init__(self) -> None:
        create_schema(self.engine, TABLES)

    def add_grant(self, grant: ConsentGrant) -> ConsentGrant:
        commit(self.engine, lambda session, _batch: session.add(grant))  # grouped
        return grant

    def grant(self, grant_id: str) -> ConsentGrant | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(ConsentGrant, grant_id)

    def grants(self, applicant: str) -> list[ConsentGrant]:
        with Session(self.engine, expire_on_commit=False) as session:
            rows = session.exec(
                select(ConsentGrant)
                .where(ConsentGrant.applicant == applicant)
                .order_by(col(ConsentGrant.created_at).desc())
            ).all()
            return list(rows)

    def active_grant(
        self,
        applicant: str,
        item: str,
        now: dt.datetime,
        datasets: Sequence[str],
        licence_types: Sequence[str],
    ) -> ConsentGrant | None:
        """The newest grant of `applicant` for `item` that is active and covers the scope."""
        # A statement built once, read as a point read: this runs before every decision.
        rows = point_reads_for(self.engine).mappings(_ACTIVE_GRANTS, applicant=applicant, item=item)
        for row in rows:
            grant = build_row(ConsentGrant, **row)
            if grant.active(now) and grant.covers(datasets, licence_types):
                return grant
        return None

    def revoke(self, grant_id: str, when: dt.datetime) -> ConsentGrant | None:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(ConsentGrant, grant_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = when
                session.add(row)
                session.commit()
            return row

    def add_usage(self, rows: Sequence[UsageRow]) -> None:
        """Durable before the read's answer; one fsync for a group of them."""
        commit_usage(self.engine, rows)

    def usage(
        self,
        *,
        applicant: str | None = None,
        application_id: str | None = None,
        licences_only: bool = False,
        limit: int = 500,
    ) -> list[UsageRecord]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(UsageRecord)
            if applicant is not None:
                query = query.where(UsageRecord.applicant == applicant)
            if application_id is not None:
                query = query.where(UsageRecord.application_id == application_id)
            if licences_only:
                query = query.where(UsageRecord.source == "licences")
            rows = session.exec(
                query.order_by(col(UsageRecord.at).desc(), col(UsageRecord.id).desc()).limit(limit)
            ).all()
            return list(rows)
