"""The decision log as the service keeps it: records, tree and checkpoints in SQL.

Records join the tree in the transaction that commits them
(:mod:`approvals.store.treestore`); this module reads the tree back and signs
checkpoints over it. The promise "never sign two checkpoints that are inconsistent
with each other, also across restarts" is kept like this:

1. Every checkpoint the log signs is stored, verbatim, before it is served.
2. Before a process signs its first checkpoint, it checks the newest stored one:
   the signature is by a trusted log key, and the root recomputed from every stored
   leaf hash at that size equals the checkpoint's root (:meth:`DecisionLog.verify_stored`).
3. Each signing holds the append lock, so the tree cannot grow while it is read,
   and checks that the tree's root at the newest stored checkpoint's size still
   equals that checkpoint's root; only then is the larger tree signed and stored.

Stored rows are only ever inserted, so a tree that passes 3 extends every
checkpoint before it. A rolled-back or tampered database fails 2 or 3 and the
service refuses to sign (:class:`LogIntegrityError`) instead of forking the log.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col

from approvals.audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from approvals.audit.encoding import b64encode
from approvals.audit.errors import AuditError, VerificationError
from approvals.audit.keys import Keyring, SigningKey
from approvals.audit.merkle import (
    MerkleLog,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    range_subtrees,
    root_of,
)
from approvals.audit.tlogproof import build_tlog_proof
from approvals.audit.verify import LogEntry
from approvals.errors import NotFound
from approvals.store.logtables import SignedCheckpoint, TreeNode
from approvals.store.tables import DecisionRecord, RulesetText
from approvals.store.treestore import SqlTreeStore, integrate_unindexed, lock_for_append
from approvals.store.urls import sqlite_file

Clock = Callable[[], dt.datetime]

#: Under load a checkpoint is at most this old when served ("at least once a second").
MAX_CHECKPOINT_AGE = dt.timedelta(seconds=1)
#: Leaf hashes read per query when recomputing a root from the leaves.
BATCH = 5000


class LogIntegrityError(AuditError):
    """The stored tree disagrees with a checkpoint the log signed: signing stops."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: str
    key_id: str
    signed_at: dt.datetime

    @classmethod
    def of(cls, row: SignedCheckpoint) -> StoredCheckpoint:
        return cls(row.size, bytes(row.root_hash), row.note, row.key_id, _aware(row.signed_at))


