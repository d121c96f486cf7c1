"""Sources against the sandbox apps in process (`approvals.sandbox.inprocess`).

The same clients, payload checks and licence verification as production; only the
transport differs. Cases come from the shipped fixtures' showcase list, so these
tests follow the sandbox data rather than hard-coding people.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import rfc8785

from approvals.engine.model import Gathered
from approvals.engine.runtime import Engine
from approvals.licence import Licence, TrustList, is_verified
from approvals.sandbox.faults import FaultPlan, FaultRule
from approvals.sandbox.fixtures import Fixtures, Showcase, load_fixtures
from approvals.sources import Prefill, Sources, sources_for_sandbox
from approvals.spec.catalog import Catalog, LoadedRuleset

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# Showcase item keys (docs/sandbox.md) -> ruleset codes.


@pytest.fixture(scope="module")
def fixtures() -> Fixtures:
    return load_fixtures()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(ROOT / "rulesets")


def with_sources(use: Callable[[Sources], Awaitable[T]]) -> T:
    async def go() -> T:
        async with sources_for_sandbox() as sources:
            return await use(sources)

    return asyncio.run(go())


def showcases(fixtures: Fixtures, item: str) -> list[Showcase]:
    found = [s for s in fixtures.showcase if s.item == item]
    assert found, f"the shipped fixtures have no showcase for {item}"
    return found


def test_gather_reads_the_applicants_records_with_provenance(
    fixtures: Fixtures, catalog: Catalog
) -> None:
    case = next(s for s in showcases(fixtures, "longevity-allowance") if s.outcome == "approve")
    loaded = catalog.in_force("longevity-allowance", case.on)
    got = with_sources(lambda s: s.gather(loaded, case.id_number, case.form, case.on))

    assert set(got) == set(loaded.spec.inputs)
    person = got["person"]
    assert person.error is None
    assert [r["id_number"] for r in person.value] == [case.id_number]
    assert person.value[0]["name"] == case.name
    prov = person.provenance
    assert (prov.source, prov.dataset, prov.key) == ("platform", "population", case.id_number)
    assert prov.fetched_at is not None and prov.fetched_at.utcoffset() == dt.timedelta(0)
    # The digest is of the answer as the platform's contract shapes it.
    payload = {"dataset": "population", "key": case.id_number, "records": person.value}
    assert prov.digest == "sha256:" + hashlib.sha256(rfc8785.dumps(payload)).hexdigest()


def test_licence_digest_matches_the_store_answer(fixtures: Fixtures) -> None:
    licence = next(lic for lic in fixtures.licences if lic.tamper is None)

    async def use(sources: Sources) -> tuple[Any, str]:
        read = await sources.licences.licences(licence.holder, licence.type)
        return read.fetched.payload, read.fetched.digest

    payload, digest = with_sources(use)
    assert payload["licences"], "the store returned the fixture licence"
    assert digest == "sha256:" + hashlib.sha256(rfc8785.dumps(payload)).hexdigest()


def test_a_healthy_sandbox_never_yields_a_source_error(
    fixtures: Fixtures, catalog: Catalog
) -> None:
    """Every showcase case gathers cleanly: an error here would turn a decision into a
    spurious referral."""

    async def use(sources: Sources) -> list[tuple[str, dict[str, Gathered]]]:
        out = []
        for case in fixtures.showcase:
            loaded = catalog.in_force(case.item, case.on)
            out.append(
                (case.label, await sources.gather(loaded, case.id_number, case.form, case.on))
            )
        return out

    for label, got in with_sources(use):
        errors = {name: g.error for name, g in got.items() if g.error}
        assert errors == {}, label


def test_licences_are_verified_on_read(fixtures: Fixtures) -> None:
    trust = TrustList.load()
    tampered = [lic for lic in fixtures.licences if lic.tamper is not None]
    genuine = [lic for lic in fixtures.licences if lic.tamper is None][:20]
    assert tampered, "the shipped fixtures carry forgeries to catch"

    async def use(sources: Sources) -> list[tuple[str | None, list[dict[str, Any]], list[Licence]]]:
        out = []
        for lic in tampered + genuine:
            read = await sources.licences.licences(lic.holder, lic.type)
            from approvals.sources import licence_view

            views = [licence_view(found, sources.trust) for found in read.licences]
            out.append((lic.tamper, views, read.licences))
        return out

    for tamper, views, documents in with_sources(use):
        for view, document in zip(views, documents, strict=True):
            assert view["signature_valid"] is is_verified(document, trust)
            assert (view["verification_problem"] is None) is view["signature_valid"]
        if tamper is not None:
            assert any(not v["signature_valid"] for v in views), tamper
        else:
            assert any(v["signature_valid"] for v in views)


def test_decisions_refer_naming_the_source_when_one_fails(
    fixtures: Fixtures, catalog: Catalog
) -> None:
    """End to end: the sandbox serves everything but one dataset, which answers 503.
    Every case, whatever it would otherwise be, is referred with that dataset named."""
    cases = showcases(fixtures, "longevity-allowance")
    form = {"bank_account": "6222020000000000000"}

    async def use(sources: Sources) -> list[tuple[Showcase, LoadedRuleset, dict[str, Gathered]]]:
        # The sandbox's own fault injection: one dataset fails every time, the rest works.
        sources.platform_app.state.faults.set(FaultPlan(rules=[FaultRule(
            source="platform", target="longevity_allowance", kind="error", rate=1.0,
        )]))
        out = []
        for case in cases:
            loaded = catalog.in_force("longevity-allowance", case.on)
            out.append((case, loaded, await sources.gather(loaded, case.id_number, form, case.on)))
        return out

    engine = Engine()
    for case, loaded, got in with_sources(use):
        decision = engine.decide(loaded, got, form, case.on, {"id_number": case.id_number})
        assert decision.outcome == "refer", case.label
        named = [r for r in decision.reasons if "longevity_allowance" in r.en and "503" in r.en]
        assert named, case.label


def test_prefill_fills_government_data_and_says_where_from(
    fixtures: Fixtures, catalog: Catalog
) -> None:
    case = next(s for s in showcases(fixtures, "longevity-allowance") if s.outcome == "approve")
    loaded = catalog.in_force("longevity-allowance", case.on)
    prefill: Prefill = with_sources(lambda s: s.prefill(loaded, case.id_number, case.on))

    assert (prefill.item, prefill.ruleset_hash, prefill.on) == (
        "longevity-allowance",
        loaded.hash,
        case.on,
    )
    fields = {f.name: f for f in prefill.fields}
    assert [f.name for f in prefill.fields] == [f.name for f in loaded.spec.form]
    name = fields["name"]
    assert (name.value, name.autofilled, name.editable, name.problem) == (
        case.name,
        True,
        False,
        None,
    )
    assert [s.input for s in name.sources] == ["person"]
    assert name.sources[0].provenance.dataset == "population"
    assert name.sources[0].provenance.digest == prefill.inputs["person"].provenance.digest
    assert name.label.zh == "姓名"
    # Not government data: the applicant types it.
    account = fields["bank_account"]
    assert (account.value, account.autofilled, account.editable, account.sources) == (
        None,
        False,
        True,
        [],
    )
    # Only what the form shows is read (data minimisation).
    assert set(prefill.inputs) == {"person"}
    assert prefill.values["name"] == case.name


def test_prefill_skips_inputs_keyed_by_fields_not_yet_typed(
    fixtures: Fixtures, catalog: Catalog
) -> None:
    case = next(
        s for s in showcases(fixtures, "individual-business-registration") if s.outcome == "approve"
    )
    loaded = catalog.in_force("individual-business-registration", case.on)
    prefill = with_sources(lambda s: s.prefill(loaded, case.id_number, case.on))
    keyed_by_form = {
        name for name, source in loaded.spec.inputs.items() if "form." in getattr(source, "key", "")
    }
    assert keyed_by_form, "the item reads records keyed by what the applicant types"
    assert not keyed_by_form & set(prefill.inputs)
    autofilled = [f for f in prefill.fields if f.autofilled]
    assert autofilled and all(f.value is not None and f.sources for f in autofilled)


def test_prefill_says_why_a_field_is_empty(fixtures: Fixtures, catalog: Catalog) -> None:
    case = next(
        s
        for s in showcases(fixtures, "longevity-allowance")
        if s.outcome == "refer" and "population" in s.label
    )
    loaded = catalog.in_force("longevity-allowance", case.on)
    prefill = with_sources(lambda s: s.prefill(loaded, case.id_number, case.on))
    name = next(f for f in prefill.fields if f.name == "name")
    assert (name.value, name.autofilled) == (None, False)
    assert name.problem is not None and "population" in name.problem


def test_concurrent_reads_answer_in_order_and_are_cancelled_together() -> None:
    """`_all`, which runs an item's reads concurrently in place of `asyncio.gather`."""
    from approvals.engine.model import Provenance
    from approvals.sources.gather import _all

    cancelled: list[str] = []

    async def read(name: str, delay: float, fail: bool = False) -> Gathered:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise
        if fail:
            raise RuntimeError(f"{name} broke")
        return Gathered(value=name, provenance=Provenance(source="platform", dataset=name))

    async def go() -> None:
        started = asyncio.get_running_loop().time()
        got = await _all([read("a", 0.05), read("b", 0.0), read("c", 0.02)])
        assert [g.value for g in got] == ["a", "b", "c"]  # in order, not as they finished
        assert asyncio.get_running_loop().time() - started < 0.5  # concurrently
        with pytest.raises(RuntimeError, match="a broke"):
            await _all([read("a", 0.0, fail=True), read("slow", 10.0)])
        await asyncio.sleep(0)  # a cancelled task stops at its next step
        assert cancelled == ["slow"]
        waiting = asyncio.ensure_future(_all([read("x", 10.0), read("y", 10.0)]))
        await asyncio.sleep(0.01)
        waiting.cancel()  # the caller gives up (a client that hung up)
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0)
        assert sorted(cancelled) == ["slow", "x", "y"]

    asyncio.run(go())
