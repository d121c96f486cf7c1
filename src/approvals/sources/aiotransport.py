"""Real source reads over aiohttp: the exchange `JsonClient` uses in production.

Why: over HTTP a decision reads its sources two to three times. httpx's own transport
(httpcore with h11, a pure-Python HTTP parser) cost about 1.3 ms of CPU per request on
the development machine, httpx's client on top of aiohttp about 0.35 ms, and aiohttp
alone about 0.16 ms (docs/performance.md, "Over HTTP"). So a real read is an
*exchange* (`approvals.sources.http.Exchange`): (method, path, query, headers, body) ->
(status, body bytes), the same contract as the in-process sandbox. Everything
`JsonClient` does with an answer (status checks, retries, breakers, payload checks,
digests) is shared by both, and the httpx client is left to tests that inject an
`httpx` transport.

Failures still reach `translate` as httpx's exceptions, which the retry policy and
the error messages are written against: aiohttp's errors are mapped here, most
specific first (the `httpx-aiohttp` package maps a server that hangs up to
`ConnectTimeout` and lets unknown aiohttp errors through; a source failure must
always reach `translate` as an httpx error: STYLE.md, "Translate at the boundary";
tests/test_sources_aiohttp.py).

Bodies are read whole (source answers are small JSON documents), so a failure while
reading is mapped too; aiohttp decodes any Content-Encoding it offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator, Mapping

import aiohttp
import httpx

from approvals.spec.connectors import Pool, Timeouts

# Most specific first: the first class the aiohttp error is an instance of decides.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.PoolTimeout),  # waiting for a pooled connection
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed HTTP answer
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (aiohttp.ClientError, TimeoutError) as exc:
        for aio, mapped in _ERRORS:
            if isinstance(exc, aio):
                raise mapped(f"{type(exc).__name__}: {exc}") from exc
        raise  # unreachable: ClientError and TimeoutError are both in the table


class AiohttpExchange:
    """One aiohttp session (one connection pool) for one source, created in the event
    loop that first uses it. Cookies are not kept: a source read carries its own
    credentials and nothing else. Redirects are not followed: a redirect from a
    government data source is a misconfiguration to report, not somewhere to send our
    credentials."""

    def __init__(
        self,
        base_url: str,
        *,
        timeouts: Timeouts,
        pool: Pool,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        # Paths are appended, as httpx's base_url does (RFC 3986 joining would drop the
        # base's own path for a path starting with "/").
        self._base = base_url.rstrip("/")
        self._pool = pool
        self._ssl: ssl.SSLContext | bool = verify
        self._timeout = aiohttp.ClientTimeout(
            # Waiting for a free pooled connection counts against the same budget as
            # connecting: both mean the source (or we) are saturated.
            connect=timeouts.connect,
            sock_connect=timeouts.connect,
            sock_read=timeouts.read,
        )
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_here(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool.max_connections,
                keepalive_timeout=self._pool.keepalive_expiry,
                ssl=self._ssl if isinstance(self._ssl, ssl.SSLContext) else bool(self._ssl),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent",),  # JsonClient sends its own
            )
            self._loop = loop
        return self._session

    async def __call__(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> tuple[int, bytes]:
        with _translated():
            async with self._session_here().request(
                method,
                self._base + path,
                params=params,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=self._timeout,
            ) as response:
                return response.status, await response.read()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
