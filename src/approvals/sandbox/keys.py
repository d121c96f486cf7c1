"""The sandbox issuers' private keys, derived from their ids.

SANDBOX ONLY. Real issuers keep their keys in their own HSMs; the sandbox needs keys
that anyone can re-derive so that fixtures, tests and golden files are reproducible:
the 32-byte Ed25519 seed (RFC 8032 §5.1.5) is SHA-256("approvals-sandbox-issuer:" + id),
with "#<generation>" appended for rotated keys after the first. The matching public keys
are committed in `licences/issuers/*.yaml`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from approvals.licence.errors import UnknownKey
from approvals.licence.keys import key_id_of
from approvals.licence.trust import TrustList

SEED_PREFIX = b"approvals-sandbox-issuer:"
MAX_GENERATIONS = 9  # how many rotations `signing_key` looks through


@functools.lru_cache(maxsize=256)
def issuer_private_key(issuer_id: str, generation: int = 1) -> Ed25519PrivateKey:
    """The sandbox private key of `issuer_id` (generation 1 is the first key).

    Derived once per issuer and generation: loading a private key computes its public
    key (~54 µs), and every licence the sandbox issues asks for its issuer's key."""
    if generation < 1:
        raise ValueError(f"generation: expected 1 or more, found {generation}")
    label = issuer_id if generation == 1 else f"{issuer_id}#{generation}"
    seed = hashlib.sha256(SEED_PREFIX + label.encode("utf-8")).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_key(trust: TrustList, issuer_id: str, on: dt.date) -> tuple[Ed25519PrivateKey, str]:
    """The sandbox private key an issuer signs with on `on`, and its key id.

    The trust list says which key is current on that date (key rotation); this finds
    the derived key that matches it.
    """
    wanted = trust.issuer(issuer_id).signing_key_on(on).key_id
    for generation in range(1, MAX_GENERATIONS + 1):
        key = issuer_private_key(issuer_id, generation)
        if key_id_of(key) == wanted:
            return key, wanted
    raise UnknownKey(
        f"issuer {issuer_id} signs on {on} with key {wanted}, which is not a sandbox key "
        f"(generations 1..{MAX_GENERATIONS} of {issuer_id!r})"
    )
