"""The sandbox fixture file: synthetic people, dataset records and licences.

One JSON file holds everything the simulated platform and licence store serve.
Licences are given UNSIGNED: the sandbox signs them at load with the issuers' sandbox
keys (`approvals.sandbox.keys`), except that a licence with a `tamper` mark is made
into a forgery of that kind so that verification failures can be tested.

The shipped file is `src/approvals/sandbox/fixtures.json` (written by
`python -m approvals.sandbox.generate`). `APPROVALS_SANDBOX_FIXTURES` or an explicit
path replaces it entirely.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from approvals.licence import id_number
from approvals.licence.errors import InvalidCode
from approvals.sandbox.datasets import BY_NAME, Dataset

FIXTURES_ENV = "APPROVALS_SANDBOX_FIXTURES"
SHIPPED = Path(__file__).with_name("fixtures.json")
FORMAT = 1

Tamper = Literal["bad-signature", "unknown-issuer", "bad-identifier"]
Outcome = Literal["approve", "reject", "refer"]


class FixtureError(ValueError):
    """A fixture file is unreadable or inconsistent; the message names the place."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Model):
    """One person of the population register (人口基础信息)."""

    id_number: str = Field(description="GB 11643-1999 citizen ID number (check digit verified)")
    name: str = Field(min_length=1)
    gender: Literal["男", "女"]
    birth_date: dt.date
    hukou_city: str = Field(min_length=1, description="e.g. 深圳市")
    hukou_address: str = Field(min_length=1)
    deceased: bool = False
    death_date: dt.date | None = None
    in_population: bool = Field(
        default=True,
        description="False: the population dataset has no record for this person "
        "(the case a ruleset must refer)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Person:
        try:
            id_number.validate(self.id_number)
        except InvalidCode as exc:
            raise ValueError(str(exc)) from exc
        if id_number.birth_date_of(self.id_number) != self.birth_date:
            raise ValueError(
                f"birth_date {self.birth_date} does not match the ID number "
                f"({id_number.birth_date_of(self.id_number)})"
            )
        if id_number.gender_of(self.id_number) != self.gender:
            raise ValueError(
                f"gender {self.gender} does not match the ID number "
                f"({id_number.gender_of(self.id_number)})"
            )
        if self.deceased != (self.death_date is not None):
            raise ValueError("death_date must be given exactly when deceased is true")
        return self

    def population_record(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"in_population"})


class LicenceFixture(_Model):
    """An unsigned licence; the sandbox builds the identifier and signs it at load."""

    type: str = Field(description="Licence type from licences/types/")
    holder: str = Field(description="Holder's ID number (or USCC)")
    holder_name: str | None = Field(
        default=None, description="Defaults to the name of the person with that ID number"
    )
    issuer: str = Field(description="Issuer id from licences/issuers/ (any id for unknown-issuer)")
    issuer_code: str | None = Field(default=None, description="Only for tamper: unknown-issuer")
    issuer_name: str | None = Field(default=None, description="Only for tamper: unknown-issuer")
    serial: str = Field(pattern=r"^[0-9A-Z]+$", description="流水号 in the GB/T 36904 identifier")
    version: int = Field(default=1, ge=1, le=999)
    number: str = Field(min_length=1)
    issue_date: dt.date
    valid_from: dt.date
    valid_to: dt.date | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    status: Literal["valid", "revoked"] = "valid"
    tamper: Tamper | None = Field(
        default=None,
        description="Make a forgery: bad-signature (content changed after signing), "
        "unknown-issuer (signed by an issuer not on the trust list), bad-identifier "
        "(wrong GB/T 36904 check character)",
    )
    after_signing: dict[str, Any] | None = Field(
        default=None,
        description="For bad-signature: top-level licence values replaced after signing "
        "(e.g. a later valid_to); without it the signature bytes are corrupted",
    )

    @model_validator(mode="after")
    def _tamper_fields(self) -> LicenceFixture:
        if self.after_signing is not None and self.tamper != "bad-signature":
            raise ValueError("after_signing is only meaningful with tamper: bad-signature")
        unknown = self.tamper == "unknown-issuer"
        if unknown != (self.issuer_code is not None and self.issuer_name is not None):
            raise ValueError(
                "issuer_code and issuer_name are required with tamper: unknown-issuer, "
                "and only then"
            )
        return self


