"""The store: one transaction per decision, race-safe idempotency, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel

from approvals.store import (
    Application,
    DecisionRecord,
    DuplicateSubmission,
    IssuedLicence,
    RulesetText,
    Store,
    StoredApplication,
    create_schema,
    open_database,
    utc,
)
from approvals.store.groupcommit import Batch, transaction

PG_URL = os.environ.get(
    "APPROVALS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)


def _sqlite(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path / 'var' / 'approvals.db'}")


def _postgres() -> tuple[Engine, str]:
    try:
        engine = open_database(PG_URL, create=False)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        engine.dispose()
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    # A schema of its own, so parallel runs and other tests' tables do not meet.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f"create schema {schema}"))
    engine.dispose()
    scoped = open_database(PG_URL + f"?options=-csearch_path%3D{schema}", create=False)
    SQLModel.metadata.create_all(scoped)
    return scoped, schema


def drop_schema(schema: str) -> None:
    """Remove a schema `_postgres` made, with everything in it."""
    cleanup = open_database(PG_URL, create=False)
    with cleanup.begin() as conn:
        conn.execute(text(f"drop schema {schema} cascade"))
    cleanup.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    schema = ""
    if request.param == "sqlite":
        engine = _sqlite(tmp_path)
    else:
        engine, schema = _postgres()
    yield Store(engine)
    engine.dispose()
    if schema:
        drop_schema(schema)


def _ruleset() -> RulesetText:
    return RulesetText(
        hash="sha256:" + "ab" * 32, code="longevity-allowance", version="2025.1",
        path="rulesets/mz/longevity-allowance.yaml", text="code: longevity-allowance\n",
        stored_at=NOW,
    )


def _application(key: str | None = "k1", digest: str = "sha256:body") -> Application:
    return Application(
        id=str(uuid.uuid4()), applicant="110101194001010015", item_code="longevity-allowance",
        ruleset_version="2025.1", ruleset_hash=_ruleset().hash,
        application_date=dt.date(2025, 3, 1), outcome="approve", idempotency_key=key,
        request_digest=digest, created_at=NOW,
    )


def _record(application: Application) -> DecisionRecord:
    return DecisionRecord(
        application_id=application.id,
        leaf=b'{"record":{"outcome":"approve"},"signature":{}}', signature=b"s" * 64,
        key_id="sandbox+01020304", created_at=NOW,
    )


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        # 2 = FULL: a committed (acknowledged) decision survives power loss.
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_saves_and_reads_back_a_decision(store: Store) -> None:
    store.keep_ruleset(_ruleset())
    store.keep_ruleset(_ruleset())  # a second time is a no-op
    app = _application()
    licence = IssuedLicence(
        licence_id="1.2.156.3005.2.X.Y.Z.001.A", application_id=app.id, holder=app.applicant,
        type="ridehail_driver_permit", document="{}", created_at=NOW,
    )
    store.save_decision(app, _record(app), licence)
    got = store.get(app.id)
    assert got is not None
    assert got.record.leaf == b'{"record":{"outcome":"approve"},"signature":{}}'
    assert got.record.leaf_index == 0  # the first leaf of the log, assigned at commit
    assert utc(got.application.created_at) == NOW
    assert [lic.status for lic in got.licences] == ["pending"]
    writes = store.writer.jobs if store.writer else 0
    store.licence_delivered(licence.licence_id, NOW)
    if store.writer:  # queued with the decisions, not waiting for SQLite's lock alone
        assert store.writer.jobs == writes + 1
    again = store.get(app.id)
    assert again is not None and [lic.status for lic in again.licences] == ["issued"]
    assert utc(again.licences[0].issued_at or NOW - dt.timedelta(days=1)) == NOW
    store.licence_failed(licence.licence_id, "store unreachable / 证照库不可达")
    failed = store.get(app.id)
    assert failed is not None
    assert [(lic.status, lic.error) for lic in failed.licences] == [  # retried later
        ("pending", "store unreachable / 证照库不可达")
    ]
    with pytest.raises(KeyError):
        store.licence_delivered("no-such-licence", NOW)
    assert [a.id for a in store.for_applicant(app.applicant)] == [app.id]
    assert store.for_applicant("other") == []

    async def marked_from_the_event_loop() -> None:  # as the service marks a delivery
        before = store.writer.jobs if store.writer else 0
        await store.mark_licence(licence.licence_id, delivered_at=NOW)
        if store.writer:
            assert store.writer.jobs == before + 1  # the writer's own job, no thread hop
        issued = store.get(app.id)
        assert issued is not None and [lic.status for lic in issued.licences] == ["issued"]
        await store.mark_licence(licence.licence_id, delivered_at=None, error="again")
        pending = store.get(app.id)
        assert pending is not None
        assert [(lic.status, lic.error) for lic in pending.licences] == [("pending", "again")]
        with pytest.raises(KeyError):
            await store.mark_licence("no-such-licence", delivered_at=NOW)

    asyncio.run(marked_from_the_event_loop())
    ruleset = store.ruleset_text(_ruleset().hash)
    assert ruleset is not None and ruleset.text.startswith("code:")
    assert [r.application_id for r in store.records()] == [app.id]


def test_the_same_idempotency_key_is_stored_once(store: Store) -> None:
    store.keep_ruleset(_ruleset())
    first = _application()
    store.save_decision(first, _record(first))
    second = _application()
    with pytest.raises(DuplicateSubmission) as caught:
        store.save_decision(second, _record(second))
    assert caught.value.existing.application.id == first.id
    assert store.get(second.id) is None  # nothing of the loser was kept
    # Without a key, submissions are independent.
    for _ in range(2):
        keyless = _application(key=None)
        store.save_decision(keyless, _record(keyless))
    assert len(store.for_applicant(first.applicant)) == 3


def test_concurrent_writers_with_one_key_leave_one_application(store: Store) -> None:
    store.keep_ruleset(_ruleset())
    winners: list[str] = []
    losers: list[str] = []
    barrier = threading.Barrier(8)

    def submit() -> None:
        app = _application(key="race")
        barrier.wait()
        try:
            store.save_decision(app, _record(app))
            winners.append(app.id)
        except DuplicateSubmission as exc:
            losers.append(exc.existing.application.id)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert losers == winners * 7


def test_a_ruleset_text_stored_meanwhile_by_another_process_is_no_conflict(store: Store) -> None:
    """Two API processes decide under a new ruleset version at the same moment: each
    believes the text unstored, and one commits it between the other's decision work
    and its commit. The second decision must still commit (insert-if-absent)."""
    other_process = Store(store.engine)  # its own cache of stored versions
    app = _application()
    work = store._decision_work(app, _record(app), None, _ruleset(), ())

    def racing(session: Session, batch: Batch) -> StoredApplication:
        result = work(session, batch)
        other_process.keep_ruleset(_ruleset())  # committed on another connection
        return result

    (stored,) = transaction(store.engine, [racing])
    assert stored.application.id == app.id
    assert store.get(app.id) is not None
    ruleset = store.ruleset_text(_ruleset().hash)
    assert ruleset is not None and ruleset.text == _ruleset().text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_processes_starting_at_once_create_the_schema_once(
    backend: str, tmp_path: Path
) -> None:
    """`approvals serve --workers N` starts N processes on one new database; each
    creates the tables it misses. Without a lock one of them fails with "table
    already exists" between create_all's check and its CREATE."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'new.db'}"
        drop = None
    else:
        engine, schema = _postgres()
        with engine.begin() as conn:  # an empty schema: drop what _postgres created
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(text(f'drop table if exists "{table.name}" cascade'))
        engine.dispose()
        url = PG_URL + f"?options=-csearch_path%3D{schema}"
        drop = schema
    starters = 6
    start = threading.Barrier(starters)
    failures: list[BaseException] = []

    def starter() -> None:
        engine = open_database(url, create=False)  # its own pool, like another process
        try:
            start.wait(timeout=30)
            create_schema(engine)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=starter) for _ in range(starters)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert failures == []
        store = Store(open_database(url))
        app = _application()
        store.save_decision(app, _record(app), None, _ruleset())
        assert store.get(app.id) is not None
        store.engine.dispose()
    finally:
        if drop:
            drop_schema(drop)


