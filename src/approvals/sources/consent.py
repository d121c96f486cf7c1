"""Consent grants as the data sources see them: scope, and the signed grant token.

A citizen's grant (applicant, item, purpose, expiry) covers exactly the datasets and
licence types the item's ruleset reads: `scope_of` derives them from the ruleset's
`inputs`, so nobody lists them by hand and a ruleset change changes the scope.

Every read carries `X-Consent-Grant: <token>`, a short-lived statement signed by the
service (Ed25519) that the holder consented, for this purpose, to *this source*
disclosing these datasets (or licence types) about them:

    v1.<base64url(RFC 8785 JSON claims)>.<base64url(Ed25519 signature)>

The signature covers `approvals-consent-grant/v1` + LF + the claims bytes (domain
separation: this key signs nothing else). Like an OAuth access token at Singapore's
Myinfo, the provider verifies it offline with the service's published public key and
refuses (403) a read outside it; it needs no call back to us on every read. Tokens
live at most `TOKEN_TTL` seconds, so a revoked grant stops reads at once on our side
(no token is minted for it) and within minutes on any copy in flight. Claims:

    gid   grant id             sub   holder's citizen ID number
    item  item code            purpose  the stated purpose (zh)
    aud   platform | licences  datasets / licence_types  what this source may disclose
    act   who is reading (citizen:<id> or staff:<id>)
    iat, exp  Unix seconds     kid   the signing key's id
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from approvals.audit.canonical import encode_canonical
from approvals.errors import ApprovalsError
from approvals.signatures import VERIFIED, remember
from approvals.spec.ruleset import DatasetInput, Ruleset

GRANT_HEADER = "X-Consent-Grant"
# Ties a provider's access log to our usage record and decision (X-Road's message id).
CORRELATION_HEADER = "X-Correlation-Id"
TOKEN_TTL = 300
DOMAIN = b"approvals-consent-grant/v1\n"
CONSENT_KEY_ENV = "APPROVALS_CONSENT_KEY_FILE"
# Public by construction (anyone can derive it): the sandbox providers trust it, nothing else may.
SANDBOX_SEED = hashlib.sha256(b"approvals-sandbox-consent-key").digest()


class ConsentError(ApprovalsError):
    """A grant token is missing, forged, expired or does not cover the read."""


@dataclass(frozen=True)
class Scope:
    """What a grant for an item covers, derived from its ruleset's inputs."""

    datasets: tuple[str, ...]
    licence_types: tuple[str, ...]

    def for_source(self, source: str) -> Scope:
        """Data minimisation: a provider learns only what it itself may disclose."""
        if source == "platform":
            return Scope(self.datasets, ())
        return Scope((), self.licence_types)


def scope_of(spec: Ruleset) -> Scope:
    datasets = {s.dataset for s in spec.inputs.values() if isinstance(s, DatasetInput)}
    types = {s.type for s in spec.inputs.values() if not isinstance(s, DatasetInput)}
    return Scope(tuple(sorted(datasets)), tuple(sorted(types)))


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:8]


