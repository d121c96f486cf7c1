"""`approvals sources check`: is each configured source reachable, does it accept our
credentials (and consent tokens), and does it serve what the rulesets read?

1. Platform: `GET /v1/datasets` (a catalogue holds no personal data: no grant needed).
   Reachable if it answers; authenticated unless 401/403; then every dataset a ruleset
   reads must be listed with every field `connectors/datasets/` declares for it.
2. Licence store: for every licence type a ruleset reads, `GET /v1/licences` about a
   probe holder (a well-formed ID number of nobody) under a probe grant token: 200
   with a well-formed (empty) list means reachable, authenticated, the consent key
   trusted and the type served.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from approvals.errors import SourceUnavailable
from approvals.licence import id_number
from approvals.sources.access import ReadContext
from approvals.sources.consent import ConsentKey, GrantClaims, mint
from approvals.sources.errors import SourceRefused
from approvals.sources.gather import Sources
from approvals.spec.catalog import LoadedRuleset
from approvals.spec.ruleset import DatasetInput

# Region 110101, born 1900-01-01, sequence 000: a valid GB 11643 number no one holds.
PROBE_HOLDER = id_number.make("110101", dt.date(1900, 1, 1), "000")


@dataclass
class Check:
    source: str  # platform | licences
    target: str  # dataset or licence type ("catalogue" for the platform's list)
    reachable: bool = False
    authenticated: bool = False
    serving: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reachable and self.authenticated and self.serving and not self.problems

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


def needs(rulesets: Iterable[LoadedRuleset]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Datasets and licence types the rulesets read, each with the items reading it."""
    datasets: dict[str, set[str]] = {}
    types: dict[str, set[str]] = {}
    for loaded in rulesets:
        for source in loaded.spec.inputs.values():
            if isinstance(source, DatasetInput):
                datasets.setdefault(source.dataset, set()).add(loaded.code)
            else:
                types.setdefault(source.type, set()).add(loaded.code)
    return datasets, types


async def check_sources(
    sources: Sources, rulesets: Iterable[LoadedRuleset], key: ConsentKey
) -> list[Check]:
    datasets, types = needs(list(rulesets))
    return [*await _platform(sources, datasets), *await _licences(sources, types, key)]


async def _platform(sources: Sources, wanted: dict[str, set[str]]) -> list[Check]:
    try:
        catalogue = await sources.platform.catalogue()
    except SourceUnavailable as exc:
        refused = isinstance(exc, SourceRefused)
        check = Check("platform", "catalogue", reachable=refused, problems=[str(exc)])
        return [check] + [
            Check("platform", name, reachable=refused, problems=["catalogue unavailable"])
            for name in sorted(wanted)
        ]
    served = {entry["name"]: entry for entry in catalogue}
    checks = [Check("platform", "catalogue", True, True, True)]
    for name in sorted(wanted):
        check = Check("platform", name, reachable=True, authenticated=True)
        entry = served.get(name)
        declared = sources.datasets.get(name)
        if entry is None:
            check.problems.append(
                f"not in the platform's catalogue (read by {', '.join(sorted(wanted[name]))})"
            )
        elif declared is None:
            check.problems.append("not in connectors/datasets/: its answers cannot be checked")
        else:
            fields = entry.get("fields") or []
            have = {f.get("name") if isinstance(f, dict) else f for f in fields}
            missing = [f.name for f in declared.fields if f.name not in have]
            if missing:
                check.problems.append(f"fields not served: {', '.join(missing)}")
            check.serving = not missing
        checks.append(check)
    return checks


async def _licences(sources: Sources, wanted: dict[str, set[str]], key: ConsentKey) -> list[Check]:
    checks = []
    for licence_type in sorted(wanted):
        check = Check("licences", licence_type)
        now = int(time.time())
        token = mint(
            key,
            GrantClaims(
                gid="sources-check", sub=PROBE_HOLDER, item="sources-check",
                purpose="连通性检查 / connectivity check (probe holder, no personal data)",
                aud="licences", datasets=(), licence_types=(licence_type,),
                act="service:sources-check", iat=now, exp=now + 60,
            ),
        )
        context = ReadContext(correlation="sources-check", tokens={"licences": token})
        try:
            await sources.licences.licences(
                PROBE_HOLDER, licence_type, context.headers("licences")
            )
        except SourceRefused as exc:
            check.reachable = True
            check.problems.append(
                f"{exc} — are our credentials valid, and does the store trust our consent key?"
            )
        except SourceUnavailable as exc:
            check.reachable = "answered" in str(exc) or "malformed" in str(exc)
            check.authenticated = check.reachable
            check.problems.append(str(exc))
        else:
            check.reachable = check.authenticated = check.serving = True
        checks.append(check)
    return checks
