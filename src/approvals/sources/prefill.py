"""The prefilled form (秒报): every field, its value, and where the value came from.

Like Singapore Myinfo's per-attribute source, each autofilled field names the input
it was read from and that input's provenance (source, dataset or licence type, key,
when fetched, digest), so the applicant sees where the government's data came from
and an auditor can fetch the same record again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from approvals.engine.expr import names_used, parse
from approvals.engine.model import Gathered, Provenance
from approvals.engine.runtime import autofilled, input_scope
from approvals.spec.catalog import LoadedRuleset
from approvals.spec.ruleset import FormField, Ruleset, Text


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSource(_Model):
    input: str = Field(description="The ruleset input the value was read from")
    provenance: Provenance


class PrefillField(_Model):
    name: str
    label: Text
    type: Literal["string", "date", "integer", "number", "boolean", "string_list"]
    required: bool
    autofilled: bool = Field(description="The value comes from government data, not the applicant")
    editable: bool = Field(description="The applicant may type or change the value")
    value: Any = None
    sources: list[FieldSource] = Field(default_factory=list)
    problem: str | None = Field(
        default=None, description="Why an autofilled field has no value (a source failed, ...)"
    )


class InputState(_Model):
    """What happened to one read. Values are not repeated here: the form shows what it
    needs and nothing else (data minimisation)."""

    provenance: Provenance
    error: str | None = None


class Prefill(_Model):
    item: str
    version: str
    ruleset_hash: str
    on: dt.date
    applicant_id: str
    fields: list[PrefillField]
    inputs: dict[str, InputState] = Field(description="Each input read for the form")
    consent_id: str | None = Field(
        default=None,
        description="The consent grant the form was read under; send it with the submission",
    )

    @property
    def values(self) -> dict[str, Any]:
        """The form as a submission would carry it (autofilled values only)."""
        return {f.name: f.value for f in self.fields if f.autofilled and f.value is not None}


def inputs_read(spec: Ruleset, form_field: FormField) -> list[str]:
    """The ruleset inputs an autofill expression reads, e.g. `person.name` -> ["person"]."""
    if not form_field.autofill:
        return []
    return sorted(
        {path[0] for path in names_used(parse(form_field.autofill)) if path[0] in spec.inputs}
    )


def autofill_inputs(spec: Ruleset) -> list[str]:
    """Every input some form field is autofilled from: what prefill needs to read."""
    return sorted({name for f in spec.form for name in inputs_read(spec, f)})


def build_prefill(
    loaded: LoadedRuleset,
    applicant_id: str,
    on: dt.date,
    gathered: Mapping[str, Gathered],
    skipped: Mapping[str, list[str]],
) -> Prefill:
    """Assemble the form from what was gathered; `skipped` maps an input that could not be
    read yet to the form fields its key needs."""
    spec = loaded.spec
    # The same scope the engine builds (approvals.engine.runtime), so a prefilled value
    # is exactly what the decision will use at submission.
    scope, input_problems = input_scope(spec, gathered)
    scope.update(
        today=on.isoformat(),
        applicant={"id_number": applicant_id},
        params=loaded.period_on(on).parameters,
    )
    values = autofilled(spec, scope)
    fields: list[PrefillField] = []
    for form_field in spec.form:
        read = inputs_read(spec, form_field)
        problems: list[str] = []
        sources: list[FieldSource] = []
        for name in read:
            if name in skipped:
                problems.append(f"{name}: fill in {', '.join(skipped[name])} first")
                continue
            got = gathered[name]
            if got.error is not None:
                problems.append(got.error)
            elif name in input_problems:
                problems.append(input_problems[name])
            else:
                sources.append(FieldSource(input=name, provenance=got.provenance))
        is_auto = form_field.autofill is not None
        fields.append(
            PrefillField(
                name=form_field.name,
                label=form_field.label,
                type=form_field.type,
                required=form_field.required,
                autofilled=is_auto and not problems,
                editable=form_field.editable if is_auto else True,
                value=values.get(form_field.name) if is_auto and not problems else None,
                sources=sources,
                problem="; ".join(problems) or None,
            )
        )
    return Prefill(
        item=spec.code,
        version=spec.version,
        ruleset_hash=loaded.hash,
        on=on,
        applicant_id=applicant_id,
        fields=fields,
        inputs={
            name: InputState(provenance=got.provenance, error=got.error)
            for name, got in sorted(gathered.items())
        },
    )
