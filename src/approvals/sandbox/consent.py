"""The sandbox providers' consent check: no grant token covering the read, no data (403).

What a real provider would do with `X-Consent-Grant` (see `approvals.sources.consent`):
verify the token offline against the consuming service's published key, check that it
is addressed to this provider, unexpired, and covers the dataset or licence type asked
for, about the person asked about. Every decision, allowed or refused, goes to the
provider's own access log (`ConsentGate.log`), as X-Road keeps one on each side.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from approvals.sources.consent import (
    CORRELATION_HEADER,
    GRANT_HEADER,
    ConsentError,
    GrantClaims,
    sandbox_consent_key,
    verify_token,
)


@dataclass(frozen=True)
class AccessEntry:
    at: dt.datetime
    audience: str
    name: str  # dataset or licence type ("" when not known, e.g. an unknown licence id)
    key: str
    allowed: bool
    grant_id: str | None
    correlation: str | None
    detail: str


@dataclass
class ConsentGate:
    """Verifies grant tokens for one provider (`audience`: "platform" or "licences")."""

    audience: str
    keys: Mapping[str, Ed25519PublicKey]
    clock: Callable[[], float] = time.time
    log: list[AccessEntry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(
        self,
        headers: Mapping[str, str],
        name: str,
        key: str,
        *,
        subject: str | None,
    ) -> GrantClaims:
        """The token's claims if it covers reading `name` under `key`; else `ConsentError`.

        `subject` is the person the answer is about when the key identifies one (an ID
        number): it must be the grant's holder. Registers keyed by something else (an
        address, a business name) are covered by the dataset being in the grant.
        """
        token = headers.get(GRANT_HEADER)
        correlation = headers.get(CORRELATION_HEADER)
        try:
            claims = verify_token(token, self.keys, self.audience, self.clock())
            covered = claims.datasets if self.audience == "platform" else claims.licence_types
            if name not in covered:
                raise ConsentError(
                    f"grant {claims.gid} (item {claims.item}) does not cover {name!r}; "
                    f"it covers {', '.join(covered) or 'nothing here'}"
                )
            if subject is not None and subject != claims.sub:
                raise ConsentError(
                    f"grant {claims.gid} is {claims.sub}'s; it does not cover {subject}'s data"
                )
        except ConsentError as exc:
            self._note(name, key, False, None, correlation, str(exc))
            raise
        self._note(name, key, True, claims.gid, correlation, claims.purpose)
        return claims

    def _note(
        self,
        name: str,
        key: str,
        allowed: bool,
        grant_id: str | None,
        correlation: str | None,
        detail: str,
    ) -> None:
        entry = AccessEntry(
            dt.datetime.fromtimestamp(self.clock(), dt.UTC),
            self.audience, name, key, allowed, grant_id, correlation, detail,
        )
        with self._lock:
            self.log.append(entry)
            if len(self.log) > MAX_LOG:
                del self.log[: MAX_LOG // 2]

    @property
    def refused(self) -> list[AccessEntry]:
        return [e for e in self.log if not e.allowed]


MAX_LOG = 100_000


def sandbox_gate(audience: str, clock: Callable[[], float] = time.time) -> ConsentGate:
    """The gate the sandbox providers use: trusts only the public sandbox consent key."""
    key = sandbox_consent_key()
    return ConsentGate(audience, {key.key_id: key.public}, clock)
