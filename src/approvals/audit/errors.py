"""The audit package's one error family.

Every failure raised by ``approvals.audit`` is an :class:`AuditError`, so a caller
(the CLI, the HTTP layer) maps exactly one family to exit codes or status codes.
A :class:`VerificationError` always says what was expected and what was found,
because an auditor reading it has nothing else to go on.
"""

from __future__ import annotations

from approvals.errors import ApprovalsError


class AuditError(ApprovalsError):
    """Base class of every error raised by ``approvals.audit``."""


class CanonicalizationError(AuditError):
    """A value cannot be written as RFC 8785 canonical JSON."""


class KeyLoadError(AuditError):
    """A signing or verifier key could not be loaded.

    Messages name the source (file path or variable name) and the accepted forms,
    never the key material itself.
    """


class OutOfRangeError(AuditError):
    """A proof or root was asked for an index or size the log does not have.

    This is the caller's mistake (an HTTP 400/404), not a fault of the log.
    """


class VerificationError(AuditError):
    """A signature, hash, proof or format check failed.

    ``expected`` and ``found`` are short human-readable descriptions; the message
    combines them with what was being checked.
    """

    def __init__(self, what: str, *, expected: str, found: str) -> None:
        self.what = what
        self.expected = expected
        self.found = found
        super().__init__(f"{what}: expected {expected}, found {found}")
