"""C2SP signed notes (https://c2sp.org/signed-note): text signed by one or more keys.

    <text, ending in a newline>
    <blank line>
    — <key name> <base64(4-byte key ID || signature)>
    ...

Parsing follows the spec's "Format" section: valid UTF-8, no ASCII control
characters other than newline, the text separated from the signatures by the
*last* blank line, each signature line starting with EM DASH (U+2014) and a space.
Verification follows "Signatures": signatures from unknown keys are ignored; a
known key's signature that fails makes the whole note invalid; a note with no
verified signature from a known key is rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from approvals.audit.encoding import b64decode_strict, b64encode
from approvals.audit.errors import KeyLoadError, VerificationError
from approvals.audit.keys import Keyring, SigningKey, check_key_name

SIGNATURE_PREFIX = "\u2014 "  # EM DASH, space

#: The spec requires accepting at least 16 signatures; Go's reference limit is 100.
MAX_SIGNATURES = 100


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID, signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """An opened note: its text and which signatures verified."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def _malformed(found: str) -> VerificationError:
    return VerificationError("signed note", expected="a well-formed C2SP signed note", found=found)


def check_note_text(text: str) -> None:
    """A note text must be non-empty, end in a newline and hold no control characters."""
    if not text.endswith("\n"):
        raise _malformed("text that does not end with a newline")
    for i, ch in enumerate(text):
        if ch < "\x20" and ch != "\n":
            raise _malformed(f"control character U+{ord(ch):04X} at offset {i}")
        if "\ud800" <= ch <= "\udfff":
            raise _malformed(f"a lone surrogate at offset {i}")


def sign_note(text: str, signers: Sequence[SigningKey]) -> str:
    """Sign ``text`` with each of ``signers`` (Ed25519 over the text's UTF-8 bytes)."""
    if not signers:
        raise _malformed("no signers (a note needs at least one signature)")
    check_note_text(text)
    message = text.encode("utf-8")
    lines = [NoteSignature(s.name, s.key_id, s.sign(message)).line for s in signers]
    return text + "\n" + "".join(lines)


def parse_note(data: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines, checking syntax only."""
    if isinstance(data, bytes):
        try:
            note = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _malformed(f"invalid UTF-8 at byte {exc.start}") from exc
    else:
        note = data
    check_note_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise _malformed("no blank line before the signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    if not sig_block:
        raise _malformed("no signature lines")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed(f"{len(lines)} signature lines (at most {MAX_SIGNATURES} accepted)")
    return text, [_parse_signature_line(line) for line in lines]


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise _malformed(f"a signature line not starting with '\u2014 ': {line[:40]!r}")
    name, sep, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    try:
        check_key_name(name)
    except KeyLoadError as exc:
        raise _malformed(f"bad key name in signature line: {name!r}") from exc
    raw = b64decode_strict(encoded) if sep else None
    if raw is None or len(raw) < 5:
        raise _malformed(f"signature of key {name!r} is not base64 of key ID + signature")
    return NoteSignature(name, raw[:4], raw[4:])


def open_note(data: str | bytes, keyring: Keyring) -> Note:
    """Parse and verify a signed note against the trusted keys in ``keyring``."""
    text, signatures = parse_note(data)
    message = text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for sig in signatures:
        key = keyring.find(sig.name, sig.key_id)
        if key is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if not key.verify(message, sig.signature):
            raise VerificationError(
                f"note signature of known key {key.record_key_id}",
                expected="a valid Ed25519 signature over the note text",
                found="a signature that does not verify",
            )
        if sig not in verified:
            verified.append(sig)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in unverified)
        trusted = ", ".join(k.record_key_id for k in keyring) or "none"
        raise VerificationError(
            "signed note",
            expected=f"a signature by a trusted key ({trusted})",
            found=f"signatures only by unknown keys ({names})",
        )
    return Note(text, tuple(verified), tuple(unverified))
