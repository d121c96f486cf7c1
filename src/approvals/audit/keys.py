"""Ed25519 keys for decision records and checkpoints.

Key identity follows C2SP signed-note (https://c2sp.org/signed-note, "Signatures"
and "Ed25519 signatures"): a key is named by a key name plus a 32-bit key ID,

    key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]

and a verifier key is published in the text form used by Go's
``golang.org/x/mod/sumdb/note``: ``<name>+<8 hex digits of key ID>+<base64(0x01 || public key)>``.
Decision records name their key the same way, as ``<name>+<hex key ID>`` (a
"record key id"), so rotating keys keeps old records verifiable by key id.

Private key material is never put into a message, ``repr`` or ``str``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from approvals.audit.encoding import b64decode_strict, b64encode
from approvals.audit.errors import KeyLoadError, VerificationError

#: Signature type byte for Ed25519 in C2SP signed-note ("Signature types").
ALG_ED25519 = 0x01

#: The environment variable that may hold the service's signing key.
SIGNING_KEY_ENV = "APPROVALS_SIGNING_KEY"

#: Seed of the shipped sandbox key. It is public by construction: anyone can
#: derive it, so it proves nothing and production must refuse it.
SANDBOX_SEED = hashlib.sha256(b"approvals-sandbox-log-key").digest()

_ACCEPTED_FORMS = (
    "a PEM PKCS#8 Ed25519 private key, the base64 of a raw 32-byte Ed25519 seed, "
    "or a note signer key 'PRIVATE+KEY+<name>+<hex id>+<base64(0x01||seed)>'"
)


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid signed-note key name, else raise.

    C2SP signed-note "Format": key names MUST be non-empty and MUST NOT contain
    Unicode spaces or plus (U+002B).
    """
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise KeyLoadError(
            f"key name: expected a non-empty name without spaces or '+', found {name!r}"
        )
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in name):
        raise KeyLoadError(f"key name: expected no control characters, found {name!r}")
    return name


