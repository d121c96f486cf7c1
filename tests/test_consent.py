"""Consent grants and usage records (issue 4): reads only under a grant, the sandboxes
refuse (403) and log reads outside one, revoking stops reads, and a decision's usage
record lists every read it made and nothing else."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from approvals.api import Settings, create_app
from approvals.sources import Sources, sources_for_sandbox
from approvals.sources.access import ReadContext
from approvals.sources.consent import (
    ConsentError,
    ConsentKey,
    GrantClaims,
    mint,
    sandbox_consent_key,
    scope_of,
    verify_token,
)
from approvals.spec.catalog import Catalog
from consent_helpers import citizen_consent

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]
CATALOG = Catalog.load(REPO / "rulesets")
OLD = "440304194406159129"  # longevity: approve
OTHER = "440304193301209148"  # longevity: approve
DRIVER = "440305198805129116"  # ride-hailing: approve
STAFF = "440305198610109270"
ON = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
LONGEVITY_FORM = {"bank_account": "6222020200112233445"}
RIDEHAIL_FORM = {"phone": "13800512911"}


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
    settings = Settings(database_url="sqlite://")
    app: FastAPI = create_app(settings, sources=sources, clock=lambda: NOW, mount_sandbox=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c
    app.state.service.store.engine.dispose()


async def bearer(client: httpx.AsyncClient, subject: str, role: str = "citizen") -> dict[str, str]:
    r = await client.post("/v1/sandbox/tokens", json={"subject": subject, "role": role})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def submit(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any], key: str
) -> httpx.Response:
    return await client.post("/v1/applications", json=body, headers=auth | {"Idempotency-Key": key})


def token_for(
    sub: str,
    aud: str = "platform",
    datasets: tuple[str, ...] = ("population",),
    types: tuple[str, ...] = (),
    key: ConsentKey | None = None,
    exp_in: int = 60,
) -> str:
    now = int(time.time())
    claims = GrantClaims(
        gid="g1", sub=sub, item="longevity-allowance", purpose="test", aud=aud,
        datasets=datasets, licence_types=types, act=f"citizen:{sub}", iat=now - 5,
        exp=now + exp_in,
    )
    return mint(key or sandbox_consent_key(), claims)


# -- scope and tokens -----------------------------------------------------------------


def test_grant_scope_is_derived_from_the_ruleset_inputs() -> None:
    scope = scope_of(CATALOG.in_force("ride-hailing-driver-permit", ON).spec)
    assert scope.datasets == ("criminal_records", "driving_scores", "population", "ridehail_exams")
    assert scope.licence_types == ("driving_licence", "residence_permit", "ridehail_driver_permit")
    assert scope.for_source("platform").licence_types == ()


async def test_sandboxes_refuse_reads_without_a_grant_and_log_the_refusal(
    sources: Sources,
) -> None:
    loaded = CATALOG.in_force("ride-hailing-driver-permit", ON)
    context = ReadContext(correlation="no-grant")
    got = await sources.gather(loaded, DRIVER, RIDEHAIL_FORM, ON, context)
    assert all(g.error and "HTTP 403" in g.error for g in got.values()), got
    assert {e.outcome for e in context.events} == {"refused"}
    assert len(context.events) == 7  # every read the item needs, each recorded
    gates = (sources.platform_app.state.consent, sources.licences_app.state.consent)
    refused = [entry for gate in gates for entry in gate.refused]
    assert {e.correlation for e in refused} == {"no-grant"}
    assert len(refused) == 7


@pytest.mark.parametrize(
    ("label", "headers"),
    [
        ("another person's grant", lambda: token_for(OTHER)),
        ("a dataset outside the grant", lambda: token_for(OLD, datasets=("criminal_records",))),
        ("an expired token", lambda: token_for(OLD, exp_in=-1)),
        ("a token for the licence store", lambda: token_for(OLD, aud="licences")),
        (
            "a token signed by a key the platform does not trust",
            lambda: token_for(OLD, key=ConsentKey(Ed25519PrivateKey.generate())),
        ),
        ("a tampered token", lambda: token_for(OLD)[:-4] + "AAAA"),
        ("garbage", lambda: "not-a-token"),
    ],
)
async def test_platform_refuses_tokens_that_do_not_cover_the_read(
    sources: Sources, label: str, headers: Any
) -> None:
    transport = httpx.ASGITransport(app=sources.platform_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://p") as http:
        ok = await http.get(
            "/v1/datasets/population/records",
            params={"key": OLD},
            headers={"X-Consent-Grant": token_for(OLD)},
        )
        assert ok.status_code == 200 and ok.json()["records"]
        r = await http.get(
            "/v1/datasets/population/records",
            params={"key": OLD},
            headers={"X-Consent-Grant": headers()},
        )
    assert r.status_code == 403, label
    assert r.json()["error"] == "consent_required"


def test_a_remembered_token_is_still_checked_for_audience_time_and_key() -> None:
    """A token that verified once is not parsed again, but each read still checks its
    audience and time, and that its key is still trusted and still the same key."""
    key = sandbox_consent_key()
    token = token_for(OLD, exp_in=600)
    now = time.time()
    keys = {key.key_id: key.public}
    assert verify_token(token, keys, "platform", now).sub == OLD
    assert verify_token(token, keys, "platform", now).sub == OLD  # remembered
    with pytest.raises(ConsentError, match="is for 'platform', not 'licences'"):
        verify_token(token, keys, "licences", now)
    with pytest.raises(ConsentError, match="expired"):
        verify_token(token, keys, "platform", now + 601)
    with pytest.raises(ConsentError, match="unknown key"):
        verify_token(token, {}, "platform", now)  # the key is no longer trusted
    other = ConsentKey(Ed25519PrivateKey.generate())
    with pytest.raises(ConsentError, match="does not verify"):
        verify_token(token, {key.key_id: other.public}, "platform", now)  # another key
    claims, signature = token.rsplit(".", 1)
    forged = f"{claims}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    with pytest.raises(ConsentError):  # other text: checked from scratch
        verify_token(forged, keys, "platform", now)


# -- through the API ------------------------------------------------------------------


async def test_prefill_and_submit_read_under_one_grant_the_citizen_can_list(
    client: httpx.AsyncClient, sources: Sources
) -> None:
    staff = await bearer(client, STAFF, "staff")
    citizen = await bearer(client, OLD)
    # 免证办: without the citizen's authorization the counter reads nothing at all.
    r = await client.post(
        "/v1/items/longevity-allowance/prefill", headers=staff,
        json={"applicant": OLD, "on": ON.isoformat()},
    )
    assert r.status_code == 403, r.text
    assert "consent" in r.json()["error"]["message_en"]
    assert not [e for e in sources.platform_app.state.consent.log if e.allowed]
    # The citizen grants consent in the app and shows it at the counter.
    r = await client.post("/v1/me/consents", headers=citizen, json={"item": "longevity-allowance"})
    assert r.status_code == 201, r.text
    grant_id = r.json()["id"]
    r = await client.post(
        "/v1/items/longevity-allowance/prefill", headers=staff,
        json={"applicant": OLD, "on": ON.isoformat(), "consent_id": grant_id},
    )
    assert r.status_code == 200, r.text
    assert r.json()["consent_id"] == grant_id
    r = await client.get("/v1/me/consents", headers=citizen)
    (grant,) = r.json()["consents"]
    assert grant["id"] == grant_id and grant["status"] == "active"
    assert grant["datasets"] == ["longevity_allowance", "population"]
    assert grant["granted_by"] == f"citizen:{OLD}"
    assert "高龄老人津贴" in grant["purpose"]

    body = {"item": "longevity-allowance", "applicant": OLD, "on": ON.isoformat(),
            "form": LONGEVITY_FORM, "consent_id": grant_id}
    r = await submit(client, staff, body, "k1")
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "approve"
    # Population was read at prefill within its freshness (an hour): reused, and marked.
    inputs = r.json()["signed_record"]["record"]["inputs"]
    assert inputs["person"]["provenance"]["cached"] is True
    # longevity_allowance may be reused for 60 s; criminal-record-like data never is.
    r = await client.get("/v1/me/consents", headers=citizen)
    assert len(r.json()["consents"]) == 1  # the same grant, not a new one


async def test_revoking_a_grant_stops_further_reads(
    client: httpx.AsyncClient, sources: Sources
) -> None:
    staff = await bearer(client, STAFF, "staff")
    citizen = await bearer(client, OLD)
    r = await client.post("/v1/me/consents", headers=citizen,
                          json={"item": "longevity-allowance", "days": 7})
    assert r.status_code == 201, r.text
    grant_id = r.json()["id"]
    body = {"applicant": OLD, "on": ON.isoformat(), "consent_id": grant_id}
    r = await client.post("/v1/items/longevity-allowance/prefill", headers=staff, json=body)
    assert r.status_code == 200, r.text
    allowed_before = len([e for e in sources.platform_app.state.consent.log if e.allowed])

    r = await client.delete(f"/v1/me/consents/{grant_id}", headers=citizen)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = await client.post("/v1/items/longevity-allowance/prefill", headers=staff, json=body)
    assert r.status_code == 403
    assert "revoked" in r.json()["error"]["message_en"]
    sub = {"item": "longevity-allowance", "form": LONGEVITY_FORM} | body
    r = await submit(client, staff, sub, "after-revoke")
    assert r.status_code == 403
    # Nothing reached the providers after the revocation...
    assert len([e for e in sources.platform_app.state.consent.log if e.allowed]) == allowed_before
    # ...and the refusals are on the citizen's record.
    r = await client.get("/v1/me/data-usage", headers=citizen)
    refused = [u for u in r.json()["usage"] if u["outcome"] == "refused"]
    assert refused and all(u["grant_id"] == grant_id for u in refused)
    assert {u["name"] for u in refused} == {"population", "longevity_allowance"}
    # Another citizen cannot see or revoke it.
    other = await bearer(client, OTHER)
    r = await client.delete(f"/v1/me/consents/{grant_id}", headers=other)
    assert r.status_code == 404


async def test_a_grant_is_for_its_holder_and_item_only(client: httpx.AsyncClient) -> None:
    staff = await bearer(client, STAFF, "staff")
    citizen = await bearer(client, OLD)
    r = await client.post("/v1/me/consents", headers=citizen, json={"item": "longevity-allowance"})
    grant_id = r.json()["id"]
    for applicant, item in ((OTHER, "longevity-allowance"), (OLD, "graduate-hukou")):
        r = await client.post(f"/v1/items/{item}/prefill", headers=staff,
                              json={"applicant": applicant, "on": ON.isoformat(),
                                    "consent_id": grant_id})
        assert r.status_code == 403, (applicant, item)


async def test_a_decisions_usage_record_lists_every_read_it_made_and_nothing_else(
    client: httpx.AsyncClient, sources: Sources
) -> None:
    staff = await bearer(client, STAFF, "staff")
    driver = await bearer(client, DRIVER)
    # Reads for another item and another person, before and after, must not show up.
    old_grant = await citizen_consent(client, OLD, "longevity-allowance")
    await client.post("/v1/items/longevity-allowance/prefill", headers=staff,
                      json={"applicant": OLD, "on": ON.isoformat(), "consent_id": old_grant})
    body = {"item": "ride-hailing-driver-permit", "applicant": DRIVER, "on": ON.isoformat(),
            "form": RIDEHAIL_FORM,
            "consent_id": await citizen_consent(client, DRIVER, "ride-hailing-driver-permit")}
    r = await submit(client, staff, body, "ride")
    assert r.status_code == 201, r.text
    decision = r.json()
    await submit(client, staff, {"item": "longevity-allowance", "applicant": OLD,
                                 "on": ON.isoformat(), "form": LONGEVITY_FORM,
                                 "consent_id": old_grant}, "old")

    r = await client.get(f"/v1/applications/{decision['id']}/usage", headers=driver)
    usage = r.json()["usage"]
    recorded = {(u["source"], u["name"], u["key"]) for u in usage}
    # 1. exactly the inputs the decision record names, one record per distinct read
    inputs = decision["signed_record"]["record"]["inputs"].values()
    read = {
        (i["provenance"]["source"],
         i["provenance"]["dataset"] or i["provenance"]["licence_type"],
         i["provenance"]["key"])
        for i in inputs
    }
    assert recorded == read and len(usage) == len(read) == 7
    # 2. exactly what the providers themselves logged under this decision's correlation id
    logged = {
        ("platform" if e.audience == "platform" else "licences", e.name, e.key)
        for app in (sources.platform_app, sources.licences_app)
        for e in app.state.consent.log
        if e.correlation == decision["id"] and e.allowed
    }
    assert recorded == logged
    # 3. each record says who, whose, what for, when, and the digest of what came back
    for u in usage:
        assert u["applicant"] == DRIVER and u["actor"] == f"staff:{STAFF}"
        assert u["item"] == "ride-hailing-driver-permit" and u["stage"] == "submit"
        assert u["service"] == "approvals" and u["purpose"] and u["grant_id"]
        assert u["outcome"] == "ok" and u["digest"].startswith("sha256:")
    digests = {i["provenance"]["digest"] for i in inputs}
    assert {u["digest"] for u in usage} == digests

    # The citizen sees who used their licences.
    r = await client.get("/v1/me/licence-usage", headers=driver)
    mine = r.json()["usage"]
    assert {u["name"] for u in mine} == {
        "driving_licence", "residence_permit", "ridehail_driver_permit"
    }
    driving = next(u for u in mine if u["name"] == "driving_licence")
    assert driving["licence_ids"] and driving["application_id"] == decision["id"]
    # And nobody else's.
    other = await bearer(client, OLD)
    r = await client.get(f"/v1/applications/{decision['id']}/usage", headers=other)
    assert r.status_code == 404
