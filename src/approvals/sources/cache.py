"""Reuse of a dataset read between prefill and submission, never beyond its freshness.

`connectors/datasets/*.yaml` says how long each dataset's answer may be reused
(`freshness.max_age_seconds`; 0 = always read again). Entries are keyed by the consent
grant they were read under as well as by what was read, so data is reused only for the
purpose (and the grant) it was disclosed for, and `forget_grant` drops a revoked
grant's data at once. Licences are never cached: revocation must be seen on every read.

A cached answer reaches the decision record with `provenance.cached = true` and the
original `fetched_at` and digest, so an auditor sees how old it was.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from approvals.engine.model import Gathered

CacheKey = tuple[str, str, str, str]  # grant id, source, name, key


def clone_json(value: Any) -> Any:
    """A deep copy of JSON data (what a source answered): through orjson when it can,
    else `copy.deepcopy` (values orjson does not take, e.g. integers beyond 64 bits)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, orjson.JSONDecodeError):
        return copy.deepcopy(value)
MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class _Entry:
    reused: Gathered  # as a reuse hands it out: its own copy, provenance marked cached
    stored: float


class ReadCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[CacheKey, _Entry] = {}

    def get(self, key: CacheKey, max_age: float) -> Gathered | None:
        if max_age <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() - entry.stored >= max_age:
                del self._entries[key]
                return None
        # A copy the decision may keep: the records are JSON (a C round trip copies them
        # several times faster than deepcopy), the provenance says it was reused.
        return entry.reused.model_copy(update={"value": clone_json(entry.reused.value)})

    def put(self, key: CacheKey, value: Gathered, max_age: float) -> None:
        if max_age <= 0 or value.error is not None:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._evict()
            self._entries[key] = _Entry(
                value.model_copy(update={
                    "value": clone_json(value.value),
                    "provenance": value.provenance.model_copy(update={"cached": True}),
                }),
                self._clock(),
            )

    def forget_grant(self, grant_id: str) -> int:
        with self._lock:
            doomed = [k for k in self._entries if k[0] == grant_id]
            for k in doomed:
                del self._entries[k]
        return len(doomed)

    def _evict(self) -> None:
        # The oldest half: entries live an hour at most, so this only bounds memory.
        ordered = sorted(self._entries.items(), key=lambda kv: kv[1].stored)
        for k, _ in ordered[: len(ordered) // 2]:
            del self._entries[k]

    def __len__(self) -> int:
        return len(self._entries)

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self)}
