"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from approvals import __version__, heap
from approvals.api import applications, audit, consents, errors, items, sandbox
from approvals.api.settings import Settings
from approvals.api.wiring import Wired, wire
from approvals.service import Clock, Sources, utcnow

DESCRIPTION = """\
深圳市政务服务“秒批”“秒报” — instant decisions on government service applications.

Every request carries `Authorization: Bearer <token>` naming the applicant and role
(`citizen`, `staff`, `auditor`); the sandbox issues test tokens at
`POST /v1/sandbox/tokens`. Errors are `{"error": {"code", "message_zh", "message_en",
"field"?}}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    sources: Sources | None = None,
    clock: Clock = utcnow,
    mount_sandbox: bool | None = None,
) -> FastAPI:
    """The service. `sources` injects data sources (tests: in-process transports);
    `mount_sandbox` serves the sandbox platform and licence store under `/sandbox/`
    (default: in sandbox mode)."""
    settings = settings or Settings.from_env()
    wired = wire(settings, sources=sources, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        heap.settle()  # start-up is over: what is loaded now lives as long as the process
        async with audit.sequencing(wired.log):
            yield
        await wired.aclose()

    app = FastAPI(
        title="Approvals 秒批",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = wired.service
    app.state.wired = wired
    errors.install(app)
    if settings.sandbox if mount_sandbox is None else mount_sandbox:
        # Mounted first: routes are matched in order, and the providers' reads (two to
        # three a decision) then skip matching against every API route; an API request
        # pays two prefix checks (/sandbox/platform, /sandbox/licences) instead.
        _mount_sandbox(app, settings, wired)
    app.include_router(items.router)
    app.include_router(applications.router)
    app.include_router(audit.router)
    app.include_router(consents.router)
    if settings.sandbox:
        app.include_router(sandbox.router)

    @app.get("/healthz", tags=["health"], summary="Liveness and database reachability")
    def healthz() -> dict[str, Any]:
        with wired.service.store.engine.connect() as conn:
            conn.execute(text("select 1"))
        return {"status": "ok", "items": len(wired.service.catalog.codes())}

    return app


def _mount_sandbox(app: FastAPI, settings: Settings, wired: Wired) -> None:
    from approvals.sandbox.fixtures import load_fixtures
    from approvals.sandbox.providers import LICENCES_PREFIX, PLATFORM_PREFIX, provider_apps

    # The mounted providers refuse reads outside a consent grant (403), like real ones.
    platform, licences = provider_apps(load_fixtures(settings.fixtures), wired.service.trust)
    app.mount(PLATFORM_PREFIX, platform)
    app.mount(LICENCES_PREFIX, licences)
