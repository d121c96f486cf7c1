"""The trust list: who may issue which electronic licence, and with which keys.

Loaded from `licences/issuers/*.yaml` (one issuing department each, with its Ed25519
public keys and their validity periods, so keys can be rotated without invalidating
licences signed earlier) and `licences/types/*.yaml` (one licence type each: its
GB/T 36904 type code, names, fields, allowed issuers and default validity).

Every loading error reads `file:line: message` and names the field.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from approvals.licence import uscc
from approvals.licence.errors import (
    InvalidCode,
    NonConforming,
    TrustListError,
    UnknownIssuer,
    UnknownKey,
)
from approvals.licence.keys import key_id_of, public_key_from_b64
from approvals.licence.yamlmarks import line_of, load_with_lines

LICENCES_ENV = "APPROVALS_LICENCES_DIR"
_M = TypeVar("_M", bound=BaseModel)
FieldType = Literal["string", "date", "integer", "boolean", "string_list"]


class _Strict(BaseModel):
    # Unknown keys are errors: a typo in a trust-list file must never be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class IssuerKey(_Strict):
    key_id: str = Field(pattern=r"^[0-9a-f]{8}$", description="hex(SHA-256(raw key)[:4])")
    alg: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="Standard base64 of the raw 32-byte Ed25519 key")
    valid_from: dt.date = Field(description="First issue date this key may sign")
    valid_to: dt.date | None = Field(default=None, description="Last issue date it may sign")

    @model_validator(mode="after")
    def _consistent(self) -> IssuerKey:
        try:
            key = public_key_from_b64(self.public_key)
        except InvalidCode as exc:
            raise ValueError(str(exc)) from exc
        actual = key_id_of(key)
        if actual != self.key_id:
            raise ValueError(
                f"key_id should be {actual!r} (first 4 bytes of SHA-256 of the key), "
                f"found {self.key_id!r}"
            )
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self

    def verifier(self) -> Ed25519PublicKey:
        return public_key_from_b64(self.public_key)

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Issuer(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    code: str = Field(description="统一社会信用代码 (GB 32100-2015)")
    name: Text
    keys: list[IssuerKey] = Field(min_length=1)

    @field_validator("code")
    @classmethod
    def _uscc(cls, value: str) -> str:
        try:
            return uscc.validate(value)
        except InvalidCode as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("keys")
    @classmethod
    def _unique_ids(cls, value: list[IssuerKey]) -> list[IssuerKey]:
        ids = [k.key_id for k in value]
        dupes = sorted({k for k in ids if ids.count(k) > 1})
        if dupes:
            raise ValueError(f"key ids used twice: {', '.join(dupes)}")
        return value

    def key(self, key_id: str, on: dt.date) -> IssuerKey:
        """The key `key_id`, which must have been valid for signing on `on`."""
        for key in self.keys:
            if key.key_id == key_id:
                if not key.covers(on):
                    raise UnknownKey(
                        f"issuer {self.id} key {key_id} signs licences issued "
                        f"{key.valid_from} to {key.valid_to or 'now'}, found issue date {on}"
                    )
                return key
        known = ", ".join(k.key_id for k in self.keys)
        raise UnknownKey(f"issuer {self.id} has keys {known}, found key id {key_id!r}")

    def signing_key_on(self, day: dt.date) -> IssuerKey:
        """The newest key valid on `day` (what an issuer signs with)."""
        usable = [k for k in self.keys if k.covers(day)]
        if not usable:
            raise UnknownKey(f"issuer {self.id} has no key valid on {day}")
        return max(usable, key=lambda k: k.valid_from)


class FieldSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType
    label: Text
    values: list[str] | None = Field(default=None, description="Allowed values, if closed")
    required: bool = True


class Validity(_Strict):
    years: int = Field(ge=1, le=100)


class LicenceType(_Strict):
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    code: str = Field(
        pattern=r"^[0-9A-Z]{18}[0-9]{3}$",
        description="GB/T 36904 证照类型代码: the catalogue owner's USCC and a 3-digit number",
    )
    name: Text
    fields: list[FieldSpec] = Field(default_factory=list)
    issuers: list[str] = Field(min_length=1)
    validity: Validity | None = Field(default=None, description="Default validity; null: 长期")

    @field_validator("code")
    @classmethod
    def _owner_uscc(cls, value: str) -> str:
        try:
            uscc.validate(value[:18])
        except InvalidCode as exc:
            raise ValueError(f"catalogue owner part of the type code: {exc}") from exc
        return value

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, value: list[FieldSpec]) -> list[FieldSpec]:
        names = [f.name for f in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"field names used twice: {', '.join(dupes)}")
        return value

    def field_problems(self, fields: Mapping[str, Any]) -> list[str]:
        """What is wrong with a licence's `fields` for this type (empty when nothing)."""
        problems: list[str] = []
        declared = {f.name: f for f in self.fields}
        for name in sorted(set(fields) - set(declared)):
            problems.append(
                f"field {name!r} is not a field of {self.type} "
                f"(fields: {', '.join(declared) or 'none'})"
            )
        for spec in self.fields:
            if spec.name not in fields:
                if spec.required:
                    problems.append(f"field {spec.name!r} ({spec.type}) is required, found none")
                continue
            problem = _type_problem(spec, fields[spec.name])
            if problem:
                problems.append(problem)
        return problems


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _type_problem(spec: FieldSpec, value: Any) -> str | None:
    expected = spec.type
    ok: bool
    if expected == "string":
        ok = isinstance(value, str)
    elif expected == "date":
        ok = isinstance(value, str) and bool(_DATE.match(value)) and _is_date(value)
    elif expected == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected == "boolean":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not ok:
        return f"field {spec.name!r}: expected {expected}, found {value!r}"
    if spec.values is not None:
        items = value if isinstance(value, list) else [value]
        bad = [v for v in items if v not in spec.values]
        if bad:
            return f"field {spec.name!r}: expected one of {', '.join(spec.values)}, found {bad}"
    return None


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


