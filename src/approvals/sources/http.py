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
import orjson

from approvals import __version__
from approvals.sources.aiotransport import AiohttpExchange
from approvals.sources.payload import digest
from approvals.sources.resilience import Resilience
from approvals.spec.connectors import Pool, Timeouts

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# orjson reads an integer beyond 64 bits as a float; `json` keeps it exact, and the
# payload digest then refuses it (RFC 7493 §2.2). Any run of 20 digits (the shortest
# that can exceed 2**64) sends the answer to `json`. Found as a run of 20 zeros once
# every digit is made a zero: a regex scan (`[0-9]{20}`) cost 15 µs on a 660-byte
# licence answer, an eighth of its read, against under 2 µs for this.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 20


def parse_json(body: bytes) -> Any:
    """A source's answer, parsed. orjson takes most answers at a fraction of `json`'s
    cost; what it refuses (NaN, other encodings, lone surrogates) or would read
    differently (long integers) goes to `json`, which parses or refuses it as before."""
    if _LONG_RUN not in body.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


@dataclass(frozen=True)
class Fetched:
    """One answer: the parsed JSON, its canonical digest and when it arrived (UTC)."""

    payload: Any
    digest: str
    fetched_at: dt.datetime
    attempts: int = 1


class Exchange(Protocol):
    """How a source is called: (method, path, query, headers, body) -> (status, body
    bytes). Real HTTP (`approvals.sources.aiotransport.AiohttpExchange`) or the sandbox
    in the same process (`approvals.sandbox.inprocess`)."""

    def __call__(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> Awaitable[tuple[int, bytes]]: ...


class JsonClient:
    """A client for one source: a hard deadline per read, retries and breakers, status
    and JSON checks, and the digest of exactly what came back.

    The bytes travel by an *exchange*: in production real HTTP on aiohttp
    (`approvals.sources.aiotransport`); for a source in the same process, `exchange`
    calls its handlers directly (`approvals.sandbox.inprocess`). Every status, JSON and
    payload check, retry and breaker applies to both alike. Tests may instead inject
    an httpx `transport` (`httpx.MockTransport`, `httpx.ASGITransport(app=...)`), which
    an `httpx.AsyncClient` then drives: injected, never patched.
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
        self.timeouts = timeouts or Timeouts()
        # Retries, breakers and the quota; a fresh default one keeps old callers working.
        self.resilience = resilience or Resilience()
        pool = pool or Pool()
        self._clock = clock
        self._base_url = httpx.URL(base_url)
        self._default_headers = {
            "Accept": "application/json",
            "User-Agent": f"approvals/{__version__}",
            **(headers or {}),
        }
        self._client: httpx.AsyncClient | None = None
        self._own: AiohttpExchange | None = None
        if transport is not None:
            self._client = _httpx_client(
                base_url, transport, self.timeouts, pool, self._default_headers, verify
            )
        elif exchange is None:
            exchange = self._own = AiohttpExchange(
                base_url, timeouts=self.timeouts, pool=pool, verify=verify
            )
        self._exchange = exchange

    @property
    def base_url(self) -> str:
        return str(self._base_url)

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
                if self._client is None:
                    body = await self._exchanged("GET", path, params, headers, None)
                else:
                    response = await self._client.get(path, params=params, headers=headers)
                    response.raise_for_status()
                    body = await response.aread()
            return parse_json(body)

        payload, attempts = await self.resilience.run(target or path, attempt)
        return Fetched(payload, digest(payload), self._clock(), attempts)

    async def post_json(self, path: str, body: Any) -> Any:
        """POST `body` as JSON; the parsed answer. Not retried (writes are not idempotent)."""
        async with asyncio.timeout(self.timeouts.total):
            if self._client is None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                answer = await self._exchanged("POST", path, None, None, data)
            else:
                response = await self._client.post(path, json=body)
                response.raise_for_status()
                answer = await response.aread()
        return parse_json(answer) if answer else None

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
        if body is not None:
            sent["Content-Type"] = "application/json"
        status, answer = await self._exchange(method, path, params, sent, body)
        if not 200 <= status < 300:
            url = str(self._base_url).rstrip("/") + path  # as AiohttpExchange sends it
            request = httpx.Request(method, url, params=params)
            httpx.Response(status, content=answer, request=request).raise_for_status()
        return answer

    async def aclose(self) -> None:
        if self._own is not None:
            await self._own.aclose()
        if self._client is not None:
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


def _httpx_client(
    base_url: str,
    transport: httpx.AsyncBaseTransport,
    timeouts: Timeouts,
    pool: Pool,
    headers: Mapping[str, str],
    verify: ssl.SSLContext | bool,
) -> httpx.AsyncClient:
    """The client that drives an injected httpx transport, with the connector's limits."""
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(
            connect=timeouts.connect,
            read=timeouts.read,
            write=timeouts.read,
            pool=timeouts.connect,  # as AiohttpExchange: saturation, like connecting
        ),
        limits=httpx.Limits(
            max_connections=pool.max_connections,
            max_keepalive_connections=pool.max_keepalive,
            keepalive_expiry=pool.keepalive_expiry,
        ),
        headers=headers,
        verify=verify,
        # A redirect from a government data source is a misconfiguration to report,
        # not something to follow with our credentials attached.
        follow_redirects=False,
    )
