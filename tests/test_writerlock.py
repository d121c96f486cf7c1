"""The cross-process writer lock of a SQLite file (store/writerlock.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from approvals.store import open_database
from approvals.store.writerlock import FileLock, writer_lock


def test_a_second_holder_waits_until_the_first_releases(tmp_path: Path) -> None:
    path = tmp_path / "db-writer.lock"
    first, second = FileLock(path), FileLock(path)  # two open files, as two processes
    entered = threading.Event()

    def take_second() -> None:
        with second.held():
            entered.set()

    with first.held():
        waiter = threading.Thread(target=take_second)
        waiter.start()
        assert not entered.wait(0.3)  # blocked while the first holds it
    assert entered.wait(5)  # woken as soon as it is released, not after a poll
    waiter.join()
    first.close()
    second.close()


def test_release_wakes_the_waiter_at_once(tmp_path: Path) -> None:
    path = tmp_path / "db-writer.lock"
    first, second = FileLock(path), FileLock(path)
    woke: list[float] = []

    def take_second() -> None:
        with second.held():
            woke.append(time.perf_counter())

    first_cm = first.held()
    first_cm.__enter__()
    waiter = threading.Thread(target=take_second)
    waiter.start()
    time.sleep(0.1)
    released = time.perf_counter()
    first_cm.__exit__(None, None, None)
    waiter.join(5)
    # SQLite's busy handler would have slept in steps of up to 100 ms here.
    assert woke and woke[0] - released < 0.05
    first.close()
    second.close()


def test_only_a_sqlite_file_gets_a_lock(tmp_path: Path) -> None:
    lock = writer_lock(open_database(f"sqlite:///{tmp_path / 'a.db'}"))
    assert lock is not None and lock.path == tmp_path / "a.db-writer.lock"
    assert writer_lock(open_database("sqlite://")) is None
    assert writer_lock(open_database("sqlite:///:memory:")) is None
