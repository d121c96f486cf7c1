"""Step 1 of a full verification (record signatures) and the leaf hashes, on every core.

Checking a leaf is independent of every other leaf, and nearly all of it is the
Ed25519 verification (docs/performance.md, "Audit"), which holds one core. So, for a
log in a database (`approvals.audit.sqllog.StoredEntries`) and `workers` > 1, each of
that many processes reads a range of the log itself and checks it; the answers come
back in log order, and the steps that need the whole log (indexes, the tree root, the
checkpoints) stay with the caller. An earlier try that read the leaves here and sent
them over was limited by this process: reading and sending cost as much as two
processes could verify (docs/performance.md). Anything else (an export, a log of one
batch or less, an in-memory database) is checked here, in order.

Both ways run `check_leaf`, so the report is the same word for word
(tests/test_audit_parallel.py).
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from approvals.audit.errors import AuditError
from approvals.audit.keys import Keyring
from approvals.audit.merkle import leaf_hash
from approvals.audit.record import LeafVerifier
from approvals.audit.sqllog import StoredEntries, read_entries
from approvals.audit.verify import LogEntry
from approvals.store.database import open_database

#: Leaves a process reads and checks at a time: large enough that a task's overhead is
#: nothing against verifying it (~200 us a leaf), small enough to keep every core busy.
BATCH = 2_000

#: (stored leaf hash or None, claimed index or None, computed leaf hash, what step 1
#: found wrong or None); the caller prefixes the problem with the record's position.
Checked = tuple[bytes | None, int | None, bytes, str | None]


def check_leaf(
    verify_leaf: LeafVerifier, log_origin: str | None, item: LogEntry | bytes
) -> Checked:
    """Step 1 for one leaf, and its hash for step 2."""
    if isinstance(item, LogEntry):
        leaf, stored, index = item.leaf, item.leaf_hash, item.index
    else:
        leaf, stored, index = item, None, None
    problem = None
    try:
        record_origin = verify_leaf(leaf)
        if log_origin is not None and record_origin != log_origin:
            problem = f"log_origin {record_origin!r}, expected this log's origin {log_origin!r}"
    except AuditError as exc:
        problem = str(exc)
    return stored, index, leaf_hash(leaf), problem


def checked_entries(
    entries: Iterable[LogEntry | bytes],
    keyring: Keyring,
    log_origin: str | None,
    *,
    check_canonical: bool = True,
    workers: int = 1,
) -> Iterator[Checked]:
    """`check_leaf` of each entry, in order; on `workers` processes where they can
    read the log themselves."""
    stored = entries if isinstance(entries, StoredEntries) else None
    url = None if stored is None else stored.url
    if workers <= 1 or stored is None or url is None or stored.stop - stored.start <= BATCH:
        verify_leaf = LeafVerifier(keyring, check_canonical=check_canonical)
        for item in entries:
            yield check_leaf(verify_leaf, log_origin, item)
        return
    ranges = (
        (start, min(start + BATCH, stored.stop))
        for start in range(stored.start, stored.stop, BATCH)
    )
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(url, [key.text for key in keyring], log_origin, check_canonical),
    ) as pool:
        pending: deque[Future[list[Checked]]] = deque()
        for start, stop in ranges:
            pending.append(pool.submit(_check_range, start, stop))
            # Two ranges a worker in flight: each has the next one waiting.
            while len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


@dataclass(frozen=True)
class _Worker:
    """What a checking process keeps between ranges."""

    engine: Engine  # its own connections
    verify: LeafVerifier
    origin: str | None


_worker: _Worker | None = None


def _start_worker(
    url: str, keys: list[str], log_origin: str | None, check_canonical: bool
) -> None:
    global _worker
    verify = LeafVerifier(Keyring(keys), check_canonical=check_canonical)
    _worker = _Worker(open_database(url, create=False), verify, log_origin)


def _check_range(start: int, stop: int) -> list[Checked]:
    worker = _worker
    assert worker is not None, "set by _start_worker in this process"
    return [
        check_leaf(worker.verify, worker.origin, entry)
        for entry in read_entries(worker.engine, start, stop)
    ]
