"""Faults on demand: the sandbox providers misbehave the ways real ones do, by rate.

A `FaultPlan` is a seed and a list of rules; each rule names a source (`platform`,
`licences` or `*`), a target (dataset, licence type or `*`), a kind and a rate:

| kind | what the read gets |
| --- | --- |
| `latency` | the right answer, `delay` seconds late |
| `error` | HTTP `status` (default 503) |
| `timeout` | nothing for `delay` seconds (default 30): the client gives up first |
| `malformed` | a truncated JSON body |
| `schema` | JSON that breaks the contract (a field of the wrong type, a list that is not one) |
| `wrong_person` | a well-formed answer about someone (or something) else |

Whether attempt n of a read faults is a pure function of (seed, rule, correlation id,
target, key, n), so a run is reproducible whatever the concurrency, and a retry is a new
draw (a transient fault may clear, as in life). Every attempt is logged (`log`), so a
test can tell which reads of which decision finally failed.

Configure with `APPROVALS_SANDBOX_FAULTS` (the plan as JSON) or, at run time,
`PUT /admin/faults` on the provider (`GET` shows it with counts, `DELETE` clears it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from approvals.sandbox.reply import Reply
from approvals.sources.consent import CORRELATION_HEADER

FAULTS_ENV = "APPROVALS_SANDBOX_FAULTS"
FaultKind = Literal["latency", "error", "timeout", "malformed", "schema", "wrong_person"]
FAILURES: tuple[str, ...] = ("error", "timeout", "malformed", "schema", "wrong_person")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FaultRule(_Strict):
    source: Literal["platform", "licences", "*"] = "*"
    target: str = Field(default="*", description="Dataset or licence type; * for all")
    kind: FaultKind
    rate: float = Field(ge=0, le=1)
    delay: float | None = Field(default=None, ge=0, le=600, description="latency/timeout seconds")
    status: int = Field(default=503, ge=400, le=599)

    def matches(self, source: str, target: str) -> bool:
        return self.source in ("*", source) and self.target in ("*", target)


class FaultPlan(_Strict):
    seed: int = 0
    rules: list[FaultRule] = Field(default_factory=list)


@dataclass(frozen=True)
class FaultEntry:
    correlation: str
    target: str
    key: str
    attempt: int
    kind: str  # a FaultKind, or "ok"


Corrupt = Callable[[dict[str, Any]], dict[str, Any]]


class FaultInjector:
    """One provider's faults (`source` is "platform" or "licences")."""

    def __init__(self, source: str, plan: FaultPlan | None = None) -> None:
        self.source = source
        self.plan = plan or FaultPlan()
        self.log: list[FaultEntry] = []
        self._attempts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, source: str, environ: Mapping[str, str] | None = None) -> FaultInjector:
        text = (os.environ if environ is None else environ).get(FAULTS_ENV)
        return cls(source, FaultPlan.model_validate(json.loads(text)) if text else None)

    def set(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self.log.clear()
            self._attempts.clear()

    def draw(self, correlation: str, target: str, key: str) -> tuple[int, list[FaultRule]]:
        """This attempt's number and the rules that fire on it (latency first, then at most
        one failure: the first failing rule that fires)."""
        with self._lock:
            self._attempts[(correlation, target, key)] += 1
            attempt = self._attempts[(correlation, target, key)]
            plan = self.plan
        fired: list[FaultRule] = []
        failed = False
        for index, rule in enumerate(plan.rules):
            if not rule.matches(self.source, target) or rule.rate <= 0:
                continue
            if rule.kind != "latency" and failed:
                continue
            if _uniform(plan.seed, index, correlation, target, key, attempt) < rule.rate:
                fired.append(rule)
                failed = failed or rule.kind != "latency"
        kind = next((r.kind for r in fired if r.kind != "latency"), "ok")
        with self._lock:
            self.log.append(FaultEntry(correlation, target, key, attempt, kind))
        return attempt, fired

    async def respond(
        self,
        headers: Mapping[str, str],
        target: str,
        key: str,
        produce: Callable[[], dict[str, Any]],
        *,
        schema: Corrupt,
        wrong_person: Corrupt,
    ) -> Reply:
        """The answer to one read, with whatever the plan injects into it."""
        if not self.plan.rules:
            return Reply.json(produce())
        _, fired = self.draw(headers.get(CORRELATION_HEADER, "-"), target, key)
        for rule in fired:
            if rule.kind == "latency":
                await asyncio.sleep(rule.delay or 0.0)
        failure = next((r for r in fired if r.kind != "latency"), None)
        if failure is None:
            return Reply.json(produce())
        if failure.kind == "error":
            body = {"error": "injected", "detail": "sandbox fault injection"}
            return Reply.json(body, failure.status)
        if failure.kind == "timeout":
            await asyncio.sleep(30.0 if failure.delay is None else failure.delay)
            return Reply.json(produce())
        if failure.kind == "malformed":
            text = json.dumps(produce(), ensure_ascii=False)
            return Reply(200, text[: max(1, len(text) // 2)].encode("utf-8"))
        corrupt = schema if failure.kind == "schema" else wrong_person
        return Reply.json(corrupt(produce()))

    def final(self) -> dict[tuple[str, str, str], str]:
        """Each read's last attempt: (correlation, target, key) -> its fault kind or "ok"."""
        with self._lock:
            return {(e.correlation, e.target, e.key): e.kind for e in self.log}

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(e.kind for e in self.log))


def _uniform(seed: int, rule: int, correlation: str, target: str, key: str, attempt: int) -> float:
    text = f"{seed}\x1f{rule}\x1f{correlation}\x1f{target}\x1f{key}\x1f{attempt}"
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") / 2.0**64


def other_key(key: str) -> str:
    """A key that is not `key` (for an answer about someone else)."""
    flipped = key[::-1]
    return flipped if flipped != key else key + "0"


def install(app: FastAPI, injector: FaultInjector) -> None:
    """`GET/PUT/DELETE /admin/faults` on a sandbox provider (SANDBOX ONLY)."""
    router = APIRouter(prefix="/admin/faults", tags=["sandbox faults"])

    @router.get("", summary="The fault plan in force and how often each kind fired")
    def show() -> dict[str, Any]:
        return {"plan": injector.plan.model_dump(), "counts": injector.counts()}

    @router.put("", summary="Replace the fault plan (and reset the counts)")
    def replace(plan: FaultPlan) -> dict[str, Any]:
        injector.set(plan)
        return {"plan": injector.plan.model_dump(), "counts": {}}

    @router.delete("", summary="No faults")
    def clear() -> dict[str, Any]:
        injector.set(FaultPlan())
        return {"plan": injector.plan.model_dump(), "counts": {}}

    app.include_router(router)
    app.state.faults = injector
