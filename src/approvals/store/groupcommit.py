"""Group commit: many decisions' rows in one transaction, one fsync, then every answer.

With `synchronous=FULL` a SQLite commit waits for an fsync of the WAL (about 0.2 ms on
the development machine, far more on a busy disk), and the log's single write lock
lets one transaction commit at a time; one decision per transaction caps the service
near a hundred decisions a second (docs/performance.md). Here one writer thread owns
all writes of decisions (and anything else handed to it): it takes every job waiting,
runs them in one transaction, appends their records to the Merkle tree in queue
order, commits once, and only then completes each job's future. A caller that waits
on its future is therefore answered after its rows are durable, exactly as with a
commit of its own: batching changes when the fsync happens, never whether it happened
before the acknowledgement.

If the batch fails (say a unique constraint: two submissions with one Idempotency-Key,
possibly from another process), it is rolled back and each job is retried alone in its
own transaction, so one bad job fails only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel

from approvals.store.bulkinsert import insert_many
from approvals.store.tables import DecisionRecord
from approvals.store.treestore import index_records
from approvals.store.writerlock import writer_lock

log = logging.getLogger("approvals.store.groupcommit")

#: Jobs per transaction at most: bounds the time the write lock is held.
MAX_BATCH = 512
#: Seconds the event loop stays parked at most while its writer commits.
PARK_LIMIT = 0.25
#: Seconds after a wait for the cross-process write lock during which the loop is parked.
CONTENDED_FOR = 1.0


@dataclass
class Batch:
    """What the jobs of one transaction insert, gathered so that each table gets one
    executemany however many jobs the batch holds. Rows are plain dicts, not ORM
    objects: flushing objects one by one was most of the writer's time, and the writer
    thread shares the GIL with the requests (docs/performance.md)."""

    records: list[DecisionRecord] = field(default_factory=list)  # appended in this order
    rows: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    # Rows that another process may insert at the same moment (a ruleset version's
    # text, first used by two API processes at once): inserted unless already there.
    once: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # keys a job may use to add a row once
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def insert(self, row: SQLModel | tuple[Table, dict[str, Any]]) -> None:
        """Insert a table object's values (or a (table, values) pair) with the batch."""
        if isinstance(row, tuple):
            table, values = row
        else:
            table, values = _values(row)
        self.rows.setdefault(table, []).append(values)

    def insert_once(self, row: SQLModel) -> None:
        """Insert a row keyed by its content unless a row with its primary key exists,
        also one committed by another process after this transaction began."""
        table, values = _values(row)
        self.once.setdefault(table, []).append(values)

    def write(self, session: Session) -> None:
        """Index the records as the log's next leaves, then insert every row, parents
        before children. Call once, after every job's work, inside the transaction."""
        if self.records:
            # Leaf indexes in queue order, the tree grown, in this transaction.
            index_records(session, self.records)
            for record in self.records:
                self.insert(record)
        # Each table's rows in one executemany of a statement compiled once
        # (store/bulkinsert.py): through the ORM session, building statements and cache
        # keys cost more than SQLite took; through Core's executemany, processing each
        # row's parameters was most of this thread's time holding the GIL (py-spy).
        connection = session.connection()
        dialect = connection.dialect.name
        for table in _tables_in_insert_order(len(SQLModel.metadata.tables)):
            once = self.once.get(table)
            if once:
                connection.execute(_insert_if_absent(dialect, table), once)
            rows = self.rows.get(table)
            if rows:
                insert_many(session, table, rows)


@functools.cache
def _tables_in_insert_order(count: int) -> list[Table]:
    """Parents before children (foreign keys), sorted again if a table was declared
    since (`count` is how many there are)."""
    return list(SQLModel.metadata.sorted_tables)


@functools.cache
def _insert_if_absent(dialect: str, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite 3.24+, PostgreSQL 9.5+): a check-then-
    insert would race with another process doing the same between check and insert."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"insert-if-absent is not written for {dialect}")


def _values(row: SQLModel) -> tuple[Table, dict[str, Any]]:
    table: Table = row.__table__  # type: ignore[attr-defined]
    # A value the row holds is in its __dict__ (store/rows.build_row puts every field
    # there); reading it there skips the attribute descriptor and pydantic's
    # __getattr__ hook, ~1 µs a column. Anything else is asked of the attribute.
    held = row.__dict__
    values = {
        name: held[name] if name in held else getattr(row, name) for name in _columns(table)
    }
    if isinstance(row, DecisionRecord) and values["seq"] is None:
        del values["seq"]  # assigned by the database, in commit order
    return table, values


@functools.cache
def _columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns)


Work = Callable[[Session, Batch], Any]


@dataclass
class _Job:
    """A job and where its answer goes: a thread's `Future`, or an asyncio future of the
    event loop that submitted it (answered from that loop, see `_answer`)."""

    work: Work
    future: Future[Any] | asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop | None = None