def ed25519_key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key (C2SP signed-note "Ed25519 signatures")."""
    if len(public_key) != 32:
        raise KeyLoadError(f"Ed25519 public key: expected 32 bytes, found {len(public_key)}")
    data = name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(data).digest()[:4]


class VerifierKey:
    """A named Ed25519 public key that checks note and record signatures."""

    __slots__ = ("_public", "key_id", "name", "public_key")

    def __init__(self, name: str, public_key: bytes) -> None:
        self.name = check_key_name(name)
        self.key_id = ed25519_key_id(name, public_key)
        self.public_key = bytes(public_key)
        self._public = Ed25519PublicKey.from_public_bytes(self.public_key)

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()

    @property
    def record_key_id(self) -> str:
        """How a decision record names this key: ``<name>+<hex key ID>``."""
        return f"{self.name}+{self.key_id_hex}"

    @property
    def text(self) -> str:
        """The published verifier key: ``<name>+<hex key ID>+<base64(0x01||pubkey)>``."""
        material = b64encode(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.record_key_id}+{material}"

    def verify(self, message: bytes | memoryview, signature: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifierKey):
            return NotImplemented
        return (self.name, self.public_key) == (other.name, other.public_key)

    def __hash__(self) -> int:
        return hash((self.name, self.public_key))

    def __repr__(self) -> str:
        return f"VerifierKey({self.text!r})"


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse the ``name+hexid+base64`` verifier key text form and check its key ID."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise KeyLoadError(
            f"verifier key: expected '<name>+<8 hex digits>+<base64 key>', found {text!r}"
        )
    name, hex_id, material = parts
    check_key_name(name)
    if len(hex_id) != 8 or any(ch not in "0123456789abcdef" for ch in hex_id):
        raise KeyLoadError(
            f"verifier key {name!r}: expected 8 lowercase hex digits of key ID, found {hex_id!r}"
        )
    raw = b64decode_strict(material)
    if raw is None:
        raise KeyLoadError(f"verifier key {name!r}: key material is not canonical base64")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise KeyLoadError(
            f"verifier key {name!r}: expected 33 bytes starting with 0x01 (Ed25519), "
            f"found {len(raw)} bytes starting with 0x{raw[:1].hex() or '--'}"
        )
    key = VerifierKey(name, raw[1:])
    if key.key_id_hex != hex_id:
        raise KeyLoadError(
            f"verifier key {name!r}: key ID does not match the key: "
            f"expected {key.key_id_hex}, found {hex_id}"
        )
    return key


class SigningKey:
    """A named Ed25519 private key. Its ``repr`` shows only the public identity."""

    __slots__ = ("_private", "verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._private = private_key
        self.verifier = VerifierKey(name, public)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> SigningKey:
        if len(seed) != 32:
            raise KeyLoadError(f"Ed25519 seed: expected 32 bytes, found {len(seed)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def name(self) -> str:
        return self.verifier.name

    @property
    def key_id(self) -> bytes:
        return self.verifier.key_id

    @property
    def record_key_id(self) -> str:
        return self.verifier.record_key_id

    @property
    def public_key(self) -> bytes:
        return self.verifier.public_key

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature (RFC 8032) of ``message``: 64 bytes."""
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey({self.record_key_id!r}, private=<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        # Refuse pickling: a pickled key would be key material on disk or in a log.
        raise TypeError("SigningKey cannot be pickled")


def generate_signing_key(name: str) -> SigningKey:
    """A fresh random key (for tests and key rotation tooling)."""
    return SigningKey(name, Ed25519PrivateKey.generate())


def sandbox_signing_key(name: str) -> SigningKey:
    """The shipped sandbox key: seed ``sha256(b"approvals-sandbox-log-key")``."""
    return SigningKey.from_seed(name, SANDBOX_SEED)


_SANDBOX_PUBLIC = SigningKey.from_seed("sandbox", SANDBOX_SEED).public_key


def is_sandbox_key(key: SigningKey | VerifierKey) -> bool:
    """True when ``key`` is the publicly derivable sandbox key, whatever its name."""
    return key.public_key == _SANDBOX_PUBLIC


def parse_signing_key(data: bytes | str, name: str | None, *, source: str) -> SigningKey:
    """Load a signing key from its text; ``source`` names where it came from in errors.

    Accepted forms: PEM PKCS#8 Ed25519, base64 of a raw 32-byte seed, or the
    Go note signer form ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01||seed)>`` (which
    carries its own name; if ``name`` is also given they must agree).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    stripped = raw.strip()
    if stripped.startswith(b"-----BEGIN"):
        if name is None:
            raise KeyLoadError(f"{source}: a PEM key needs a key name (the log origin)")
        try:
            private = serialization.load_pem_private_key(stripped, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyLoadError(f"{source}: expected {_ACCEPTED_FORMS}; PEM did not load") from exc
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyLoadError(
                f"{source}: expected an Ed25519 private key, found {type(private).__name__}"
            )
        return SigningKey(name, private)
    if stripped.startswith(b"PRIVATE+KEY+"):
        return _parse_note_signer_key(stripped.decode("utf-8", "replace"), name, source)
    seed = b64decode_strict(stripped.decode("ascii", "replace"))
    if seed is None or len(seed) != 32:
        found = "text that is none of these" if seed is None else f"base64 of {len(seed)} bytes"
        raise KeyLoadError(f"{source}: expected {_ACCEPTED_FORMS}; found {found}")
    if name is None:
        raise KeyLoadError(f"{source}: a raw seed needs a key name (the log origin)")
    return SigningKey.from_seed(name, seed)


def _parse_note_signer_key(text: str, name: str | None, source: str) -> SigningKey:
    parts = text.split("+", 4)
    if len(parts) != 5:
        raise KeyLoadError(f"{source}: expected {_ACCEPTED_FORMS}; malformed PRIVATE+KEY form")
    _, _, key_name, hex_id, material = parts
    check_key_name(key_name)
    if name is not None and name != key_name:
        raise KeyLoadError(f"{source}: expected key name {name!r}, found {key_name!r}")
    raw = b64decode_strict(material)
    if raw is None or len(raw) != 33 or raw[0] != ALG_ED25519:
        raise KeyLoadError(f"{source}: expected base64 of 0x01 || 32-byte seed after the key ID")
    key = SigningKey.from_seed(key_name, raw[1:])
    if key.verifier.key_id_hex != hex_id:
        raise KeyLoadError(
            f"{source}: key ID does not match the key: "
            f"expected {key.verifier.key_id_hex}, found {hex_id!r}"
        )
    return key


def load_signing_key(
    name: str | None,
    *,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SigningKey:
    """Load the signing key from ``path`` if given, else from ``$APPROVALS_SIGNING_KEY``.

    Raises :class:`KeyLoadError` when neither is available; it never falls back to
    the sandbox key on its own — the caller decides that, visibly.
    """
    if path is not None:
        file = Path(path)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise KeyLoadError(f"{file}: cannot read signing key file ({exc.strerror})") from exc
        return parse_signing_key(data, name, source=str(file))
    env = os.environ if environ is None else environ
    value = env.get(SIGNING_KEY_ENV)
    if not value:
        raise KeyLoadError(
            f"no signing key: expected a key file path or ${SIGNING_KEY_ENV}, found neither"
        )
    return parse_signing_key(value, name, source=f"${SIGNING_KEY_ENV}")


class Keyring:
    """Trusted verifier keys, looked up by (name, key ID).

    Several keys may be held at once so that records signed before a key rotation
    stay verifiable. Two different keys with the same name and key ID would make
    lookups ambiguous, so they are refused.
    """

    def __init__(self, keys: Iterable[VerifierKey | str] = ()) -> None:
        self._keys: dict[tuple[str, bytes], VerifierKey] = {}
        # Record key ids already resolved: a full log verification asks once a record.
        self._by_record_key_id: dict[str, VerifierKey] = {}
        for key in keys:
            self.add(key)

    def add(self, key: VerifierKey | str) -> VerifierKey:
        vkey = parse_verifier_key(key) if isinstance(key, str) else key
        ident = (vkey.name, vkey.key_id)
        existing = self._keys.get(ident)
        if existing is not None and existing != vkey:
            raise KeyLoadError(f"ambiguous key {vkey.record_key_id}: two different keys share it")
        self._keys[ident] = vkey
        self._by_record_key_id.clear()
        return vkey

    def find(self, name: str, key_id: bytes) -> VerifierKey | None:
        """The key with this name and ID, or None (C2SP: unknown keys are ignored)."""
        return self._keys.get((name, key_id))

    def get(self, record_key_id: str) -> VerifierKey:
        """The key named ``<name>+<hex key ID>``; raises if it is not trusted."""
        known_key = self._by_record_key_id.get(record_key_id)
        if known_key is not None:
            return known_key
        name, sep, hex_id = record_key_id.rpartition("+")
        key = None
        if sep and len(hex_id) == 8:
            try:
                key = self.find(name, bytes.fromhex(hex_id))
            except ValueError:
                key = None
        if key is None:
            known = ", ".join(sorted(k.record_key_id for k in self)) or "none"
            raise VerificationError(
                "record key", expected=f"one of the trusted keys ({known})", found=record_key_id
            )
        self._by_record_key_id[record_key_id] = key
        return key

    def __iter__(self) -> Iterator[VerifierKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Keyring({[k.record_key_id for k in self]!r})"
