"""Service items: what can be applied for, and the prefilled form (秒报)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from approvals.api.auth import Caller, require_role
from approvals.api.schemas import PrefillRequest
from approvals.errors import Forbidden, NotFound
from approvals.service import DecisionService
from approvals.spec.catalog import LoadedRuleset

router = APIRouter(prefix="/v1/items", tags=["items"])


def _service(request: Request) -> DecisionService:
    service: DecisionService = request.app.state.service
    return service


def item_summary(loaded: LoadedRuleset) -> dict[str, Any]:
    spec = loaded.spec
    return {
        "code": spec.code,
        "name": spec.name.model_dump(),
        "kind": spec.kind,
        "department": spec.department.model_dump(),
        "version": spec.version,
        "ruleset": {"code": spec.code, "version": spec.version, "hash": loaded.hash},
    }


@router.get("", summary="Items that can be applied for (the version in force today)")
def list_items(request: Request) -> dict[str, Any]:
    service = _service(request)
    shown = []
    for code in service.catalog.codes():
        try:
            shown.append(item_summary(service.ruleset(code)))
        except NotFound:
            continue  # no version in force today (not yet effective, or withdrawn)
    return {"items": shown}


@router.get("/{code}", summary="One item: form fields, checks and their legal basis")
def get_item(code: str, request: Request) -> dict[str, Any]:
    loaded = _service(request).ruleset(code)
    spec = loaded.spec
    return item_summary(loaded) | {
        "effective": spec.effective.model_dump(mode="json", by_alias=True),
        "legal_basis": {k: v.model_dump() for k, v in spec.legal_basis.items()},
        "form": [f.model_dump(mode="json") for f in spec.form],
        "checks": [
            {
                "id": c.id,
                "description": c.description.model_dump(),
                "on_fail": c.on_fail,
                "basis": spec.legal_basis[c.basis].model_dump(),
            }
            for c in spec.checks
        ],
        "issues": spec.issues.model_dump(mode="json"),
    }


@router.post("/{code}/prefill", summary="The form filled from government data, with provenance")
async def prefill(
    code: str,
    request: Request,
    principal: Caller,
    body: PrefillRequest | None = Body(default=None),  # noqa: B008  (FastAPI's idiom)
) -> Any:
    require_role(principal, "citizen", "staff")
    body = body or PrefillRequest()
    applicant = body.applicant or principal.subject
    if applicant != principal.subject and principal.role != "staff":
        raise Forbidden("只能为本人预填 / a citizen can prefill only their own form")
    service = _service(request)
    on = stated_date(request, principal.privileged, body.on)
    by = principal.subject if applicant != principal.subject else None
    result = await service.prefill(code, applicant, on, by=by, consent_id=body.consent_id)
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else result


def stated_date(request: Request, privileged: bool, on: Any) -> Any:
    """The caller may state D only when privileged and the service is a sandbox."""
    if on is None:
        return None
    if not (privileged and request.app.state.settings.sandbox):
        raise Forbidden(
            "申请日期由系统确定 / the application date is today in Asia/Shanghai; only staff "
            "or auditors in the sandbox may state it"
        )
    return on
