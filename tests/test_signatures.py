"""Remembered verifications never let a forgery through."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from approvals.signatures import InvalidSignature, VerifiedSignatures


def test_only_the_exact_signed_triple_is_remembered() -> None:
    memory = VerifiedSignatures()
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    message = b'{"licence":"A","valid_to":"2030-01-01"}'
    signature = key.sign(message)

    memory.verify(key.public_key(), signature, message)
    memory.verify(key.public_key(), signature, message)
    assert (memory.checks, memory.hits) == (1, 1)

    # The same signature over altered content, or checked against another key, or an
    # altered signature over the same content: each checked, each refused, every time.
    for _ in range(2):
        with pytest.raises(InvalidSignature):
            memory.verify(key.public_key(), signature, message.replace(b"2030", b"2099"))
        with pytest.raises(InvalidSignature):
            memory.verify(other.public_key(), signature, message)
        with pytest.raises(InvalidSignature):
            memory.verify(key.public_key(), bytes([signature[0] ^ 1]) + signature[1:], message)
    assert memory.hits == 1


def test_memory_is_bounded() -> None:
    memory = VerifiedSignatures(max_entries=8)
    key = Ed25519PrivateKey.generate()
    for n in range(50):
        message = str(n).encode()
        memory.verify(key.public_key(), key.sign(message), message)
        assert len(memory._seen) <= 8
    # The newest are still remembered, the oldest were checked again.
    last = b"49"
    memory.verify(key.public_key(), key.sign(last), last)
    assert memory.hits == 1
