"""One error family for the whole package.

Domain code raises these; the HTTP layer maps them to status codes in one place
(`approvals.api.errors`) and the CLI prints their message without a traceback.
"""

from __future__ import annotations


class ApprovalsError(Exception):
    """Base of every error this package raises on purpose."""


class SpecError(ApprovalsError):
    """A ruleset, connector or licence file is invalid.

    `str()` is `file:line: message`, the form editors and CI annotate.
    """

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")


class SpecErrors(ApprovalsError):
    """Several spec errors found in one pass (lint reports them all, not just the first)."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ExpressionError(ApprovalsError):
    """An expression in a ruleset does not parse or cannot be compiled."""

    def __init__(self, message: str, source: str = "", pos: int | None = None) -> None:
        self.message = message
        self.source = source
        self.pos = pos
        at = f" at column {pos + 1} of `{source}`" if pos is not None and source else ""
        super().__init__(f"{message}{at}")


class EvaluationError(ApprovalsError):
    """An expression met a value it cannot work on (wrong type, null where a value is needed)."""


class NotFound(ApprovalsError):
    """The item, application or record asked for does not exist (or is not the caller's)."""


class Forbidden(ApprovalsError):
    """The caller is known but may not do this."""


class Unauthorized(ApprovalsError):
    """No credentials, or credentials that are not valid."""


class InvalidRequest(ApprovalsError):
    """A request is malformed in a way the caller can fix; the message says how."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class Conflict(ApprovalsError):
    """The request conflicts with an earlier one (an Idempotency-Key reused for another body)."""


class SourceUnavailable(ApprovalsError):
    """A data source failed, timed out or answered something that cannot be trusted.

    Never a reason to reject: the engine turns it into `refer` naming the source.
    """

    def __init__(self, source: str, detail: str) -> None:
        self.source = source
        self.detail = detail
        super().__init__(f"{source}: {detail}")