def test_reads_run_inline_only_on_a_sqlite_file(store: Store) -> None:
    """`Store.read` answers what `run` answers. On a SQLite file (WAL: a reader never
    waits for the writer) it runs on the caller's thread, the event loop; on
    PostgreSQL and on an in-memory SQLite it goes to a worker thread, as `run` does."""
    import asyncio

    application = _application(key="read-inline")
    store.save_decision(application, _record(application), None, _ruleset())
    on_file = store.engine.dialect.name == "sqlite"

    async def probe(runner: str) -> tuple[bool, str | None]:
        loop_thread = threading.get_ident()

        def find(applicant: str, key: str) -> tuple[bool, str | None]:
            found = store.by_idempotency_key(applicant, key)
            return threading.get_ident() == loop_thread, found and found.application.id

        call = store.read if runner == "read" else store.run
        return await call(find, application.applicant, "read-inline")

    assert asyncio.run(probe("read")) == (on_file, application.id)
    assert asyncio.run(probe("run")) == (False, application.id)

    in_memory = Store(open_database("sqlite://"))
    inline, _ = asyncio.run(
        in_memory.read(lambda: (threading.get_ident() == threading.main_thread().ident, None))
    )
    in_memory.engine.dispose()
    assert not inline  # its one connection belongs to whichever worker thread holds it


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_with_the_old_record_column_is_upgraded_at_open(
    backend: str, tmp_path: Path
) -> None:
    """Earlier versions kept each record's signed bytes twice: in `leaf` and in a
    `record` column. Opening such a database drops the column; its decisions stay
    readable and new ones are saved."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        drop = None
    else:
        engine, schema = _postgres()
        engine.dispose()
        url = PG_URL + f"?options=-csearch_path%3D{schema}"
        drop = schema
    try:
        old = Store(open_database(url))
        with old.engine.begin() as conn:  # the old layout: the column and a row using it
            conn.execute(text(
                "ALTER TABLE decision_records ADD COLUMN record BYTEA"
                if backend == "postgresql" else
                "ALTER TABLE decision_records ADD COLUMN record BLOB NOT NULL DEFAULT x''"
            ))
        earlier = _application()
        old.save_decision(earlier, _record(earlier), None, _ruleset())
        with old.engine.begin() as conn:
            conn.execute(text("UPDATE decision_records SET record = :r"),
                         {"r": b'{"outcome":"approve"}'})
        old.engine.dispose()

        store = Store(open_database(url))
        columns = [c["name"] for c in inspect(store.engine).get_columns("decision_records")]
        assert "record" not in columns and "leaf" in columns
        got = store.get(earlier.id)
        assert got is not None and got.record.leaf == _record(earlier).leaf
        later = _application(key="after-the-upgrade")
        store.save_decision(later, _record(later))
        assert store.get(later.id) is not None
        store.engine.dispose()
    finally:
        if drop:
            drop_schema(drop)
