"""Call a sandbox provider's handlers directly: the in-process transport.

`approvals serve` without `APPROVALS_SOURCES_BASE_URL`, the CLI and the tests read the
sandbox in the same process. Going through `httpx.ASGITransport` and FastAPI for that
cost about 2 ms of CPU per read, half of a signed decision (docs/performance.md). This
exchange hands the production clients (`approvals.sources.http.JsonClient`) the
status and JSON bytes the provider's handler produced, with the same consent checks,
fault injection and error statuses as over HTTP (`approvals.sandbox.reply`), and none
of the HTTP framing. What the clients do with an answer (status checks, retries,
breakers, payload checks, digests) is unchanged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError
from starlette.datastructures import Headers

from approvals.licence.document import Licence
from approvals.sandbox.platform import SandboxPlatform
from approvals.sandbox.reply import HANDLED, Reply, reply_for_error
from approvals.sandbox.store import SandboxLicenceStore

log = logging.getLogger("approvals.sandbox.inprocess")
Params = Mapping[str, str]
Handler = Callable[[re.Match[str], Params, Headers, bytes | None], Awaitable[Reply]]
NOT_FOUND = Reply.json({"detail": "Not Found"}, 404)
NOT_ALLOWED = Reply.json({"detail": "Method Not Allowed"}, 405)
CAUGHT: tuple[type[Exception], ...] = (*HANDLED, ValidationError)
CRASHED = Reply.json({"detail": "Internal Server Error"}, 500)


class InProcessExchange:
    """`await exchange(method, path, params, headers, body)` -> (status, JSON bytes).

    Routes are the provider's HTTP contract (docs/architecture.md); a path none of them
    matches is 404, a missing query parameter 422, as FastAPI would answer.
    """

    def __init__(self, routes: list[tuple[str, str, Handler]]) -> None:
        self._routes = [(method, re.compile(pattern), handle) for method, pattern, handle in routes]

    async def __call__(
        self,
        method: str,
        path: str,
        params: Params | None,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> tuple[int, bytes]:
        path_matched = False
        for route_method, pattern, handle in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            path_matched = True
            if route_method != method:
                continue
            try:
                reply = await handle(match, params or {}, Headers(headers=dict(headers)), body)
            except CAUGHT as exc:
                reply = reply_for_error(exc)
            except _MissingParameter as exc:
                missing = {"loc": ["query", exc.args[0]], "msg": "Field required"}
                reply = Reply.json({"detail": [missing]}, 422)
            except Exception:
                # A crash in the provider reaches the client as HTTP 500, as it would over
                # the network (a referral naming the source), never as the provider's own
                # exception.
                log.exception("sandbox provider crashed on %s %s", method, path)
                reply = CRASHED
            return reply.status, reply.body
        reply = NOT_ALLOWED if path_matched else NOT_FOUND
        return reply.status, reply.body


class _MissingParameter(KeyError):
    pass


def _param(params: Params, name: str) -> str:
    value = params.get(name)
    if not value:
        raise _MissingParameter(name)
    return value


def platform_exchange(provider: SandboxPlatform) -> InProcessExchange:
    async def catalogue(m: re.Match[str], p: Params, h: Headers, b: bytes | None) -> Reply:
        return Reply.json(provider.catalogue())

    async def records(m: re.Match[str], p: Params, h: Headers, b: bytes | None) -> Reply:
        return await provider.records(h, unquote(m["name"]), _param(p, "key"))

    return InProcessExchange([
        ("GET", r"/v1/datasets", catalogue),
        ("GET", r"/v1/datasets/(?P<name>[^/]+)/records", records),
    ])


def licence_store_exchange(provider: SandboxLicenceStore) -> InProcessExchange:
    async def licences(m: re.Match[str], p: Params, h: Headers, b: bytes | None) -> Reply:
        return await provider.licences(h, _param(p, "holder"), p.get("type"))

    async def licence(m: re.Match[str], p: Params, h: Headers, b: bytes | None) -> Reply:
        return Reply.json(provider.licence(h, unquote(m["id"])))

    async def issue(m: re.Match[str], p: Params, h: Headers, b: bytes | None) -> Reply:
        return Reply.json(provider.issue(Licence.model_validate_json(b or b"")), 201)

    async def revoke(m: re.Match[str], p: Params, h: Headers, b: bytes | None) -> Reply:
        return Reply.json(provider.revoke(unquote(m["id"])))

    return InProcessExchange([
        ("GET", r"/v1/licences", licences),
        ("POST", r"/v1/licences", issue),
        ("GET", r"/v1/licences/(?P<id>[^/]+)", licence),
        ("POST", r"/v1/licences/(?P<id>[^/]+)/revocation", revoke),
    ])


def exchange_for(app: Any) -> InProcessExchange:
    """The in-process exchange for a sandbox app built by `create_*_app`."""
    provider = app.state.provider
    if isinstance(provider, SandboxPlatform):
        return platform_exchange(provider)
    if isinstance(provider, SandboxLicenceStore):
        return licence_store_exchange(provider)
    raise TypeError(f"not a sandbox provider app: {app!r}")
