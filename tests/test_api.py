"""The HTTP API in-process (httpx + ASGITransport), against the sandbox data sources."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from approvals.api import Settings, create_app
from approvals.audit.keys import Keyring, sandbox_signing_key
from approvals.audit.record import verify_record
from approvals.sources.factory import sources_for_sandbox
from consent_helpers import citizen_consent

pytestmark = pytest.mark.anyio

OLD = "440304194406159129"  # showcase: aged 82 on 2026-11-30, approved
YOUNG = "440304194612019223"  # showcase: 79 on 2026-11-30, rejected
DRIVER = "440305198805129116"  # showcase: approved ride-hailing driver
ON = "2026-11-30"
FORM = {"bank_account": "6222020200112233445"}
NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'approvals.db'}")
    sources = sources_for_sandbox()
    application = create_app(settings, sources=sources, clock=lambda: NOW, mount_sandbox=False)
    yield application
    await sources.aclose()
    application.state.service.store.engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def token(client: httpx.AsyncClient, subject: str, role: str = "citizen") -> dict[str, str]:
    r = await client.post("/v1/sandbox/tokens", json={"subject": subject, "role": role})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def apply(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    body: dict[str, Any] | None = None,
    key: str | None = None,
) -> httpx.Response:
    body = body or {"item": "longevity-allowance", "form": FORM}
    if "applicant" in body and "consent_id" not in body:  # staff filing: the citizen consents
        body = body | {"consent_id": await citizen_consent(client, body["applicant"], body["item"])}
    headers = auth | {"Idempotency-Key": key or str(uuid.uuid4())}
    return await client.post("/v1/applications", json=body, headers=headers)


async def test_items_list_and_detail(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/items")
    assert r.status_code == 200
    items = {i["code"]: i for i in r.json()["items"]}
    assert "longevity-allowance" in items
    one = items["longevity-allowance"]
    assert set(one) >= {"code", "name", "kind", "department", "version", "ruleset"}
    assert one["ruleset"]["hash"].startswith("sha256:")
    r = await client.get("/v1/items/longevity-allowance")
    assert r.status_code == 200
    detail = r.json()
    assert [f["name"] for f in detail["form"]][:2] == ["name", "id_number"]
    assert all(c["basis"]["title"] for c in detail["checks"])
    r = await client.get("/v1/items/no-such-item")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "no-such-item" in r.json()["error"]["message_en"]


async def test_openapi_and_health(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/v1/items", "/v1/items/{code}/prefill", "/v1/applications",
                 "/v1/applications/{application_id}", "/v1/me/applications"):
        assert path in paths
    r = await client.get("/healthz")
    assert r.json()["status"] == "ok"


async def test_prefill_fills_the_form_with_provenance(client: httpx.AsyncClient) -> None:
    auth = await token(client, OLD)
    r = await client.post("/v1/items/longevity-allowance/prefill", headers=auth)
    assert r.status_code == 200, r.text
    assert OLD in json.dumps(r.json(), ensure_ascii=False)
    assert "population" in json.dumps(r.json())


async def test_requests_without_a_valid_token_are_401(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/applications", json={"item": "longevity-allowance"})
    assert r.status_code == 401
    error = r.json()["error"]
    assert error["code"] == "unauthorized" and error["message_zh"] and error["message_en"]
    assert r.headers["WWW-Authenticate"] == "Bearer"
    for bad in ("Bearer nonsense", "Bearer a.b", "Basic abc"):
        r = await client.get("/v1/me/applications", headers={"Authorization": bad})
        assert r.status_code == 401
    r = await client.post("/v1/items/longevity-allowance/prefill")
    assert r.status_code == 401


async def test_token_subjects_must_be_valid_id_numbers(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/sandbox/tokens", json={"subject": "440304194406159120"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "subject"
    assert "GB 11643" in r.json()["error"]["message_en"]


async def test_a_decision_is_signed_stored_and_readable(client: httpx.AsyncClient) -> None:
    auth = await token(client, OLD)
    staff = await token(client, DRIVER, "staff")
    r = await apply(client, auth, {"item": "longevity-allowance", "form": FORM, "on": ON})
    assert r.status_code == 403  # a citizen cannot state the application date
    r = await apply(client, staff, {"item": "longevity-allowance", "form": FORM, "on": ON,
                                    "applicant": OLD})
    assert r.status_code == 201, r.text
    decision = r.json()
    assert decision["outcome"] == "approve"
    assert decision["application_date"] == ON
    assert decision["issues"]["grant"]["monthly_amount_yuan"] == 200
    assert r.headers["Location"] == f"/v1/applications/{decision['id']}"

    # The stored leaf verifies with the service key and says what the answer says.
    leaf = base64.b64decode(decision["leaf"])
    keyring = Keyring([sandbox_signing_key(Settings().log_name).verifier])
    record = verify_record(leaf, keyring)
    assert record == decision["signed_record"]["record"]
    assert record["outcome"] == decision["outcome"]
    assert record["reasons"] == decision["reasons"]
    assert record["ruleset"] == decision["ruleset"]
    assert record["applicant"] == {"id_number": OLD}
    assert record["filed_by"] == DRIVER
    assert record["inputs"]["person"]["provenance"]["dataset"] == "population"
    assert record["decided_at"] == "2026-11-30T04:00:00Z"

    r = await client.get(f"/v1/applications/{decision['id']}", headers=auth)
    assert r.status_code == 200
    assert r.json()["signed_record"] == decision["signed_record"]
    r = await client.get("/v1/me/applications", headers=auth)
    assert [a["id"] for a in r.json()["applications"]] == [decision["id"]]


async def test_reject_reasons_are_in_chinese_and_english(client: httpx.AsyncClient) -> None:
    staff = await token(client, DRIVER, "staff")
    r = await apply(client, staff, {"item": "longevity-allowance", "form": FORM, "on": ON,
                                    "applicant": YOUNG})
    assert r.status_code == 201, r.text
    decision = r.json()
    assert decision["outcome"] == "reject"
    (reason,) = decision["reasons"]
    assert reason["code"] == "B02_UNDER_80"
    assert reason["zh"] and reason["en"] and reason["basis"]["article"]


async def test_another_citizens_application_is_404(client: httpx.AsyncClient) -> None:
    mine = await token(client, OLD)
    theirs = await token(client, YOUNG)
    r = await apply(client, mine)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = await client.get(f"/v1/applications/{app_id}", headers=theirs)
    assert r.status_code == 404
    r = await client.get(f"/v1/applications/{uuid.uuid4()}", headers=theirs)
    assert r.status_code == 404
    auditor = await token(client, DRIVER, "auditor")
    r = await client.get(f"/v1/applications/{app_id}", headers=auditor)
    assert r.status_code == 200
    r = await apply(client, auditor)
    assert r.status_code == 403  # auditors read, they do not apply
    r = await apply(client, theirs, {"item": "longevity-allowance", "form": FORM,
                                     "applicant": OLD})
    assert r.status_code == 403  # a citizen applies only for themselves


async def test_malformed_bodies_are_422_with_the_reason(client: httpx.AsyncClient) -> None:
    auth = await token(client, OLD)
    r = await client.post(
        "/v1/applications", content=b"{not json", headers=auth | {
            "Idempotency-Key": "k", "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"
    r = await apply(client, auth, {"form": {}})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "item"
    assert "item" in r.json()["error"]["message_en"]
    r = await apply(client, auth, {"item": "longevity-allowance", "form": {}})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "bank_account"
    r = await apply(client, auth, {"item": "longevity-allowance", "form": FORM | {"x": 1}})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "x"
    r = await client.post("/v1/applications", json={"item": "longevity-allowance", "form": FORM},
                          headers=auth)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "Idempotency-Key"


async def test_the_same_key_gives_the_same_decision(client: httpx.AsyncClient) -> None:
    auth = await token(client, OLD)
    first = await apply(client, auth, key="retry-me")
    second = await apply(client, auth, key="retry-me")
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    r = await client.get("/v1/me/applications", headers=auth)
    assert len(r.json()["applications"]) == 1
    other = await apply(client, auth, {"item": "longevity-allowance",
                                       "form": {"bank_account": "6222020200112233446"}},
                        key="retry-me")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    # The key belongs to the applicant: another citizen may use the same text.
    theirs = await apply(client, await token(client, YOUNG), key="retry-me")
    assert theirs.status_code == 201


async def test_concurrent_duplicates_still_give_one_decision(client: httpx.AsyncClient) -> None:
    auth = await token(client, OLD)
    answers = await asyncio.gather(*(apply(client, auth, key="same") for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert len({r.json()["leaf"] for r in answers}) == 1
    r = await client.get("/v1/me/applications", headers=auth)
    assert len(r.json()["applications"]) == 1


async def test_issued_licence_is_signed_stored_and_delivered(tmp_path: Path) -> None:
    """An item whose approval issues a licence (a copy of the longevity ruleset that issues
    a permit): the licence is signed by its issuer, named in the record, delivered."""
    repo = Path(__file__).resolve().parents[1]
    text = (repo / "rulesets" / "mz" / "longevity-allowance.yaml").read_text(encoding="utf-8")
    text = text.replace("code: longevity-allowance", "code: test-permit").replace(
        "issues:\n", "issues:\n  licence:\n    type: ridehail_driver_permit\n"
        "    issuer: sz-transport\n"
    )
    (tmp_path / "rulesets").mkdir()
    (tmp_path / "rulesets" / "test-permit.yaml").write_text(text, encoding="utf-8")
    settings = Settings(database_url="sqlite://", rulesets_dir=tmp_path / "rulesets")
    sources = sources_for_sandbox()
    app = create_app(settings, sources=sources, clock=lambda: NOW, mount_sandbox=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            staff = await token(client, DRIVER, "staff")
            r = await apply(client, staff, {"item": "test-permit", "form": FORM, "on": ON,
                                            "applicant": OLD}, key="k")
            assert r.status_code == 201, r.text
            decision = r.json()
        assert decision["outcome"] == "approve"
        (licence,) = decision["licences"]
        assert licence["status"] == "issued", licence
        assert licence["document"]["holder"] == {"id_number": OLD, "name": "黄秀英"}
        assert licence["document"]["valid_to"] == "2032-11-29"  # 6 years from D
        assert decision["signed_record"]["record"]["licence"]["licence_id"] == (
            licence["licence_id"]
        )
        held, _ = await sources.licences.licence(licence["licence_id"])
        assert held.signature is not None
        assert held.signature.value == licence["document"]["signature"]["value"]
    finally:
        await sources.aclose()
        app.state.service.store.engine.dispose()
