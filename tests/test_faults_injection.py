"""2,000 decisions across the four items while the sandboxes fail 20% of reads in each
way (issue 4, "Done means"): timeouts, 5xx, malformed JSON, schema violations and
another person's records, with some latency on top.

Every case is first decided against a healthy sandbox. Under faults, the sandboxes log
each attempt of each read by the decision's correlation id; a read is *affected* when
its last attempt was faulted (a retried 5xx or timeout may recover). Then:

- an affected case is `refer`, with a reason naming every affected source;
- no reason names a source that was not affected (no wrong source blamed);
- an unaffected case gets exactly its fault-free outcome and reasons;
- so no approval or rejection differs from the fault-free decision.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from pathlib import Path
from typing import Any

from approvals.engine.model import Decision
from approvals.engine.runtime import Engine
from approvals.sandbox.faults import FAILURES, FaultPlan, FaultRule
from approvals.sandbox.fixtures import Fixtures, Person, load_fixtures
from approvals.sandbox.showcase import BUSINESS, ITEMS, SHOWCASE_DATE, typed_in
from approvals.sources import sources_for_sandbox
from approvals.sources.access import ReadContext
from approvals.sources.gather import Sources
from approvals.spec.catalog import Catalog
from approvals.spec.connectors import (
    Circuit,
    Concurrency,
    ConnectorConfig,
    Retry,
    Timeouts,
    load_connectors,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = load_fixtures(None)
CATALOG = Catalog.load(REPO / "rulesets")
PER_KIND = 400  # x 5 kinds = 2,000 decisions
RATE = 0.2
CONCURRENT = 48


# Generous where no timeout is injected, so that a busy test host cannot make a healthy
# read time out; tight in the timeout phase, so that 20% hanging reads cost little.
RELAXED = Timeouts(connect=5, read=5, total=5)
TIGHT = Timeouts(connect=0.5, read=0.5, total=0.5)
# Timeout phase only: a healthy read that the host was too busy to finish within TIGHT
# is referred as timed out (correctly: it did not answer in time) although the sandbox
# logged it as answered. Tolerated up to this share of the phase, and reported.
SLOW_HOST_SHARE = 0.02


def quick_config() -> ConnectorConfig:
    """Tiny backoff so the run is fast; a breaker that does not open here and a quota
    whose queue never gives up (both tested on their own, tests/test_faults_resilience.py),
    so that every referral is down to a fault. With the default 2 s queue, the hanging
    reads of the timeout phase kept the 16 slots so busy that on a slow host (a CI run
    of 2026-11-30) 12 unaffected cases were referred as "too busy": right for the
    service, but not what this test counts."""
    config = load_connectors()
    changes: dict[str, Any] = {
        "timeout": RELAXED,
        "retry": Retry(attempts=2, backoff_base=0.001, backoff_max=0.002),
        "circuit": Circuit(failure_threshold=1000, reset_after=1),
        "concurrency": Concurrency(queue_timeout=60),
    }
    return ConnectorConfig(
        config.root,
        config.platform.model_copy(update=changes),
        config.licences.model_copy(update=changes),
        config.datasets,
    )


SCOPES = (["5213"], ["5211", "5213"], ["5213", "6220"], ["6621"])


def form_for(item: str, person: Person, index: int, fixtures: Fixtures) -> dict[str, Any]:
    if item != BUSINESS:
        return typed_in(item, person)
    taken = sorted(fixtures.records["business_names"])
    leases = fixtures.records.get("lease_filings", {})
    premises = next(
        (a for a, fs in sorted(leases.items()) if fs[0]["lessee_id_number"] == person.id_number),
        "深圳市南山区桃园路1号101",
    )
    return {
        "business_name": taken[index % len(taken)]
        if index % 20 == 0
        else f"深圳市{person.name}{index:04d}便利店",
        "scope_codes": SCOPES[index % len(SCOPES)],
        "premises_address": premises,
    }


Job = tuple[str, str, dict[str, Any], dt.date]


def jobs() -> list[Job]:
    out: list[Job] = []
    people = FIXTURES.people
    for n in range(PER_KIND * len(FAILURES)):
        person = people[n % len(people)]
        item = list(ITEMS)[n % len(ITEMS)]
        out.append((item, person.id_number, form_for(item, person, n, FIXTURES), SHOWCASE_DATE))
    return out


async def decide_all(
    sources: Sources, batch: list[Job], tag: str, engine: Engine
) -> list[Decision]:
    slots = asyncio.Semaphore(CONCURRENT)

    async def one(i: int, job: Job) -> Decision:
        item, applicant, form, on = job
        loaded = CATALOG.in_force(item, on)
        async with slots:
            context = ReadContext(correlation=f"{tag}-{i}")
            inputs = await sources.gather(loaded, applicant, form, on, context)
        return engine.decide(loaded, inputs, form, on, {"id_number": applicant})

    return list(await asyncio.gather(*(one(i, job) for i, job in enumerate(batch))))


def plan(kind: str) -> FaultPlan:
    delay = 5.0 if kind == "timeout" else None
    return FaultPlan(
        seed=4,
        rules=[
            FaultRule(kind="latency", rate=0.1, delay=0.002),
            FaultRule(kind=kind, rate=RATE, delay=delay),  # type: ignore[arg-type]
        ],
    )


def named(target: str, source: str) -> str:
    return f"platform dataset {target}" if source == "platform" else f"licences type {target}"


def test_two_thousand_decisions_under_faults_never_approve_or_reject_wrongly() -> None:
    work = jobs()
    engine = Engine()
    started = time.perf_counter()

    async def run() -> tuple[list[Decision], dict[str, list[Decision]], dict[str, Any]]:
        async with sources_for_sandbox(config=quick_config()) as sources:
            baseline = await decide_all(sources, work, "healthy", engine)
            faulted: dict[str, list[Decision]] = {}
            finals: dict[str, Any] = {}
            for k, kind in enumerate(FAILURES):
                batch = work[k * PER_KIND : (k + 1) * PER_KIND]
                for app in (sources.platform_app, sources.licences_app):
                    app.state.faults.set(plan(kind))
                for client in (sources.platform, sources.licences):
                    client.timeouts = TIGHT if kind == "timeout" else RELAXED
                faulted[kind] = await decide_all(sources, batch, kind, engine)
                finals[kind] = {
                    "platform": sources.platform_app.state.faults.final(),
                    "licences": sources.licences_app.state.faults.final(),
                }
            return baseline, faulted, finals

    baseline, faulted, finals = asyncio.run(run())
    elapsed = time.perf_counter() - started

    tally: Counter[str] = Counter()
    wrong: list[str] = []
    for k, kind in enumerate(FAILURES):
        for i, decision in enumerate(faulted[kind]):
            index = k * PER_KIND + i
            expected = baseline[index]
            item, applicant, _, _ = work[index]
            affected = {
                named(target, source)
                for source, final in finals[kind].items()
                for (corr, target, _key), outcome in final.items()
                if corr == f"{kind}-{i}" and outcome != "ok"
            }
            codes = sorted(r.code for r in decision.reasons)
            if not affected:
                tally["unaffected"] += 1
                if (decision.outcome, codes) != (
                    expected.outcome,
                    sorted(r.code for r in expected.reasons),
                ):
                    added = [r for r in decision.reasons if r not in expected.reasons]
                    new = [r.en for r in added]
                    timed_out = [r.en for r in added if r.code == "DATA_UNAVAILABLE"]
                    # A healthy read the busy host did not finish within TIGHT: its
                    # source is named as timed out, and the checks that read it are
                    # missing data (DATA_MISSING) because of it; nothing else is new.
                    if (
                        kind == "timeout"
                        and decision.outcome == "refer"
                        and timed_out
                        and all("no complete answer within" in text for text in timed_out)
                        and all(r.code in ("DATA_UNAVAILABLE", "DATA_MISSING") for r in added)
                    ):
                        tally["slow-host"] += 1
                        continue
                    wrong.append(
                        f"{kind} {item} {applicant}: unaffected but {decision.outcome}: {new}"
                    )
                continue
            tally[f"affected:{kind}"] += 1
            if decision.outcome != "refer":
                wrong.append(f"{kind} {item} {applicant}: {affected} failed, {decision.outcome}")
                continue
            texts = [r.en for r in decision.reasons if r.code == "DATA_UNAVAILABLE"]
            for source in affected:
                if not any(source in text for text in texts):
                    wrong.append(f"{kind} {item} {applicant}: {source} not named in {texts}")
            expected_texts = {r.en for r in expected.reasons}
            for text in texts:
                if text not in expected_texts and not any(s in text for s in affected):
                    wrong.append(f"{kind} {item} {applicant}: blames an unaffected source: {text}")

    assert not wrong, f"{len(wrong)} wrong decisions, e.g. {wrong[:5]}"
    for kind in FAILURES:
        assert tally[f"affected:{kind}"] > 0, (kind, tally)
    assert tally["unaffected"] > 0
    assert tally["slow-host"] <= SLOW_HOST_SHARE * PER_KIND, tally
    assert sum(v for k, v in tally.items() if k != "slow-host") == PER_KIND * len(FAILURES)
    print(f"\n2,000 decisions + 2,000 baseline in {elapsed:.1f} s: {dict(tally)}")
    assert elapsed < 60
