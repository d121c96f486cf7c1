"""Reads under consent, recorded: what the service calls instead of bare `Sources`.

For every prefill and submission:

1. Find the grant: the one the caller names (`Access.consent_id`, e.g. the authorization
   code a citizen shows at a counter), else the applicant's newest active grant for the
   item, else a new one (asking for the form, or submitting, is the citizen's consent
   for that purpose; at a counter it is recorded as given through the staff member). A
   named grant that is revoked, expired, someone else's or for another item is refused
   (`ConsentRequired`, HTTP 403) and no source is read; the refusal is recorded.
2. The grant must cover the ruleset's scope (`scope_of`): a new ruleset version that
   reads more needs a new grant.
3. Mint a short-lived token per provider, scoped to what that provider may disclose.
4. Read (`Sources`): each read carries its token and correlation id; repeated dataset
   reads under the same grant may come from the cache within their freshness.
5. Store one usage record per read, refused or failed reads included (用证留痕).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.to_thread

from approvals.engine.model import Gathered
from approvals.errors import Forbidden
from approvals.sources.access import ReadContext, ReadEvent
from approvals.sources.consent import (
    CONSENT_KEY_ENV,
    TOKEN_TTL,
    ConsentError,
    ConsentKey,
    GrantClaims,
    Scope,
    load_consent_key,
    mint,
    sandbox_consent_key,
    scope_of,
)
from approvals.sources.gather import Sources
from approvals.sources.prefill import Prefill
from approvals.spec.catalog import LoadedRuleset
from approvals.store import Store
from approvals.store.consents import ConsentGrant, ConsentStore, UsageRow

SERVICE = "approvals"
DEFAULT_GRANT_DAYS = 1
MAX_GRANT_DAYS = 90
MAX_TOKENS = 100_000  # minted tokens kept for reuse (a bound on memory only)


class ConsentRequired(Forbidden):
    """No grant allows this read: revoked, expired, another person's, or another item's."""


@dataclass(frozen=True)
class Access:
    """Who is reading, on whose authority, for which application.

    `usage`, when given, receives the reads' usage records instead of their being
    committed on their own: the service commits them in its decision's transaction
    (and on their own if no decision is committed).
    """

    actor: str  # citizen:<id> | staff:<id>
    consent_id: str | None = None
    application_id: str | None = None
    usage: list[UsageRow] | None = None


def purpose_of(loaded: LoadedRuleset) -> str:
    name = loaded.spec.name
    return f"办理“{name.zh}”（{loaded.spec.department.zh}）/ applying for {name.en}"


class GovernedSources:
    """`Sources` behind consent grants and usage records; same `gather`/`prefill` shape."""

    def __init__(
        self,
        inner: Sources,
        consents: ConsentStore,
        key: ConsentKey,
        *,
        clock: Callable[[], dt.datetime],
        service: str = SERVICE,
        run: Callable[..., Awaitable[Any]] | None = None,
        read: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self.inner = inner
        self.consents = consents
        self.key = key
        self.clock = clock
        self.service = service
        # Blocking database calls go to a worker thread (the store's `run` when given:
        # it serialises access to an in-memory SQLite connection).
        self.run = run or _to_thread
        # Reads that write nothing (finding the grant to read under) go through `read`
        # (the store's: inline on a SQLite file, see `Store.read`).
        self.read = read or self.run
        # Minted tokens, reused while at least half their life is left: minting (an
        # Ed25519 signature) per read was a tenth of a signed decision's CPU.
        self._tokens: dict[tuple[str, str, str, Scope], tuple[str, int]] = {}

    # What the licence sink and `aclose` reach through.
    @property
    def licences(self) -> Any:
        return self.inner.licences

    @property
    def platform(self) -> Any:
        return self.inner.platform

    async def aclose(self) -> None:
        await self.inner.aclose()

    # -- grants ------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.UTC)

    def create_grant(
        self,
        loaded: LoadedRuleset,
        applicant: str,
        granted_by: str,
        *,
        purpose: str | None = None,
        days: int = DEFAULT_GRANT_DAYS,
    ) -> ConsentGrant:
        scope = _scope(loaded)
        now = self.now()
        return self.consents.add_grant(
            ConsentGrant(
                id=str(uuid.uuid4()),
                applicant=applicant,
                item_code=loaded.code,
                purpose=purpose or purpose_of(loaded),
                datasets=json.dumps(list(scope.datasets)),
                licence_types=json.dumps(list(scope.licence_types)),
                granted_by=granted_by,
                created_at=now,
                expires_at=now + dt.timedelta(days=max(1, min(days, MAX_GRANT_DAYS))),
            )
        )

    def revoke(self, grant_id: str, applicant: str) -> ConsentGrant | None:
        """Revoke the applicant's grant; its cached reads are dropped at once."""
        grant = self.consents.grant(grant_id)
        if grant is None or grant.applicant != applicant:
            return None
        revoked = self.consents.revoke(grant_id, self.now())
        self.inner.cache.forget_grant(grant_id)
        for minted in [k for k in self._tokens if k[0] == grant_id]:
            self._tokens.pop(minted, None)
        return revoked

    async def _grant(
        self, loaded: LoadedRuleset, applicant: str, access: Access
    ) -> ConsentGrant:
        """The grant to read under. Almost always it exists and finding it is a read;
        creating one, or recording a refusal, writes, and is done in a worker thread."""
        found: ConsentGrant | None = await self.read(
            self._grant_for, loaded, applicant, access, False
        )
        if found is not None:
            return found
        grant: ConsentGrant = await self.run(self._grant_for, loaded, applicant, access, True)
        return grant

    def _grant_for(
        self, loaded: LoadedRuleset, applicant: str, access: Access, may_write: bool
    ) -> ConsentGrant | None:
        """The grant, or (when it would have to write and `may_write` is False) None."""
        scope = _scope(loaded)
        now = self.now()
        applicant_self = f"citizen:{applicant}"
        if access.consent_id is None:
            if access.actor != applicant_self:
                # 免证办: window staff read a citizen's data only with the authorization
                # the citizen gave (a grant they created, shown at the counter).
                if not may_write:
                    return None
                why = "staff need the applicant's consent grant (consent_id)"
                self._refused(loaded, applicant, access, scope, why)
                raise ConsentRequired(
                    "窗口代办须出示申请人授权（consent_id），未读取任何数据 / filing for "
                    f"someone else needs the applicant's consent grant; nothing was read: {why}"
                )
            found = self.consents.active_grant(
                applicant, loaded.code, now, scope.datasets, scope.licence_types
            )
            if found is not None or not may_write:
                return found
            return self.create_grant(loaded, applicant, access.actor)
        grant = self.consents.grant(access.consent_id)
        problem = None
        if grant is None or grant.applicant != applicant:
            problem = f"no grant {access.consent_id} of this applicant"
        elif grant.granted_by != applicant_self:
            problem = f"grant {grant.id} was not given by the applicant"
        elif grant.item_code != loaded.code:
            problem = f"grant {grant.id} is for item {grant.item_code}, not {loaded.code}"
        elif not grant.active(now):
            problem = f"grant {grant.id} is {grant.status(now)}"
        elif not grant.covers(scope.datasets, scope.licence_types):
            problem = (
                f"grant {grant.id} does not cover everything {loaded.code} "
                f"v{loaded.version} reads; a new grant is needed"
            )
        if problem is not None or grant is None:
            if not may_write:
                return None
            self._refused(loaded, applicant, access, scope, problem or "")
            raise ConsentRequired(
                f"未获授权，未读取任何数据 / no consent for this read, nothing was read: {problem}"
            )
        return grant

    def _refused(
        self, loaded: LoadedRuleset, applicant: str, access: Access, scope: Scope, why: str
    ) -> None:
        at, detail = self.now(), f"refused by the service: {why}"
        refused = [
            ReadEvent("platform", name, applicant, "refused", at, detail=detail)
            for name in scope.datasets
        ] + [
            ReadEvent("licences", name, applicant, "refused", at, detail=detail)
            for name in scope.licence_types
        ]
        stage = "submit" if access.application_id else "prefill"
        self.consents.add_usage([
            _usage(event, self.service, applicant, loaded.code, access, stage,
                   purpose_of(loaded), access.consent_id, access.application_id or "-")
            for event in refused
        ])

    def _context(self, loaded: LoadedRuleset, grant: ConsentGrant, access: Access) -> ReadContext:
        scope = _scope(loaded)
        tokens = {
            source: self._token(grant, access.actor, source, scope.for_source(source))
            for source in ("platform", "licences")
        }
        correlation = access.application_id or f"prefill-{uuid.uuid4()}"
        return ReadContext(correlation=correlation, grant_id=grant.id, tokens=tokens)

    def _token(self, grant: ConsentGrant, actor: str, source: str, part: Scope) -> str:
        """A token for `source` under `grant`: a minted one with half its life left, or a
        new one. Never outlives the grant; a revoked grant's tokens are forgotten."""
        # Tokens are checked against the providers' clocks, so they carry real time.
        issued = int(time.time())
        key = (grant.id, actor, source, part)
        reused = self._tokens.get(key)
        if reused is not None and reused[1] - issued >= TOKEN_TTL // 2:
            return reused[0]
        remaining = (grant.expires_at.replace(tzinfo=dt.UTC) - self.now()).total_seconds()
        expires = issued + int(max(1, min(TOKEN_TTL, remaining)))
        token = mint(
            self.key,
            GrantClaims(
                gid=grant.id, sub=grant.applicant, item=grant.item_code,
                purpose=grant.purpose, aud=source, datasets=part.datasets,
                licence_types=part.licence_types, act=actor, iat=issued, exp=expires,
            ),
        )
        if len(self._tokens) >= MAX_TOKENS:
            self._tokens.clear()
        self._tokens[key] = (token, expires)
        return token

    # -- reads -------------------------------------------------------------------------

    async def gather(
        self,
        loaded: LoadedRuleset,
        applicant_id: str,
        form: Mapping[str, Any],
        on: dt.date,
        access: Access | None = None,
    ) -> dict[str, Gathered]:
        access = access or Access(actor=f"citizen:{applicant_id}")
        grant = await self._grant(loaded, applicant_id, access)
        context = self._context(loaded, grant, access)
        try:
            return await self.inner.gather(loaded, applicant_id, form, on, context)
        finally:
            await self._record(loaded, applicant_id, access, grant, context, "submit")

    async def prefill(
        self,
        loaded: LoadedRuleset,
        applicant_id: str,
        on: dt.date,
        access: Access | None = None,
    ) -> Prefill:
        access = access or Access(actor=f"citizen:{applicant_id}")
        grant = await self._grant(loaded, applicant_id, access)
        context = self._context(loaded, grant, access)
        try:
            result = await self.inner.prefill(loaded, applicant_id, on, context)
        finally:
            await self._record(loaded, applicant_id, access, grant, context, "prefill")
        return result.model_copy(update={"consent_id": grant.id})

    async def _record(
        self,
        loaded: LoadedRuleset,
        applicant: str,
        access: Access,
        grant: ConsentGrant,
        context: ReadContext,
        stage: str,
    ) -> None:
        rows = [
            _usage(event, self.service, applicant, loaded.code, access, stage,
                   grant.purpose, grant.id, context.correlation)
            for event in context.events
        ]
        if access.usage is not None:
            access.usage.extend(rows)  # committed with the caller's decision
        else:
            await self.run(self.consents.add_usage, rows)


