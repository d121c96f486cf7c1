"""Check what the applicant typed against the item's form definition.

Autofilled fields come from government data and are re-read at submission: the
client's copy of them is never trusted (an editable autofilled field is the exception:
the applicant may correct it, e.g. a contact address).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from approvals.errors import InvalidRequest
from approvals.spec.ruleset import FormField, Ruleset


def validate_form(
    spec: Ruleset, submitted: Mapping[str, Any], autofilled: Mapping[str, Any]
) -> dict[str, Any]:
    known = {f.name: f for f in spec.form}
    unknown = sorted(set(submitted) - set(known))
    if unknown:
        raise InvalidRequest(
            f"表单字段未知 / unknown form field(s): {', '.join(unknown)} "
            f"(fields of {spec.code}: {', '.join(known) or 'none'})",
            field=unknown[0],
        )
    form: dict[str, Any] = {}
    for name, definition in known.items():
        if definition.autofill and not (definition.editable and submitted.get(name) is not None):
            form[name] = autofilled.get(name)
            continue
        value = submitted.get(name)
        if value is None or value == "" or value == []:
            if definition.required:
                raise InvalidRequest(
                    f"缺少必填字段 / required field missing: {name} ({definition.label.zh} / "
                    f"{definition.label.en})",
                    field=name,
                )
            form[name] = None
            continue
        form[name] = _typed(definition, value)
    return form


def _typed(definition: FormField, value: Any) -> Any:
    name = definition.name

    def bad(expected: str) -> InvalidRequest:
        return InvalidRequest(
            f"字段格式错误 / field '{name}' ({definition.label.zh}): expected {expected}, "
            f"got {value!r}",
            field=name,
        )

    kind = definition.type
    if kind == "string":
        if not isinstance(value, str):
            raise bad("text")
        text = value.strip()
        if definition.min_length is not None and len(text) < definition.min_length:
            raise bad(f"at least {definition.min_length} characters")
        if definition.max_length is not None and len(text) > definition.max_length:
            raise bad(f"at most {definition.max_length} characters")
        if definition.pattern and not re.fullmatch(definition.pattern, text):
            raise bad(f"text matching {definition.pattern}")
        return text
    if kind == "date":
        if not isinstance(value, str):
            raise bad("a date YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise bad("a date YYYY-MM-DD") from exc
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("a whole number")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    # string_list
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise bad("a list of non-empty texts")
    items = [v.strip() for v in value]
    if definition.max_length is not None and len(items) > definition.max_length:
        raise bad(f"at most {definition.max_length} entries")
    if definition.pattern:
        wrong = [v for v in items if not re.fullmatch(definition.pattern, v)]
        if wrong:
            raise bad(f"entries matching {definition.pattern} (wrong: {', '.join(wrong)})")
    return items
