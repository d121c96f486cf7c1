"""The group-commit writer survives callers that give up, and answers each job once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from approvals.store import open_database
from approvals.store.groupcommit import GroupCommitter


def _writer_on_table(
    path: Path, column: str
) -> tuple[Engine, GroupCommitter, threading.Event, Callable[..., Any]]:
    """A writer on a new database with table t (`column`), a closed gate, and
    `insert(n, wait=False)`: a job inserting n into t; with `wait`, it holds the writer
    until the gate opens."""
    engine = open_database(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text(f"create table t ({column})"))
    gate = threading.Event()

    def insert(n: int, wait: bool = False) -> Any:
        def work(session: Any, _batch: Any) -> int:
            if wait:
                gate.wait(5)
            session.execute(text("insert into t values (:n)"), {"n": n})
            return n

        return work

    return engine, GroupCommitter(engine), gate, insert


def test_a_cancelled_waiter_does_not_stop_the_writer(tmp_path: Path) -> None:
    engine, writer, gate, insert = _writer_on_table(tmp_path / "g.db", "n integer")

    first = writer.submit(insert(1, wait=True))  # holds the writer until the gate opens
    abandoned = writer.submit(insert(2))
    assert abandoned.cancel()  # its caller hung up while it waited in the queue
    gate.set()
    assert first.result(5) == 1
    assert writer.submit(insert(3)).result(5) == 3  # the writer lives on
    with engine.connect() as conn:
        stored = sorted(n for (n,) in conn.execute(text("select n from t")))
    # The abandoned job's rows were committed anyway: giving up waiting is not a rollback.
    assert stored == [1, 2, 3]
    writer.close()
    engine.dispose()


def _loop_progress_during_commit(tmp_path: Path, *, contended: bool) -> tuple[int, int]:
    """How far a busy event loop gets in the first and the second half of a 60 ms
    transaction of the writer that serves it."""
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    writer = GroupCommitter(engine)
    lock = writer._process_lock
    assert lock is not None  # a SQLite file has a cross-process write lock
    if contended:
        lock.contended_at = time.monotonic()  # as if another process had just waited
    ticks = 0
    seen: list[int] = []

    def work(_session: Any, _batch: Any) -> None:
        seen.append(ticks)
        time.sleep(0.03)  # GIL released: only parking keeps the loop from running
        seen.append(ticks)
        time.sleep(0.03)
        seen.append(ticks)

    async def main() -> None:
        nonlocal ticks
        future = writer.submit_here(work)  # the loop that submits is the one parked
        while not future.done():
            ticks += 1
            await asyncio.sleep(0)
        await future

    asyncio.run(main())
    writer.close()
    return seen[1] - seen[0], seen[2] - seen[1]


def test_the_loop_is_parked_while_a_contended_write_lock_is_held(tmp_path: Path) -> None:
    # Another process wants the lock: the loop waits out the transaction (it may run
    # a little before it reaches the parking callback, never in the second half).
    _first, second = _loop_progress_during_commit(tmp_path, contended=True)
    assert second == 0


def test_the_loop_runs_on_while_no_other_process_wants_the_lock(tmp_path: Path) -> None:
    first, second = _loop_progress_during_commit(tmp_path, contended=False)
    assert first > 10 and second > 10


def test_jobs_from_an_event_loop_are_answered_in_that_loop(tmp_path: Path) -> None:
    """`submit_here`: each waiter gets its own result or error once its transaction
    commits; a waiter that gives up leaves its job committed and the writer alive."""
    engine, writer, gate, insert = _writer_on_table(tmp_path / "h.db", "n integer primary key")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        held = writer.submit_here(insert(1, wait=True))  # holds the writer
        await asyncio.sleep(0.05)
        batch = [writer.submit_here(insert(n)) for n in (2, 3, 4)]  # one transaction
        duplicate = writer.submit_here(insert(2))  # fails alone after the group fails
        abandoned = asyncio.ensure_future(writer.submit_here(insert(5)))
        await asyncio.sleep(0)
        abandoned.cancel()
        gate.set()
        assert await held == 1
        assert all(future.get_loop() is loop for future in batch)  # this loop's own
        assert [await f for f in batch] == [2, 3, 4]
        try:
            await duplicate
        except Exception as exc:  # the constraint's error reaches its waiter
            assert "UNIQUE" in str(exc)
        else:
            raise AssertionError("a duplicate key was committed")
        assert abandoned.cancelled()
        assert await writer.submit_here(insert(6)) == 6  # the writer lives on

    asyncio.run(main())
    with engine.connect() as conn:
        stored = sorted(n for (n,) in conn.execute(text("select n from t")))
    assert stored == [1, 2, 3, 4, 5, 6]  # the abandoned job's row was committed anyway
    writer.close()
    engine.dispose()
