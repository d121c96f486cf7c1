"""Pydantic models of a ruleset file (one service item, one version).

A ruleset is data: a department adds or changes an item by editing YAML. These
models are the single definition of that format; `approvals items schema` exports
them as JSON Schema for editors.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IDENT = r"^[a-z][a-z0-9_]*$"
SLUG = r"^[a-z0-9][a-z0-9-]*$"


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a ruleset must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """User-facing text, Chinese first with English alongside."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class LegalBasis(Strict):
    title: str = Field(min_length=1, description="Title of the law or regulation, e.g. 《…办法》")
    article: str = Field(min_length=1, description="Article, e.g. 第十四条")
    url: str | None = None


class Effective(Strict):
    start: dt.date = Field(
        alias="from", description="First application date this version applies to"
    )
    end: dt.date | None = Field(
        default=None, alias="to", description="Last application date (inclusive); open if absent"
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"'to' ({self.end}) is before 'from' ({self.start})")
        return self

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class DatasetInput(Strict):
    """Records read from the shared data platform (政务数据共享平台)."""

    source: Literal["platform"]
    dataset: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    key: str = Field(description="Expression giving the record key, e.g. applicant.id_number")
    required: bool = Field(
        default=False,
        description="True when a record must exist (e.g. a population record): none means refer",
    )
    one: bool = Field(
        default=False, description="Exactly one record expected: the value is that record"
    )


class LicenceInput(Strict):
    """Electronic licences (电子证照) of one type held by a person, from the licence store."""

    source: Literal["licences"]
    type: str = Field(pattern=IDENT, description="Licence type code from licences/types/")
    holder: str = Field(default="applicant.id_number", description="Expression giving the holder")


Input = Annotated[DatasetInput | LicenceInput, Field(discriminator="source")]


class FormField(Strict):
    name: str = Field(pattern=IDENT)
    label: Text
    type: Literal["string", "date", "integer", "number", "boolean", "string_list"]
    required: bool = True
    autofill: str | None = Field(
        default=None, description="Expression over inputs that fills this field (秒报)"
    )
    editable: bool = Field(
        default=False, description="Whether the applicant may change an autofilled value"
    )
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return value


class Check(Strict):
    id: str = Field(pattern=SLUG)
    description: Text
    when: str = Field(description="Condition that must hold; compiled to durable_rules")
    after: list[str] = Field(
        default_factory=list,
        description="Checks that must pass before this one is meaningful (it is skipped otherwise)",
    )
    on_fail: Literal["reject", "refer"] = "reject"
    reason: ReasonSpec
    basis: str = Field(description="Key into legal_basis")


class ReasonSpec(Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_-]*$")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class LicenceIssue(Strict):
    """An electronic licence the approval issues into the licence store."""

    type: str = Field(pattern=IDENT)
    issuer: str = Field(pattern=SLUG, description="Issuer id from licences/issuers/")
    valid_from: str = "today"
    valid_to: str | None = None
    fields: dict[str, str] = Field(default_factory=dict, description="Field name -> expression")


class Issues(Strict):
    licence: LicenceIssue | None = None
    grant: dict[str, str] = Field(
        default_factory=dict, description="Granted values (amounts, start dates) -> expression"
    )


ParamValue = Any


class Ruleset(Strict):
    code: str = Field(pattern=SLUG)
    version: str = Field(min_length=1)
    name: Text
    kind: Literal["approval", "filing"]
    department: Text
    effective: Effective
    legal_basis: dict[str, LegalBasis] = Field(min_length=1)
    parameters: dict[str, dict[dt.date, ParamValue]] = Field(
        default_factory=dict,
        description="Thresholds and amounts keyed by the date each value took effect",
    )
    inputs: dict[str, Input] = Field(default_factory=dict)
    form: list[FormField] = Field(default_factory=list)
    derived: dict[str, str] = Field(
        default_factory=dict, description="Derived fact name -> expression, evaluated in order"
    )
    checks: list[Check] = Field(min_length=1, description="At least one: no check, no approval")
    issues: Issues = Field(default_factory=Issues)

    @field_validator("parameters")
    @classmethod
    def _non_empty_history(
        cls, value: dict[str, dict[dt.date, Any]]
    ) -> dict[str, dict[dt.date, Any]]:
        for name, history in value.items():
            if not re.match(IDENT, name):
                raise ValueError(f"parameter name '{name}' must match {IDENT}")
            if not history:
                raise ValueError(f"parameter '{name}' has no dated value")
        return value

    @model_validator(mode="after")
    def _references(self) -> Ruleset:
        seen: set[str] = set()
        for check in self.checks:
            if check.basis not in self.legal_basis:
                raise ValueError(
                    f"check '{check.id}': basis '{check.basis}' is not in legal_basis "
                    f"(known: {', '.join(sorted(self.legal_basis))})"
                )
            for dep in check.after:
                if dep not in seen:
                    raise ValueError(
                        f"check '{check.id}': after '{dep}' must name an earlier check "
                        f"(earlier: {', '.join(sorted(seen)) or 'none'})"
                    )
            if check.id in seen:
                raise ValueError(f"check id '{check.id}' is used twice")
            seen.add(check.id)
        codes = [c.reason.code for c in self.checks]
        dupes = {c for c in codes if codes.count(c) > 1}
        if dupes:
            raise ValueError(f"reason codes used twice: {', '.join(sorted(dupes))}")
        names = [f.name for f in self.form]
        clash = (
            (set(names) & set(self.derived))
            | (set(names) & set(self.inputs))
            | (set(self.derived) & set(self.inputs))
        )
        if clash:
            raise ValueError(f"names used for more than one fact: {', '.join(sorted(clash))}")
        return self

    def parameters_on(self, day: dt.date) -> dict[str, Any]:
        """The parameter values in force on `day` (the latest value dated on or before it)."""
        values: dict[str, Any] = {}
        for name, history in self.parameters.items():
            dated = [d for d in history if d <= day]
            if dated:
                values[name] = history[max(dated)]
        return values

    def parameter_periods(self) -> list[dt.date]:
        """Dates on which some parameter changes value: each starts a compiled period."""
        starts = {self.effective.start}
        for history in self.parameters.values():
            starts.update(d for d in history if d > self.effective.start)
        return sorted(starts)


Check.model_rebuild()
