"""The sandbox platform and licence store, in-process over httpx.ASGITransport."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from approvals.licence import Holder, IssuerRef, Licence, TrustList, identifier, sign
from approvals.licence.keys import key_id_of
from approvals.sandbox import (
    FIXTURES_ENV,
    FixtureError,
    Fixtures,
    create_licence_store_app,
    create_platform_app,
    load_fixtures,
)
from approvals.sandbox.keys import issuer_private_key, signing_key
from approvals.sandbox.showcase import RIDEHAIL

REPO = Path(__file__).resolve().parents[1]
DRIVER = "440305198805129116"  # showcase: approved ride-hailing driver
NO_POPULATION = "440305198804089650"  # showcase: 杜鹏, has licences but no population record


@pytest.fixture(scope="module")
def fixtures() -> Fixtures:
    return load_fixtures()


@pytest.fixture(scope="module")
def trust() -> TrustList:
    return TrustList.load(REPO / "licences")


def call(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def test_platform_catalogue(fixtures: Fixtures) -> None:
    body = call(create_platform_app(fixtures), "GET", "/v1/datasets").json()
    names = [d["name"] for d in body["datasets"]]
    assert names == [
        "population",
        "criminal_records",
        "driving_scores",
        "ridehail_exams",
        "longevity_allowance",
        "dishonest_debtors",
        "business_names",
        "lease_filings",
    ]
    population = body["datasets"][0]
    assert population["key"] == "id_number" and population["title"]["zh"] == "人口基础信息"


def test_platform_records_found_and_absent(fixtures: Fixtures) -> None:
    app = create_platform_app(fixtures)
    found = call(app, "GET", "/v1/datasets/population/records", params={"key": DRIVER})
    assert found.status_code == 200
    assert found.json()["records"] == [
        {
            "id_number": DRIVER,
            "name": "陈建国",
            "gender": "男",
            "birth_date": "1988-05-12",
            "hukou_city": "深圳市",
            "hukou_address": "广东省深圳市南山区桃园路88号",
            "deceased": False,
            "death_date": None,
        }
    ]
    absent = call(app, "GET", "/v1/datasets/population/records", params={"key": NO_POPULATION})
    assert absent.status_code == 200
    assert absent.json() == {"dataset": "population", "key": NO_POPULATION, "records": []}
    scores = call(app, "GET", "/v1/datasets/driving_scores/records", params={"key": DRIVER}).json()
    assert [r["points"] for r in scores["records"]] == [1, 3, 0, 6, 2]


def test_platform_unknown_dataset_is_404(fixtures: Fixtures) -> None:
    response = call(
        create_platform_app(fixtures),
        "GET",
        "/v1/datasets/tax_records/records",
        params={"key": DRIVER},
    )
    assert response.status_code == 404
    assert response.json()["dataset"] == "tax_records"


def test_store_lists_and_gets(fixtures: Fixtures, trust: TrustList) -> None:
    app = create_licence_store_app(fixtures, trust)
    listed = call(app, "GET", "/v1/licences", params={"holder": DRIVER, "type": "driving_licence"})
    licences = listed.json()["licences"]
    assert len(licences) == 1
    assert licences[0]["fields"] == {"class": "C1", "first_issue_date": "2015-03-10"}
    one = call(app, "GET", f"/v1/licences/{licences[0]['licence_id']}")
    assert one.json() == licences[0]
    assert call(app, "GET", "/v1/licences/1.2.156.3005.2.X.Y.1.001.0").status_code == 404
    none = call(app, "GET", "/v1/licences", params={"holder": DRIVER, "type": "degree_certificate"})
    assert none.json() == {"licences": []}


def new_permit(trust: TrustList) -> Licence:
    kind = trust.types["ridehail_driver_permit"]
    issuer = trust.issuers["sz-transport"]
    day = dt.date(2026, 11, 30)
    return Licence(
        licence_id=identifier.build(kind.code, issuer.code, "2026999001"),
        type=kind.type,
        type_name=kind.name.zh,
        number=DRIVER,
        holder=Holder(id_number=DRIVER, name="陈建国"),
        issuer=IssuerRef(id=issuer.id, code=issuer.code, name=issuer.name.zh),
        issue_date=day,
        valid_from=day,
        valid_to=dt.date(2032, 11, 29),
        fields={},
    )


def test_store_accepts_signed_licence(fixtures: Fixtures, trust: TrustList) -> None:
    app = create_licence_store_app(fixtures, trust)
    key, key_id = signing_key(trust, "sz-transport", dt.date(2026, 11, 30))
    licence = sign(new_permit(trust), key, key_id)
    created = call(app, "POST", "/v1/licences", json=licence.model_dump(mode="json"))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "valid"
    again = call(app, "POST", "/v1/licences", json=licence.model_dump(mode="json"))
    assert again.status_code == 409
    listed = call(
        app, "GET", "/v1/licences", params={"holder": DRIVER, "type": "ridehail_driver_permit"}
    )
    assert [lic["licence_id"] for lic in listed.json()["licences"]] == [licence.licence_id]
    revoked = call(app, "POST", f"/v1/licences/{licence.licence_id}/revocation")
    assert revoked.json()["status"] == "revoked"


def test_store_refuses_forgeries(fixtures: Fixtures, trust: TrustList) -> None:
    app = create_licence_store_app(fixtures, trust)
    key, key_id = signing_key(trust, "sz-transport", dt.date(2026, 11, 30))
    tampered = sign(new_permit(trust), key, key_id).model_copy(
        update={"valid_to": dt.date(2099, 1, 1)}
    )
    response = call(app, "POST", "/v1/licences", json=tampered.model_dump(mode="json"))
    assert response.status_code == 422
    assert response.json()["kind"] == "BadSignature"

    stranger = issuer_private_key("sz-transport-copy")
    wrong_key = sign(new_permit(trust), stranger, key_id_of(stranger))
    response = call(app, "POST", "/v1/licences", json=wrong_key.model_dump(mode="json"))
    assert response.status_code == 422 and response.json()["kind"] == "UnknownKey"

    unsigned = new_permit(trust)
    response = call(app, "POST", "/v1/licences", json=unsigned.model_dump(mode="json"))
    assert response.status_code == 422 and "expected a signature" in response.json()["detail"]


def test_shipped_forgeries_are_served_and_fail_verification(
    fixtures: Fixtures, trust: TrustList
) -> None:
    from approvals.licence import VerificationError, verify

    app = create_licence_store_app(fixtures, trust)
    by_label = {case.label: case.id_number for case in fixtures.showcase if case.item == RIDEHAIL}
    expected = {
        by_label["rejected: forged licence (validity extended after signing)"]: "BadSignature",
        by_label["rejected: licence signed by an issuer not on the trust list"]: "UnknownIssuer",
        by_label["rejected: licence identifier with a wrong check character"]: "NonConforming",
    }
    for holder, kind in expected.items():
        body = call(
            app, "GET", "/v1/licences", params={"holder": holder, "type": "driving_licence"}
        )
        (licence,) = [Licence.model_validate(x) for x in body.json()["licences"]]
        with pytest.raises(VerificationError) as caught:
            verify(licence, trust)
        assert type(caught.value).__name__ == kind


def test_fixture_env_var_replaces_shipped_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixtures: Fixtures
) -> None:
    mine = Fixtures(people=[fixtures.people[0]])
    path = tmp_path / "mine.json"
    path.write_text(mine.model_dump_json(), encoding="utf-8")
    monkeypatch.setenv(FIXTURES_ENV, str(path))
    assert load_fixtures().people == [fixtures.people[0]]


def test_fixture_errors_are_clear(tmp_path: Path, fixtures: Fixtures) -> None:
    person = fixtures.people[0].model_dump(mode="json")
    person["birth_date"] = "1988-05-13"
    bad = {"people": [person], "records": {"tax_records": {}}}
    path = tmp_path / "bad.json"
    import json

    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(FixtureError) as caught:
        load_fixtures(path)
    message = str(caught.value)
    assert "people.0: birth_date 1988-05-13 does not match the ID number (1988-05-12)" in message
    assert "unknown dataset 'tax_records'" in message
    path.write_text("{", encoding="utf-8")
    with pytest.raises(FixtureError, match=r"bad.json:1: not valid JSON"):
        load_fixtures(path)
