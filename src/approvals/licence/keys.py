"""Ed25519 issuer keys: encoding and key ids.

A key id is the lowercase hex of the first 4 bytes of SHA-256 over the raw 32-byte
public key (RFC 8032 §5.1.5 encoding). It is short enough to read in a licence and,
like the 4-byte key hash of C2SP signed notes, only has to tell one issuer's keys
apart: the issuer id says whose key it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from approvals.licence.errors import InvalidCode


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """8 hex characters: SHA-256(raw public key)[:4]."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return hashlib.sha256(raw_public_key(public)).digest()[:4].hex()


def public_key_b64(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Standard base64 of the raw public key, as written in `licences/issuers/*.yaml`."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(raw_public_key(public)).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCode(f"public key is not valid base64: {exc}") from exc
    if len(raw) != 32:
        raise InvalidCode(f"Ed25519 public key: expected 32 bytes, found {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)
