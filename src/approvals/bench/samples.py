"""Benchmark inputs: every scenario case of an item, plus seeded random variants.

A variant merges the changes of one to three of the item's cases (so several checks can
fail at once, or a source fails while another check rejects) and moves the application
date by up to about a year (so ages and validity windows cross their limits). Variants
whose changes cannot be combined (a patch into a list another case emptied) are
skipped. Every input is decided once by our engine, untimed, to get the verdict every
implementation must reach (and the derived facts the rules-only peers are given).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from approvals.bench.criteria import Verdict, peer_facts
from approvals.bench.derive import RawInputs
from approvals.engine.cases import (
    Application,
    Case,
    CasesFile,
    Expect,
    case_application,
    cases_path,
    load_cases,
)
from approvals.engine.model import Decision
from approvals.engine.runtime import Engine
from approvals.errors import ApprovalsError
from approvals.spec.catalog import LoadedRuleset, load_ruleset, ruleset_files

FLAGSHIP = (
    "longevity-allowance",
    "ride-hailing-driver-permit",
    "graduate-hukou",
    "individual-business-registration",
)


@dataclass(frozen=True)
class Sample:
    label: str
    app: Application
    derived: dict[str, Any]  # our derivation's facts, None where missing
    data_ok: bool
    verdict: Verdict  # our engine's answer; every peer must give the same

    @property
    def raw(self) -> RawInputs:
        return raw_inputs(self.app)

    def peer_facts(self, code: str) -> dict[str, Any]:
        return peer_facts(code, self.derived, self.data_ok)


@dataclass(frozen=True)
class ItemSamples:
    loaded: LoadedRuleset
    samples: list[Sample]

    @property
    def code(self) -> str:
        return self.loaded.code


def verdict_of(decision: Decision) -> Verdict:
    return Verdict(decision.outcome, frozenset(c.id for c in decision.checks if c.status == "fail"))


def raw_inputs(app: Application) -> RawInputs:
    """What the peers are given in place of our `Gathered` values: the same records unwrapped.

    Each source's records as delivered, `None` where the source failed; the application
    date as ISO text (as the data sources write dates), the applicant, the form as typed.
    """
    sources = {
        name: None if got.error is not None else (got.value or [])
        for name, got in app.inputs.items()
    }
    return {
        "today": app.on.isoformat(),
        "applicant": dict(app.applicant),
        "form": dict(app.form),
        **sources,
    }


def sample_of(engine: Engine, loaded: LoadedRuleset, label: str, app: Application) -> Sample:
    decision = engine.decide(loaded, app.inputs, app.form, app.on, app.applicant)
    derived = {k: v for k, v in decision.facts.items() if k != "form"}
    data_ok = not any(r.code == "DATA_UNAVAILABLE" for r in decision.reasons)
    return Sample(label, app, derived, data_ok, verdict_of(decision))


def flagship_paths(rulesets: Path) -> dict[str, Path]:
    found = {load_ruleset(p).code: p for p in ruleset_files(rulesets)}
    missing = [code for code in FLAGSHIP if code not in found]
    if missing:
        raise ApprovalsError(f"flagship items not found under {rulesets}: {', '.join(missing)}")
    return {code: found[code] for code in FLAGSHIP}


def item_samples(engine: Engine, path: Path, variants: int, seed: int) -> ItemSamples:
    loaded = load_ruleset(path)
    cases = load_cases(cases_path(path))
    samples = [
        sample_of(engine, loaded, case.name, case_application(loaded, cases.defaults, case))
        for case in cases.cases
    ]
    rng = random.Random(f"{seed}:{loaded.code}")
    made = attempts = 0
    while made < variants and attempts < variants * 20:
        attempts += 1
        variant = _variant(rng, cases, f"variant {made + 1}")
        try:
            app = case_application(loaded, cases.defaults, variant)
            sample = sample_of(engine, loaded, variant.name, app)
        except (ApprovalsError, IndexError, KeyError, TypeError):
            continue  # the picked changes do not combine; draw again
        samples.append(sample)
        made += 1
    return ItemSamples(loaded, samples)


def _variant(rng: random.Random, cases: CasesFile, name: str) -> Case:
    picked = rng.sample(cases.cases, k=min(len(cases.cases), rng.randint(1, 3)))
    patch: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    form: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for case in picked:
        patch.update(case.patch)
        inputs.update(case.inputs)
        form.update(case.form)
        unavailable.update(case.unavailable)
    base = rng.choice([c.on for c in picked if c.on] or [cases.defaults.on])
    on = base + dt.timedelta(days=rng.randint(-400, 400))
    return Case(
        name=name,
        on=on,
        patch=patch,
        inputs=inputs,
        form=form,
        unavailable=unavailable,
        expect=Expect(outcome="refer"),  # unused: the verdict to agree on is computed
    )
