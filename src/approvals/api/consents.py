"""A citizen's consent grants and the record of who used their data (用证留痕).

    GET    /v1/me/consents              my grants, newest first (active, expired, revoked)
    POST   /v1/me/consents              grant consent for an item (the authorization code
                                        to show at a counter is the grant's id)
    DELETE /v1/me/consents/{id}         revoke: no further reads under it, cache dropped
    GET    /v1/me/licence-usage         who read my electronic licences, when, why
    GET    /v1/me/data-usage            every read of my data (datasets and licences)
    GET    /v1/applications/{id}/usage  the reads one decision made (the applicant,
                                        staff, auditors)
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from approvals.api.auth import Caller, require_role
from approvals.errors import ApprovalsError, NotFound
from approvals.service import DecisionService
from approvals.sources.governed import MAX_GRANT_DAYS, GovernedSources
from approvals.store.consents import ConsentGrant

router = APIRouter(tags=["consent and usage"])


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, description="Item code the grant is for")
    purpose: str | None = Field(
        default=None, max_length=500, description="Default: applying for the item"
    )
    days: int = Field(default=1, ge=1, le=MAX_GRANT_DAYS, description="How long it lasts")


def _service(request: Request) -> DecisionService:
    service: DecisionService = request.app.state.service
    return service


def _governed(request: Request) -> GovernedSources:
    sources = _service(request).sources
    if not isinstance(sources, GovernedSources):
        raise ApprovalsError("this service's data sources are not under consent management")
    return sources


@router.get("/v1/me/consents", summary="My consent grants, newest first")
async def my_consents(request: Request, principal: Caller) -> dict[str, object]:
    governed = _governed(request)
    rows = await governed.run(governed.consents.grants, principal.subject)
    now = governed.now()
    return {"consents": [row.as_json(now) for row in rows]}


@router.post("/v1/me/consents", status_code=201, summary="Grant consent for an item")
async def grant_consent(
    body: ConsentRequest, request: Request, principal: Caller
) -> dict[str, object]:
    require_role(principal, "citizen")
    governed = _governed(request)
    loaded = _service(request).ruleset(body.item)
    grant: ConsentGrant = await governed.run(
        lambda: governed.create_grant(
            loaded,
            principal.subject,
            f"citizen:{principal.subject}",
            purpose=body.purpose,
            days=body.days,
        )
    )
    return grant.as_json(governed.now())


@router.delete("/v1/me/consents/{grant_id}", summary="Revoke a grant: no further reads under it")
async def revoke_consent(grant_id: str, request: Request, principal: Caller) -> dict[str, object]:
    governed = _governed(request)
    row: ConsentGrant | None = await governed.run(governed.revoke, grant_id, principal.subject)
    if row is None:  # another person's grant is "not found": ids cannot be probed
        raise NotFound(f"no consent grant {grant_id!r}")
    return row.as_json(governed.now())


@router.get("/v1/me/licence-usage", summary="Who read my electronic licences (用证留痕)")
async def my_licence_usage(
    request: Request, principal: Caller, limit: int = Query(default=200, ge=1, le=1000)
) -> dict[str, object]:
    governed = _governed(request)
    rows = await governed.run(
        lambda: governed.consents.usage(
            applicant=principal.subject, licences_only=True, limit=limit
        )
    )
    return {"usage": [row.as_json() for row in rows]}


@router.get("/v1/me/data-usage", summary="Every read of my data: datasets and licences")
async def my_data_usage(
    request: Request, principal: Caller, limit: int = Query(default=200, ge=1, le=1000)
) -> dict[str, object]:
    governed = _governed(request)
    rows = await governed.run(
        lambda: governed.consents.usage(applicant=principal.subject, limit=limit)
    )
    return {"usage": [row.as_json() for row in rows]}


@router.get("/v1/applications/{application_id}/usage", summary="The reads one decision made")
async def application_usage(
    application_id: str, request: Request, principal: Caller
) -> dict[str, object]:
    service = _service(request)
    stored = await service.store.run(service.store.get, application_id)
    if stored is None or (
        principal.role == "citizen" and stored.application.applicant != principal.subject
    ):
        raise NotFound(f"no application {application_id!r}")
    governed = _governed(request)
    rows = await governed.run(
        lambda: governed.consents.usage(application_id=application_id, limit=1000)
    )
    return {"application_id": application_id, "usage": [row.as_json() for row in rows]}
