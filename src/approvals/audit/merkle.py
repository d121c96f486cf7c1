"""The Merkle tree of the decision log, hashed exactly as RFC 9162 §2.1.

* leaf hash  ``SHA-256(0x00 || d)``             (§2.1.1, domain-separated from nodes)
* node hash  ``SHA-256(0x01 || left || right)``  (§2.1.1)
* MTH of n > 1 leaves splits at k, the largest power of two smaller than n (§2.1.1)
* inclusion proofs  generate §2.1.3.1, verify §2.1.3.2
* consistency proofs generate §2.1.4.1, verify §2.1.4.2

Every hash a proof needs is the hash of a *complete* subtree of 2^k leaves at an
aligned position, or a short chain of them along the right edge of the tree. A
:class:`TreeStore` keeps those complete-subtree hashes as leaves are appended, so
a proof costs O(log n) hash lookups however large the log is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from approvals.audit.errors import AuditError, OutOfRangeError, VerificationError

HASH_SIZE = 32

#: MTH({}) = SHA-256() — RFC 9162 §2.1.1: the hash of the empty tree.
EMPTY_ROOT = hashlib.sha256(b"").digest()


#: SHA-256 state after the leaf prefix 0x00; copying it hashes a leaf without copying it.
_LEAF_PREFIX_STATE = hashlib.sha256(b"\x00")


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d0}) = SHA-256(0x00 || d0)."""
    h = _LEAF_PREFIX_STATE.copy()
    h.update(data)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x01 || MTH(left) || MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``): k < n <= 2k."""
    return 1 << ((n - 1).bit_length() - 1)


class RootAccumulator:
    """Streams leaf hashes in and yields the MTH of everything seen so far.

    Holds one hash per set bit of the size (the complete subtrees along the left
    edge, largest first), so a million leaves need about 20 hashes of memory.
    Folding them right to left is exactly the §2.1.1 recursion, because the left
    part of each split is the largest complete subtree.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def append(self, leaf: bytes) -> None:
        h = leaf
        n = self.size
        while n & 1:
            h = node_hash(self._stack.pop(), h)
            n >>= 1
        self._stack.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        r = self._stack[-1]
        for h in reversed(self._stack[:-1]):
            r = node_hash(h, r)
        return r


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of a sequence of leaf hashes (streaming; any length)."""
    acc = RootAccumulator()
    for h in leaf_hashes:
        acc.append(h)
    return acc.root()


class TreeStore(Protocol):
    """Where the log keeps leaf hashes and complete-subtree hashes.

    A complete subtree at ``(level, index)`` covers leaves
    ``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hash itself.
    A SQL implementation keeps a ``(level, index) -> hash`` table beside the leaves
    and writes both in the transaction that assigns leaf indexes.
    """

    def tree_size(self) -> int:
        """Number of leaves stored."""
        ...

    def leaf_hashes(self, start: int, end: int) -> Sequence[bytes]:
        """Leaf hashes of leaves ``start`` (inclusive) to ``end`` (exclusive)."""
        ...

    def subtree_hash(self, level: int, index: int) -> bytes | None:
        """The stored complete-subtree hash, or None if it is not stored."""
        ...

    def append(
        self, leaf_hashes: Sequence[bytes], subtrees: Sequence[tuple[int, int, bytes]]
    ) -> None:
        """Atomically add leaves at ``tree_size()`` onwards and the subtrees they complete.

        ``subtrees`` holds ``(level, index, hash)`` with level >= 1, in the order
        they were completed (increasing index within each level).
        """
        ...


def completed_subtrees(
    start: int,
    leaf_hashes: Sequence[bytes],
    lookup: Callable[[int, int], bytes | None],
) -> list[tuple[int, int, bytes]]:
    """The complete subtrees (level >= 1) finished by appending ``leaf_hashes`` at ``start``.

    Appending leaf i completes one subtree per trailing 1-bit of i; each needs the
    hash of its left sibling, taken from this batch or from ``lookup`` (the store).
    """
    out: list[tuple[int, int, bytes]] = []
    fresh: dict[tuple[int, int], bytes] = {}

    def sibling(level: int, index: int) -> bytes:
        if level == 0 and index >= start:
            return leaf_hashes[index - start]
        h = fresh.get((level, index)) or lookup(level, index)
        if h is None:
            raise AuditError(f"tree store is missing subtree (level {level}, index {index})")
        return h

    for offset, h in enumerate(leaf_hashes):
        index, level, cur = start + offset, 0, h
        while index & 1:
            cur = node_hash(sibling(level, index - 1), cur)
            level, index = level + 1, index >> 1
            fresh[(level, index)] = cur
            out.append((level, index, cur))
    return out


class MerkleLog:
    """Append-only RFC 9162 tree over a :class:`TreeStore`; serves roots and proofs."""

    def __init__(self, store: TreeStore) -> None:
        self.store = store

    @property
    def size(self) -> int:
        return self.store.tree_size()

    def append(self, leaves: Iterable[bytes]) -> int:
        """Append leaf *data*; return the index of the first new leaf."""
        return self.append_hashes([leaf_hash(d) for d in leaves])

    def append_hashes(self, hashes: Sequence[bytes]) -> int:
        """Append precomputed leaf hashes; return the index of the first new leaf."""
        for h in hashes:
            if len(h) != HASH_SIZE:
                raise AuditError(f"leaf hash: expected {HASH_SIZE} bytes, found {len(h)}")
        start = self.store.tree_size()
        subtrees = completed_subtrees(start, hashes, self.store.subtree_hash)
        self.store.append(hashes, subtrees)
        return start

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        n = self.size if size is None else size
        self._check_size(n)
        return EMPTY_ROOT if n == 0 else self._range_hash(0, n)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf's sibling first."""
        self._check_size(size)
        if not 0 <= index < size:
            raise OutOfRangeError(
                f"inclusion proof: expected 0 <= index < size {size}, found {index}"
            )
        return [self._range_hash(lo, hi) for lo, hi in inclusion_ranges(index, size)]

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]); empty when size1 is 0 or size2."""
        self._check_size(size2)
        if not 0 <= size1 <= size2:
            raise OutOfRangeError(
                f"consistency proof: expected 0 <= from <= to ({size2}), found from {size1}"
            )
        return [self._range_hash(lo, hi) for lo, hi in consistency_ranges(size1, size2)]

    def _check_size(self, size: int) -> None:
        have = self.size
        if not 0 <= size <= have:
            raise OutOfRangeError(
                f"tree size: expected 0..{have} (leaves in the log), found {size}"
            )

    def _range_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range the §2.1.1 recursion produces."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            stored = self.store.subtree_hash(level, start >> level)
            if stored is not None:
                return stored
            return root_of(self.store.leaf_hashes(start, end))
        k = split_point(n)
        return node_hash(self._range_hash(start, start + k), self._range_hash(start + k, end))


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose MTHs are PATH(index, D[0:size]) (RFC 9162 §2.1.3.1),
    leaf's sibling first."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            ranges.append((lo + k, hi))
            hi = lo + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs are PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1);
    none when size1 is 0 or size2."""
    if size1 in (0, size2):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, size2, size1, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            ranges.append((lo + k, hi))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            ranges.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def range_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """The complete subtrees ``(level, index)`` whose hashes MTH(D[start:end]) is folded
    from by the §2.1.1 recursion (what :meth:`MerkleLog` asks its store for)."""
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return [(level, start >> level)]
    k = split_point(n)
    return range_subtrees(start, start + k) + range_subtrees(start + k, end)


