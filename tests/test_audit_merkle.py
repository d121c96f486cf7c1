import hashlib
import time
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.audit.errors import AuditError, OutOfRangeError, VerificationError
from approvals.audit.merkle import (
    EMPTY_ROOT,
    MemoryTreeStore,
    MerkleLog,
    RootAccumulator,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# RFC 6962 reference test data, as published in transparency-dev/merkle
# proof/verify_test.go (originally Certificate Transparency's merkle_tree_test).
LEAVES = [bytes.fromhex(h) for h in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]]
ROOTS = [bytes.fromhex(h) for h in [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]]


def _h(hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes.split()]


# (leaf index 1-based as in the Go table, size, proof)
INCLUSION_VECTORS = [
    (1, 8, _h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7 "
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e "
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, _h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b "
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0 "
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (3, 3, _h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (2, 5, _h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d "
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e "
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]
CONSISTENCY_VECTORS = [
    (1, 8, _h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7 "
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e "
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, _h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a "
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0 "
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 5, _h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e "
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (6, 7, _h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a "
              "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f "
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]


# --- naive recursive reference, straight from the RFC 9162 §2.1 definitions ---

def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256().digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) <= 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def _log(leaves: Sequence[bytes]) -> MerkleLog:
    log = MerkleLog(MemoryTreeStore())
    log.append(leaves)
    return log


# --- published vectors ---

def test_rfc6962_roots_for_sizes_1_to_8() -> None:
    log = MerkleLog(MemoryTreeStore())
    for size, leaf in enumerate(LEAVES, start=1):
        log.append([leaf])  # one at a time: exercises incremental subtree caching
        assert log.root() == ROOTS[size - 1]
    assert [log.root(n) for n in range(1, 9)] == ROOTS
    assert log.root(0) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_empty_tree_root() -> None:
    assert MerkleLog(MemoryTreeStore()).root() == EMPTY_ROOT


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION_VECTORS)
def test_published_inclusion_proofs(leaf: int, size: int, proof: list[bytes]) -> None:
    log = _log(LEAVES)
    assert log.inclusion_proof(leaf - 1, size) == proof
    verify_inclusion(leaf_hash(LEAVES[leaf - 1]), leaf - 1, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY_VECTORS)
def test_published_consistency_proofs(size1: int, size2: int, proof: list[bytes]) -> None:
    log = _log(LEAVES)
    assert log.consistency_proof(size1, size2) == proof
    verify_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], proof)


def test_all_proofs_in_the_8_leaf_tree_verify() -> None:
    log = _log(LEAVES)
    for n in range(1, 9):
        for i in range(n):
            verify_inclusion(leaf_hash(LEAVES[i]), i, n, log.inclusion_proof(i, n), ROOTS[n - 1])
        for m in range(0, n + 1):
            verify_consistency(m, n, log.root(m), ROOTS[n - 1], log.consistency_proof(m, n))


# --- against the naive implementation, random sizes ---

@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 300), data=st.data())
def test_matches_naive_reference(size: int, data: st.DataObject) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(size)]
    log = MerkleLog(MemoryTreeStore())
    # Append in random batch sizes: the cached subtrees must not depend on batching.
    done = 0
    while done < size:
        step = data.draw(st.integers(1, size - done))
        log.append(leaves[done:done + step])
        done += step
    n = data.draw(st.integers(1, size))
    assert log.root(n) == naive_mth(leaves[:n])
    i = data.draw(st.integers(0, n - 1))
    proof = log.inclusion_proof(i, n)
    assert proof == naive_path(i, leaves[:n])
    verify_inclusion(leaf_hash(leaves[i]), i, n, proof, log.root(n))
    m = data.draw(st.integers(1, n))
    cproof = log.consistency_proof(m, n)
    assert cproof == (naive_subproof(m, leaves[:n], True) if m < n else [])
    verify_consistency(m, n, log.root(m), log.root(n), cproof)


def test_accumulator_matches_naive() -> None:
    leaves = [bytes([i]) for i in range(70)]
    acc = RootAccumulator()
    for n, leaf in enumerate(leaves, start=1):
        acc.append(leaf_hash(leaf))
        assert acc.root() == naive_mth(leaves[:n])


# --- forged proofs from a malicious server ---

SOME = hashlib.sha256(b"some").digest()


def _rejects_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except VerificationError:
        return True
    return False


