"""The shipped sandbox agrees with the real engine and rulesets.

Every showcase applicant is decided the way the service decides: inputs gathered from
the sandbox apps in-process (`sources_for_sandbox`, the production clients and licence
verification over `httpx.ASGITransport`), then `Engine.decide` with the ruleset version
in force on the case's date. The documented outcome and reason codes must come out.

Then the whole population is put through every item, to show the sandbox is a usable
test bed: at least 1,000 people, and every outcome and every reason code of every item
occurs (issue 2, "Sandbox data sources").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from approvals.engine.model import Decision
from approvals.engine.runtime import Engine
from approvals.sandbox.fixtures import Fixtures, Person, Showcase, load_fixtures
from approvals.sandbox.showcase import (
    BUSINESS,
    ITEMS,
    NO_POPULATION_RECORD,
    SHOWCASE_DATE,
    typed_in,
)
from approvals.sources import sources_for_sandbox
from approvals.spec.catalog import Catalog

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "src" / "approvals" / "sandbox" / "fixtures.json"
OUTCOMES = {"approve", "reject", "refer"}

FIXTURES = load_fixtures(SHIPPED)
CATALOG = Catalog.load(REPO / "rulesets")
CASES = FIXTURES.showcase


def _decide_all(
    fixtures_path: Path, jobs: Sequence[tuple[str, str, dict[str, Any], dt.date]]
) -> list[Decision]:
    """Gather and decide each (item, applicant, form, date), as the service would."""
    engine = Engine()

    async def run() -> list[Decision]:
        decisions = []
        async with sources_for_sandbox(fixtures_path) as sources:
            for item, applicant, form, on in jobs:
                loaded = CATALOG.in_force(item, on)
                inputs = await sources.gather(loaded, applicant, form, on)
                decisions.append(engine.decide(loaded, inputs, form, on, {"id_number": applicant}))
        return decisions

    return asyncio.run(run())


# -- every showcase applicant -------------------------------------------------------------


@pytest.fixture(scope="module")
def decisions() -> dict[int, Decision]:
    jobs = [(case.item, case.id_number, case.form, case.on) for case in CASES]
    return dict(enumerate(_decide_all(SHIPPED, jobs)))


@pytest.mark.parametrize(
    "index", range(len(CASES)), ids=[f"{c.item}:{c.id_number}:{c.on}" for c in CASES]
)
def test_showcase_gets_its_documented_decision(decisions: dict[int, Decision], index: int) -> None:
    case = CASES[index]
    decision = decisions[index]
    codes = [reason.code for reason in decision.reasons]
    assert decision.outcome == case.outcome, f"{case.label}: {codes}"
    assert decision.ruleset.code == case.item
    missing = set(case.reasons) - set(codes)
    assert not missing, f"{case.label}: expected {missing} among {codes}"
    if case.outcome == "reject":
        # A reject case fails the criterion it names and no other one.
        rejecting = {r.code for r in decision.reasons if r.outcome == "reject"}
        assert rejecting == set(case.reasons), case.label


def test_every_refusal_names_its_reason() -> None:
    for case in CASES:
        if case.outcome != "approve":
            assert case.reasons, f"{case.item} {case.id_number}: {case.label}"


def test_showcases_cover_every_outcome_and_reason_of_every_item() -> None:
    for code in ITEMS:
        spec = CATALOG.in_force(code, SHOWCASE_DATE).spec
        mine = [case for case in CASES if case.item == code]
        assert {case.outcome for case in mine} == OUTCOMES, code
        shown = {reason for case in mine for reason in case.reasons}
        expected = {check.reason.code for check in spec.checks} | {NO_POPULATION_RECORD}
        assert shown == expected, code


def test_showcase_items_are_ruleset_codes_with_their_names() -> None:
    assert {case.item for case in CASES} == set(ITEMS)
    for code, (zh, en) in ITEMS.items():
        spec = CATALOG.in_force(code, SHOWCASE_DATE).spec
        assert (spec.name.zh, spec.name.en) == (zh, en)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.item}:{c.id_number}:{c.on}" for c in CASES])
def test_showcase_form_is_what_the_applicant_types(case: Showcase) -> None:
    """Exactly the fields the ruleset does not autofill: government data never comes
    from the applicant, and nothing the applicant must supply is left out."""
    spec = CATALOG.in_force(case.item, case.on).spec
    typed = {f.name for f in spec.form if not f.autofill}
    needed = {f.name for f in spec.form if not f.autofill and f.required}
    assert needed <= set(case.form) <= typed


def test_docs_example_command_is_a_showcase() -> None:
    docs = (REPO / "docs" / "sandbox.md").read_text(encoding="utf-8")
    form = re.search(r"echo '(\{.*\})' > form\.json", docs)
    command = re.search(
        r"approvals decide (\S+) --applicant (\S+) \\\n\s+--form form\.json "
        r"--on (\S+)",
        docs,
    )
    assert form and command
    item, applicant, on = command.groups()
    assert any(
        (c.item, c.id_number, c.on.isoformat(), c.form)
        == (item, applicant, on, json.loads(form.group(1)))
        for c in CASES
    )


# -- the whole population through every item ------------------------------------------------


def _premises(fixtures: Fixtures) -> dict[str, str]:
    """Each person's own premises: a property they own, else one they lease."""
    own: dict[str, str] = {}
    for licence in fixtures.licences:
        if licence.type == "property_certificate":
            own.setdefault(licence.holder, str(licence.fields["address"]))
    for address, filings in sorted(fixtures.records.get("lease_filings", {}).items()):
        for filing in filings:
            own.setdefault(str(filing["lessee_id_number"]), address)
    return own


