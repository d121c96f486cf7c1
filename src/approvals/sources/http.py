"""The HTTP plumbing both source clients share: one pooled AsyncClient, a hard deadline
per read, status and JSON checks, and the digest of exactly what came back."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from approvals import __version__
from approvals.sources.aiotransport import AiohttpTransport
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


class Exchange(Protocol):
    """A source called without HTTP (the in-process sandbox, `approvals.sandbox.inprocess`):
    (method, path, query, headers, body) -> (status, body bytes)."""

    def __call__(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Awaitable[tuple[int, bytes]]: ...


class JsonClient:
    """A pooled `httpx.AsyncClient` for one source.

    `transport` is injected, never patched: tests pass `httpx.MockTransport` or
    `httpx.ASGITransport(app=sandbox_app)`, production passes nothing (real HTTP, on
    `approvals.sources.aiotransport`).
    `exchange` replaces HTTP altogether for a source in the same process; every status,
    JSON and payload check, retry and breaker applies to its answers as to HTTP ones.
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
        exchange: Exchange | None = None,
    ) -> None:
        self._exchange = exchange
        self.timeouts = timeouts or Timeouts()
        # Retries, breakers and the quota; a fresh default one keeps old callers working.
        self.resilience = resilience or Resilience()
        pool = pool or Pool()
        self._clock = clock
        limits = httpx.Limits(
            max_connections=pool.max_connections,
            max_keepalive_connections=pool.max_keepalive,
            keepalive_expiry=pool.keepalive_expiry,
        )
        if transport is None and exchange is None:
            # Real HTTP: aiohttp's C parser under httpx's client (sources/aiotransport.py).
            transport = AiohttpTransport(limits=limits, verify=verify)
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
            limits=limits,
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
        self._default_headers = dict(self._client.headers)

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
                if self._exchange is not None:
                    body = await self._exchanged("GET", path, params, headers, None)
                else:
                    response = await self._client.get(path, params=params, headers=headers)
                    response.raise_for_status()
                    body = await response.aread()
            return json.loads(body)

        payload, attempts = await self.resilience.run(target or path, attempt)
        return Fetched(payload, digest(payload), self._clock(), attempts)

    async def post_json(self, path: str, body: Any) -> Any:
        """POST `body` as JSON; the parsed answer. Not retried (writes are not idempotent)."""
        async with asyncio.timeout(self.timeouts.total):
            if self._exchange is not None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                answer = await self._exchanged("POST", path, None, None, data)
            else:
                response = await self._client.post(path, json=body)
                response.raise_for_status()
                answer = await response.aread()
        return json.loads(answer) if answer else None

    async def _exchanged(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
    ) -> bytes:
        """One call through the exchange; a status that is not 2xx raises what httpx's
        `raise_for_status` raises, so `translate` and the retry policy see no difference."""
        assert self._exchange is not None
        sent = {**self._default_headers, **(headers or {})}
        status, answer = await self._exchange(method, path, params, sent, body)
        if not 200 <= status < 300:
            request = httpx.Request(method, self._client.base_url.join(path), params=params)
            httpx.Response(status, content=answer, request=request).raise_for_status()
        return answer

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