async def _to_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await anyio.to_thread.run_sync(partial(fn, *args))


def _usage(
    event: ReadEvent,
    service: str,
    applicant: str,
    item: str,
    access: Access,
    stage: str,
    purpose: str,
    grant_id: str | None,
    correlation: str,
) -> UsageRow:
    """One usage record (用证留痕): a read, a cache reuse, or a refusal."""
    return {
        "at": event.at,
        "service": service,
        "actor": access.actor,
        "applicant": applicant,
        "item_code": item,
        "application_id": access.application_id,
        "stage": stage,
        "purpose": purpose,
        "grant_id": grant_id,
        "correlation": correlation,
        "source": event.source,
        "name": event.name,
        "key": event.key,
        "outcome": event.outcome,
        "digest": event.digest,
        "licence_ids": json.dumps(list(event.licence_ids)) if event.licence_ids else "[]",
        "detail": event.detail,
    }


_SCOPES: dict[str, Scope] = {}


def _scope(loaded: LoadedRuleset) -> Scope:
    """`scope_of` the ruleset, worked out once per ruleset text (its hash): every
    decision checks its grant and mints its tokens against it."""
    scope = _SCOPES.get(loaded.hash)
    if scope is None:
        scope = _SCOPES[loaded.hash] = scope_of(loaded.spec)
    return scope


def consent_key_for(sandbox: bool, environ: Mapping[str, str] | None = None) -> ConsentKey:
    """`$APPROVALS_CONSENT_KEY_FILE`; the public sandbox key only in sandbox mode."""
    configured = load_consent_key(environ)
    if configured is not None:
        return configured
    if sandbox:
        return sandbox_consent_key()
    raise ConsentError(
        f"no consent signing key: set ${CONSENT_KEY_ENV} to an Ed25519 private key (PEM) "
        "whose public key the data providers trust (docs/connectors.md, 'Consent')"
    )


def govern(sources: Any, store: Store, *, sandbox: bool, clock: Callable[[], dt.datetime]) -> Any:
    """Put bare `Sources` behind consent and usage records; anything else is used as is
    (already governed, or a test double)."""
    if not isinstance(sources, Sources):
        return sources
    return GovernedSources(
        sources, ConsentStore(store.engine), consent_key_for(sandbox), clock=clock,
        run=store.run, read=store.read,
    )
