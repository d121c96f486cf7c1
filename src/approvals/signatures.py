"""Ed25519 verification that remembers what already verified.

A decision reads the same signed things again and again: the consent grant token that
every read of one gather carries, and the licences a citizen holds, re-read and
re-verified on every application (docs/architecture.md, "What the engine sees"). An
Ed25519 check costs ~70 µs of CPU; for a signed decision it was the largest single cost
after HTTP (docs/performance.md).

Verification is a pure function of (public key, signature, message), so its success
can be remembered safely, keyed by the SHA-256 of all three (2 µs for a licence; a
collision would need a SHA-256 collision). Only successes are remembered: a forgery is
checked, and refused, every time. What the signature covers is still computed and
everything else about a token or licence (audience, expiry, revocation, validity
dates, the trust list's key dates) is still checked on every read by the callers.
"""

from __future__ import annotations

import hashlib
import threading
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

#: Remembered successes at most (32-byte keys: about 5 MB when full).
MAX_REMEMBERED = 65_536


K = TypeVar("K")
V = TypeVar("V")


def remember(seen: dict[K, V], key: K, value: V, max_entries: int) -> None:
    """`seen[key] = value`, first dropping the oldest half if `seen` is full (dicts keep
    insertion order): a bound on memory only. Call under the lock that guards `seen`."""
    if len(seen) >= max_entries:
        for old in list(seen)[: max_entries // 2]:
            del seen[old]
    seen[key] = value


class VerifiedSignatures:
    def __init__(self, max_entries: int = MAX_REMEMBERED) -> None:
        self.max_entries = max_entries
        self._seen: dict[bytes, None] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.checks = 0

    def verify(self, public: Ed25519PublicKey, signature: bytes, message: bytes) -> None:
        """Raise `InvalidSignature` unless `signature` is `public`'s over `message`."""
        digest = hashlib.sha256()
        digest.update(public.public_bytes_raw())
        digest.update(signature)
        digest.update(message)
        key = digest.digest()
        if key in self._seen:
            self.hits += 1
            return
        public.verify(signature, message)  # raises InvalidSignature
        self.checks += 1
        with self._lock:
            remember(self._seen, key, None, self.max_entries)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


#: The process's memory of verified signatures (licences, grant tokens).
VERIFIED = VerifiedSignatures()

__all__ = ["VERIFIED", "InvalidSignature", "VerifiedSignatures", "remember"]
