"""The group-commit writer survives callers that give up, and answers each job once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text

from approvals.store import open_database
from approvals.store.groupcommit import GroupCommitter


def test_a_cancelled_waiter_does_not_stop_the_writer(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    with engine.begin() as conn:
        conn.execute(text("create table t (n integer)"))
    writer = GroupCommitter(engine)
    gate = threading.Event()

    def insert(n: int, wait: bool = False) -> Any:
        def work(session: Any, _batch: Any) -> int:
            if wait:
                gate.wait(5)
            session.execute(text("insert into t values (:n)"), {"n": n})
            return n

        return work

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
