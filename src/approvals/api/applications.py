"""Submit an application and read its decision.

`Idempotency-Key` is required on `POST /v1/applications`: a client that retries
after a timeout must be able to, without ever getting a second decision. The same
key and body return the stored decision (200, `Idempotent-Replayed: true`); the same
key with another body is 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from approvals.api.auth import Caller, require_role
from approvals.api.items import stated_date
from approvals.api.schemas import ApplicationRequest
from approvals.errors import Forbidden, InvalidRequest, NotFound
from approvals.service import DecisionService, Submission, answer, summary

router = APIRouter(tags=["applications"])
MAX_KEY_LENGTH = 255


def _service(request: Request) -> DecisionService:
    service: DecisionService = request.app.state.service
    return service


@router.post(
    "/v1/applications",
    status_code=201,
    summary="Submit an application; the signed decision is returned at once",
    responses={200: {"description": "Replay of an earlier submission with the same key"}},
)
async def submit(
    body: ApplicationRequest,
    request: Request,
    response: Response,
    principal: Caller,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    require_role(principal, "citizen", "staff")
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            "缺少幂等键 / the Idempotency-Key header is required (1 to 255 characters, "
            "e.g. a UUID): resend it unchanged when retrying",
            field="Idempotency-Key",
        )
    applicant = body.applicant or principal.subject
    filed_by = None
    if applicant != principal.subject:
        if principal.role != "staff":
            raise Forbidden("只能为本人申请 / a citizen can apply only for themselves")
        filed_by = principal.subject
    submission = Submission(
        applicant=applicant,
        item=body.item,
        form=body.form,
        idempotency_key=idempotency_key,
        on=stated_date(request, principal.privileged, body.on),
        filed_by=filed_by,
        consent_id=body.consent_id,
    )
    outcome = await _service(request).submit(submission)
    if outcome.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/applications/{outcome.stored.application.id}"
    return answer(outcome.stored)


@router.get("/v1/applications/{application_id}", summary="An application's signed decision")
def get_application(application_id: str, request: Request, principal: Caller) -> dict[str, Any]:
    stored = _service(request).get(application_id)
    # Another citizen's application is "not found", not "forbidden": ids cannot be probed.
    if stored is None or (
        principal.role == "citizen" and stored.application.applicant != principal.subject
    ):
        raise NotFound(f"no application {application_id!r}")
    return answer(stored)


@router.get("/v1/me/applications", summary="The caller's own applications, newest first")
def my_applications(request: Request, principal: Caller) -> dict[str, Any]:
    rows = _service(request).store.for_applicant(principal.subject)
    return {"applications": [summary(row) for row in rows]}
