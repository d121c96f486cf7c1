"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the log's signed tree head.

The note text is

    <origin>
    <tree size, ASCII decimal, no leading zeroes>
    <base64 RFC 6962 root hash>
    [<extension line>...]

signed as a C2SP signed note by the log key whose name is the origin ("The log's
key name in its signature line SHOULD match the origin line"; we require it).
"""

from __future__ import annotations

from dataclasses import dataclass

from approvals.audit.encoding import b64decode_strict, b64encode
from approvals.audit.errors import AuditError, VerificationError
from approvals.audit.keys import Keyring, SigningKey
from approvals.audit.merkle import HASH_SIZE
from approvals.audit.note import check_note_text, open_note, parse_note, sign_note


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The checkpoint note text (the bytes that are signed)."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"


def _bad(found: str) -> VerificationError:
    return VerificationError("checkpoint", expected="a C2SP tlog-checkpoint", found=found)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text (not the signed note: see :func:`open_checkpoint`)."""
    check_note_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise _bad(f"{len(lines)} lines (at least origin, size and root hash are required)")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise _bad("an empty origin line")
    if not (size_text.isascii() and size_text.isdigit()) or (
        len(size_text) > 1 and size_text[0] == "0"
    ):
        raise _bad(f"tree size {size_text!r} (ASCII decimal without leading zeroes required)")
    root = b64decode_strict(root_text)
    if root is None or len(root) != HASH_SIZE:
        raise _bad(f"root hash {root_text!r} (base64 of {HASH_SIZE} bytes required)")
    if any(not line for line in extensions):
        raise _bad("an empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: SigningKey) -> str:
    """The signed note of ``checkpoint``; the signer's key name must be its origin."""
    if signer.name != checkpoint.origin:
        raise AuditError(
            f"checkpoint signer: expected a key named {checkpoint.origin!r} (the origin), "
            f"found {signer.name!r}"
        )
    parse_checkpoint(checkpoint.text)  # refuse to sign what we could not parse back
    return sign_note(checkpoint.text, [signer])


def checkpoint_of_note(note: str | bytes) -> Checkpoint:
    """The checkpoint inside a signed note, WITHOUT verifying any signature."""
    text, _ = parse_note(note)
    return parse_checkpoint(text)


def open_checkpoint(
    note: str | bytes, keyring: Keyring, *, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note and return the checkpoint.

    Requires a verified signature by a trusted key whose name is the checkpoint's
    origin (a witness cosignature alone is not enough), and, if ``origin`` is
    given, that the checkpoint is from that log.
    """
    opened = open_note(note, keyring)
    checkpoint = parse_checkpoint(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(
            "checkpoint origin", expected=repr(origin), found=repr(checkpoint.origin)
        )
    if not any(sig.name == checkpoint.origin for sig in opened.verified):
        signers = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in opened.verified)
        raise VerificationError(
            "checkpoint signature",
            expected=f"a verified signature by the log key {checkpoint.origin!r}",
            found=f"verified signatures only by {signers}",
        )
    return checkpoint