@dataclass(frozen=True)
class ConsentKey:
    """The service's grant-token signing key. `repr` never shows the private key."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def __repr__(self) -> str:
        return f"ConsentKey(key_id={self.key_id!r})"


def sandbox_consent_key() -> ConsentKey:
    return ConsentKey(Ed25519PrivateKey.from_private_bytes(SANDBOX_SEED))


def load_consent_key(environ: Mapping[str, str] | None = None) -> ConsentKey | None:
    """The key in `$APPROVALS_CONSENT_KEY_FILE` (PEM PKCS#8 Ed25519), or None if unset."""
    env = os.environ if environ is None else environ
    path = env.get(CONSENT_KEY_ENV)
    if not path:
        return None
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConsentError(f"${CONSENT_KEY_ENV}: cannot load {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConsentError(f"${CONSENT_KEY_ENV}: {path} is not an Ed25519 private key")
    return ConsentKey(key)


@dataclass(frozen=True)
class GrantClaims:
    gid: str
    sub: str
    item: str
    purpose: str
    aud: str
    datasets: tuple[str, ...]
    licence_types: tuple[str, ...]
    act: str
    iat: int
    exp: int

    def as_json(self, kid: str) -> dict[str, Any]:
        return {
            "gid": self.gid,
            "sub": self.sub,
            "item": self.item,
            "purpose": self.purpose,
            "aud": self.aud,
            "datasets": list(self.datasets),
            "licence_types": list(self.licence_types),
            "act": self.act,
            "iat": self.iat,
            "exp": self.exp,
            "kid": kid,
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(key: ConsentKey, claims: GrantClaims) -> str:
    body = encode_canonical(claims.as_json(key.key_id))
    return f"v1.{_b64(body)}.{_b64(key.private.sign(DOMAIN + body))}"


def verify_token(
    token: str | None, keys: Mapping[str, Ed25519PublicKey], audience: str, now: float
) -> GrantClaims:
    """The claims of a valid token for `audience`; else `ConsentError` saying what is wrong.

    Steps: 1 present, 2 well formed, 3 signed by a trusted key, 4 for this provider,
    5 not expired (and not issued in the future).
    """
    if not token:
        raise ConsentError(f"no {GRANT_HEADER} header: a read needs the holder's consent grant")
    known = _READ_TOKENS.get(token)
    if known is not None and _is_key(keys.get(known.kid), known.public):
        claims = known.claims  # steps 2 and 3 passed before, under this very key
    else:
        claims = _verified_claims(token, keys)
    if claims.aud != audience:
        raise ConsentError(f"grant token is for {claims.aud!r}, not {audience!r}")
    if claims.exp <= now:
        raise ConsentError(f"grant {claims.gid} token expired")
    if claims.iat > now + 60:  # clock skew allowance
        raise ConsentError(f"grant {claims.gid} token issued in the future")
    return claims


@dataclass(frozen=True)
class _ReadToken:
    kid: str
    public: bytes  # the raw key it verified under
    claims: GrantClaims


#: Tokens that passed steps 2 and 3, by their text. A token is presented on every read
#: of a gather and reused for half its life (governed.py), and parsing and checking it
#: each time was most of a provider's consent check. Only the token text and the key
#: it verified under are trusted from here; audience and time are checked every read.
_READ_TOKENS: dict[str, _ReadToken] = {}
_READ_TOKENS_MAX = 65_536
_READ_TOKENS_LOCK = threading.Lock()


def _is_key(public: Ed25519PublicKey | None, raw: bytes) -> bool:
    return public is not None and public.public_bytes_raw() == raw


def _verified_claims(token: str, keys: Mapping[str, Ed25519PublicKey]) -> GrantClaims:
    """Steps 2 and 3 (well formed, signed by a trusted key); remembered on success."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "v1":  # version, claims, signature
        raise ConsentError("malformed grant token: expected v1.<claims>.<signature>")
    try:
        body, signature = _unb64(parts[1]), _unb64(parts[2])
        data = json.loads(body)
    except (binascii.Error, ValueError) as exc:
        raise ConsentError(f"malformed grant token: {exc}") from exc
    if not isinstance(data, dict):
        raise ConsentError("malformed grant token: claims are not an object")
    public = keys.get(str(data.get("kid")))
    if public is None:
        raise ConsentError(f"grant token signed by an unknown key {data.get('kid')!r}")
    try:
        VERIFIED.verify(public, signature, DOMAIN + body)
    except InvalidSignature:
        raise ConsentError("grant token signature does not verify") from None
    try:
        claims = GrantClaims(
            gid=str(data["gid"]),
            sub=str(data["sub"]),
            item=str(data["item"]),
            purpose=str(data["purpose"]),
            aud=str(data["aud"]),
            datasets=tuple(str(d) for d in data["datasets"]),
            licence_types=tuple(str(t) for t in data["licence_types"]),
            act=str(data["act"]),
            iat=int(data["iat"]),
            exp=int(data["exp"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConsentError(f"malformed grant token: claim {exc} missing or invalid") from exc
    with _READ_TOKENS_LOCK:
        known = _ReadToken(str(data["kid"]), public.public_bytes_raw(), claims)
        remember(_READ_TOKENS, token, known, _READ_TOKENS_MAX)
    return claims
