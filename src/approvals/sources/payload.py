"""What a source's answer must look like before anything downstream may read it.

A payload that breaks its dataset's declared schema (`connectors/datasets/*.yaml`) or
the licence shape (docs/architecture.md) is malformed; one about another person is a
wrong record. Either way the read fails as a whole: a decision must not rest on a
half-understood answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pydantic import ValidationError

from approvals.audit.canonical import encode_canonical
from approvals.audit.errors import CanonicalizationError
from approvals.licence import Licence
from approvals.sources.errors import MalformedPayload, WrongRecord
from approvals.spec.connectors import Dataset, DatasetField

# Python 3.11's date.fromisoformat also accepts 20250101 and 2025-W01-1; the
# contract says YYYY-MM-DD, and rulesets compare dates as text, so insist on it.
_DATE_LENGTH = len("YYYY-MM-DD")


def digest(payload: Any) -> str:
    """`sha256:<hex>` of the RFC 8785 canonical JSON of `payload`.

    Canonical, so an auditor who fetches the same answer again (in any key order or
    number formatting) computes the same digest.
    """
    try:
        canonical = encode_canonical(payload)
    except CanonicalizationError as exc:
        # e.g. an integer beyond I-JSON's safe range (RFC 7493 §2.2), which JSON
        # consumers disagree on: refuse rather than record a value we cannot pin down.
        raise MalformedPayload(f"cannot be canonicalised (RFC 8785): {exc}") from exc
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def dataset_records(dataset: Dataset, key: str, payload: Any) -> list[dict[str, Any]]:
    """The records of a `GET /v1/datasets/{name}/records?key=K` answer, checked."""
    if not isinstance(payload, dict):
        raise MalformedPayload(f"expected a JSON object, found {_kind(payload)}")
    expected = {"dataset", "key", "records"}
    if set(payload) != expected:
        raise MalformedPayload(f"expected fields {sorted(expected)}, found {sorted(payload)}")
    if payload["dataset"] != dataset.name:
        raise WrongRecord(
            f"asked for dataset {dataset.name!r}, answer is for {payload['dataset']!r}"
        )
    if payload["key"] != key:
        raise WrongRecord(f"asked for key {key!r}, answer is for {payload['key']!r}")
    records = payload["records"]
    if not isinstance(records, list):
        raise MalformedPayload(f"records: expected a list, found {_kind(records)}")
    for i, record in enumerate(records):
        _check_record(dataset, key, i, record)
    return records


def _check_record(dataset: Dataset, key: str, index: int, record: Any) -> None:
    where = f"records[{index}]"
    if not isinstance(record, dict):
        raise MalformedPayload(f"{where}: expected an object, found {_kind(record)}")
    declared = {f.name for f in dataset.fields}
    # The key field may ride along on records that the catalogue does not list it for
    # (e.g. criminal_records); it is still checked below.
    extra = sorted(set(record) - declared - {dataset.key})
    if extra:
        raise MalformedPayload(
            f"{where}: fields not in the {dataset.name} catalogue entry: {', '.join(extra)}"
        )
    missing = sorted(declared - set(record))
    if missing:
        raise MalformedPayload(f"{where}: missing fields: {', '.join(missing)}")
    if dataset.key in record and record[dataset.key] != key:
        raise WrongRecord(
            f"{where}: asked for {dataset.key} {key!r}, the record is for {record[dataset.key]!r}"
        )
    for spec in dataset.fields:
        problem = _type_problem(spec, record[spec.name])
        if problem:
            raise MalformedPayload(f"{where}.{spec.name}: {problem}")


def _type_problem(spec: DatasetField, value: Any) -> str | None:
    if value is None:
        return None if spec.nullable else f"expected {spec.type}, found null"
    ok: bool
    if spec.type == "string":
        ok = isinstance(value, str)
    elif spec.type == "date":
        ok = isinstance(value, str) and _is_iso_date(value)
    elif spec.type == "boolean":
        ok = isinstance(value, bool)
    elif spec.type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok:
        return (
            f"expected {spec.type}{' (YYYY-MM-DD)' if spec.type == 'date' else ''}, found {value!r}"
        )
    if spec.values is not None and value not in spec.values:
        return f"expected one of {', '.join(spec.values)}, found {value!r}"
    return None


def _is_iso_date(text: str) -> bool:
    if len(text) != _DATE_LENGTH:
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def licences(holder: str, licence_type: str, payload: Any) -> list[Licence]:
    """The licences of a `GET /v1/licences?holder=…&type=…` answer, checked for shape.

    Whether each is authentic is a separate question (`approvals.sources.verify`): a
    forged licence is well-formed and is passed on, marked; a malformed one is not.
    """
    if not isinstance(payload, dict) or set(payload) != {"licences"}:
        found = sorted(payload) if isinstance(payload, dict) else _kind(payload)
        raise MalformedPayload(f"expected an object with only 'licences', found {found}")
    items = payload["licences"]
    if not isinstance(items, list):
        raise MalformedPayload(f"licences: expected a list, found {_kind(items)}")
    out: list[Licence] = []
    for i, item in enumerate(items):
        try:
            licence = Licence.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise MalformedPayload(
                f"licences[{i}].{loc}: {first['msg']}"
                + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
            ) from exc
        if licence.holder.id_number != holder:
            raise WrongRecord(
                f"licences[{i}] ({licence.licence_id}): asked for holder {holder!r}, "
                f"held by {licence.holder.id_number!r}"
            )
        if licence.type != licence_type:
            raise WrongRecord(
                f"licences[{i}] ({licence.licence_id}): asked for type {licence_type!r}, "
                f"found {licence.type!r}"
            )
        out.append(licence)
    return out


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
