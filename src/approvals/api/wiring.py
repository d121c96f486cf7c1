"""Assemble a `DecisionService` from `Settings`: rulesets, trust list, store, key, sources.

Used by the HTTP app and by the CLI, so both decide the same way.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from approvals.api.settings import ConfigurationError, Settings
from approvals.audit.errors import KeyLoadError
from approvals.audit.keys import (
    SIGNING_KEY_ENV,
    Keyring,
    SigningKey,
    is_sandbox_key,
    load_signing_key,
    sandbox_signing_key,
)
from approvals.audit.sqllog import DecisionLog
from approvals.errors import SourceUnavailable
from approvals.licence import Licence, TrustList
from approvals.sandbox.keys import signing_key as sandbox_issuer_key
from approvals.service import Clock, DecisionService, LicenceSink, Sources, utcnow
from approvals.sources.governed import govern
from approvals.spec.catalog import Catalog
from approvals.store import Store, open_database


def signer_for(settings: Settings) -> SigningKey:
    """The configured key; the public sandbox key only in sandbox mode (and never silently)."""
    configured = settings.signing_key_file is not None or bool(os.environ.get(SIGNING_KEY_ENV))
    if configured:
        try:
            key = load_signing_key(settings.log_name, path=settings.signing_key_file)
        except KeyLoadError as exc:
            raise ConfigurationError(str(exc)) from exc
    elif settings.sandbox:
        key = sandbox_signing_key(settings.log_name)
    else:
        raise ConfigurationError(
            f"no signing key: set {SIGNING_KEY_ENV} or APPROVALS_SIGNING_KEY_FILE "
            "(the sandbox key is only for APPROVALS_SANDBOX=1)"
        )
    if is_sandbox_key(key) and not settings.sandbox:
        raise ConfigurationError("the public sandbox signing key may not sign real decisions")
    return key


def keyring_for(settings: Settings, signer: SigningKey | None = None) -> Keyring:
    """The log's trusted keys: the current one and every retired one (key rotation)."""
    try:
        ring = Keyring(settings.previous_keys)
    except KeyLoadError as exc:
        raise ConfigurationError(f"APPROVALS_PREVIOUS_KEYS: {exc}") from exc
    if not settings.sandbox and any(is_sandbox_key(k) for k in ring):
        raise ConfigurationError("the public sandbox key may not be trusted outside the sandbox")
    if signer is not None:
        ring.add(signer.verifier)
    return ring


@dataclass
class Wired:
    service: DecisionService
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    log: DecisionLog | None = None

    async def aclose(self) -> None:
        for close in self.closers:
            await close()
        self.service.store.engine.dispose()


def build_sources(settings: Settings, trust: TrustList) -> Any:
    """Real connectors outside the sandbox; in the sandbox, the mounted sandbox over HTTP
    when `sources_base_url` is set, else the sandbox apps in-process."""
    from approvals.sources.factory import sources_for_sandbox, sources_from_config

    if not settings.sandbox:
        return sources_from_config(trust=trust)
    if settings.sources_base_url:
        # The paths every sandbox host serves the providers at (sandbox/providers.py).
        from approvals.sandbox.providers import LICENCES_PREFIX, PLATFORM_PREFIX

        base = settings.sources_base_url.rstrip("/")
        env = dict(os.environ)
        # An explicit APPROVALS_PLATFORM_URL / APPROVALS_LICENCES_URL still wins.
        env.setdefault("APPROVALS_PLATFORM_URL", base + PLATFORM_PREFIX)
        env.setdefault("APPROVALS_LICENCES_URL", base + LICENCES_PREFIX)
        return sources_from_config(trust=trust, env=env)
    # consent=True: the sandbox providers refuse reads without a grant, like real ones.
    return sources_for_sandbox(settings.fixtures, trust=trust, consent=True)


def licence_sink(sources: Any) -> LicenceSink | None:
    """Issue through the sources' licence store client; a retry after a lost answer is fine."""
    client = getattr(sources, "licence_store", None) or getattr(sources, "licences", None)
    if client is None or not hasattr(client, "issue"):
        return None

    async def deliver(licence: Licence) -> None:
        try:
            await client.issue(licence)
        except SourceUnavailable:
            # The store may already hold it (our earlier POST succeeded, its answer was lost).
            try:
                held, _ = await client.licence(licence.licence_id)
            except SourceUnavailable:
                held = None
            if held is None or held.signature != licence.signature:
                raise

    return deliver


def wire(
    settings: Settings,
    *,
    sources: Sources | None = None,
    clock: Clock = utcnow,
) -> Wired:
    catalog = Catalog.load(settings.rulesets)
    trust = TrustList.load(settings.licences_dir)
    store = Store(open_database(settings.database_url))
    chosen: Any = sources if sources is not None else build_sources(settings, trust)
    # Every read under a consent grant, every read recorded (issue 4).
    chosen = govern(chosen, store, sandbox=settings.sandbox, clock=clock)
    service = DecisionService(
        catalog,
        chosen,
        store,
        signer_for(settings),
        trust=trust,
        deliver_licence=licence_sink(chosen),
        issuer_keys=sandbox_issuer_key if settings.sandbox else None,
        clock=clock,
    )
    wired = Wired(service, log=DecisionLog(
        store.engine, service.signer, keyring_for(settings, service.signer), clock=clock
    ))
    close = getattr(chosen, "aclose", None)
    if sources is None and close is not None:
        wired.closers.append(close)
    return wired