def _settle(
    future: Future[Any] | asyncio.Future[Any], result: Any, error: BaseException | None
) -> None:
    """Complete the future, unless its waiter gave up (a cancelled request): the rows
    are committed (or not) either way, and the writer must live on."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _settle_all(answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in answers:
        _settle(future, result, error)


def _answer(answered: list[tuple[_Job, Any, BaseException | None]]) -> None:
    """Hand each job its result. An event loop's futures are completed by one callback
    in that loop for the whole transaction: a wake-up of the loop (a write to its
    self-pipe) and a `wrap_future` bridge for each decision cost ~2% of the loop's
    instructions."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    for job, result, error in answered:
        if job.loop is None:
            _settle(job.future, result, error)
        else:
            by_loop.setdefault(job.loop, []).append((job.future, result, error))
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle_all, answers)


class GroupCommitter:
    """One writer thread; `submit(work)` returns a future completed after the commit."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._process_lock = writer_lock(engine)  # SQLite: one writer of all processes
        # The event loop whose requests this writer serves (the last to `submit_here`):
        # parked while this process holds the write lock the other processes wait for.
        self.loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0  # transactions committed (for the benchmark's batch-size figure)
        self.jobs = 0

    def submit(self, work: Work) -> Future[Any]:
        self._ensure_started()
        future: Future[Any] = Future()
        self._queue.put(_Job(work, future))
        return future

    def submit_here(self, work: Work) -> asyncio.Future[Any]:
        """`submit` from an event loop: a future of this loop, completed after the
        commit. Cancelling it (a client that hung up) does not withdraw the job."""
        self._ensure_started()
        loop = self.loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Job(work, future, loop))
        return future

    def run(self, work: Work) -> Any:
        """Submit and wait (from a worker thread): returns once the rows are committed."""
        return self.submit(work).result()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._process_lock is not None:
            self._process_lock.close()

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="approvals-group-commit", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                jobs.append(more)
            self._commit(jobs)
            if stop:
                return

    def _commit(self, jobs: list[_Job]) -> None:
        if len(jobs) > 1:
            try:
                results = self._transaction([j.work for j in jobs])
            except Exception:  # retried one by one below
                log.debug("group commit of %d jobs failed; retrying each alone", len(jobs))
            else:
                _answer([(job, result, None) for job, result in zip(jobs, results, strict=True)])
                return
        for job in jobs:  # each answered as soon as its own transaction is over
            try:
                (result,) = self._transaction([job.work])
            except Exception as exc:  # handed to the waiting caller
                _answer([(job, None, exc)])
            else:
                _answer([(job, result, None)])

    def _transaction(self, works: list[Work]) -> list[Any]:
        if self._process_lock is None:
            results = transaction(self.engine, works)
        else:
            with self._process_lock.held(), self._loop_parked():
                results = transaction(self.engine, works)
        self.batches += 1
        self.jobs += len(works)
        return results


    @contextlib.contextmanager
    def _loop_parked(self) -> Iterator[None]:
        """Keep this process's event loop off the GIL while the transaction runs.

        Every SQLite call releases the GIL, and taking it back from a busy event loop
        took up to a switch interval (5 ms) each time: with two processes on one file,
        a transaction of 12 decisions held the shared write lock ~29 ms for ~4 ms of
        work while the other process waited (docs/performance.md). So the loop is
        handed a callback that waits, GIL released, until the transaction is over.
        The writer does not wait for the loop to get to it (waiting, even 2 ms, cost
        more than it saved: the lock is held meanwhile), and the loop never waits
        longer than PARK_LIMIT. Only while other processes want the lock (one had to
        wait for it within CONTENDED_FOR): alone, parking only made batches smaller.
        """
        loop = self.loop
        done = threading.Event()
        lock = self._process_lock
        contended = lock is not None and time.monotonic() - lock.contended_at < CONTENDED_FOR
        if loop is not None and contended:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(done.wait, PARK_LIMIT)
        try:
            yield
        finally:
            done.set()


def transaction(engine: Engine, works: list[Work]) -> list[Any]:
    """Run `works` in one transaction of their own and commit; their results, in order.
    The after-commit hooks run only once the commit has succeeded."""
    batch = Batch()
    with Session(engine, expire_on_commit=False) as session:
        try:
            results = [work(session, batch) for work in works]
            session.flush()  # anything a job added as an object
            batch.write(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    for hook in batch.after_commit:
        hook()
    return results


def commit(engine: Engine, work: Work) -> Any:
    """Run `work` and return its result once its rows are committed: in the engine's
    group commit, or alone where there is no writer (an in-memory database).
    Blocking: call it from a worker thread."""
    writer = writer_for(engine)
    if writer is not None:
        return writer.run(work)
    (result,) = transaction(engine, [work])
    return result


_WRITERS: weakref.WeakKeyDictionary[Engine, GroupCommitter] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def writer_for(engine: Engine) -> GroupCommitter | None:
    """The one writer of `engine` in this process (None for an in-memory database).

    Every write of a request (decision, usage records, grants) goes through it: SQLite
    has one write lock, and a second writer waiting for it sleeps in SQLite's busy
    handler (milliseconds at a time) instead of joining the next group.
    """
    if isinstance(engine.pool, StaticPool):
        return None
    with _WRITERS_LOCK:
        writer = _WRITERS.get(engine)
        if writer is None:
            writer = _WRITERS[engine] = GroupCommitter(engine)
        return writer
