"""Our checkpoints and proofs, checked by a verifier that shares no code with ours."""

import random

import pytest

from approvals.audit.checkpoint import Checkpoint, sign_checkpoint
from approvals.audit.keys import generate_signing_key, sandbox_signing_key
from approvals.audit.merkle import MemoryTreeStore, MerkleLog
from approvals.audit.record import sign_record
from approvals.audit.tlogproof import build_tlog_proof
from audit_independent_verifier import (
    Rejected,
    check_consistency,
    check_inclusion,
    check_tlog_proof,
    open_checkpoint,
    rfc9162_leaf_hash,
)

ORIGIN = "approvals.test/log"


@pytest.fixture(scope="module")
def world() -> tuple[MerkleLog, list[bytes], str, str, str]:
    key = generate_signing_key(ORIGIN)
    leaves = [sign_record({"decision_id": f"D-{i}", "outcome": "approve"}, key).leaf
              for i in range(1000)]
    log = MerkleLog(MemoryTreeStore())
    log.append(leaves[:357])
    old_note = sign_checkpoint(Checkpoint(ORIGIN, 357, log.root()), key)
    log.append(leaves[357:])
    note = sign_checkpoint(Checkpoint(ORIGIN, 1000, log.root()), key)
    return log, leaves, old_note, note, key.verifier.text


def test_independent_verifier_accepts_our_checkpoint(world) -> None:  # type: ignore[no-untyped-def]
    log, _, old_note, note, vkey = world
    assert open_checkpoint(note, vkey) == (ORIGIN, 1000, log.root())
    assert open_checkpoint(old_note, vkey) == (ORIGIN, 357, log.root(357))
    with pytest.raises(Rejected):
        open_checkpoint(note.replace("\n1000\n", "\n1001\n"), vkey)
    with pytest.raises(Rejected):
        open_checkpoint(note, generate_signing_key(ORIGIN).verifier.text)


def test_independent_verifier_accepts_our_inclusion_proofs(world) -> None:  # type: ignore[no-untyped-def]
    log, leaves, _, _, _ = world
    rng = random.Random(7)
    for _ in range(200):
        size = rng.randint(1, 1000)
        index = rng.randrange(size)
        proof = log.inclusion_proof(index, size)
        check_inclusion(rfc9162_leaf_hash(leaves[index]), index, size, proof, log.root(size))
        with pytest.raises(Rejected):
            check_inclusion(rfc9162_leaf_hash(leaves[index] + b" "), index, size, proof,
                            log.root(size))


def test_independent_verifier_accepts_our_consistency_proofs(world) -> None:  # type: ignore[no-untyped-def]
    log, _, _, _, _ = world
    rng = random.Random(8)
    for _ in range(200):
        second = rng.randint(2, 1000)
        first = rng.randint(1, second - 1)
        proof = log.consistency_proof(first, second)
        check_consistency(first, second, log.root(first), log.root(second), proof)
    proof = log.consistency_proof(357, 1000)
    check_consistency(357, 1000, log.root(357), log.root(), proof)
    with pytest.raises(Rejected):
        check_consistency(357, 1000, log.root(356), log.root(), proof)


def test_independent_verifier_accepts_our_tlog_proofs(world) -> None:  # type: ignore[no-untyped-def]
    log, leaves, _, note, vkey = world
    for index in (0, 1, 356, 357, 998, 999):
        text = build_tlog_proof(log, index, note, extra=b"x").text
        assert check_tlog_proof(text, leaves[index], vkey) == index
    with pytest.raises(Rejected):
        check_tlog_proof(build_tlog_proof(log, 5, note).text, leaves[6], vkey)


def test_sandbox_key_checkpoint_interoperates() -> None:
    key = sandbox_signing_key(ORIGIN)
    log = MerkleLog(MemoryTreeStore())
    log.append([b"a", b"b", b"c"])
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, log.root()), key)
    assert open_checkpoint(note, key.verifier.text)[1] == 3