class DecisionLog:
    """Proofs, records and checkpoints of the log in ``engine``.

    ``signer`` may be None for a read-only view (an export or audit on a machine
    without the key); signing then raises.
    """

    def __init__(
        self,
        engine: Engine,
        signer: SigningKey | None,
        keyring: Keyring,
        *,
        origin: str | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        if signer is None and origin is None:
            raise AuditError("decision log: expected a signing key or an origin")
        self.engine = engine
        self.signer = signer
        self.keyring = keyring
        self.origin = origin or (signer.name if signer else "")
        self.clock = clock
        self._verified = False
        self._verify_lock = threading.Lock()
        if signer is not None:
            if signer.name != self.origin:
                raise AuditError(
                    f"log key: expected a key named {self.origin!r} (the origin), "
                    f"found {signer.name!r}"
                )
            keyring.add(signer.verifier)

    # -- reading ---------------------------------------------------------------------

    def _session(self) -> Session:
        return Session(self.engine)

    def size(self) -> int:
        with self._session() as s:
            return SqlTreeStore(s).tree_size()

    def latest(self) -> StoredCheckpoint | None:
        with self._session() as s:
            row = _latest(s)
            return None if row is None else StoredCheckpoint.of(row)

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._session() as s:
            rows = s.scalars(select(SignedCheckpoint).order_by(col(SignedCheckpoint.seq)))
            return [StoredCheckpoint.of(r) for r in rows]

    def leaf(self, index: int) -> bytes:
        with self._session() as s:
            leaf = s.execute(
                select(col(DecisionRecord.leaf)).where(col(DecisionRecord.leaf_index) == index)
            ).scalar()
        if leaf is None:
            raise NotFound(f"no record at leaf index {index} (the log has {self.size()} leaves)")
        return bytes(leaf)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self._session() as s:
            ranges = inclusion_ranges(index, size) if 0 <= index < size else []
            return _prefetched(s, ranges).inclusion_proof(index, size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        with self._session() as s:
            ranges = consistency_ranges(first, second) if 0 <= first <= second else []
            return _prefetched(s, ranges).consistency_proof(first, second)

    def entries(self, size: int) -> StoredEntries:
        """The first ``size`` leaves as stored, each with its stored leaf hash and index
        (iterate over it; `verify_log` may also read it by range, one range a process)."""
        return StoredEntries(self.engine, 0, size)

    def record_of(self, application_id: str) -> DecisionRecord:
        with self._session() as s:
            row = s.scalars(
                select(DecisionRecord).where(col(DecisionRecord.application_id) == application_id)
            ).first()
        if row is None:
            raise NotFound(f"no decision {application_id!r}")
        return row

    # -- signing ---------------------------------------------------------------------

    def verify_stored(self) -> StoredCheckpoint | None:
        """Check the stored tree against the newest stored checkpoint (restart safety).

        Raises :class:`LogIntegrityError`. Reads every leaf hash once (32 bytes each).
        """
        with self._session() as s:
            row = _latest(s)
            if row is None:
                return None
            latest = StoredCheckpoint.of(row)
            try:
                cp = open_checkpoint(latest.note, self.keyring, origin=self.origin)
            except AuditError as exc:
                raise LogIntegrityError(
                    f"the newest stored checkpoint (size {latest.size}) does not verify "
                    f"under the log's keys: {exc}"
                ) from exc
            if (cp.size, cp.root_hash) != (latest.size, latest.root_hash):
                raise LogIntegrityError(
                    f"stored checkpoint row (size {latest.size}) differs from its signed note"
                )
            store = SqlTreeStore(s)
            if store.tree_size() < cp.size:
                raise LogIntegrityError(
                    f"the tree has {store.tree_size()} leaves, fewer than the {cp.size} of the "
                    "newest signed checkpoint (records were lost or the database rolled back)"
                )

            def leaves() -> Iterator[bytes]:
                for start in range(0, cp.size, BATCH):
                    yield from store.leaf_hashes(start, min(start + BATCH, cp.size))

            from_leaves = root_of(leaves())
            from_subtrees = MerkleLog(store).root(cp.size)
            if from_leaves != cp.root_hash or from_subtrees != cp.root_hash:
                raise LogIntegrityError(
                    f"the stored tree at size {cp.size} hashes to {from_leaves.hex()} (leaves) / "
                    f"{from_subtrees.hex()} (subtrees), the signed checkpoint says "
                    f"{cp.root_hash.hex()}: refusing to sign a log that forks it"
                )
            self._verified = True
            return latest

    def _ensure_verified(self) -> None:
        if self._verified:
            return
        with self._verify_lock:
            if not self._verified:
                self.verify_stored()
                self._verified = True

    def integrate_unindexed(self) -> int:
        """Append any records committed without a leaf index (older databases)."""
        total = 0
        while True:
            with self._session() as s:
                n = integrate_unindexed(s)
                s.commit()
            total += n
            if n == 0:
                return total

    def sign(self) -> StoredCheckpoint:
        """Sign and store a checkpoint of the whole tree (unless the newest covers it)."""
        signer = self.signer
        if signer is None:
            raise AuditError(
                "cannot sign a checkpoint: no log signing key is configured "
                "(APPROVALS_SIGNING_KEY or APPROVALS_SIGNING_KEY_FILE)"
            )
        self._ensure_verified()
        with self._session() as s:
            lock_for_append(s)
            tree = MerkleLog(SqlTreeStore(s))
            size = tree.size
            row = _latest(s)
            if row is not None:
                if row.size == size and row.key_id == signer.record_key_id:
                    return StoredCheckpoint.of(row)
                if row.size > size or tree.root(row.size) != bytes(row.root_hash):
                    raise LogIntegrityError(
                        f"the tree (size {size}) does not extend the newest signed checkpoint "
                        f"(size {row.size}): refusing to sign"
                    )
            note = sign_checkpoint(Checkpoint(self.origin, size, tree.root(size)), signer)
            new = SignedCheckpoint(
                size=size, root_hash=tree.root(size), note=note,
                key_id=signer.record_key_id, signed_at=self.clock().astimezone(dt.UTC),
            )
            s.add(new)
            s.commit()
            return StoredCheckpoint.of(new)

    def checkpoint(self, *, at_least: int = 0) -> StoredCheckpoint:
        """A signed checkpoint of size >= ``at_least``, at most about a second behind the
        tree: the newest stored one if it will do, else a fresh one."""
        latest = self.latest()
        if latest is not None and latest.size >= at_least:
            if latest.size >= self.size():
                return latest
            if self.clock() - latest.signed_at < MAX_CHECKPOINT_AGE:
                return latest
        if self.signer is None and latest is not None and latest.size >= at_least:
            return latest
        return self.sign()

    # -- per decision ----------------------------------------------------------------

    def tlog_proof(self, application_id: str) -> str:
        """The C2SP tlog-proof of a decision's record in a signed checkpoint."""
        row = self.record_of(application_id)
        index = _indexed(row)
        return self._tlog_proof(index, self.checkpoint(at_least=index + 1))

    def _tlog_proof(self, index: int, cp: StoredCheckpoint) -> str:
        with self._session() as s:
            ranges = inclusion_ranges(index, cp.size) if 0 <= index < cp.size else []
            return build_tlog_proof(_prefetched(s, ranges), index, cp.note).text

    def trail(self, application_id: str) -> dict[str, Any]:
        """Everything an auditor needs about one decision, from the signed record out."""
        row = self.record_of(application_id)
        index = _indexed(row)
        leaf: dict[str, Any] = json.loads(row.leaf)
        record: dict[str, Any] = leaf["record"]  # the leaf is what the log proves
        digest = record["ruleset"]["hash"]
        with self._session() as s:
            text = s.get(RulesetText, digest)
        cp = self.checkpoint(at_least=index + 1)
        proof = self.inclusion_proof(index, cp.size)
        checks = record.get("checks") or []
        return {
            "decision_id": record.get("decision_id", application_id),
            "record": record,
            "signature": leaf["signature"],
            "verifier_key": self.keyring.get(row.key_id).text,
            "inputs": [
                {"name": name, **value} for name, value in sorted(record["inputs"].items())
            ],
            "ruleset": {
                **record["ruleset"],
                "path": None if text is None else text.path,
                "text": None if text is None else text.text,
            },
            "checks": checks,
            "outcome": record["outcome"],
            "reasons": record["reasons"],
            "application_date": record["application_date"],
            "log": {
                "origin": self.origin,
                "leaf_index": index,
                "leaf": base64.b64encode(row.leaf).decode("ascii"),
                "leaf_hash": b64encode(leaf_hash(row.leaf)),
                "tree_size": cp.size,
                "checkpoint": cp.note,
                "inclusion_proof": [b64encode(h) for h in proof],
                "tlog_proof": self._tlog_proof(index, cp),
            },
        }


class _PrefetchedTree:
    """A :class:`SqlTreeStore` holding the subtree hashes one proof needs, read in one
    query (a proof at a million leaves asks for about 20; one query each was most of
    serving it). Anything not read ahead is asked of the store as before, so proofs are
    the same bytes."""

    def __init__(self, store: SqlTreeStore, nodes: Iterable[tuple[int, int]]) -> None:
        self._store = store
        wanted = sorted(set(nodes))
        self._hashes: dict[tuple[int, int], bytes] = {}
        if wanted:
            # An OR of primary-key lookups (SQLite answers each from the index; a
            # row-value IN list made it scan the table), written as SQL text: building
            # it as SQLAlchemy expressions took longer than the query. Bound parameters,
            # not literals: the statement's text then depends only on how many nodes a
            # proof needs (a few dozen shapes), so every pooled connection prepares and
            # caches a few statements instead of one per proof (which held hundreds of
            # MB across the pool at a million leaves: docs/performance.md).
            lookups = " OR ".join(
                f"(level = :l{i} AND node = :n{i})" for i in range(len(wanted))
            )
            values: dict[str, int] = {}
            for i, (level, node) in enumerate(wanted):
                values[f"l{i}"], values[f"n{i}"] = int(level), int(node)
            rows = store.session.execute(
                text(f"SELECT level, node, hash FROM {TreeNode.__tablename__} WHERE {lookups}"),
                values,
            )
            self._hashes = {(level, node): bytes(h) for level, node, h in rows}

    def tree_size(self) -> int:
        return self._store.tree_size()

    def leaf_hashes(self, start: int, end: int) -> Sequence[bytes]:
        return self._store.leaf_hashes(start, end)

    def subtree_hash(self, level: int, index: int) -> bytes | None:
        found = self._hashes.get((level, index))
        return found if found is not None else self._store.subtree_hash(level, index)

    def append(
        self, leaf_hashes: Sequence[bytes], subtrees: Sequence[tuple[int, int, bytes]]
    ) -> None:
        raise AuditError("a proof's read-ahead view of the tree cannot append")


@dataclass(frozen=True)
class StoredEntries:
    """Leaves ``start`` up to ``stop`` of a log in a database, as stored: iterable here,
    and readable by range in another process, which opens the database by its URL."""

    engine: Engine
    start: int
    stop: int

    def __iter__(self) -> Iterator[LogEntry]:
        return read_entries(self.engine, self.start, self.stop)

    @property
    def url(self) -> str | None:
        """Where another process finds the same rows (None: an in-memory database)."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and sqlite_file(url) is None:
            return None
        return url.render_as_string(hide_password=False)


def read_entries(engine: Engine, start: int, stop: int) -> Iterator[LogEntry]:
    """The leaves with indexes ``start`` up to ``stop``, in order, each with its stored
    leaf hash and index.

    Read from the records table (the leaf bytes) joined to the tree (the hash), so a
    record deleted, moved or altered in either place shows up in verification. Rows
    come straight from the DB-API cursor, :data:`BATCH` per query: SQLAlchemy result
    rows cost about a microsecond each, a tenth of verifying a record besides its
    signature.
    """
    after = start - 1
    index_col = col(DecisionRecord.leaf_index)
    while True:
        query = (
            select(index_col, col(DecisionRecord.leaf), col(TreeNode.hash))
            .outerjoin(
                TreeNode,
                and_(col(TreeNode.level) == 0, col(TreeNode.node) == index_col),
            )
            .where(index_col > after, index_col < stop)
            .order_by(index_col)
            .limit(BATCH)
        )
        with engine.connect() as conn:
            # Only integers are bound, so they are written into the SQL: no
            # driver-specific parameter style.
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            cursor = conn.connection.cursor()
            try:
                cursor.execute(sql)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        if not rows:
            return
        for index, leaf, stored in rows:
            yield LogEntry(bytes(leaf), None if stored is None else bytes(stored), index)
        after = int(rows[-1][0])


def _prefetched(s: Session, ranges: Iterable[tuple[int, int]]) -> MerkleLog:
    """The tree in ``s`` with the subtree hashes of ``ranges`` (a proof's) read ahead."""
    nodes = [node for lo, hi in ranges for node in range_subtrees(lo, hi)]
    return MerkleLog(_PrefetchedTree(SqlTreeStore(s), nodes))


def _latest(s: Session) -> SignedCheckpoint | None:
    return s.scalars(
        select(SignedCheckpoint)
        .order_by(col(SignedCheckpoint.size).desc(), col(SignedCheckpoint.seq).desc())
        .limit(1)
    ).first()


def _indexed(row: DecisionRecord) -> int:
    if row.leaf_index is None:
        raise VerificationError(
            f"decision {row.application_id}", expected="a leaf index", found="none yet"
        )
    return row.leaf_index