# Scope choices rotate: allowed outright, allowed (two), needs a prior licence, not allowed.
SCOPES = (["5213"], ["5211", "5213"], ["5213", "6220"], ["6621"])


def plausible_form(
    item: str, person: Person, index: int, premises: dict[str, str], taken: list[str]
) -> dict[str, Any]:
    """What this person would type in for `item`. For a business: their own premises if
    they have any, a fresh name (every 20th applicant tries a name already registered)
    and a rotating scope."""
    if item != BUSINESS:
        return typed_in(item, person)
    name = taken[index % len(taken)] if index % 20 == 0 else f"深圳市{person.name}{index:04d}便利店"
    return {
        "business_name": name,
        "scope_codes": SCOPES[index % len(SCOPES)],
        "premises_address": premises.get(person.id_number, "深圳市南山区桃园路1号101"),
    }


def test_whole_population_through_every_item() -> None:
    """All 1,170 people x 4 items on 2026-11-30 (no sampling: about 15 s, nearly all of
    it gathering over in-process ASGI; the engine itself takes under a second)."""
    people = FIXTURES.people
    assert len(people) >= 1000
    premises = _premises(FIXTURES)
    taken = sorted(FIXTURES.records["business_names"])
    jobs = [
        (
            item,
            person.id_number,
            plausible_form(item, person, index, premises, taken),
            SHOWCASE_DATE,
        )
        for index, person in enumerate(people)
        for item in ITEMS
    ]
    started = time.perf_counter()
    decided = _decide_all(SHIPPED, jobs)
    elapsed = time.perf_counter() - started

    outcomes: dict[str, Counter[str]] = {item: Counter() for item in ITEMS}
    reasons: dict[str, set[str]] = {item: set() for item in ITEMS}
    absent = {p.id_number for p in people if not p.in_population}
    for (item, applicant, _, _), decision in zip(jobs, decided, strict=True):
        assert decision.outcome in OUTCOMES
        outcomes[item][decision.outcome] += 1
        codes = {reason.code for reason in decision.reasons}
        reasons[item] |= codes
        # A healthy sandbox refers for want of data only those it has no record of.
        assert (NO_POPULATION_RECORD in codes) == (applicant in absent), (item, applicant)

    for item in ITEMS:
        spec = CATALOG.in_force(item, SHOWCASE_DATE).spec
        assert set(outcomes[item]) == OUTCOMES, (item, outcomes[item])
        every_reason = {check.reason.code for check in spec.checks}
        assert every_reason <= reasons[item], (item, every_reason - reasons[item])
    assert elapsed < 60, f"{len(jobs)} decisions took {elapsed:.1f} s"
