"""Licence checks on read (issue 4): forged, expired, revoked and malformed licences are
each caught, not used, and the decision record says why."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from approvals.api import Settings, create_app
from approvals.sandbox.faults import FaultPlan, FaultRule
from approvals.sources import Sources, sources_for_sandbox
from consent_helpers import citizen_consent

pytestmark = pytest.mark.anyio

ON = "2026-11-30"
STAFF = "440305198610109270"
FORGED = "44030519840818957X"  # validity extended after signing
EXPIRED = "440305198412249299"
WRONG_CHECK = "44030519911201963X"  # identifier with a wrong check character
GOOD = "440305198805129116"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def sources() -> AsyncIterator[Sources]:
    s = sources_for_sandbox(consent=True)
    yield s
    await s.aclose()


@pytest.fixture
async def client(sources: Sources) -> AsyncIterator[httpx.AsyncClient]:
    now = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
    app: FastAPI = create_app(
        Settings(database_url="sqlite://"), sources=sources, clock=lambda: now,
        mount_sandbox=False,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c
    app.state.service.store.engine.dispose()


async def decide(client: httpx.AsyncClient, applicant: str, key: str) -> dict[str, Any]:
    r = await client.post("/v1/sandbox/tokens", json={"subject": STAFF, "role": "staff"})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}", "Idempotency-Key": key}
    item = "ride-hailing-driver-permit"
    body = {"item": item, "applicant": applicant, "on": ON, "form": {"phone": "13800512911"},
            "consent_id": await citizen_consent(client, applicant, item)}
    r = await client.post("/v1/applications", json=body, headers=auth)
    assert r.status_code == 201, r.text
    decision: dict[str, Any] = r.json()
    return decision


def not_used(decision: dict[str, Any]) -> list[str]:
    record = decision["signed_record"]["record"]
    return [p for lic in record["licences_not_used"] if lic["type"] == "driving_licence"
            for p in lic["problems"]]


@pytest.mark.parametrize(
    ("applicant", "why"),
    [
        (FORGED, "not authentic: BadSignature"),
        (EXPIRED, "expired on"),
        (WRONG_CHECK, "not authentic: NonConforming: licence identifier"),
    ],
)
async def test_a_licence_failing_a_check_is_not_used_and_the_record_says_why(
    client: httpx.AsyncClient, applicant: str, why: str
) -> None:
    decision = await decide(client, applicant, applicant)
    # The ruleset treats a licence it cannot rely on as not held: A01 rejects.
    assert decision["outcome"] == "reject"
    assert [r["code"] for r in decision["reasons"]] == ["A01_NO_VALID_LICENCE"]
    problems = not_used(decision)
    assert any(p.startswith(why) for p in problems), problems


async def test_a_licence_revoked_in_the_store_is_caught(
    client: httpx.AsyncClient, sources: Sources
) -> None:
    before = await decide(client, GOOD, "before")
    assert before["outcome"] == "approve" and not not_used(before)
    (held,) = [
        lic for lic in sources.licences_app.state.store.find(GOOD, "driving_licence")
    ]
    transport = httpx.ASGITransport(app=sources.licences_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as store:
        r = await store.post(f"/v1/licences/{held.licence_id}/revocation")
        assert r.status_code == 200 and r.json()["status"] == "revoked"
    after = await decide(client, GOOD, "after")
    assert after["outcome"] == "reject"
    # (A09 too: the first decision issued a permit, now held.)
    assert "A01_NO_VALID_LICENCE" in [r["code"] for r in after["reasons"]]
    assert not_used(after) == ["revoked (licence store status)"]


async def test_a_malformed_licence_document_refers_naming_the_store(
    client: httpx.AsyncClient, sources: Sources
) -> None:
    plan = FaultPlan(rules=[FaultRule(target="driving_licence", kind="schema", rate=1.0)])
    sources.licences_app.state.faults.set(plan)
    decision = await decide(client, GOOD, "malformed")
    assert decision["outcome"] == "refer"
    (reason,) = [r for r in decision["reasons"] if r["code"] == "DATA_UNAVAILABLE"]
    assert "licences type driving_licence: malformed answer" in reason["en"]
    assert "issue_date" in reason["en"]
