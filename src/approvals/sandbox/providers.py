"""The two sandbox providers, built together as each of their hosts needs them.

Three hosts serve them: `approvals serve` mounts them beside the API, the in-process
sources call their handlers directly (`approvals.sources.factory.sources_for_sandbox`),
and `approvals serve --providers-only` serves them alone (`approvals.sandbox.host`).
"""

from __future__ import annotations

from fastapi import FastAPI

from approvals.licence import TrustList
from approvals.sandbox.consent import sandbox_gate
from approvals.sandbox.fixtures import Fixtures
from approvals.sandbox.platform import create_platform_app
from approvals.sandbox.store import create_licence_store_app

#: Where the providers are served over HTTP; connectors find them under
#: `$APPROVALS_SOURCES_BASE_URL` at these paths (`approvals.api.wiring`).
PLATFORM_PREFIX = "/sandbox/platform"
LICENCES_PREFIX = "/sandbox/licences"


def provider_apps(
    fixtures: Fixtures, trust: TrustList, *, consent: bool = True
) -> tuple[FastAPI, FastAPI]:
    """The data platform and the licence store over `fixtures`. With `consent` they
    refuse reads outside a consent grant (403), like real providers; without, they are
    open, for tests of the data and the connectors alone."""
    return (
        create_platform_app(fixtures, consent=sandbox_gate("platform") if consent else None),
        create_licence_store_app(
            fixtures, trust, consent=sandbox_gate("licences") if consent else None
        ),
    )
