"""The audit endpoints: checkpoints, proofs, leaves, per-decision proof bundles and trails.

Checkpoints, verifier keys and proofs are hashes and signatures only, so anyone may
fetch them (a transparency log is only useful if it is public). Leaves and trails
hold personal data: they need the auditor role (or, for a decision's own proof
bundle, the applicant or staff). Text formats are those of docs/audit.md: the
checkpoint is a C2SP signed note, proofs are one base64 hash per line, the bundle
is a C2SP tlog-proof.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response

from approvals.api.auth import Caller, require_role
from approvals.audit.encoding import b64encode
from approvals.audit.sequencer import Sequencer
from approvals.audit.sqllog import DecisionLog
from approvals.errors import NotFound

router = APIRouter(tags=["audit"])
TEXT = "text/plain; charset=utf-8"
_TEXT_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {}}}}


def _log(request: Request) -> DecisionLog:
    log: DecisionLog = request.app.state.wired.log
    return log


def _lines(hashes: list[bytes]) -> Response:
    return Response("".join(b64encode(h) + "\n" for h in hashes), media_type=TEXT)


@router.get(
    "/v1/audit/checkpoint",
    summary="The log's latest checkpoint (C2SP tlog-checkpoint signed note)",
    description="Signed by the log key published at `/v1/audit/key`; at most about a "
    "second behind the newest decision.",
    response_class=Response,
    responses=_TEXT_RESPONSE,
)
async def checkpoint(request: Request) -> Response:
    cp = await anyio.to_thread.run_sync(_log(request).checkpoint)
    return Response(cp.note, media_type=TEXT)


@router.get(
    "/v1/audit/key",
    summary="The log's verifier key(s), `name+hexid+base64` (Go sumdb/note form)",
    description="The current key on the first line, then keys retired by rotation, "
    "which still verify older records and checkpoints.",
    response_class=Response,
    responses=_TEXT_RESPONSE,
)
def verifier_key(request: Request) -> Response:
    log = _log(request)
    current = log.signer.verifier if log.signer else None
    keys = ([current] if current else []) + [k for k in log.keyring if k != current]
    return Response("".join(k.text + "\n" for k in keys), media_type=TEXT)


@router.get(
    "/v1/audit/proof/inclusion",
    summary="RFC 9162 inclusion proof of leaf `index` in the tree of size `size`",
    response_class=Response,
    responses=_TEXT_RESPONSE,
)
async def inclusion(
    request: Request,
    index: Annotated[int, Query(ge=0)],
    size: Annotated[int, Query(ge=1)],
) -> Response:
    proof = await anyio.to_thread.run_sync(_log(request).inclusion_proof, index, size)
    return _lines(proof)


@router.get(
    "/v1/audit/proof/consistency",
    summary="RFC 9162 consistency proof from tree size `from` to `to`",
    response_class=Response,
    responses=_TEXT_RESPONSE,
)
async def consistency(
    request: Request,
    first: Annotated[int, Query(alias="from", ge=0)],
    second: Annotated[int, Query(alias="to", ge=0)],
) -> Response:
    proof = await anyio.to_thread.run_sync(_log(request).consistency_proof, first, second)
    return _lines(proof)


@router.get(
    "/v1/audit/records/{index}",
    summary="The exact leaf bytes at `index` (RFC 8785 JSON of record and signature)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
async def record(index: int, request: Request, principal: Caller) -> Response:
    require_role(principal, "auditor")
    if index < 0:
        raise NotFound(f"no record at leaf index {index}")
    leaf = await anyio.to_thread.run_sync(_log(request).leaf, index)
    return Response(leaf, media_type="application/json")


@router.get(
    "/v1/applications/{application_id}/proof",
    summary="C2SP tlog-proof that this decision's record is in a signed checkpoint",
    response_class=Response,
    responses=_TEXT_RESPONSE,
)
async def proof_bundle(application_id: str, request: Request, principal: Caller) -> Response:
    log = _log(request)
    row = await anyio.to_thread.run_sync(log.record_of, application_id)
    if principal.role == "citizen":
        stored = request.app.state.service.get(application_id)
        if stored is None or stored.application.applicant != principal.subject:
            raise NotFound(f"no application {application_id!r}")
    text = await anyio.to_thread.run_sync(log.tlog_proof, row.application_id)
    return Response(text, media_type=TEXT)


@router.get(
    "/v1/decisions/{decision_id}/trail",
    summary="Auditor's trail: record, inputs with provenance, ruleset text, checks, "
    "signature, leaf index and inclusion proof",
)
async def trail(decision_id: str, request: Request, principal: Caller) -> dict[str, Any]:
    require_role(principal, "auditor")
    result: dict[str, Any] = await anyio.to_thread.run_sync(_log(request).trail, decision_id)
    return result


@asynccontextmanager
async def sequencing(log: DecisionLog | None) -> AsyncIterator[Sequencer | None]:
    """Check the stored tree, then run the checkpoint sequencer while the app runs.

    A stored tree that does not match the newest signed checkpoint stops the start
    (`LogIntegrityError`): the service must not sign a checkpoint that forks its log.
    """
    if log is None or log.signer is None:
        yield None
        return
    await anyio.to_thread.run_sync(log.verify_stored)
    sequencer = Sequencer(log)
    task = asyncio.create_task(sequencer.run(), name="log sequencer")
    try:
        yield sequencer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sequencer.close()
