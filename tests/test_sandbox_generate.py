"""The generator is deterministic, the shipped files are its output, and every showcase
applicant gets the documented outcome from an independent, plain-Python reading of the
criteria in docs/sandbox.md (an oracle over the sandbox apps, not the rules engine; the
engine's own decisions are checked in test_sandbox_showcases.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from approvals.licence import Licence, TrustList, is_verified
from approvals.sandbox import Fixtures, create_licence_store_app, create_platform_app, load_fixtures
from approvals.sandbox.dates import add_years, age_on
from approvals.sandbox.generate import (
    TABLE_BEGIN,
    TABLE_END,
    generate,
    main,
    render,
    render_schema,
    showcase_table,
    splice_docs,
)
from approvals.sandbox.showcase import BUSINESS, GRADUATE, LONGEVITY, RIDEHAIL

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src" / "approvals" / "sandbox" / "fixtures.json"
REGENERATE = (
    "python -m approvals.sandbox.generate src/approvals/sandbox/fixtures.json "
    "--schema docs/sandbox-fixtures.schema.json --docs docs/sandbox.md"
)


def test_generation_is_deterministic() -> None:
    assert render(generate()) == render(generate())


def test_shipped_fixtures_are_fresh() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == render(generate()), f"regenerate: {REGENERATE}"
    assert SHIPPED.stat().st_size < 3_000_000


def test_committed_schema_is_fresh() -> None:
    committed = (REPO / "docs" / "sandbox-fixtures.schema.json").read_text(encoding="utf-8")
    assert committed == render_schema(), f"regenerate: {REGENERATE}"


def test_docs_show_the_fresh_showcase_tables() -> None:
    docs = (REPO / "docs" / "sandbox.md").read_text(encoding="utf-8")
    assert splice_docs(docs, showcase_table(load_fixtures(SHIPPED))) == docs, REGENERATE


def test_docs_tables_need_their_markers() -> None:
    with pytest.raises(ValueError, match="markers"):
        splice_docs("# no tables here\n", "| x |\n")


def test_generate_command_writes_every_file(tmp_path: Path) -> None:
    page = tmp_path / "sandbox.md"
    page.write_text(f"intro\n{TABLE_BEGIN}\nstale\n{TABLE_END}\noutro\n", encoding="utf-8")
    args = [str(tmp_path / "f.json"), "--schema", str(tmp_path / "s.json"), "--docs", str(page)]
    assert main(args) == 0
    assert (tmp_path / "f.json").read_text(encoding="utf-8") == SHIPPED.read_text(encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith(f"{TABLE_END}\noutro\n")
    assert "stale" not in text and "`440305198805129116`" in text


def test_population_is_large_and_varied() -> None:
    fixtures = load_fixtures(SHIPPED)
    people = fixtures.people
    assert len(people) >= 1000
    assert any(p.deceased for p in people)
    assert any(not p.in_population for p in people)
    assert sum(1 for p in people if (p.birth_date.month, p.birth_date.day) == (2, 29)) >= 3
    cities = {p.hukou_city for p in people}
    assert "深圳市" in cities and len(cities) > 3
    tampers = {lic.tamper for lic in fixtures.licences}
    assert tampers == {None, "bad-signature", "unknown-issuer", "bad-identifier"}
    assert {lic.type for lic in fixtures.licences} == {
        "driving_licence",
        "residence_permit",
        "ridehail_driver_permit",
        "degree_certificate",
        "property_certificate",
        "business_licence",
    }


# -- the oracle -------------------------------------------------------------------------


class Sandbox:
    def __init__(self, fixtures: Fixtures, trust: TrustList) -> None:
        self.platform = create_platform_app(fixtures)
        self.store = create_licence_store_app(fixtures, trust)
        self.trust = trust

    def get(self, app: Any, url: str, params: dict[str, str]) -> Any:
        async def go() -> Any:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
                response = await c.get(url, params=params)
                response.raise_for_status()
                return response.json()

        return asyncio.run(go())

    def records(self, dataset: str, key: str) -> list[dict[str, Any]]:
        return list(
            self.get(self.platform, f"/v1/datasets/{dataset}/records", {"key": key})["records"]
        )

    def licences(self, holder: str, kind: str, on: dt.date) -> list[Licence]:
        """Licences that verify, are not revoked and are valid on `on`."""
        body = self.get(self.store, "/v1/licences", {"holder": holder, "type": kind})
        out = []
        for raw in body["licences"]:
            lic = Licence.model_validate(raw)
            valid = lic.valid_from <= on and (lic.valid_to is None or on <= lic.valid_to)
            if valid and lic.status == "valid" and is_verified(lic, self.trust):
                out.append(lic)
        return out


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def ridehail(s: Sandbox, who: str, on: dt.date, person: dict[str, Any]) -> str:
    classes = {"A1", "A2", "A3", "B1", "B2", "C1", "C2"}
    licences = [x for x in s.licences(who, "driving_licence", on) if x.fields["class"] in classes]
    if not licences:
        return "reject"
    first = min(_d(x.fields["first_issue_date"]) for x in licences)
    if add_years(first, 3) > on or age_on(_d(person["birth_date"]), on) > 60:
        return "reject"
    barred = {"交通肇事犯罪", "危险驾驶犯罪", "吸毒", "饮酒后驾驶", "暴力犯罪"}
    if any(r["category"] in barred for r in s.records("criminal_records", who)):
        return "reject"
    done = sorted(
        (r for r in s.records("driving_scores", who) if _d(r["period_end"]) < on),
        key=lambda r: r["period_end"],
    )
    if any(r["points"] >= 12 for r in done[-3:]):
        return "reject"
    if person["hukou_city"] != "深圳市" and not s.licences(who, "residence_permit", on):
        return "reject"
    exams = s.records("ridehail_exams", who)
    if not any(
        e["passed"] and on - dt.timedelta(days=365) <= _d(e["exam_date"]) <= on for e in exams
    ):
        return "reject"
    if s.licences(who, "ridehail_driver_permit", on):
        return "reject"
    return "approve"


def longevity(s: Sandbox, who: str, on: dt.date, person: dict[str, Any]) -> str:
    if person["hukou_city"] != "深圳市" or age_on(_d(person["birth_date"]), on) < 80:
        return "reject"
    if person["deceased"]:
        return "reject"
    if any(r["status"] == "active" for r in s.records("longevity_allowance", who)):
        return "reject"
    return "approve"


def _debtor(s: Sandbox, who: str, on: dt.date) -> bool:
    return any(
        _d(r["listed_on"]) <= on and (r["removed_on"] is None or on < _d(r["removed_on"]))
        for r in s.records("dishonest_debtors", who)
    )


def graduate(s: Sandbox, who: str, on: dt.date, person: dict[str, Any]) -> str:
    limit = {"学士": 35, "硕士": 40, "博士": 45}
    age = age_on(_d(person["birth_date"]), on)
    eligible = [
        x
        for x in s.licences(who, "degree_certificate", on)
        if x.fields["study_mode"] == "全日制"
        and _d(x.fields["graduation_date"]) <= on <= add_years(_d(x.fields["graduation_date"]), 2)
        and age < limit[x.fields["level"]]
    ]
    if not eligible or person["hukou_city"] == "深圳市":
        return "reject"
    if s.records("criminal_records", who) or _debtor(s, who, on):
        return "refer"
    return "approve"


def business(
    s: Sandbox, who: str, on: dt.date, person: dict[str, Any], form: dict[str, Any]
) -> str:
    allowed = {"5211", "5212", "5213", "5219", "6210", "6220", "5251"}
    needs_licence = {"6210", "6220", "5251"}
    if age_on(_d(person["birth_date"]), on) < 18 or _debtor(s, who, on):
        return "reject"
    if s.records("business_names", form["business_name"]):
        return "reject"
    address = form["premises_address"]
    owns = any(x.fields["address"] == address for x in s.licences(who, "property_certificate", on))
    leases = any(
        r["lessee_id_number"] == who and _d(r["valid_from"]) <= on <= _d(r["valid_to"])
        for r in s.records("lease_filings", address)
    )
    if not (owns or leases):
        return "reject"
    scope = set(form["scope_codes"])
    if scope - allowed:
        return "reject"
    return "refer" if scope & needs_licence else "approve"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(load_fixtures(SHIPPED), TrustList.load(REPO / "licences"))


CASES = load_fixtures(SHIPPED).showcase


@pytest.mark.parametrize("case", CASES, ids=[f"{c.item}:{c.label}" for c in CASES])
def test_showcase_outcome(sandbox: Sandbox, case: Any) -> None:
    population = sandbox.records("population", case.id_number)
    if not population:
        outcome = "refer"
    else:
        person = population[0]
        if case.item == RIDEHAIL:
            outcome = ridehail(sandbox, case.id_number, case.on, person)
        elif case.item == LONGEVITY:
            outcome = longevity(sandbox, case.id_number, case.on, person)
        elif case.item == GRADUATE:
            outcome = graduate(sandbox, case.id_number, case.on, person)
        else:
            assert case.item == BUSINESS
            outcome = business(sandbox, case.id_number, case.on, person, case.form)
    assert outcome == case.outcome, case.label


def test_every_item_has_every_outcome() -> None:
    seen = {(c.item, c.outcome) for c in CASES}
    for item in (RIDEHAIL, LONGEVITY, GRADUATE, BUSINESS):
        for outcome in ("approve", "reject", "refer"):
            assert (item, outcome) in seen
