"""The HTTP plumbing both source clients share: one pooled AsyncClient, a hard deadline
per read, status and JSON checks, and the digest of exactly what came back."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from approvals import __version__
from approvals.sources.payload import digest
from approvals.sources.resilience import Resilience
from approvals.spec.connectors import Pool, Timeouts

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Fetched:
    """One answer: the parsed JSON, its canonical digest and when it arrived (UTC)."""

    payload: Any
    digest: str
    fetched_at: dt.datetime
    attempts: int = 1


class JsonClient:
    """A pooled `httpx.AsyncClient` for one source.

    `transport` is injected, never patched: tests pass `httpx.MockTransport` or
    `httpx.ASGITransport(app=sandbox_app)`, production passes nothing (real HTTP).
    One instance serves many decisions concurrently; close it with `aclose()`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeouts: Timeouts | None = None,
        pool: Pool | None = None,
        headers: Mapping[str, str] | None = None,
        verify: ssl.SSLContext | bool = True,
        clock: Clock = utc_now,
        resilience: Resilience | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        # Retries, breakers and the quota; a fresh default one keeps old callers working.
        self.resilience = resilience or Resilience()
        pool = pool or Pool()
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(
                connect=self.timeouts.connect,
                read=self.timeouts.read,
                write=self.timeouts.read,
                # Waiting for a free pooled connection counts against the same budget as
                # connecting: both mean the source (or we) are saturated.
                pool=self.timeouts.connect,
            ),
            limits=httpx.Limits(
                max_connections=pool.max_connections,
                max_keepalive_connections=pool.max_keepalive,
                keepalive_expiry=pool.keepalive_expiry,
            ),
            headers={
                "Accept": "application/json",
                "User-Agent": f"approvals/{__version__}",
                **(headers or {}),
            },
            verify=verify,
            # A redirect from a government data source is a misconfiguration to report,
            # not something to follow with our credentials attached.
            follow_redirects=False,
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def get_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> Fetched:
        """GET `path` (relative to the base URL) and parse the JSON answer.

        Each attempt has the `total` deadline; transient failures are retried and counted
        by `target`'s circuit breaker (`approvals.sources.resilience`). Raises httpx
        errors, `TimeoutError` (the total deadline), JSON errors, `CircuitOpen`,
        `Saturated` and `MalformedPayload`; callers wrap the call in
        `approvals.sources.errors.translate`.
        """

        async def attempt() -> Any:
            async with asyncio.timeout(self.timeouts.total):
                response = await self._client.get(path, params=params, headers=headers)
                response.raise_for_status()
                body = await response.aread()
            return json.loads(body)

        payload, attempts = await self.resilience.run(target or path, attempt)
        return Fetched(payload, digest(payload), self._clock(), attempts)

    async def post_json(self, path: str, body: Any) -> httpx.Response:
        async with asyncio.timeout(self.timeouts.total):
            response = await self._client.post(path, json=body)
            response.raise_for_status()
            await response.aread()
        return response

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
