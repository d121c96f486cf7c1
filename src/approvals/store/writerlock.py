"""One writer at a time across the processes that share a SQLite file.

SQLite lets one transaction write at a time. A second process that wants to write
meanwhile waits in SQLite's busy handler, which *sleeps* (1, 2, 5, 10 ... ms, SQLite's
`sqliteDefaultBusyCallback`) and polls, instead of waking when the lock is free; with
two API processes on one file, each group commit then waited out sleeps longer than
the other's transaction. A POSIX `flock` on a file beside the database is a queue the
kernel wakes at once: the group-commit writers of all processes take it around each
transaction, so they alternate without sleeping. SQLite's own lock still guards
correctness; this lock only decides who goes next.

The same kind of file, held for a process's life, elects the one process that signs
the log's checkpoints (:func:`sequencer_lock`, used by `approvals.audit.sequencer`).

PostgreSQL and in-memory databases need none (PostgreSQL queues writers itself).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import Engine

from approvals.store.urls import sqlite_file


class FileLock:
    """An exclusive `flock` on `path`, held by at most one thread of this process too."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._threads = threading.Lock()  # flock is per open file, not per thread
        self.contended_at = -float("inf")  # when a holder last had to wait (monotonic)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is writing
                self.contended_at = time.monotonic()
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks without the GIL
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def try_acquire(self) -> bool:
        """Take the lock without waiting and keep it until :meth:`close` (or this
        process's death, when the kernel releases it): an election."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def close(self) -> None:
        """Release the lock, if held, and close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def writer_lock(engine: Engine) -> FileLock | None:
    """The lock a writer holds around each transaction on `engine`'s database, if its
    database is a SQLite file (the lock file sits beside it: `<database>-writer.lock`)."""
    return _beside(engine, "writer")


def sequencer_lock(engine: Engine) -> FileLock | None:
    """The lock the log sequencer of a SQLite file holds for its life
    (`<database>-sequencer.lock`), as PostgreSQL's sequencer holds an advisory lock."""
    return _beside(engine, "sequencer")


def _beside(engine: Engine, role: str) -> FileLock | None:
    database = sqlite_file(engine.url)
    return None if database is None else FileLock(Path(f"{database}-{role}.lock"))
