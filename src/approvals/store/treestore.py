"""The Merkle tree in SQL, and leaf indexes assigned in the decision's own transaction.

Sequencing (why it is done this way): a decision record gets its leaf index, and its
leaf hash and every subtree it completes are written, *in the transaction that
commits the record*. The answer to the applicant therefore already names the leaf
index, and there is never a committed record outside the tree nor a tree node
without its record.

Appends must happen one at a time, in the order they commit:

* PostgreSQL (several API processes on several machines): the transaction takes
  `pg_advisory_xact_lock(APPEND_LOCK)` before it reads the tree size. The lock is
  held to commit or rollback, so the next appender reads the size after the
  previous one's rows are visible (READ COMMITTED takes a new snapshot per
  statement).
* SQLite: the transaction has already written (the application row, or the no-op
  write below), so it holds the database's single write lock to commit; its
  snapshot is the latest, since SQLite only lets a transaction write from it.

Committed rows are never updated, which is what makes a stored checkpoint checkable
against the tree later.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from approvals.audit.errors import AuditError
from approvals.audit.merkle import MerkleLog, leaf_hash
from approvals.store import cursor
from approvals.store.bulkinsert import insert_many
from approvals.store.logtables import TreeNode
from approvals.store.tables import DecisionRecord

# Advisory lock keys (64-bit, arbitrary but fixed): "APPR" + "LOG" + 1 / + 2.
APPEND_LOCK = 0x41505052_4C4F4701
SEQUENCER_LOCK = 0x41505052_4C4F4702

# Built once: the writer runs these for every transaction, and building a statement
# (and its cache key) each time cost more than SQLite took to run it. They go to the
# session's connection as Core statements, past the ORM's bulk-insert machinery.
_NODES: Table = TreeNode.__table__  # type: ignore[attr-defined]
_TREE_SIZE = select(func.max(_NODES.c.node)).where(_NODES.c.level == 0)
_SUBTREE = select(_NODES.c.hash).where(
    _NODES.c.level == bindparam("level"), _NODES.c.node == bindparam("node")
)
_APPEND_LOCK_PG = select(func.pg_advisory_xact_lock(APPEND_LOCK))
# A write that changes nothing still takes SQLite's write lock.
_APPEND_LOCK_SQLITE = update(_NODES).where(text("0 = 1")).values(level=_NODES.c.level)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_for_append(session: Session) -> None:
    """Serialise tree appends (and checkpoint signing) until this transaction ends."""
    if is_postgresql(session):
        session.connection().execute(_APPEND_LOCK_PG)
    else:
        # Taking the write lock now fails fast with SQLITE_BUSY_SNAPSHOT, rather than
        # later, if our snapshot is stale.
        cursor.execute(session.connection(), _APPEND_LOCK_SQLITE)


class SqlTreeStore:
    """:class:`approvals.audit.merkle.TreeStore` over the `merkle_nodes` table.

    Bound to one session, so reads and the append happen in the caller's transaction.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        # The size last read or written in this transaction. An append runs under the
        # append lock (lock_for_append), so the size read just before it still holds.
        self._size: int | None = None

    def tree_size(self) -> int:
        top = cursor.scalar(self.session.connection(), _TREE_SIZE)  # past Core on SQLite
        self._size = 0 if top is None else int(top) + 1
        return self._size

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        rows = self.session.execute(
            select(col(TreeNode.node), col(TreeNode.hash))
            .where(col(TreeNode.level) == 0, col(TreeNode.node) >= start, col(TreeNode.node) < end)
            .order_by(col(TreeNode.node))
        ).all()
        if len(rows) != end - start or (rows and rows[0][0] != start):
            raise AuditError(
                f"tree store: expected leaf hashes {start}..{end - 1}, found {len(rows)} rows"
            )
        return [bytes(h) for _, h in rows]

    def subtree_hash(self, level: int, index: int) -> bytes | None:
        value = cursor.scalar(self.session.connection(), _SUBTREE, level=level, node=index)
        return None if value is None else bytes(value)

    def append(
        self, leaf_hashes: Sequence[bytes], subtrees: Sequence[tuple[int, int, bytes]]
    ) -> None:
        start = self._size if self._size is not None else self.tree_size()
        rows = [{"level": 0, "node": start + i, "hash": h} for i, h in enumerate(leaf_hashes)]
        rows += [{"level": level, "node": node, "hash": h} for level, node, h in subtrees]
        if rows:
            # Primary key (level, node): a second writer at the same position fails.
            insert_many(self.session, _NODES, rows)
        self._size = start + len(leaf_hashes)


def append_records(session: Session, records: Sequence[DecisionRecord]) -> int:
    """Give `records` the next leaf indexes, in order, and add them to the tree.

    Call inside the transaction that commits them (after they are added to the
    session). Returns the first index assigned.
    """
    start = index_records(session, records)
    session.add_all(records)
    return start


def index_records(session: Session, records: Sequence[DecisionRecord]) -> int:
    """`append_records` without adding the records to the session: the caller inserts
    them (group commit inserts whole batches as rows). Returns the first index."""
    if not records:
        raise AuditError("append: expected at least one record")
    lock_for_append(session)
    start = MerkleLog(SqlTreeStore(session)).append_hashes([leaf_hash(r.leaf) for r in records])
    for offset, record in enumerate(records):
        record.leaf_index = start + offset
    return start


def integrate_unindexed(session: Session, limit: int = 10_000) -> int:
    """Append records committed without a leaf index (databases from before the log
    was kept in SQL), in commit order. Returns how many were appended."""
    lock_for_append(session)
    rows = list(
        session.scalars(
            select(DecisionRecord)
            .where(col(DecisionRecord.leaf_index).is_(None))
            .order_by(col(DecisionRecord.seq))
            .limit(limit)
        )
    )
    if rows:
        append_records(session, rows)
    return len(rows)
