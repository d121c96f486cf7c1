"""Bearer tokens: `<base64url(JSON claims)>.<base64url(HMAC-SHA256 of the first part)>`.

Claims: `sub` (the caller's citizen ID number), `role` (citizen | staff | auditor),
`iat` and `exp` (Unix seconds). The sandbox issues them; a real deployment would put
the i-Shenzhen identity provider here. Verification compares MACs in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Literal, get_args

from approvals.errors import InvalidRequest, Unauthorized
from approvals.licence import id_number

Role = Literal["citizen", "staff", "auditor"]
ROLES: tuple[str, ...] = get_args(Role)
# Public by construction: only for the sandbox. Production refuses to start without
# `APPROVALS_TOKEN_SECRET` (see `Settings`).
SANDBOX_SECRET = "approvals-sandbox-token-secret"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    expires: int

    @property
    def privileged(self) -> bool:
        return self.role in ("staff", "auditor")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def issue(secret: str, subject: str, role: str, ttl: int, now: float | None = None) -> str:
    if role not in ROLES:
        raise InvalidRequest(
            f"角色无效 / role must be one of {', '.join(ROLES)}, found {role!r}", field="role"
        )
    if not id_number.is_valid(subject):
        raise InvalidRequest(
            f"公民身份号码无效（GB 11643 校验）/ subject {subject!r} is not a valid citizen "
            "ID number (GB 11643 check digit)",
            field="subject",
        )
    issued = int(time.time() if now is None else now)
    claims = {"sub": subject, "role": role, "iat": issued, "exp": issued + ttl}
    head = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{head}.{_b64(_mac(secret, head.encode('ascii')))}"


def verify(secret: str, token: str, now: float | None = None) -> Principal:
    head, dot, mac = token.partition(".")
    if not dot:
        raise Unauthorized("malformed bearer token")
    try:
        given = _unb64(mac)
        claims = json.loads(_unb64(head))
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("malformed bearer token") from exc
    if not hmac.compare_digest(given, _mac(secret, head.encode("ascii"))):
        raise Unauthorized("bearer token signature does not verify")
    if not isinstance(claims, dict):
        raise Unauthorized("malformed bearer token")
    exp, sub, role = claims.get("exp"), claims.get("sub"), claims.get("role")
    if not isinstance(exp, int) or exp <= (time.time() if now is None else now):
        raise Unauthorized("bearer token has expired")
    if not isinstance(sub, str) or role not in ROLES:
        raise Unauthorized("bearer token lacks a subject or role")
    return Principal(subject=sub, role=role, expires=exp)
