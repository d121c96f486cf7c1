"""Under what authority one gather reads, and what it read (用证留痕).

The service hands `Sources.gather` / `Sources.prefill` a `ReadContext`: the grant
tokens to send (one per provider), a correlation id the providers log with each read,
and a list the sources layer fills with one `ReadEvent` per read it made or served from
the cache, successful or not. The service stores those events as usage records; a
decision's usage record is exactly its context's events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from approvals.sources.consent import CORRELATION_HEADER, GRANT_HEADER

ReadOutcome = Literal["ok", "cached", "refused", "failed"]


@dataclass(frozen=True)
class ReadEvent:
    source: Literal["platform", "licences"]
    name: str  # dataset or licence type
    key: str
    outcome: ReadOutcome
    at: dt.datetime
    digest: str | None = None
    licence_ids: tuple[str, ...] = ()
    detail: str | None = None


@dataclass
class ReadContext:
    """One gather's authority and trail. `grant_id` scopes the read cache: data read
    under one grant is never served under another (or after it is revoked)."""

    correlation: str
    grant_id: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)  # "platform"/"licences" -> token
    events: list[ReadEvent] = field(default_factory=list)

    def headers(self, source: str) -> dict[str, str]:
        headers = {CORRELATION_HEADER: self.correlation}
        token = self.tokens.get(source)
        if token:
            headers[GRANT_HEADER] = token
        return headers
