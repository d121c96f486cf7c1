"""`build_row` makes the same table objects as the constructor, which the ORM can store."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, SQLModel

from approvals.store import Application, DecisionRecord, IssuedLicence, RulesetText, open_database
from approvals.store.consents import ConsentGrant
from approvals.store.rows import build_row

NOW = dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.UTC)
APP_ID = str(uuid.uuid4())

SAMPLES: dict[type[SQLModel], dict[str, Any]] = {
    RulesetText: dict(
        hash="sha256:" + "cd" * 32, code="longevity-allowance", version="2025.1",
        path="rulesets/x.yaml", text="code: longevity-allowance\n", stored_at=NOW,
    ),
    Application: dict(
        id=APP_ID, applicant="110101194001010015", item_code="longevity-allowance",
        ruleset_version="2025.1", ruleset_hash="sha256:" + "cd" * 32,
        application_date=dt.date(2025, 3, 1), outcome="approve", idempotency_key="k",
        request_digest="sha256:body", created_at=NOW,
    ),  # filed_by left to its default
    DecisionRecord: dict(
        application_id=APP_ID, leaf=b'{"record":{"a":1}}',
        signature=b"s" * 64, key_id="sandbox+01020304", created_at=NOW,
    ),  # seq and leaf_index left to their defaults
    IssuedLicence: dict(
        licence_id="lic-1", application_id=APP_ID, holder="110101194001010015",
        type="business-licence", document="{}", created_at=NOW,
    ),  # status, error and issued_at left to their defaults
    ConsentGrant: dict(
        id=str(uuid.uuid4()), applicant="110101194001010015", item_code="longevity-allowance",
        purpose="p", datasets="[]", licence_types="[]", granted_by="citizen:x",
        created_at=NOW, expires_at=NOW + dt.timedelta(days=30),
    ),
}


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_a_built_row_equals_the_constructed_one(cls: type[SQLModel]) -> None:
    built, made = build_row(cls, **SAMPLES[cls]), cls(**SAMPLES[cls])
    assert type(built) is cls
    assert built.model_dump() == made.model_dump()
    assert built.model_fields_set == made.model_fields_set
    state = sa_inspect(built)  # the ORM's instance state, as the constructor attaches it
    assert state.transient and state.obj() is built and state.class_ is cls


def test_built_rows_are_stored_changed_and_read_back_by_the_orm(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'rows.db'}")
    built = {cls: build_row(cls, **values) for cls, values in SAMPLES.items()}
    with Session(engine, expire_on_commit=False) as session:
        for row in built.values():  # parents first: the tables declare no relationships
            session.add(row)
            session.flush()
        session.commit()
    licence = built[IssuedLicence]
    with Session(engine) as session:
        stored = session.get(IssuedLicence, "lic-1")
        assert stored is not None and stored.status == "pending" and stored.error is None
        stored.status = "issued"  # an assignment is tracked and flushed like any other
        session.add(stored)
        session.commit()
    with Session(engine) as session:
        for cls, row in built.items():
            key = row.__mapper__.primary_key_from_instance(row)  # type: ignore[attr-defined]
            found = session.get(cls, key)
            assert found is not None, cls.__name__
            if cls is IssuedLicence:  # SQLite gives times back naive (tables.utc)
                assert found.model_dump() | {"created_at": NOW} == licence.model_dump() | {
                    "status": "issued"
                }
        record = session.get(DecisionRecord, built[DecisionRecord].seq)
        assert record is not None and record.leaf == b'{"record":{"a":1}}'
    engine.dispose()


def test_a_row_built_first_in_a_new_process_reads_its_fields() -> None:
    """Before any constructor call or query, the mappers are not configured yet: the
    first decision of a new process builds its grant row from a Core query."""
    code = (
        "import datetime as dt\n"
        "from approvals.store.consents import ConsentGrant\n"
        "from approvals.store.rows import build_row\n"
        "now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)\n"
        "grant = build_row(ConsentGrant, id='g', applicant='a', item_code='i', purpose='p',"
        " datasets='[]', licence_types='[]', granted_by='citizen:a', created_at=now,"
        " expires_at=now + dt.timedelta(days=1))\n"
        "print(grant.active(now), grant.revoked_at)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "None"]


def test_assigning_to_a_built_row_sets_the_value() -> None:
    record = build_row(DecisionRecord, **SAMPLES[DecisionRecord])
    record.leaf_index = 7  # what index_records does
    assert record.leaf_index == 7 and "leaf_index" in record.model_dump()


def test_a_wrong_or_missing_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no field"):
        build_row(Application, **SAMPLES[Application], outcomes="approve")
    values = dict(SAMPLES[Application])
    del values["outcome"]
    with pytest.raises(ValueError, match=r"Application\.outcome is required"):
        build_row(Application, **values)