class TrustList:
    """Issuers and licence types, indexed by id."""

    def __init__(self, issuers: Iterable[Issuer], types: Iterable[LicenceType]) -> None:
        self.issuers: dict[str, Issuer] = {}
        self.types: dict[str, LicenceType] = {}
        for issuer in issuers:
            if issuer.id in self.issuers:
                raise ValueError(f"issuer id {issuer.id!r} is defined twice")
            self.issuers[issuer.id] = issuer
        for kind in types:
            if kind.type in self.types:
                raise ValueError(f"licence type {kind.type!r} is defined twice")
            self.types[kind.type] = kind
            for issuer_id in kind.issuers:
                if issuer_id not in self.issuers:
                    raise ValueError(
                        f"licence type {kind.type!r} names issuer {issuer_id!r}, which is not "
                        f"on the trust list (issuers: {', '.join(sorted(self.issuers))})"
                    )

    def issuer(self, issuer_id: str) -> Issuer:
        try:
            return self.issuers[issuer_id]
        except KeyError:
            raise UnknownIssuer(
                f"expected an issuer on the trust list ({', '.join(sorted(self.issuers))}), "
                f"found {issuer_id!r}"
            ) from None

    def licence_type(self, type_name: str) -> LicenceType:
        try:
            return self.types[type_name]
        except KeyError:
            raise NonConforming(
                f"expected a licence type on the trust list ({', '.join(sorted(self.types))}), "
                f"found {type_name!r}"
            ) from None

    @classmethod
    def load(cls, root: Path | str | None = None) -> TrustList:
        """Load `root/issuers/*.yaml` and `root/types/*.yaml` (root: see `licences_dir`)."""
        base = Path(root) if root is not None else licences_dir()
        issuer_files = [(p, _load(p, Issuer)) for p in sorted((base / "issuers").glob("*.yaml"))]
        type_files = [(p, _load(p, LicenceType)) for p in sorted((base / "types").glob("*.yaml"))]
        if not issuer_files:
            raise TrustListError(base / "issuers", None, "no issuer files (*.yaml) found")
        seen: dict[str, Path] = {}
        for path, issuer in issuer_files:
            if issuer.id in seen:
                _, lines = load_with_lines(path)
                raise TrustListError(
                    path,
                    line_of(lines, ("id",)),
                    f"id: {issuer.id!r} is also used by {seen[issuer.id]}",
                )
            seen[issuer.id] = path
        kinds: dict[str, Path] = {}
        for path, kind in type_files:
            _, lines = load_with_lines(path)
            if kind.type in kinds:
                raise TrustListError(
                    path,
                    line_of(lines, ("type",)),
                    f"type: {kind.type!r} is also used by {kinds[kind.type]}",
                )
            kinds[kind.type] = path
            for index, issuer_id in enumerate(kind.issuers):
                if issuer_id not in seen:
                    raise TrustListError(
                        path,
                        line_of(lines, ("issuers", index)),
                        f"issuers: unknown issuer {issuer_id!r} (known: {', '.join(sorted(seen))})",
                    )
        issuers = [issuer for _, issuer in issuer_files]
        types = [kind for _, kind in type_files]
        try:
            return cls(issuers, types)
        except ValueError as exc:
            raise TrustListError(base, None, str(exc)) from exc


def licences_dir() -> Path:
    """`$APPROVALS_LICENCES_DIR`, else the repository's `licences/` folder."""
    configured = os.environ.get(LICENCES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "licences"


def _load(path: Path, model: type[_M]) -> _M:
    data, lines = load_with_lines(path)
    if not isinstance(data, dict):
        raise TrustListError(path, 1, f"expected a mapping of fields, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        field = ".".join(str(x) for x in loc) or "(file)"
        message = error["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise TrustListError(path, line_of(lines, loc), f"{field}: {message}{more}") from exc
