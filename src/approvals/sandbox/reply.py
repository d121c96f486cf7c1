"""What a sandbox provider answers, independent of how it is called.

The providers' handlers return a `Reply` (status and JSON bytes) and raise domain
errors; the FastAPI apps and the in-process exchange (`approvals.sandbox.inprocess`)
both turn those into the same statuses and bodies through `reply_for_error`, so a read
answered in process is byte for byte what the same read over HTTP would get.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi.responses import Response
from pydantic import ValidationError

from approvals.licence.errors import LicenceError
from approvals.sources.consent import ConsentError


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    @classmethod
    def json(cls, content: Any, status: int = 200) -> Reply:
        return cls(status, dump_json(content))

    def response(self) -> Response:
        return Response(self.body, status_code=self.status, media_type="application/json")


def dump_json(content: Any) -> bytes:
    """UTF-8 JSON like Starlette's `JSONResponse`, through orjson when it can (10x faster);
    what orjson refuses (non-text keys, integers beyond 64 bits) goes through `json`."""
    try:
        return orjson.dumps(content)
    except TypeError:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


class UnknownDataset(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown dataset {name!r} (known: {', '.join(known)})")


class UnknownLicence(LookupError):
    def __init__(self, licence_id: str) -> None:
        self.licence_id = licence_id
        super().__init__(f"no licence {licence_id!r} in the store")


class DuplicateLicence(ValueError):
    def __init__(self, licence_id: str) -> None:
        self.licence_id = licence_id
        super().__init__(f"a licence {licence_id!r} is already in the store")


# Domain errors are mapped to HTTP statuses here, and only here.
HANDLED: tuple[type[Exception], ...] = (
    ConsentError, UnknownDataset, UnknownLicence, DuplicateLicence, LicenceError,
)


def reply_for_error(exc: Exception) -> Reply:
    """The status and body a provider answers for one of the `HANDLED` errors, or for
    a request body that does not parse (FastAPI's own 422 over HTTP)."""
    if isinstance(exc, ConsentError):
        return Reply.json({"error": "consent_required", "detail": str(exc)}, 403)
    if isinstance(exc, UnknownDataset):
        body = {"error": "unknown_dataset", "dataset": exc.name, "detail": str(exc)}
        return Reply.json(body, 404)
    if isinstance(exc, UnknownLicence):
        return Reply.json({"error": "unknown_licence", "detail": str(exc)}, 404)
    if isinstance(exc, DuplicateLicence):
        return Reply.json({"error": "duplicate_licence", "detail": str(exc)}, 409)
    if isinstance(exc, LicenceError):
        body = {"error": "licence_not_verified", "kind": type(exc).__name__, "detail": str(exc)}
        return Reply.json(body, 422)
    if isinstance(exc, ValidationError):
        return Reply.json({"detail": exc.errors(include_url=False)}, 422)
    raise TypeError(f"not a provider error: {exc!r}") from exc
