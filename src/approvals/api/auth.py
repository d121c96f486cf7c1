"""Who is calling: the bearer token's subject and role, as a FastAPI dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from approvals.api.tokens import Principal, verify
from approvals.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="Token from POST /v1/sandbox/tokens (sandbox)")


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Async although it never awaits: FastAPI runs a plain `def` dependency in a worker
    thread, and the hop there and back cost more than checking the token's HMAC."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("需要 Bearer 令牌 / an Authorization: Bearer <token> header is required")
    secret: str = request.app.state.settings.token_secret
    return verify(secret, credentials.credentials)


Caller = Annotated[Principal, Depends(caller)]


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role!r} may not do this (allowed: {', '.join(roles)})")
