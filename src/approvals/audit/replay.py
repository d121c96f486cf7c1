"""Replay: decide a recorded decision again, from what the record says it was decided on.

A record names everything the decision depended on (DESIGN.md, "Record"): the
ruleset by content hash, every input with its provenance as it was gathered, the
form as submitted, the applicant and the application date. Replay

1. loads the ruleset version *by its hash* from the stored ruleset text (old
   versions stay loadable however the files in `rulesets/` have changed since),
   and checks that the text still hashes to what the record names;
2. rebuilds each input (`Gathered`: value, provenance, or the source's failure)
   from the record — the data sources are not asked again;
3. runs the engine with the recorded application date;
4. compares the outcome and the reasons (code, check, message, legal basis) with
   the recorded ones.

The same inputs, ruleset hash and date must always give the same decision; a
difference means the engine changed behaviour, and is reported per decision.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from approvals.engine.model import Gathered
from approvals.engine.runtime import Engine
from approvals.errors import ApprovalsError
from approvals.spec.catalog import LoadedRuleset, load_ruleset_text, ruleset_hash

#: Looks up a ruleset's stored text and file path by content hash (None if unknown).
RulesetTexts = Callable[[str], tuple[str, str] | None]


@dataclass(frozen=True)
class ReplayResult:
    decision_id: str
    recorded_outcome: str
    replayed_outcome: str | None
    differences: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not self.differences

    def render(self) -> str:
        if self.same:
            return f"{self.decision_id}: same — {self.recorded_outcome}"
        lines = [f"{self.decision_id}: DIFFERENT"]
        lines.extend(f"    {d}" for d in self.differences)
        return "\n".join(lines)


class Replayer:
    """Replays records; keeps each ruleset version it loads (by hash) for the next."""

    def __init__(self, texts: RulesetTexts, engine: Engine | None = None) -> None:
        self.texts = texts
        self.engine = engine or Engine()
        self._rulesets: dict[str, LoadedRuleset] = {}

    def ruleset(self, digest: str) -> LoadedRuleset:
        loaded = self._rulesets.get(digest)
        if loaded is not None:
            return loaded
        found = self.texts(digest)
        if found is None:
            raise ApprovalsError(f"ruleset {digest} is not stored: the decision cannot be replayed")
        text, path = found
        if ruleset_hash(text) != digest:
            raise ApprovalsError(
                f"stored ruleset text for {digest} hashes to {ruleset_hash(text)}: "
                "the stored text was altered"
            )
        loaded = load_ruleset_text(text, path)
        self._rulesets[digest] = loaded
        return loaded

    def replay(self, record: dict[str, Any]) -> ReplayResult:
        decision_id = str(record.get("decision_id"))
        recorded = str(record.get("outcome"))
        try:
            loaded = self.ruleset(record["ruleset"]["hash"])
            inputs = {
                name: Gathered.model_validate(value)
                for name, value in (record.get("inputs") or {}).items()
            }
            on = dt.date.fromisoformat(record["application_date"])
            decision = self.engine.decide(
                loaded, inputs, record.get("submitted_form") or {}, on,
                applicant=record.get("applicant") or {},
            )
        except (ApprovalsError, ValidationError, KeyError, TypeError, ValueError) as exc:
            return ReplayResult(decision_id, recorded, None, [f"cannot replay: {exc}"])
        differences: list[str] = []
        if decision.outcome != recorded:
            differences.append(f"outcome: recorded {recorded!r}, replayed {decision.outcome!r}")
        reasons = [r.model_dump(mode="json") for r in decision.reasons]
        if reasons != record.get("reasons"):
            differences.append(
                f"reasons: recorded {_codes(record.get('reasons'))}, replayed {_codes(reasons)}"
                + ("" if _codes(reasons) != _codes(record.get("reasons")) else " (wording differs)")
            )
        return ReplayResult(decision_id, recorded, decision.outcome, differences)

    def replay_leaves(self, leaves: Iterable[bytes]) -> Iterator[ReplayResult]:
        for leaf in leaves:
            yield self.replay(record_of_leaf(leaf))


def record_of_leaf(leaf: bytes) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(leaf)["record"]
    return record


def _codes(reasons: Any) -> list[str]:
    if not isinstance(reasons, list):
        return []
    return [str(r.get("code")) if isinstance(r, dict) else "?" for r in reasons]
