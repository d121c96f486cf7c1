"""Translate at the boundary: every way a source can fail becomes `SourceUnavailable`.

The engine must never see an httpx exception. As httpx maps its transports'
exceptions to its own in one context manager, the connectors map httpx's (and their
own payload checks') to `approvals.errors.SourceUnavailable` here and nowhere else.
A `SourceUnavailable` is a referral, never a rejection (DESIGN.md, "Decide").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from approvals.errors import ApprovalsError, SourceUnavailable
from approvals.sources.resilience import CircuitOpen, Saturated


class MalformedPayload(Exception):
    """The source answered, but not what its contract promises.

    Raised by the payload checks (`approvals.sources.payload`) and turned into
    `SourceUnavailable` by `translate`; never leaves this package.
    """


class WrongRecord(MalformedPayload):
    """The source answered with a record about someone (or something) other than was asked."""


class ConnectorConfigError(ApprovalsError):
    """The connectors cannot be set up as configured (a credential's env var is unset, a
    certificate file is unreadable). Raised at start-up, so a misconfigured deployment
    fails loudly instead of referring every application."""


class SourceRefused(SourceUnavailable):
    """The source refused the read (HTTP 401 or 403): no credentials, or no consent grant
    covering it. Still a referral, never a rejection; the usage record marks it `refused`."""


@contextmanager
def translate(source: str, total_timeout: float) -> Iterator[None]:
    """Run one read; re-raise any failure as `SourceUnavailable(source, what happened)`.

    `source` names what was read, e.g. "platform dataset criminal_records", so the
    referral reason tells a clerk which system to chase.
    """
    try:
        yield
    except TimeoutError as exc:  # the total deadline (asyncio.timeout)
        raise SourceUnavailable(source, f"no complete answer within {total_timeout:g} s") from exc
    except httpx.TimeoutException as exc:
        raise SourceUnavailable(source, f"timed out ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        raise SourceUnavailable(source, f"cannot connect: {exc}") from exc
    except CircuitOpen as exc:
        raise SourceUnavailable(source, str(exc)) from exc
    except Saturated as exc:
        raise SourceUnavailable(source, f"too busy: {exc}") from exc
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        kind = SourceRefused if status in (401, 403) else SourceUnavailable
        raise kind(
            source, f"answered HTTP {status}{_hint(status)}{_excerpt(exc.response)}"
        ) from exc
    except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL) as exc:
        raise SourceUnavailable(source, f"transport error: {type(exc).__name__}: {exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceUnavailable(source, f"answered something that is not JSON ({exc})") from exc
    except WrongRecord as exc:
        raise SourceUnavailable(source, f"answered another party's record: {exc}") from exc
    except MalformedPayload as exc:
        raise SourceUnavailable(source, f"malformed answer: {exc}") from exc


def _excerpt(response: httpx.Response) -> str:
    """A 4xx body usually says what was wrong with the request; a 5xx body is noise (and
    may echo personal data from a stack trace), so only the former is quoted."""
    if response.status_code >= 500:
        return ""
    try:
        text = response.text.strip().replace("\n", " ")
    except httpx.ResponseNotRead:
        return ""
    return f": {text[:_EXCERPT]}{'…' if len(text) > _EXCERPT else ''}" if text else ""


_EXCERPT = 200


def _hint(status: int) -> str:
    if status >= 500:
        return " (server error)"
    if status in (401, 403):
        return " (refused: check credentials or consent)"
    if status == 404:
        return " (not found: is the dataset or licence type served by this source?)"
    return ""
