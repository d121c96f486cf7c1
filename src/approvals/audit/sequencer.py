"""The sequencer: the one process that signs the log's checkpoints on a timer.

Appends need no sequencer (each decision joins the tree in its own transaction,
under the append lock, see :mod:`approvals.store.treestore`). What needs one
process is the clock: while decisions arrive, a checkpoint must be signed at least
once a second, whether or not anyone asks for one.

On PostgreSQL the sequencer is elected with a session-level advisory lock
(``pg_try_advisory_lock``) held on a connection of its own: one process among all
API processes holds it; when that process dies its connection closes, the lock is
released and another process takes over at its next tick. On a SQLite file the
election is the same with a non-blocking ``flock`` on ``<database>-sequencer.lock``
(:func:`approvals.store.writerlock.sequencer_lock`), which the kernel releases when
the holder dies; an in-memory database has one process, and it is the sequencer.

Even two sequencers at once could not fork the log: every signing holds the append
lock and checks the newest stored checkpoint first (:meth:`DecisionLog.sign`).
Before its first checkpoint a new sequencer checks the whole stored tree against
the newest stored checkpoint (:meth:`DecisionLog.verify_stored`).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from approvals.audit.sqllog import DecisionLog, LogIntegrityError, StoredCheckpoint
from approvals.store.treestore import SEQUENCER_LOCK
from approvals.store.writerlock import FileLock, sequencer_lock

log = logging.getLogger("approvals.audit.sequencer")

#: Seconds between checks for new leaves; well under the promised one second.
INTERVAL = 0.25


class Sequencer:
    def __init__(self, decision_log: DecisionLog, *, interval: float = INTERVAL) -> None:
        self.log = decision_log
        self.interval = interval
        self._leader: Connection | None = None
        self._file_leader: FileLock | None = None
        self._started = False
        self.halted: str | None = None  # why signing stopped, if it did

    @property
    def postgresql(self) -> bool:
        return self.log.engine.dialect.name == "postgresql"

    def lead(self) -> bool:
        """True when this process is the sequencer (trying to become it if no one is)."""
        if not self.postgresql:
            return self._lead_sqlite()
        if self._leader is not None:
            try:
                self._leader.execute(select(1))
                self._leader.commit()  # never sit "idle in transaction"
                return True
            except SQLAlchemyError:
                self._drop_leadership()
        conn = self.log.engine.connect()
        try:
            won = bool(conn.execute(select(func.pg_try_advisory_lock(SEQUENCER_LOCK))).scalar())
            conn.commit()  # the lock is session-level: it outlives this transaction
        except SQLAlchemyError:
            conn.close()
            raise
        if not won:
            conn.close()
            return False
        self._leader = conn
        return self._became_leader()

    def _lead_sqlite(self) -> bool:
        if self._file_leader is not None:
            return True
        lock = sequencer_lock(self.log.engine)
        if lock is None:  # in memory: this process is the only one
            return True
        if not lock.try_acquire():
            lock.close()
            return False
        self._file_leader = lock
        return self._became_leader()

    def _became_leader(self) -> bool:
        self._started = False  # check the stored tree before the first signature
        log.info("this process is now the log sequencer")
        return True

    def _drop_leadership(self) -> None:
        if self._file_leader is not None:
            self._file_leader.close()
            self._file_leader = None
        if self._leader is not None:
            with contextlib.suppress(SQLAlchemyError):
                # Close the database session itself (not just return it to the pool):
                # that is what releases a session-level advisory lock.
                self._leader.invalidate()
                self._leader.close()
        self._leader = None

    def start(self) -> StoredCheckpoint:
        """Integrate records without a leaf index, check the stored tree, sign."""
        self.log.integrate_unindexed()
        self.log.verify_stored()
        self._started = True
        return self.log.sign()

    def tick(self) -> StoredCheckpoint | None:
        """One round: sign a checkpoint if this process leads and the tree grew."""
        if self.halted or not self.lead():
            return None
        if not self._started:
            return self.start()
        latest = self.log.latest()
        if latest is not None and latest.size >= self.log.size():
            return None
        return self.log.sign()

    async def run(self) -> None:
        """Tick forever (until cancelled). Integrity failures halt signing for good."""
        while True:
            try:
                await anyio.to_thread.run_sync(self.tick)
            except LogIntegrityError as exc:
                self.halted = str(exc)
                log.error("checkpoint signing halted: %s", exc)
            except SQLAlchemyError as exc:
                log.warning("sequencer tick failed (will retry): %s", exc)
            await anyio.sleep(self.interval)

    def close(self) -> None:
        self._drop_leadership()

    def __enter__(self) -> Sequencer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
