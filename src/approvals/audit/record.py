"""The signed decision record envelope, and the leaf bytes it puts in the log.

A decision record is a JSON object. Before signing it is stamped with

* ``key_id``: the record key id ``<key name>+<hex key ID>`` of the signing key
  (C2SP signed-note key ID, see :mod:`approvals.audit.keys`), and
* ``log_origin``: the key name, which is also the log origin of the checkpoints
  (C2SP tlog-checkpoint: "The log's key name in its signature line SHOULD match
  the origin line").

The signed bytes are ``canonical_json(record)`` (RFC 8785). The Merkle leaf is

    canonical_json({"record": record,
                    "signature": {"alg": "Ed25519", "key_id": ..., "value": base64(sig)}})

and its leaf hash is ``SHA-256(0x00 || leaf)`` (RFC 9162 §2.1.1). Because RFC 8785
sorts member names and ``"record" < "signature"``, the leaf is literally
``{"record":`` + signed bytes + ``,"signature":`` + canonical signature + ``}``;
an auditor can cut the signed bytes out of the leaf with a text editor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from approvals.audit import leafcheck
from approvals.audit.canonical import (
    canonical_json,
    encode_canonical,
    is_canonical,
    to_json_value,
)
from approvals.audit.encoding import b64decode_strict, b64encode
from approvals.audit.errors import AuditError, VerificationError
from approvals.audit.keys import Keyring, SigningKey
from approvals.audit.merkle import leaf_hash

#: Whether verification asks the C check (_leafcheck.c) first. Only tests turn it off,
#: to compare the fast path's verdicts and messages with the Python path's.
FAST_PATH = leafcheck.AVAILABLE

SIGNATURE_ALG = "Ed25519"
_LEAF_PREFIX = b'{"record":'
_SIGNATURE_MEMBER = b',"signature":'


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """A record, its signature and the leaf bytes that go into the Merkle log."""

    record: dict[str, Any]
    signed_bytes: bytes
    signature: bytes
    key_id: str
    leaf: bytes

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf)


def signed_bytes_of(leaf: bytes) -> bytes:
    """The record's signed bytes inside a leaf this module built (the log stores only the
    leaf). For a leaf not yet verified, `LeafVerifier` checks the layout first."""
    if not leaf.startswith(_LEAF_PREFIX):
        raise ValueError("not a leaf: it does not start with {\"record\":")
    # The signature object's members are strings, whose quotes are escaped, so the last
    # ',"signature":' is the one after the record.
    return leaf[len(_LEAF_PREFIX) : leaf.rindex(_SIGNATURE_MEMBER)]


def _signature_object(key_id: str, signature: bytes) -> dict[str, str]:
    return {"alg": SIGNATURE_ALG, "key_id": key_id, "value": b64encode(signature)}


def _leaf_from_parts(signed_bytes: bytes, signature_obj: Mapping[str, str]) -> bytes:
    return _LEAF_PREFIX + signed_bytes + _SIGNATURE_MEMBER + canonical_json(signature_obj) + b"}"


def sign_record(record: Mapping[str, Any], signer: SigningKey) -> SignedRecord:
    """Stamp ``key_id``/``log_origin`` on a copy of ``record``, sign it, build its leaf.

    If ``record`` already carries ``key_id`` or ``log_origin`` they must name
    ``signer``; a record can never claim a key other than the one that signs it.
    """
    # Already plain JSON (the service's records are): a shallow copy to stamp, not a walk.
    value = dict(record) if leafcheck.is_plain(record) else to_json_value(record)
    if not isinstance(value, dict):
        raise AuditError(f"record: expected a JSON object, found {type(record).__name__}")
    for field, want in (("key_id", signer.record_key_id), ("log_origin", signer.name)):
        have = value.get(field, want)
        if have != want:
            raise AuditError(f"record {field}: expected {want!r} (the signing key), found {have!r}")
        value[field] = want
    signed_bytes = encode_canonical(value)  # already plain JSON: no second walk
    signature = signer.sign(signed_bytes)
    leaf = _leaf_from_parts(signed_bytes, _signature_object(signer.record_key_id, signature))
    return SignedRecord(value, signed_bytes, signature, signer.record_key_id, leaf)


def _parse_leaf(leaf: bytes) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    try:
        # orjson is strict JSON (no NaN/Infinity, no lone surrogates, UTF-8 only) and
        # parses a 5 KB leaf about three times faster than json.loads.
        obj = orjson.loads(leaf)
    except orjson.JSONDecodeError as exc:
        raise VerificationError(
            "leaf", expected="UTF-8 JSON", found=f"undecodable bytes ({exc})"
        ) from exc
    if not isinstance(obj, dict) or set(obj) != {"record", "signature"}:
        found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise VerificationError(
            "leaf", expected="an object with exactly 'record' and 'signature'", found=str(found)
        )
    record, sig = obj["record"], obj["signature"]
    if not isinstance(record, dict):
        raise VerificationError("leaf record", expected="an object", found=type(record).__name__)
    if not isinstance(sig, dict) or set(sig) != {"alg", "key_id", "value"}:
        found = sorted(sig) if isinstance(sig, dict) else type(sig).__name__
        raise VerificationError(
            "leaf signature", expected="an object with alg, key_id, value", found=str(found)
        )
    return obj, record, sig


def verify_record(leaf: bytes, keyring: Keyring, *, check_canonical: bool = True) -> dict[str, Any]:
    """Check a leaf's record signature against ``keyring``; return the record.

    Raises :class:`VerificationError` naming what was expected and found. With
    ``check_canonical`` (the default) the leaf must also be exactly the RFC 8785
    form of its content, so a record has one and only one valid leaf; without it
    the signed bytes are cut from the leaf as the module docstring describes
    (faster for bulk checks; the signature still pins those exact bytes).
    """
    leaf_obj, record, sig = _parse_leaf(leaf)
    if sig["alg"] != SIGNATURE_ALG:
        raise VerificationError("signature alg", expected=SIGNATURE_ALG, found=repr(sig["alg"]))
    key_id, value = sig["key_id"], sig["value"]
    if not isinstance(key_id, str) or not isinstance(value, str):
        raise VerificationError("signature", expected="string key_id and value", found=repr(sig))
    signature = b64decode_strict(value)
    if signature is None or len(signature) != 64:
        found = "non-canonical base64" if signature is None else f"{len(signature)} bytes"
        raise VerificationError("signature value", expected="base64 of 64 bytes", found=found)
    if record.get("key_id") != key_id:
        raise VerificationError(
            "record key_id",
            expected=f"the signature's key id {key_id!r}",
            found=repr(record.get("key_id")),
        )
    key = keyring.get(key_id)
    if record.get("log_origin") != key.name:
        raise VerificationError(
            "record log_origin",
            expected=f"{key.name!r} (the signing key's name)",
            found=repr(record.get("log_origin")),
        )

    if check_canonical:
        # The leaf must be the RFC 8785 form of what it parses to: one encode of the
        # whole leaf, compared byte for byte.
        try:
            canonical = (FAST_PATH and leafcheck.is_canonical(leaf)) or is_canonical(
                leaf, leaf_obj
            )
        except AuditError as exc:
            raise VerificationError(
                "record", expected="RFC 8785 encodable JSON", found=str(exc)
            ) from exc
        if not canonical:
            raise VerificationError(
                "leaf encoding",
                expected="the RFC 8785 canonical form of its content",
                found="different bytes (non-canonical or altered encoding)",
            )
        # A canonical leaf is '{"record":' + canonical(record) + ',"signature":' +
        # canonical(signature) + '}'. The signature object's members are strings, whose
        # quotes are escaped, so the last ',"signature":' is the one after the record.
        end = leaf.rindex(_SIGNATURE_MEMBER)
    else:
        suffix = _SIGNATURE_MEMBER + canonical_json(sig) + b"}"
        if not (leaf.startswith(_LEAF_PREFIX) and leaf.endswith(suffix)):
            raise VerificationError(
                "leaf layout",
                expected='{"record":<record>,"signature":<canonical signature>}',
                found="another layout",
            )
        end = len(leaf) - len(suffix)

    signed = memoryview(leaf)[len(_LEAF_PREFIX) : end]  # the signed bytes, not copied
    if not key.verify(signed, signature):
        raise VerificationError(
            "record signature",
            expected=f"a valid Ed25519 signature by {key.record_key_id} over the record",
            found="a signature that does not verify (record or signature altered)",
        )
    if not check_canonical:
        # The returned record must be exactly what was signed.
        try:
            parsed = orjson.loads(signed)
        except orjson.JSONDecodeError as exc:
            raise VerificationError("leaf layout", expected="JSON", found=str(exc)) from exc
        if parsed != record:
            raise VerificationError(
                "leaf layout", expected="the signed record", found="a different record value"
            )
    return record


class LeafVerifier:
    """:func:`verify_record` for a stream of leaves, returning only the record's
    ``log_origin`` (what :func:`approvals.audit.verify.verify_log` compares).

    Most leaves take the fast path: the C check (_leafcheck.c) finds the leaf
    definitely canonical in one pass over its bytes and hands back the signed bytes'
    offsets and the five strings the checks need, so no Python object is built for
    the record. The checks are :func:`verify_record`'s. A leaf the C check is not
    sure of, or that fails any check, goes through :func:`verify_record` itself, so
    every verdict and every error message is the Python path's.
    """

    __slots__ = ("_check_canonical", "_keyring")

    def __init__(self, keyring: Keyring, *, check_canonical: bool = True) -> None:
        self._keyring = keyring
        self._check_canonical = check_canonical

    def __call__(self, leaf: bytes) -> Any:
        if FAST_PATH and self._check_canonical:
            origin = self._fast(leaf)
            if origin is not None:
                return origin
        return verify_record(leaf, self._keyring, check_canonical=self._check_canonical).get(
            "log_origin"
        )

    def _fast(self, leaf: bytes) -> str | None:
        """The record's log_origin if every check passes; None if not sure or failed."""
        parts = leafcheck.leaf(leaf)
        if parts is None:
            return None
        start, end, record_key_id, origin, alg, key_id, value = parts
        if alg != SIGNATURE_ALG or record_key_id != key_id:
            return None
        signature = b64decode_strict(value)
        if signature is None or len(signature) != 64:
            return None
        try:
            key = self._keyring.get(key_id)
        except VerificationError:
            return None
        if origin != key.name or not key.verify(memoryview(leaf)[start:end], signature):
            return None
        return origin
