"""The sandbox providers alone, on a lean host: `approvals serve --providers-only`.

Real providers (the shared data platform, the electronic licence store) run on their
own machines. `approvals serve` mounts the sandbox's FastAPI apps beside the API, with
their OpenAPI pages; this host serves the same two providers and nothing else, for a
connector's integration tests or as the stand-ins `make bench` reads over HTTP.

Requests go to the providers' handlers through the routes of the in-process exchange
(`approvals.sandbox.inprocess`, tested to answer byte for byte as the FastAPI apps do)
under plain Starlette. Behind `approvals serve` a provider's read passed two FastAPI
application stacks, route matching against the API, and FastAPI's parameter solving:
py-spy put ~58% of the providers' CPU in FastAPI's request handling and ~13% in the
handlers (docs/performance.md, "Over HTTP"). The fault-injection admin endpoints are
only on the FastAPI apps; faults planned in `$APPROVALS_SANDBOX_FAULTS` apply here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from approvals.api.settings import Settings
from approvals.licence import TrustList
from approvals.sandbox.fixtures import load_fixtures
from approvals.sandbox.inprocess import InProcessExchange, exchange_for
from approvals.sandbox.providers import LICENCES_PREFIX, PLATFORM_PREFIX, provider_apps

# Every method reaches the exchange, which answers 404 or 405 as the FastAPI apps do.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def create_providers_app(settings: Settings | None = None) -> Starlette:
    """Both sandbox providers, enforcing consent grants as when mounted by the API."""
    settings = settings or Settings.from_env()
    apps = provider_apps(load_fixtures(settings.fixtures), TrustList.load(settings.licences_dir))
    platform, licences = (exchange_for(app) for app in apps)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "providers": ["platform", "licences"]})

    return Starlette(routes=[
        Mount(PLATFORM_PREFIX, routes=[_route(platform)]),
        Mount(LICENCES_PREFIX, routes=[_route(licences)]),
        Route("/healthz", healthz),
    ])


def _route(exchange: InProcessExchange) -> Route:
    return Route("/{path:path}", _endpoint(exchange), methods=_METHODS)


def _endpoint(exchange: InProcessExchange) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = await request.body() if request.method in ("POST", "PUT", "PATCH") else None
        status, answer = await exchange(
            request.method, "/" + request.path_params["path"], request.query_params,
            request.headers, body,
        )
        return Response(answer, status_code=status, media_type="application/json")

    return endpoint