class MemoryTreeStore:
    """In-memory :class:`TreeStore`: one packed ``bytearray`` of 32-byte hashes per level."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]

    def tree_size(self) -> int:
        return len(self._levels[0]) // HASH_SIZE

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        buf = self._levels[0]
        return [bytes(buf[i * HASH_SIZE : (i + 1) * HASH_SIZE]) for i in range(start, end)]

    def subtree_hash(self, level: int, index: int) -> bytes | None:
        if level >= len(self._levels) or index < 0:
            return None
        buf, off = self._levels[level], index * HASH_SIZE
        if off + HASH_SIZE > len(buf):
            return None
        return bytes(buf[off : off + HASH_SIZE])

    def append(
        self, leaf_hashes: Sequence[bytes], subtrees: Sequence[tuple[int, int, bytes]]
    ) -> None:
        counts: dict[int, int] = {}
        for level, index, h in subtrees:
            have = counts.get(level)
            if have is None:
                have = len(self._levels[level]) // HASH_SIZE if level < len(self._levels) else 0
            if level < 1 or index != have or len(h) != HASH_SIZE:
                raise AuditError(
                    f"subtree (level {level}, index {index}): expected level >= 1, "
                    f"index {have} and a {HASH_SIZE}-byte hash"
                )
            counts[level] = have + 1
        for h in leaf_hashes:
            self._levels[0] += h
        for level, _, h in subtrees:
            while len(self._levels) <= level:
                self._levels.append(bytearray())
            self._levels[level] += h


def inclusion_proof_size(index: int, size: int) -> int:
    """Number of hashes in PATH(index, D[0:size]) (RFC 9162 §2.1.3.1)."""
    count, lo, hi = 0, 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        lo, hi = (lo, lo + k) if index < lo + k else (lo + k, hi)
        count += 1
    return count


def consistency_proof_size(size1: int, size2: int) -> int:
    """Number of hashes in PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1)."""
    if size1 in (0, size2):
        return 0
    count, lo, hi, m, whole = 0, 0, size2, size1, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            hi = lo + k
        else:
            lo, m, whole = lo + k, m - k, False
        count += 1
    return count + (0 if whole else 1)


def _check_hash(what: str, h: bytes) -> None:
    if len(h) != HASH_SIZE:
        raise VerificationError(
            what, expected=f"a {HASH_SIZE}-byte SHA-256 hash", found=f"{len(h)} bytes"
        )


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: check that leaf hash ``leaf`` is at ``index`` in the tree ``root``.

    Raises :class:`VerificationError`. The proof length is checked against the
    length PATH has for this index and size before any hashing, so proofs made
    for another size or index, padded, or truncated are refused by name.
    """
    _check_hash("leaf hash", leaf)
    _check_hash("root hash", root)
    if size < 1 or not 0 <= index < size:
        raise VerificationError(
            "inclusion proof",
            expected="0 <= index < size, size >= 1",
            found=f"index {index}, size {size}",
        )
    want = inclusion_proof_size(index, size)
    if len(proof) != want:
        raise VerificationError(
            f"inclusion proof for index {index} in size {size}",
            expected=f"{want} hashes",
            found=f"{len(proof)}",
        )
    for i, p in enumerate(proof):
        _check_hash(f"inclusion proof hash {i}", p)
    fn, sn, r = index, size - 1, leaf  # steps 2-3
    for p in proof:  # step 4
        if sn == 0:  # 4a
            raise VerificationError(
                "inclusion proof", expected="shorter path", found="extra hashes"
            )
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1  # 4c
    if sn != 0 or r != root:  # step 5
        raise VerificationError(
            f"inclusion of leaf {index} in tree size {size}",
            expected=f"root {root.hex()}",
            found=f"root {r.hex()}",
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: check that tree (size1, root1) is a prefix of (size2, root2).

    ``size1 == 0`` is consistent with anything, with an empty proof, provided
    ``root1`` is MTH({}) (§2.1.1); ``size1 == size2`` needs equal roots and an
    empty proof. Raises :class:`VerificationError`.
    """
    _check_hash("first root hash", root1)
    _check_hash("second root hash", root2)
    if not 0 <= size1 <= size2:
        raise VerificationError(
            "consistency proof",
            expected="0 <= first size <= second size",
            found=f"first {size1}, second {size2}",
        )
    want = consistency_proof_size(size1, size2)
    if len(proof) != want:
        raise VerificationError(
            f"consistency proof from size {size1} to {size2}",
            expected=f"{want} hashes",
            found=f"{len(proof)}",
        )
    for i, c in enumerate(proof):
        _check_hash(f"consistency proof hash {i}", c)
    if size1 == 0:
        if root1 != EMPTY_ROOT:
            raise VerificationError("root of size 0", expected=EMPTY_ROOT.hex(), found=root1.hex())
        return
    if size1 == size2:
        if root1 != root2:
            raise VerificationError(
                f"roots of two trees of size {size1}", expected=root1.hex(), found=root2.hex()
            )
        return
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: first is an exact power of 2
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            raise VerificationError(
                "consistency proof", expected="shorter path", found="extra hashes"
            )
        if fn & 1 or fn == sn:  # 6b
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1  # 6c
    if sn != 0:  # step 7
        raise VerificationError(
            "consistency proof", expected="a path to the root", found="too few hashes"
        )
    if fr != root1:
        raise VerificationError(
            f"consistency proof: root of size {size1}", expected=root1.hex(), found=fr.hex()
        )
    if sr != root2:
        raise VerificationError(
            f"consistency proof: root of size {size2}", expected=root2.hex(), found=sr.hex()
        )
