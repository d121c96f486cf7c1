"""Real source reads go over aiohttp (sources/aiotransport.py): against a real socket
that answers, fails or misbehaves, every outcome reaches the connector as an answer
or an httpx error, and `translate` turns each failure into `SourceUnavailable`
naming what happened (a failing source refers the case, never rejects it)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from approvals.errors import SourceUnavailable
from approvals.sources.aiotransport import AiohttpExchange
from approvals.sources.errors import translate
from approvals.sources.http import JsonClient
from approvals.sources.resilience import Resilience
from approvals.spec.connectors import Pool, Retry, Timeouts

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
BODY = {"records": [{"id_number": "440305198805129116", "name": "王伟"}]}


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """A raw TCP server on loopback: full control of the bytes (and the lack of them)."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client gave up first
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def _request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length) if length else b""


def _answer(status: int, body: bytes, *extra: str) -> bytes:
    headers = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}",
               "Content-Type: application/json", *extra]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def _client(base: str, read: float = 1.0) -> JsonClient:
    # One attempt: these tests look at what a single failure becomes.
    return JsonClient(base, timeouts=Timeouts(connect=1.0, read=read, total=3.0),
                      resilience=Resilience(retry=Retry(attempts=1)))


async def _read(base: str, read: float = 1.0) -> object:
    client = _client(base, read)
    try:
        with translate("platform dataset population", 3.0):
            fetched = await client.get_json("/v1/records", {"key": "440305198805129116"},
                                            headers={"Authorization": "Bearer t"})
        return fetched.payload
    finally:
        await client.aclose()


def test_production_reads_use_the_aiohttp_exchange() -> None:
    client = JsonClient("http://127.0.0.1:1")
    assert isinstance(client._exchange, AiohttpExchange) and client._client is None
    asyncio.run(client.aclose())


def test_an_answer_arrives_with_what_was_sent() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):  # the connection is kept alive for the second read
            head, _ = await _request(reader)
            seen.append(head)
            writer.write(_answer(200, json.dumps(BODY).encode()))
            await writer.drain()
        writer.close()

    async def main() -> None:
        async with serving(handler) as base:
            client = _client(base)
            try:
                for _ in range(2):
                    got = await client.get_json("/v1/records", {"key": "4403"},
                                                headers={"Authorization": "Bearer t"})
                    assert got.payload == BODY and got.digest.startswith("sha256:")
            finally:
                await client.aclose()

    asyncio.run(main())
    assert len(seen) == 2  # both over one connection
    head = seen[0].decode().lower()
    assert head.startswith("get /v1/records?key=4403 http/1.1")
    assert "authorization: bearer t" in head and "accept: application/json" in head
    assert "user-agent: approvals/" in head


def test_a_compressed_answer_is_decoded() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        writer.write(_answer(200, gzip.compress(json.dumps(BODY).encode()),
                             "Content-Encoding: gzip"))
        await writer.drain()
        writer.close()

    async def main() -> object:
        async with serving(handler) as base:
            return await _read(base)

    assert asyncio.run(main()) == BODY


def test_a_post_body_arrives_intact() -> None:
    bodies: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, body = await _request(reader)
        assert b"content-type: application/json" in head.lower()
        bodies.append(body)
        writer.write(_answer(201, b'{"ok": true}'))
        await writer.drain()
        writer.close()

    async def main() -> object:
        async with serving(handler) as base:
            client = _client(base)
            try:
                return await client.post_json("/v1/licences", {"holder": "王伟"})
            finally:
                await client.aclose()

    assert asyncio.run(main()) == {"ok": True}
    assert json.loads(bodies[0]) == {"holder": "王伟"}


def test_paths_are_appended_to_the_base_path() -> None:
    """A source mounted under a path (the sandbox's `/sandbox/platform`) is read there:
    the path is appended, not joined by RFC 3986 (which would drop the base's path)."""
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append((await _request(reader))[0])
        writer.write(_answer(200, json.dumps(BODY).encode()))
        await writer.drain()
        writer.close()

    async def main() -> object:
        async with serving(handler) as base:
            return await _read(base + "/sandbox/platform/")

    assert asyncio.run(main()) == BODY
    assert heads[0].lower().startswith(
        b"get /sandbox/platform/v1/records?key=440305198805129116 http/1.1"
    )


def test_a_redirect_is_reported_not_followed() -> None:
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append((await _request(reader))[0])
        writer.write(_answer(302, b"", "Location: http://elsewhere.example/steal"))
        await writer.drain()
        writer.close()

    async def main() -> None:
        async with serving(handler) as base:
            await _read(base)

    with pytest.raises(SourceUnavailable, match="answered HTTP 302"):
        asyncio.run(main())
    assert len(heads) == 1  # nothing sent to the Location


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    await reader.read()  # until the client gives up and closes


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.close()


async def _half_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(_answer(200, b'{"records": [1, 2, 3]}')[:-8])
    await writer.drain()
    writer.close()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    await writer.drain()
    writer.close()


async def _unavailable(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(_answer(503, b'{"error": "maintenance"}'))
    await writer.drain()
    writer.close()


@pytest.mark.parametrize(
    ("handler", "words"),
    [
        (_hang, "timed out (ReadTimeout)"),
        (_hang_up, "transport error: RemoteProtocolError"),
        (_half_body, "transport error: ReadError"),
        (_not_http, "transport error: RemoteProtocolError"),
        (_unavailable, "answered HTTP 503"),
    ],
    ids=["hangs", "hangs-up", "half-a-body", "not-http", "503"],
)
def test_each_failure_is_source_unavailable_naming_it(handler: Handler, words: str) -> None:
    async def main() -> None:
        async with serving(handler) as base:
            await _read(base, read=0.3)

    with pytest.raises(SourceUnavailable) as caught:
        asyncio.run(main())
    assert words in str(caught.value)
    assert "platform dataset population" in str(caught.value)


def test_nobody_listening_is_cannot_connect() -> None:
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        asyncio.run(_read(f"http://127.0.0.1:{port}"))


def test_the_exchange_maps_errors_to_httpx_ones() -> None:
    async def main() -> None:
        async with serving(_hang_up) as base:
            exchange = AiohttpExchange(base, timeouts=Timeouts(), pool=Pool(max_connections=1))
            try:
                with pytest.raises(httpx.RemoteProtocolError) as caught:
                    await exchange("GET", "/", None, {}, None)
                assert "ServerDisconnectedError" in str(caught.value)
            finally:
                await exchange.aclose()

    asyncio.run(main())
