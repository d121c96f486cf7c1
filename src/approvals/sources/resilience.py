"""How a read survives a struggling source: concurrency quota, circuit breaker, retries.

    quota slot -> breaker allows? -> attempt (deadline `timeout.total`) -> transient? retry

All three are configured per endpoint in `connectors/*.yaml` (`approvals.spec.connectors`:
`Concurrency`, `Circuit`, `Retry`). The breaker is kept per read target ("platform
dataset population"), because the platform fronts many departments' systems and one
of them failing must not stop reads from the others.

Only idempotent reads come through here; issuing a licence (POST) is never retried.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from approvals.spec.connectors import Circuit, Concurrency, Retry

T = TypeVar("T")
Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Statuses worth asking again: the server says it is overloaded or briefly broken.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class CircuitOpen(Exception):
    """The breaker for this target is open: the read is refused without calling the source."""

    def __init__(self, failures: int, retry_in: float, last: str) -> None:
        self.failures = failures
        self.retry_in = retry_in
        super().__init__(
            f"circuit open after {failures} failed reads in a row (last: {last}); "
            f"not called again for {retry_in:.1f} s"
        )


class Saturated(Exception):
    """No free slot in the source's concurrency quota within the queue timeout."""

    def __init__(self, limit: int, waited: float) -> None:
        super().__init__(f"{limit} reads already in flight; no slot within {waited:g} s")


def describe(exc: BaseException) -> str:
    """A short name for a failure, for the breaker's message."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timed out"
    return type(exc).__name__


def transient(exc: BaseException) -> bool:
    """Whether asking again may get another answer (and the request was idempotent)."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException | httpx.TransportError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in RETRY_STATUSES
    return False


@dataclass
class Breaker:
    """Consecutive-failure circuit breaker: closed -> open -> half-open (one trial) -> ..."""

    config: Circuit
    clock: Monotonic = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trial: bool = False
    last: str = ""

    def check(self) -> None:
        """Raise `CircuitOpen` unless a read may go ahead now."""
        if self.opened_at is None:
            return
        elapsed = self.clock() - self.opened_at
        if elapsed < self.config.reset_after or self.trial:
            retry_in = max(0.0, self.config.reset_after - elapsed)
            raise CircuitOpen(self.failures, retry_in, self.last)
        self.trial = True  # half-open: this read is the one trial

    def success(self) -> None:
        self.failures, self.opened_at, self.trial = 0, None, False

    def failure(self, what: str = "") -> None:
        self.failures += 1
        self.last = what
        if self.trial or self.failures >= self.config.failure_threshold:
            self.opened_at, self.trial = self.clock(), False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.trial else "open"


@dataclass
class Resilience:
    """One source's quota, breakers and retry policy; shared by every read of that source."""

    retry: Retry = field(default_factory=Retry)
    circuit: Circuit = field(default_factory=Circuit)
    concurrency: Concurrency = field(default_factory=Concurrency)
    clock: Monotonic = time.monotonic
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    breakers: dict[str, Breaker] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None

    def breaker(self, target: str) -> Breaker:
        if target not in self.breakers:
            self.breakers[target] = Breaker(self.circuit, self.clock)
        return self.breakers[target]

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry `retry_number` (1-based), with equal jitter."""
        ceiling = min(self.retry.backoff_max, self.retry.backoff_base * 2.0 ** (retry_number - 1))
        return ceiling * (0.5 + self.rng.random() / 2)

    async def run(self, target: str, attempt: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """`attempt()` under the quota, the breaker and the retry policy.

        Returns the result and how many attempts it took; re-raises the last failure
        (or `CircuitOpen` / `Saturated`) for `approvals.sources.errors.translate`.
        """
        if self._slots is None:  # created lazily: it belongs to the running event loop
            self._slots = asyncio.Semaphore(self.concurrency.max_in_flight)
        if self._slots.locked():  # full: wait for a slot, up to the queue timeout
            try:
                async with asyncio.timeout(self.concurrency.queue_timeout):
                    await self._slots.acquire()
            except TimeoutError:
                limit = self.concurrency
                raise Saturated(limit.max_in_flight, limit.queue_timeout) from None
        else:
            # A free slot is taken without suspending, so no deadline is needed (one
            # fewer timer per read; nothing can run between the check and the taking).
            await self._slots.acquire()
        try:
            return await self._attempts(target, attempt)
        finally:
            self._slots.release()

    async def _attempts(self, target: str, attempt: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        breaker = self.breaker(target)
        tries = 0
        while True:
            breaker.check()
            tries += 1
            try:
                result = await attempt()
            except Exception as exc:
                if transient(exc):
                    breaker.failure(describe(exc))
                    if tries < self.retry.attempts and breaker.opened_at is None:
                        await self.sleep(self.backoff(tries))
                        continue
                else:
                    # The source answered (wrongly): it is up, so the breaker stays as it is.
                    breaker.success()
                raise
            breaker.success()
            return result, tries
