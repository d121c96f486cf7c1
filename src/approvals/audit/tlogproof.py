"""C2SP tlog-proof (https://c2sp.org/tlog-proof): an offline proof that an entry is logged.

    c2sp.org/tlog-proof@v1
    [extra <base64 opaque data>]
    index <zero-based decimal, no leading zeroes>
    <base64 inclusion proof hash, leaf's sibling first>...
    <empty line>
    <the signed checkpoint note, verbatim>

The inclusion proof is RFC 6962 §2.1.1 / RFC 9162 §2.1.3 PATH for the index in the
checkpoint's tree size.
"""

from __future__ import annotations

from dataclasses import dataclass

from approvals.audit.checkpoint import Checkpoint, checkpoint_of_note, open_checkpoint
from approvals.audit.encoding import b64decode_strict, b64encode
from approvals.audit.errors import VerificationError
from approvals.audit.keys import Keyring
from approvals.audit.merkle import HASH_SIZE, MerkleLog, verify_inclusion

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True, slots=True)
class TlogProof:
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    @property
    def text(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64encode(h) for h in self.hashes)
        return "\n".join(lines) + "\n\n" + self.checkpoint


def build_tlog_proof(
    log: MerkleLog, index: int, checkpoint_note: str, extra: bytes | None = None
) -> TlogProof:
    """A proof of entry ``index`` in the tree of the (already signed) checkpoint note."""
    checkpoint = checkpoint_of_note(checkpoint_note)
    hashes = log.inclusion_proof(index, checkpoint.size)
    if log.root(checkpoint.size) != checkpoint.root_hash:
        raise VerificationError(
            f"checkpoint root at size {checkpoint.size}",
            expected="the log's root at that size",
            found="a different root (checkpoint from another log?)",
        )
    return TlogProof(index, tuple(hashes), checkpoint_note, extra)


def _bad(found: str) -> VerificationError:
    return VerificationError("tlog-proof", expected="a c2sp.org/tlog-proof@v1 proof", found=found)


def _decimal(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0"):
        return None
    value = int(text)
    return value if value < 1 << 64 else None


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse the proof's syntax; nothing is verified (see :func:`verify_tlog_proof`)."""
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise _bad("no empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise _bad(f"first line {lines[0][:40]!r}")
    pos, extra = 1, None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = b64decode_strict(lines[pos][len("extra ") :])
        if extra is None:
            raise _bad("extra data that is not base64")
        pos += 1
    if pos >= len(lines) or not lines[pos].startswith("index "):
        raise _bad("no 'index N' line")
    index = _decimal(lines[pos][len("index ") :])
    if index is None:
        raise _bad(f"index {lines[pos][6:]!r} (decimal without leading zeroes required)")
    hashes: list[bytes] = []
    for line in lines[pos + 1 :]:
        h = b64decode_strict(line)
        if h is None or len(h) != HASH_SIZE:
            raise _bad(f"proof line {line[:50]!r} (base64 of a {HASH_SIZE}-byte hash required)")
        hashes.append(h)
    return TlogProof(index, tuple(hashes), checkpoint, extra)


def verify_tlog_proof(
    text: str, entry_hash: bytes, keyring: Keyring, *, origin: str | None = None
) -> tuple[TlogProof, Checkpoint]:
    """Check the checkpoint signature and that leaf hash ``entry_hash`` is at the index."""
    proof = parse_tlog_proof(text)
    checkpoint = open_checkpoint(proof.checkpoint, keyring, origin=origin)
    verify_inclusion(entry_hash, proof.index, checkpoint.size, proof.hashes, checkpoint.root_hash)
    return proof, checkpoint
