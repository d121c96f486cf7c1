"""Build `Sources` for real HTTP (from `connectors/` and the environment) or for the
sandbox apps in-process (no sockets: the CLI, tests)."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from approvals.licence import TrustList
from approvals.sources.errors import ConnectorConfigError
from approvals.sources.gather import Sources
from approvals.sources.licences import LicenceStoreClient
from approvals.sources.platform import PlatformClient
from approvals.sources.resilience import Resilience
from approvals.spec.connectors import (
    ApiKeyAuth,
    ConnectorConfig,
    Endpoint,
    MtlsAuth,
    load_connectors,
)

# No request leaves the process; these make in-process reads recognisable in errors.
SANDBOX_PLATFORM_URL = "http://sandbox-platform.invalid"
SANDBOX_LICENCES_URL = "http://sandbox-licences.invalid"


def sources_from_config(
    config: ConnectorConfig | None = None,
    *,
    trust: TrustList | None = None,
    env: Mapping[str, str] | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> Sources:
    """Sources over real HTTP, as `connectors/` and the environment configure them.

    `env` defaults to `os.environ`; `transports` ("platform"/"licences") replaces the
    network for one or both (full-stack tests use it for fault injection). Raises
    `ConnectorConfigError` when a credential the config names is not available.
    """
    config = config or load_connectors()
    environ = os.environ if env is None else env
    transports = transports or {}
    platform = PlatformClient(
        config.platform.url(environ),
        transport=transports.get("platform"),
        **_client_options("platform", config.platform, environ),
    )
    licences = LicenceStoreClient(
        config.licences.url(environ),
        transport=transports.get("licences"),
        **_client_options("licences", config.licences, environ),
    )
    return Sources(platform, licences, config.datasets, trust or TrustList.load())


def sources_for_sandbox(
    fixtures_path: Path | None = None,
    *,
    config: ConnectorConfig | None = None,
    trust: TrustList | None = None,
    consent: bool = False,
) -> Sources:
    """Sources reading the sandbox apps in-process (`approvals.sandbox.inprocess`).

    Same clients, payload checks and verification as production; only the transport
    differs: the clients call the apps' handlers directly instead of over HTTP.
    `fixtures_path` replaces the shipped fixture file (see
    `approvals.sandbox.fixtures.fixtures_path`, which also honours
    `APPROVALS_SANDBOX_FIXTURES`). `consent=True` makes the sandbox providers refuse
    reads without a grant token, as the service's own sandbox does; the default leaves
    them open for tests of the data and the connectors alone. The apps are at
    `sources.platform_app` / `sources.licences_app` (their `state.faults` injects faults).
    """
    # Imported here: the sandbox (and FastAPI) is not needed to talk to real platforms.
    from approvals.sandbox.fixtures import load_fixtures
    from approvals.sandbox.inprocess import exchange_for
    from approvals.sandbox.providers import provider_apps

    config = config or load_connectors()
    trust = trust or TrustList.load()
    platform_app, licences_app = provider_apps(
        load_fixtures(fixtures_path), trust, consent=consent
    )
    platform = PlatformClient(
        SANDBOX_PLATFORM_URL,
        exchange=exchange_for(platform_app),
        timeouts=config.platform.timeout,
        pool=config.platform.pool,
        resilience=resilience_for(config.platform),
    )
    licences = LicenceStoreClient(
        SANDBOX_LICENCES_URL,
        exchange=exchange_for(licences_app),
        timeouts=config.licences.timeout,
        pool=config.licences.pool,
        resilience=resilience_for(config.licences),
    )
    sources = Sources(platform, licences, config.datasets, trust)
    sources.platform_app = platform_app
    sources.licences_app = licences_app
    return sources


def resilience_for(endpoint: Endpoint) -> Resilience:
    """The endpoint's retry, circuit and concurrency settings, as one shared policy."""
    return Resilience(
        retry=endpoint.retry, circuit=endpoint.circuit, concurrency=endpoint.concurrency
    )


def _client_options(source: str, endpoint: Endpoint, env: Mapping[str, str]) -> dict[str, Any]:
    """Timeouts, pool and credentials for one endpoint's client."""
    options: dict[str, Any] = {
        "timeouts": endpoint.timeout,
        "pool": endpoint.pool,
        "resilience": resilience_for(endpoint),
    }
    auth = endpoint.auth
    if isinstance(auth, ApiKeyAuth):
        key = env.get(auth.key_env)
        if not key:
            raise ConnectorConfigError(
                f"connectors/{source}.yaml: auth api_key reads the key from ${auth.key_env}, "
                "which is not set"
            )
        options["headers"] = {auth.header: key}
    elif isinstance(auth, MtlsAuth):
        options["verify"] = _mtls_context(source, endpoint, auth, env)
    return options


def _mtls_context(
    source: str, endpoint: Endpoint, auth: MtlsAuth, env: Mapping[str, str]
) -> ssl.SSLContext:
    where = f"connectors/{source}.yaml: auth mtls"
    if not endpoint.url(env).startswith("https://"):
        raise ConnectorConfigError(f"{where} needs an https:// base URL, found {endpoint.url(env)}")
    paths: dict[str, str] = {}
    for role, var in (
        ("certificate", auth.cert_env),
        ("key", auth.key_env),
        ("CA bundle", auth.ca_env),
    ):
        if var is None:
            continue
        value = env.get(var)
        if not value:
            raise ConnectorConfigError(
                f"{where} reads the client {role} path from ${var}, which is not set"
            )
        paths[role] = value
    try:
        context = ssl.create_default_context(cafile=paths.get("CA bundle"))
        context.load_cert_chain(paths["certificate"], paths["key"])
    except (OSError, ssl.SSLError) as exc:
        raise ConnectorConfigError(
            f"{where}: cannot load the client certificate or CA: {exc}"
        ) from exc
    return context
