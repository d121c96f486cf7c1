"""httpx's interface on aiohttp's HTTP/1.1 client: the transport of real source reads.

Why: over HTTP a decision reads its sources several times, and httpx's own transport
(httpcore with h11, a pure-Python HTTP parser) cost about 1.3 ms of CPU per request on
the development machine, against about 0.16 ms for aiohttp's C parser and 0.35 ms for
httpx on top of it (docs/performance.md, "Over HTTP"). The connectors keep httpx's
client (`JsonClient`): its timeouts, limits, headers and exceptions are what the
retry policy, the breakers and `errors.translate` are written against. Only the bytes
on the wire move to aiohttp.

The `httpx-aiohttp` package does the same, but maps a server that hangs up to
`ConnectTimeout` and re-raises aiohttp errors it does not know untranslated; a source
failure must always reach `translate` as an httpx error (STYLE.md, "Translate at the
boundary"), so the mapping here is ours and tested (tests/test_sources_aiohttp.py).

Bodies are read whole inside the transport (source answers are small JSON documents),
so a failure while reading is mapped here too; httpx still decodes any
Content-Encoding itself, as with its own transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator

import aiohttp
import httpx

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


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (one connection pool) per transport, created in the event
    loop that first uses it. Cookies are not kept: a source read carries its own
    credentials and nothing else."""

    def __init__(self, *, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        self._limits = limits
        self._ssl: ssl.SSLContext | bool = verify
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_here(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                keepalive_timeout=self._limits.keepalive_expiry or 0,
                ssl=self._ssl if isinstance(self._ssl, ssl.SSLContext) else bool(self._ssl),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,  # httpx decodes, as with its own transport
                skip_auto_headers=("User-Agent", "Accept-Encoding"),  # httpx sets them
            )
            self._loop = loop
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        with _translated():
            async with self._session_here().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    connect=timeout.get("pool"),  # a free pooled connection, or a new one
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            ) as response:
                content = await response.read()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=httpx.ByteStream(content),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