def test_forged_inclusion_proofs_rejected() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(13)]
    log = _log(leaves)
    for n in range(1, 14):
        root = log.root(n)
        for i in range(n):
            lh, proof = leaf_hash(leaves[i]), log.inclusion_proof(i, n)
            probes = [
                (lh, i + 1, n, proof, root),  # another index
                (lh, i ^ 2, n, proof, root) if i ^ 2 != i else None,
                (lh, i, n + 1, proof, log.root(n + 1)) if n < 13 else None,  # another size
                (lh, i, n * 2, proof, root),
                (lh, i, max(n // 2, 1), proof, root) if n > 1 else None,
                (leaf_hash(b"wrong"), i, n, proof, root),
                (lh, i, n, proof, EMPTY_ROOT),
                (lh, i, n, proof, SOME),
                (lh, i, n, [*proof, b""], root),  # trailing garbage
                (lh, i, n, [*proof, root], root),
                (lh, i, n, [root, *proof], root),  # preceding root
                (lh, i, n, [SOME, *proof], root),
                (lh, n, n, proof, root),  # index == size
                (lh, n + 5, n, proof, root),
            ]
            for k in range(len(proof)):
                flipped = list(proof)
                flipped[k] = bytes([proof[k][0] ^ 8]) + proof[k][1:]
                probes.append((lh, i, n, flipped, root))
                probes.append((lh, i, n, proof[:k] + proof[k + 1:], root))  # removed
                reused = [*proof[:k], proof[k], *proof[k:]]  # a sibling used twice
                probes.append((lh, i, n, reused, root))
            for j in range(n):  # someone else's path for this leaf
                if j != i:
                    probes.append((lh, i, n, log.inclusion_proof(j, n), root))
            for probe in probes:
                if probe is None or (probe[1] == i and probe[2] == n and probe[3] == proof
                                     and probe[0] == lh and probe[4] == root):
                    continue
                assert _rejects_inclusion(*probe), (i, n, probe[1:3])


def test_interior_node_cannot_pose_as_a_leaf() -> None:
    # Second-preimage attempt: present the preimage of the node over leaves 0,1
    # (left || right) as if it were the data of one leaf. Because the verifier
    # hashes leaf data with 0x00 and nodes with 0x01 (RFC 9162 §2.1.1), the
    # forged leaf hash differs from the node hash and no path leads to the root.
    leaves = [b"a", b"b", b"c", b"d"]
    log = _log(leaves)
    forged_data = leaf_hash(b"a") + leaf_hash(b"b")
    assert leaf_hash(forged_data) != node_hash(leaf_hash(b"a"), leaf_hash(b"b"))
    path = log.inclusion_proof(0, 4)[1:]
    with pytest.raises(VerificationError, match="expected 2 hashes"):
        verify_inclusion(leaf_hash(forged_data), 0, 4, path, log.root())
    with pytest.raises(VerificationError, match="inclusion of leaf 0 in tree size 2"):
        verify_inclusion(leaf_hash(forged_data), 0, 2, path, log.root())


def test_inclusion_errors_say_expected_and_found() -> None:
    log = _log(LEAVES)
    proof = log.inclusion_proof(2, 8)
    with pytest.raises(VerificationError) as err:
        verify_inclusion(leaf_hash(LEAVES[2]), 2, 8, proof[:-1], ROOTS[7])
    assert "expected 3 hashes" in str(err.value) and "found 2" in str(err.value)
    with pytest.raises(VerificationError, match="index 8, size 8"):
        verify_inclusion(leaf_hash(LEAVES[2]), 8, 8, proof, ROOTS[7])
    with pytest.raises(VerificationError, match="32-byte"):
        verify_inclusion(b"short", 2, 8, proof, ROOTS[7])
    with pytest.raises(VerificationError, match="32-byte"):
        verify_inclusion(leaf_hash(LEAVES[2]), 2, 8, [*proof[:2], b"x"], ROOTS[7])


def test_forged_consistency_proofs_rejected() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(17)]
    log = _log(leaves)
    for n in range(2, 17):
        for m in range(1, n):
            r1, r2, proof = log.root(m), log.root(n), log.consistency_proof(m, n)
            verify_consistency(m, n, r1, r2, proof)
            probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
                (m - 1, n, r1, r2, proof) if m > 1 else (m, n, SOME, r2, proof),
                (m + 1, n, r1, r2, proof) if m + 1 < n else (m, n, r1, SOME, proof),
                (m, n * 2, r1, r2, proof),
                (m, n + 1, r1, log.root(n + 1), proof),
                (m, n, SOME, r2, proof),
                (m, n, r1, SOME, proof),
                (m, n, r2, r1, proof),
                (m, n, r1, r2, []),
                (m, n, r1, r2, [*proof, b""]),
                (m, n, r1, r2, [*proof, r1]),
                (m, n, r1, r2, [*proof, r2]),
                (m, n, r1, r2, [r1, *proof]),
                (m, n, r1, r2, [r2, *proof]),
                (m, n, r1, r2, [proof[0], *proof]),
                (m, n, r1, r2, proof[:-1]),
                (n, m, r2, r1, proof),  # time travel
            ]
            for k in range(len(proof)):
                flipped = list(proof)
                flipped[k] = bytes([proof[k][0] ^ 16]) + proof[k][1:]
                probes.append((m, n, r1, r2, flipped))
            for probe in probes:
                if probe[2] == r2 and probe[3] == r1 and r1 == r2:
                    continue
                with pytest.raises(VerificationError):
                    verify_consistency(*probe)


