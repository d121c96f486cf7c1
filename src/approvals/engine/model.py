"""What goes into a decision and what comes out of it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["approve", "reject", "refer"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Provenance(Model):
    """Where one input came from: enough to find the same record again and prove it.

    Frozen: the read cache hands one instance to every decision that reuses a read.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["platform", "licences", "form", "case"]
    dataset: str | None = None
    licence_type: str | None = None
    key: str | None = None
    fetched_at: dt.datetime | None = None
    digest: str | None = Field(default=None, description="sha256: of the canonical JSON received")
    cached: bool = False


class Gathered(Model):
    """One input of a decision: its value and provenance, or why it could not be had."""

    value: Any = None
    provenance: Provenance
    error: str | None = Field(
        default=None,
        description="Set when the source failed or answered nonsense: the case is referred",
    )

    @property
    def available(self) -> bool:
        return self.error is None


class RulesetRef(Model):
    code: str
    version: str
    hash: str = Field(description="sha256: of the ruleset file's bytes")


class Basis(Model):
    title: str
    article: str


class Reason(Model):
    code: str
    check: str
    outcome: Literal["reject", "refer"]
    zh: str
    en: str
    basis: Basis | None = None


class CheckResult(Model):
    id: str
    status: Literal["pass", "fail", "missing", "skipped"]
    on_fail: Literal["reject", "refer"]
    values: dict[str, Any] = Field(description="The facts the condition read, as they were")
    basis: Basis


class Decision(Model):
    outcome: Outcome
    reasons: list[Reason]
    checks: list[CheckResult]
    facts: dict[str, Any]
    parameters: dict[str, Any]
    ruleset: RulesetRef
    on: dt.date
    issues: dict[str, Any] | None = Field(
        default=None, description="What an approval grants or issues (licence fields, amounts)"
    )
