"""The one place where errors become HTTP status codes.

Routes raise domain errors (`approvals.errors`); this module turns each into
`{"error": {"code", "message_zh", "message_en", "field"?}}` with its status. Nothing
else in the API builds an error response.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from approvals import errors
from approvals.audit.errors import AuditError, OutOfRangeError
from approvals.audit.sqllog import LogIntegrityError
from approvals.licence.errors import LicenceError


@dataclass(frozen=True)
class Kind:
    status: int
    code: str
    zh: str
    en: str


# Most specific class first: the first `isinstance` match wins.
KINDS: tuple[tuple[type[Exception], Kind], ...] = (
    (errors.Unauthorized, Kind(401, "unauthorized", "未认证或令牌无效", "Not authenticated")),
    (errors.Forbidden, Kind(403, "forbidden", "无权执行此操作", "Not allowed")),
    (errors.NotFound, Kind(404, "not_found", "未找到", "Not found")),
    (errors.Conflict, Kind(409, "conflict", "与先前的请求冲突", "Conflicts with an earlier one")),
    (errors.InvalidRequest, Kind(422, "invalid_request", "请求内容有误", "Invalid request")),
    (
        errors.SourceUnavailable,
        Kind(503, "source_unavailable", "数据源暂不可用", "A data source is unavailable"),
    ),
    (
        OutOfRangeError,
        Kind(400, "out_of_range", "超出日志范围", "Outside the log (index or tree size)"),
    ),
    (
        LogIntegrityError,
        Kind(503, "log_integrity", "审计日志校验未通过，暂停签名", "Audit log failed its check"),
    ),
    (AuditError, Kind(500, "audit", "审计签名错误", "Audit signing error")),
    (LicenceError, Kind(500, "licence", "电子证照错误", "Electronic licence error")),
    (errors.ApprovalsError, Kind(500, "internal", "服务内部错误", "Internal error")),
)
_HTTP = {
    404: Kind(404, "not_found", "未找到", "Not found"),
    405: Kind(405, "method_not_allowed", "不支持该请求方法", "Method not allowed"),
}


def kind_of(exc: Exception) -> Kind:
    for cls, kind in KINDS:
        if isinstance(exc, cls):
            return kind
    return Kind(500, "internal", "服务内部错误", "Internal error")


def body(kind: Kind, detail: str, field: str | None = None) -> dict[str, object]:
    error: dict[str, object] = {
        "code": kind.code,
        "message_zh": f"{kind.zh}：{detail}" if detail else kind.zh,
        "message_en": f"{kind.en}: {detail}" if detail else kind.en,
    }
    if field is not None:
        error["field"] = field
    return {"error": error}


def respond(exc: Exception) -> JSONResponse:
    kind = kind_of(exc)
    field = getattr(exc, "field", None)
    # Internal errors keep their detail in the log, not in the answer.
    detail = str(exc) if kind.status < 500 or isinstance(exc, errors.SourceUnavailable) else ""
    headers = {"WWW-Authenticate": "Bearer"} if kind.status == 401 else None
    return JSONResponse(body(kind, detail, field), status_code=kind.status, headers=headers)


def install(app: FastAPI) -> None:
    async def domain(_request: Request, exc: Exception) -> JSONResponse:
        return respond(exc)

    async def validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        reason = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        )
        kind = Kind(422, "invalid_request", "请求格式错误", "Malformed request")
        return JSONResponse(body(kind, reason, ".".join(loc) or None), status_code=422)

    async def http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = _HTTP.get(exc.status_code, Kind(exc.status_code, "http", "请求失败", "Failed"))
        return JSONResponse(body(kind, str(exc.detail)), status_code=exc.status_code)

    for cls, _kind in KINDS:
        app.add_exception_handler(cls, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