def test_consistency_edge_sizes() -> None:
    log = _log(LEAVES)
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    with pytest.raises(VerificationError, match="root of size 0"):
        verify_consistency(0, 5, ROOTS[0], ROOTS[4], [])
    with pytest.raises(VerificationError, match="expected 0 hashes"):
        verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [SOME])
    verify_consistency(5, 5, ROOTS[4], ROOTS[4], [])
    with pytest.raises(VerificationError, match="roots of two trees of size 5"):
        verify_consistency(5, 5, ROOTS[4], ROOTS[5], [])
    with pytest.raises(VerificationError, match="first 6, second 5"):
        verify_consistency(6, 5, ROOTS[5], ROOTS[4], [])
    assert log.consistency_proof(0, 8) == [] and log.consistency_proof(8, 8) == []


def test_proof_requests_outside_the_log_refused() -> None:
    log = _log(LEAVES)
    with pytest.raises(OutOfRangeError, match="found 9"):
        log.inclusion_proof(0, 9)
    with pytest.raises(OutOfRangeError, match="found 8"):
        log.inclusion_proof(8, 8)
    with pytest.raises(OutOfRangeError):
        log.consistency_proof(5, 4)
    with pytest.raises(OutOfRangeError):
        log.root(9)
    with pytest.raises(AuditError, match="32 bytes"):
        log.append_hashes([b"short"])


# --- the store: cached subtrees, O(log n) lookups, scale ---

class CountingStore(MemoryTreeStore):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        self.leaf_reads = 0

    def subtree_hash(self, level: int, index: int) -> bytes | None:
        self.lookups += 1
        return super().subtree_hash(level, index)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        self.leaf_reads += end - start
        return super().leaf_hashes(start, end)


def test_proofs_use_logarithmic_lookups() -> None:
    store = CountingStore()
    log = MerkleLog(store)
    n = (1 << 15) + 12345
    log.append_hashes([hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)])
    depth = n.bit_length()
    for index, size in [(0, n), (n - 1, n), (12345, n), (777, 1000), (20000, n - 3)]:
        store.lookups = 0
        log.inclusion_proof(index, size)
        assert store.lookups <= 2 * depth, store.lookups
    for m, size in [(1, n), (n - 1, n), (1000, 1001), (12345, n)]:
        store.lookups = 0
        log.consistency_proof(m, size)
        assert store.lookups <= 2 * depth, store.lookups
    assert store.leaf_reads == 0  # every hash came from a cached complete subtree


class ForgetfulStore(MemoryTreeStore):
    """Keeps only the lowest levels: proofs must still come out right (slower)."""

    def subtree_hash(self, level: int, index: int) -> bytes | None:
        return super().subtree_hash(level, index) if level <= 2 else None


def test_missing_cached_subtrees_fall_back_to_leaves() -> None:
    leaves = [bytes([i]) for i in range(45)]
    log = MerkleLog(ForgetfulStore())
    log.append(leaves)
    assert log.root() == naive_mth(leaves)
    assert log.inclusion_proof(17, 45) == naive_path(17, leaves)


def test_store_refuses_out_of_order_subtrees() -> None:
    store = MemoryTreeStore()
    with pytest.raises(AuditError, match="expected level >= 1, index 0"):
        store.append([SOME, SOME], [(1, 1, SOME)])


def test_million_leaves_serve_fast_proofs() -> None:
    n = 1_000_000
    log = MerkleLog(MemoryTreeStore())
    batch = 50_000
    for start in range(0, n, batch):
        log.append_hashes([hashlib.sha256(i.to_bytes(4, "big")).digest()
                           for i in range(start, start + batch)])
    acc = RootAccumulator()
    for h in log.store.leaf_hashes(0, n):
        acc.append(h)
    root = log.root()
    assert root == acc.root()
    began = time.perf_counter()
    for index in range(0, n, 1000):
        proof = log.inclusion_proof(index, n)
        verify_inclusion(log.store.leaf_hashes(index, index + 1)[0], index, n, proof, root)
    old = log.root(654_321)
    cproof = log.consistency_proof(654_321, n)
    verify_consistency(654_321, n, old, root, cproof)
    elapsed = time.perf_counter() - began
    assert elapsed < 5.0, f"1000 inclusion proofs + verifications took {elapsed:.2f}s"