class Showcase(_Model):
    """A named applicant whose decision on `on` is known, for docs and tests."""

    item: str = Field(description="Ruleset code of the service item, e.g. longevity-allowance")
    outcome: Outcome
    label: str = Field(description="What the case shows, e.g. 'rejected: licence too new'")
    id_number: str
    name: str
    on: dt.date
    form: dict[str, Any] = Field(
        default_factory=dict,
        description="What the applicant types in: the form fields the ruleset does not "
        "autofill (the --form file of `approvals decide`)",
    )
    reasons: list[str] = Field(
        default_factory=list,
        description="Reason codes the decision must include (reject and refer only), "
        "e.g. A02_DRIVING_EXPERIENCE",
    )

    @model_validator(mode="after")
    def _reasons_explain_a_refusal(self) -> Showcase:
        if self.outcome == "approve" and self.reasons:
            raise ValueError("an approval has no reasons; list reasons only for reject or refer")
        return self


Records = dict[str, dict[str, list[dict[str, Any]]]]


class Fixtures(_Model):
    format: Literal[1] = 1
    description: str = ""
    people: list[Person]
    records: Records = Field(
        default_factory=dict,
        description="dataset name -> record key -> records (population comes from people)",
    )
    licences: list[LicenceFixture] = Field(default_factory=list)
    showcase: list[Showcase] = Field(default_factory=list)

    @field_validator("records")
    @classmethod
    def _known_datasets(cls, value: Records) -> Records:
        for name, by_key in value.items():
            if name == "population":
                raise ValueError("population records come from `people`; do not list them here")
            dataset = BY_NAME.get(name)
            if dataset is None:
                known = ", ".join(n for n in BY_NAME if n != "population")
                raise ValueError(f"unknown dataset {name!r} (known: {known})")
            for key, records in by_key.items():
                for index, record in enumerate(records):
                    problem = _record_problem(dataset, record)
                    if problem:
                        raise ValueError(f"{name}[{key!r}][{index}]: {problem}")
        return value

    @model_validator(mode="after")
    def _unique_people(self) -> Fixtures:
        seen: set[str] = set()
        for person in self.people:
            if person.id_number in seen:
                raise ValueError(f"person {person.id_number} is listed twice")
            seen.add(person.id_number)
        return self

    def person(self, id_number: str) -> Person | None:
        for person in self.people:
            if person.id_number == id_number:
                return person
        return None


def _record_problem(dataset: Dataset, record: dict[str, Any]) -> str | None:
    expected = dataset.field_names
    missing = [f for f in expected if f not in record]
    extra = [f for f in record if f not in expected]
    if missing or extra:
        return (
            f"expected fields {', '.join(expected)}; "
            f"missing {', '.join(missing) or 'none'}, unexpected {', '.join(extra) or 'none'}"
        )
    for spec in dataset.fields:
        value = record[spec.name]
        if spec.type == "date_or_null" and value is None:
            continue
        if spec.type in ("date", "date_or_null") and not _is_iso_date(value):
            return f"{spec.name}: expected an ISO date YYYY-MM-DD, found {value!r}"
        if spec.type == "boolean" and not isinstance(value, bool):
            return f"{spec.name}: expected true or false, found {value!r}"
        if spec.type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            return f"{spec.name}: expected an integer, found {value!r}"
        if spec.type == "string" and not isinstance(value, str):
            return f"{spec.name}: expected a string, found {value!r}"
    return None


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def fixtures_path(path: Path | str | None = None) -> Path:
    """`path`, else `$APPROVALS_SANDBOX_FIXTURES`, else the shipped file."""
    if path is not None:
        return Path(path)
    configured = os.environ.get(FIXTURES_ENV)
    return Path(configured) if configured else SHIPPED


def load_fixtures(path: Path | str | None = None) -> Fixtures:
    """Read and validate a fixture file (see `fixtures_path` for which one)."""
    source = fixtures_path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FixtureError(f"{source}: cannot read the fixture file ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    try:
        return Fixtures.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {exc.error_count()} problem(s) in the fixture file"]
        for error in exc.errors()[:10]:
            where = ".".join(str(x) for x in error["loc"])
            lines.append(f"  {where}: {error['msg'].removeprefix('Value error, ')}")
        raise FixtureError("\n".join(lines)) from exc


def fixtures_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the fixture file, as committed in docs/."""
    schema = Fixtures.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Approvals sandbox fixtures"
    return schema
