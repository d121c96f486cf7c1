"""Retries with backoff, the circuit breaker, the concurrency quota and the read cache,
each on its own (`approvals.sources.resilience`, `approvals.sources.cache`)."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from approvals.engine.model import Gathered, Provenance
from approvals.errors import SourceUnavailable
from approvals.sources import PlatformClient
from approvals.sources.cache import ReadCache
from approvals.sources.resilience import Breaker, Resilience
from approvals.spec.connectors import Circuit, Concurrency, Retry, Timeouts, load_connectors

DATASETS = load_connectors().datasets
KEY = "440304194406159129"


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"dataset": "longevity_allowance", "key": KEY, "records": []}
    )


def client(handler: object, resilience: Resilience) -> PlatformClient:
    return PlatformClient(
        "http://platform.test",
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        timeouts=Timeouts(connect=0.2, read=0.2, total=0.2),
        resilience=resilience,
    )


def fast(**kw: object) -> Resilience:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    resilience = Resilience(sleep=sleep, **kw)  # type: ignore[arg-type]
    resilience.sleeps = sleeps  # type: ignore[attr-defined]
    return resilience


def test_transient_failures_are_retried_with_growing_backoff() -> None:
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503) if len(calls) < 3 else answer(request)

    resilience = fast(retry=Retry(attempts=3, backoff_base=0.1, backoff_max=1))

    async def go() -> None:
        async with client(flaky, resilience) as c:
            got = await c.records(DATASETS["longevity_allowance"], KEY)
        assert got.fetched.attempts == 3

    asyncio.run(go())
    first, second = resilience.sleeps  # type: ignore[attr-defined]
    assert 0.05 <= first <= 0.1 and 0.1 <= second <= 0.2


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_and_bad_payloads_are_not_retried(status: int) -> None:
    calls = []

    def refusing(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status)

    async def go() -> None:
        async with client(refusing, fast(retry=Retry(attempts=5))) as c:
            with pytest.raises(SourceUnavailable, match=f"HTTP {status}"):
                await c.records(DATASETS["longevity_allowance"], KEY)

    asyncio.run(go())
    assert len(calls) == 1


def test_the_breaker_opens_fails_fast_then_tries_once_and_closes() -> None:
    now = [0.0]
    calls = []
    healthy = [False]

    def source(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return answer(request) if healthy[0] else httpx.Response(502)

    resilience = fast(
        retry=Retry(attempts=1),
        circuit=Circuit(failure_threshold=3, reset_after=10),
        clock=lambda: now[0],
    )

    async def go() -> None:
        async with client(source, resilience) as c:
            dataset = DATASETS["longevity_allowance"]
            for _ in range(3):
                with pytest.raises(SourceUnavailable, match="HTTP 502"):
                    await c.records(dataset, KEY)
            with pytest.raises(SourceUnavailable, match=r"circuit open .*last: HTTP 502"):
                await c.records(dataset, KEY)
            assert len(calls) == 3  # the open circuit did not call the source
            now[0] = 11.0
            healthy[0] = True
            await c.records(dataset, KEY)  # the trial read succeeds: closed again
            assert resilience.breaker("platform dataset longevity_allowance").state == "closed"

    asyncio.run(go())


def test_a_failed_trial_reopens_the_breaker() -> None:
    now = [0.0]
    breaker = Breaker(Circuit(failure_threshold=1, reset_after=5), clock=lambda: now[0])
    breaker.failure("HTTP 503")
    assert breaker.state == "open"
    now[0] = 6
    breaker.check()
    assert breaker.state == "half-open"
    breaker.failure("HTTP 503")
    assert breaker.state == "open"


def test_at_most_max_in_flight_reads_reach_the_source() -> None:
    in_flight = [0, 0]  # now, most

    async def slow(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        in_flight[1] = max(in_flight[1], in_flight[0])
        await asyncio.sleep(0.01)
        in_flight[0] -= 1
        return answer(request)

    resilience = fast(concurrency=Concurrency(max_in_flight=2, queue_timeout=5))

    async def go() -> None:
        async with client(slow, resilience) as c:
            dataset = DATASETS["longevity_allowance"]
            await asyncio.gather(*(c.records(dataset, KEY) for _ in range(10)))

    asyncio.run(go())
    assert in_flight[1] == 2


def test_a_read_waiting_too_long_for_a_slot_fails_naming_the_source() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.1)
        return answer(request)

    resilience = fast(concurrency=Concurrency(max_in_flight=1, queue_timeout=0.01))

    async def go() -> list[object]:
        async with client(slow, resilience) as c:
            dataset = DATASETS["longevity_allowance"]
            return list(
                await asyncio.gather(
                    *(c.records(dataset, KEY) for _ in range(3)), return_exceptions=True
                )
            )

    results = asyncio.run(go())
    busy = [r for r in results if isinstance(r, SourceUnavailable)]
    assert busy and "platform dataset longevity_allowance: too busy" in str(busy[0])


def test_the_cache_serves_within_freshness_only_and_forgets_revoked_grants() -> None:
    now = [0.0]
    cache = ReadCache(clock=lambda: now[0])
    got = Gathered(
        value=[],
        provenance=Provenance(
            source="platform", dataset="population", key=KEY,
            fetched_at=dt.datetime(2026, 11, 30, tzinfo=dt.UTC), digest="sha256:00",
        ),
    )
    key = ("grant-1", "platform", "population", KEY)
    cache.put(key, got, max_age=60)
    hit = cache.get(key, max_age=60)
    assert hit is not None and hit.provenance.cached and hit.provenance.digest == "sha256:00"
    assert not got.provenance.cached  # the stored copy is untouched
    assert cache.get(("grant-2", "platform", "population", KEY), 60) is None
    assert cache.get(key, max_age=0) is None  # freshness 0: never reused
    now[0] = 60.0
    assert cache.get(key, max_age=60) is None  # at the limit: read again
    cache.put(key, got, max_age=60)
    assert cache.forget_grant("grant-1") == 1
    assert cache.get(key, max_age=60) is None
    cache.put(key, got.model_copy(update={"error": "down"}), max_age=60)
    assert len(cache) == 0  # a failure is never cached
