"""One error family for electronic licences.

Following sigstore-python's shape: a single base class, and verification errors whose
messages say what was expected and what was found. Callers (the store, the sources
layer, the API) map these to HTTP statuses in one place; nothing here knows HTTP.
"""

from __future__ import annotations

from pathlib import Path

from approvals.errors import ApprovalsError


class LicenceError(ApprovalsError):
    """Base of every error raised by `approvals.licence`."""


class InvalidCode(LicenceError, ValueError):
    """A code (USCC, citizen ID number, licence identifier) is malformed or fails its check."""


class IdentifierError(InvalidCode):
    """A GB/T 36904 licence identifier is malformed or its check character is wrong."""


class TrustListError(LicenceError):
    """A file under `licences/` is invalid. The message reads `file:line: message`."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.detail = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class VerificationError(LicenceError):
    """A licence does not verify against the trust list."""


class UnknownIssuer(VerificationError):
    """The licence names an issuer that is not on the trust list."""


class UnknownKey(VerificationError):
    """The issuer is known but the key id is not one of its keys (or not valid on that date)."""


class BadSignature(VerificationError):
    """The Ed25519 signature does not verify over the licence's canonical form."""


class NonConforming(VerificationError):
    """The signed content contradicts the trust list (type, issuer, identifier, fields)."""
