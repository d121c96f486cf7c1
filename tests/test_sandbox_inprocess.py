"""The in-process exchange answers exactly what the sandbox apps answer over HTTP.

`sources_for_sandbox` (the CLI, `approvals serve` without a base URL, the tests) calls
the providers' handlers directly; `approvals serve` with the providers mounted, and
every real deployment, goes over HTTP. The two must not differ in any status or byte
a client could see: same records, same consent refusals, same errors, same faults.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from approvals.licence import Holder, IssuerRef, Licence, TrustList, identifier, sign
from approvals.sandbox import Fixtures, create_licence_store_app, create_platform_app
from approvals.sandbox.consent import sandbox_gate
from approvals.sandbox.faults import FaultPlan, FaultRule
from approvals.sandbox.fixtures import load_fixtures
from approvals.sandbox.inprocess import exchange_for
from approvals.sandbox.keys import signing_key
from approvals.sources.consent import (
    CORRELATION_HEADER,
    GRANT_HEADER,
    GrantClaims,
    mint,
    sandbox_consent_key,
)

REPO = Path(__file__).resolve().parents[1]
DRIVER = "440305198805129116"  # showcase: approved ride-hailing driver
STRANGER = "440305198804089650"


@pytest.fixture(scope="module")
def fixtures() -> Fixtures:
    return load_fixtures()


@pytest.fixture(scope="module")
def trust() -> TrustList:
    return TrustList.load(REPO / "licences")


def token(audience: str, subject: str = DRIVER) -> str:
    now = int(time.time())
    claims = GrantClaims(
        gid="g-1", sub=subject, item="ride-hailing-driver-permit", purpose="test",
        aud=audience, datasets=("population", "driving_scores"),
        licence_types=("driving_licence",), act=f"citizen:{subject}", iat=now, exp=now + 60,
    )
    return mint(sandbox_consent_key(), claims)


Request = tuple[str, str, dict[str, str] | None, dict[str, str], bytes | None]


Answer = tuple[int, Any]


def both(
    app: FastAPI, requests: list[Request], twin: FastAPI | None = None
) -> list[tuple[Answer, Answer]]:
    """Each request over HTTP (ASGI) to `app` and through the exchange to `twin` (an app
    built the same way, for requests that write; `app` itself by default):
    (status, parsed body) from each."""
    exchange = exchange_for(twin or app)

    async def go() -> list[tuple[Answer, Answer]]:
        out = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            for method, path, params, headers, body in requests:
                over_http = await client.request(
                    method, path, params=params, headers=headers, content=body
                )
                status, raw = await exchange(method, path, params, headers, body)
                out.append((
                    (over_http.status_code, over_http.json()),
                    (status, httpx.Response(status, content=raw).json()),
                ))
                if over_http.status_code == 200 and method == "GET":
                    assert raw == over_http.content, path  # byte for byte: digests agree
        return out

    return asyncio.run(go())


def test_platform_reads_and_refusals_match_http(fixtures: Fixtures) -> None:
    app = create_platform_app(fixtures, consent=sandbox_gate("platform"))
    ok = {GRANT_HEADER: token("platform"), CORRELATION_HEADER: "c-1"}
    requests: list[Request] = [
        ("GET", "/v1/datasets", None, {}, None),
        ("GET", "/v1/datasets/population/records", {"key": DRIVER}, ok, None),
        ("GET", "/v1/datasets/driving_scores/records", {"key": DRIVER}, ok, None),
        # Refused: no token, another person's data, a dataset the grant does not cover,
        # a token for the other provider.
        ("GET", "/v1/datasets/population/records", {"key": DRIVER}, {}, None),
        ("GET", "/v1/datasets/population/records", {"key": STRANGER}, ok, None),
        ("GET", "/v1/datasets/criminal_records/records", {"key": DRIVER}, ok, None),
        ("GET", "/v1/datasets/population/records", {"key": DRIVER},
         {GRANT_HEADER: token("licences")}, None),
        ("GET", "/v1/nowhere", None, ok, None),
    ]
    results = both(app, requests)
    for (http, direct), request in zip(results, requests, strict=True):
        assert http == direct, request
    statuses = [http[0] for http, _ in results]
    assert statuses == [200, 200, 200, 403, 403, 403, 403, 404]
    assert results[1][0][1]["records"][0]["name"] == "陈建国"


def test_unknown_dataset_is_404_both_ways(fixtures: Fixtures) -> None:
    app = create_platform_app(fixtures)
    [(http, direct)] = both(app, [("GET", "/v1/datasets/tax/records", {"key": DRIVER}, {}, None)])
    assert http == direct and http[0] == 404 and http[1]["dataset"] == "tax"


def test_licence_store_reads_writes_and_errors_match_http(
    fixtures: Fixtures, trust: TrustList
) -> None:
    kind, issuer = trust.types["ridehail_driver_permit"], trust.issuers["sz-transport"]
    day = dt.date(2026, 11, 30)
    key, key_id = signing_key(trust, "sz-transport", day)

    def permit(serial: str) -> bytes:
        unsigned = Licence(
            licence_id=identifier.build(kind.code, issuer.code, serial), type=kind.type,
            type_name=kind.name.zh, number=DRIVER, holder=Holder(id_number=DRIVER, name="陈建国"),
            issuer=IssuerRef(id=issuer.id, code=issuer.code, name=issuer.name.zh),
            issue_date=day, valid_from=day, valid_to=dt.date(2032, 11, 29), fields={},
        )
        return sign(unsigned, key, key_id).model_dump_json().encode()

    # Two stores with the same starting state: one called over HTTP, one in process.
    over_http = create_licence_store_app(fixtures, trust, consent=sandbox_gate("licences"))
    in_process = create_licence_store_app(fixtures, trust, consent=sandbox_gate("licences"))
    ok = {GRANT_HEADER: token("licences")}
    as_json = {"Content-Type": "application/json"}
    listed = {"holder": DRIVER, "type": "driving_licence"}
    first, second = permit("2026999001"), permit("2026999002")
    forged = first.replace(b"2032-11-29", b"2099-11-29")
    requests: list[Request] = [
        ("GET", "/v1/licences", listed, ok, None),
        ("GET", "/v1/licences", listed, {}, None),  # no consent
        ("GET", "/v1/licences", {"holder": DRIVER}, ok, None),  # "every type": not covered
        ("GET", "/v1/licences", {"type": "driving_licence"}, ok, None),  # no holder
        ("POST", "/v1/licences", None, as_json, first),
        ("POST", "/v1/licences", None, as_json, first),  # 409: taken
        ("POST", "/v1/licences", None, as_json, forged),  # 422: does not verify
        ("POST", "/v1/licences", None, as_json, b"{}"),  # 422: not a licence
        ("POST", "/v1/licences", None, as_json, second),
        ("GET", "/v1/licences/1.2.156.3005.2.X.Y.1.001.0", None, ok, None),  # 404
    ]
    results = both(over_http, requests, twin=in_process)
    statuses = [http[0] for http, _ in results]
    assert statuses == [200, 403, 403, 422, 201, 409, 422, 422, 201, 404]
    for (http, direct), request in zip(results, requests, strict=True):
        if http[0] == 422 and isinstance(http[1].get("detail"), list):
            # A request FastAPI cannot parse: the status is the contract, not its wording.
            assert direct[0] == 422, request
            continue
        assert http == direct, request


def test_faults_fire_the_same_through_the_exchange(fixtures: Fixtures) -> None:
    app = create_platform_app(fixtures)
    app.state.faults.set(FaultPlan(rules=[
        FaultRule(source="platform", target="population", kind="error", rate=1.0, status=502),
    ]))
    [(http, direct)] = both(
        app, [("GET", "/v1/datasets/population/records", {"key": DRIVER}, {}, None)]
    )
    assert http == direct and http[0] == 502


def test_a_provider_crash_is_a_500_not_an_exception(fixtures: Fixtures) -> None:
    app = create_platform_app(fixtures)

    def broken(dataset: str, key: str) -> list[dict[str, Any]]:
        raise RuntimeError("disk on fire")

    app.state.provider.data.records = broken
    status, body = asyncio.run(exchange_for(app)(
        "GET", "/v1/datasets/population/records", {"key": DRIVER}, {}, None
    ))
    assert status == 500 and b"disk on fire" not in body
