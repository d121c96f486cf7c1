"""An independent verifier for the audit log, written from the specifications only.

It shares no code with ``approvals``: only ``hashlib``, ``base64`` and
``cryptography``'s Ed25519. Sources:

* RFC 9162 §2.1.1 (hashes), §2.1.3.2 (inclusion), §2.1.4.2 (consistency);
* C2SP signed-note (format, key ID, Ed25519) and tlog-checkpoint (note body);
* the ``name+hex+base64`` verifier key form of Go's golang.org/x/mod/sumdb/note.

It is deliberately written in a different style from ``approvals.audit`` (bit
arithmetic over the proof as a stack, explicit byte handling) so that a shared
misreading of the spec is less likely.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Rejected(Exception):
    pass


def _b64(text: str) -> bytes:
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise Rejected(f"non-canonical base64 {text!r}")
    return raw


def _h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def rfc9162_leaf_hash(entry: bytes) -> bytes:
    return _h(b"\x00", entry)


def open_checkpoint(note: str, verifier_key: str) -> tuple[str, int, bytes]:
    """Check a checkpoint signed note against one ``name+hex+base64`` key; return its body."""
    name, hex_id, material = verifier_key.split("+", 2)  # base64 may itself contain "+"
    raw_key = _b64(material)
    if len(raw_key) != 33 or raw_key[0] != 1:
        raise Rejected("not an Ed25519 verifier key")
    key_id = _h(name.encode(), b"\n", raw_key)[:4]  # SHA-256(name || 0x0A || 0x01 || pub)[:4]
    if key_id.hex() != hex_id:
        raise Rejected("verifier key hash mismatch")
    public = Ed25519PublicKey.from_public_bytes(raw_key[1:])

    if not note.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in note):
        raise Rejected("malformed note")
    cut = note.rindex("\n\n")
    text, signature_lines = note[: cut + 1], note[cut + 2 :].splitlines()
    good = 0
    for line in signature_lines:
        if not line.startswith("\u2014 "):
            raise Rejected(f"bad signature line {line!r}")
        sig_name, blob = line[2:].split(" ")
        sig = _b64(blob)
        if sig_name != name or sig[:4] != key_id:
            continue  # unknown key: ignored per the spec
        try:
            public.verify(sig[4:], text.encode())
        except InvalidSignature as exc:
            raise Rejected("bad signature from the known key") from exc
        good += 1
    if good == 0:
        raise Rejected("no signature from the known key")

    lines = text.split("\n")[:-1]
    if len(lines) < 3:
        raise Rejected("checkpoint body too short")
    origin, size, root = lines[0], lines[1], _b64(lines[2])
    if origin != name:
        raise Rejected("checkpoint origin is not the key name")
    if not size.isdigit() or (size != "0" and size.startswith("0")) or len(root) != 32:
        raise Rejected("bad checkpoint size or root")
    return origin, int(size), root


def check_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2, steps 1-5."""
    if index >= size:
        raise Rejected("index beyond size")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if len(p) != 32:
            raise Rejected("hash length")
        if sn == 0:
            raise Rejected("path too long")
        if fn % 2 == 1 or fn == sn:
            r = _h(b"\x01", p, r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = _h(b"\x01", r, p)
        fn //= 2
        sn //= 2
    if sn != 0 or r != root:
        raise Rejected("inclusion proof does not lead to the root")


def check_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                      path: list[bytes]) -> None:
    """RFC 9162 §2.1.4.2, steps 1-7 (for 0 < first < second)."""
    if not 0 < first < second:
        raise Rejected("sizes out of range for a consistency proof")
    if not path:
        raise Rejected("empty consistency path")
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Rejected("path too long")
        if fn % 2 == 1 or fn == sn:
            fr = _h(b"\x01", c, fr)
            sr = _h(b"\x01", c, sr)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            sr = _h(b"\x01", sr, c)
        fn //= 2
        sn //= 2
    if not (fr == first_hash and sr == second_hash and sn == 0):
        raise Rejected("consistency proof does not match the roots")


def check_tlog_proof(proof: str, leaf: bytes, verifier_key: str) -> int:
    """C2SP tlog-proof: header, optional extra, index, hashes, blank line, checkpoint."""
    head, _, checkpoint = proof.partition("\n\n")
    lines = head.split("\n")
    if lines.pop(0) != "c2sp.org/tlog-proof@v1":
        raise Rejected("tlog-proof header")
    if lines and lines[0].startswith("extra "):
        lines.pop(0)
    if not lines or not lines[0].startswith("index "):
        raise Rejected("tlog-proof index")
    index = int(lines.pop(0)[6:])
    _, size, root = open_checkpoint(checkpoint, verifier_key)
    check_inclusion(rfc9162_leaf_hash(leaf), index, size, [_b64(x) for x in lines], root)
    return index
