"""Sandbox-only routes: test tokens for any role (never mounted outside the sandbox)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from approvals.api import tokens
from approvals.api.schemas import TokenRequest

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


@router.post("/tokens", status_code=201, summary="A test bearer token (SANDBOX ONLY)")
def issue_token(body: TokenRequest, request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    token = tokens.issue(settings.token_secret, body.subject, body.role, settings.token_ttl)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": settings.token_ttl,
        "subject": body.subject,
        "role": body.role,
    }
