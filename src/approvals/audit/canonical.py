"""RFC 8785 (JSON Canonicalization Scheme) encoding of decision records.

The signed bytes of a record and the bytes hashed into the Merkle log are both
``canonical_json(...)``, so the same record always yields the same bytes, on any
machine, years later.

JSON has no date type, so before encoding we apply one fixed rule:

* ``datetime.datetime`` must be timezone-aware; it is converted to UTC and written
  ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (microseconds only when non-zero, as
  ``datetime.isoformat`` does). A naive datetime is refused: its instant is unknown.
* ``datetime.date`` is written ``YYYY-MM-DD``.
* ``float`` must be finite (RFC 8785 §3.2.2.3 follows ECMAScript, which has no
  NaN or Infinity literal); integers must lie in the I-JSON safe range
  (RFC 7493 §2.2), which ``rfc8785`` enforces.
* tuples are written as arrays; mapping keys must be strings. Anything else
  (``Decimal``, ``bytes``, sets, objects) is refused rather than guessed at.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import rfc8785

from approvals.audit.errors import CanonicalizationError

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


def to_json_value(obj: Any, path: str = "$") -> JSONValue:
    """Convert ``obj`` to plain JSON values by the rule in this module's docstring."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise CanonicalizationError(f"{path}: expected a finite number, found {obj!r}")
        return obj
    if isinstance(obj, dt.datetime):
        if obj.tzinfo is None or obj.utcoffset() is None:
            raise CanonicalizationError(
                f"{path}: expected a timezone-aware datetime, found naive {obj.isoformat()}"
            )
        utc = obj.astimezone(dt.UTC).replace(tzinfo=None)
        return utc.isoformat() + "Z"
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        out: dict[str, JSONValue] = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise CanonicalizationError(
                    f"{path}: expected string object keys, found {type(key).__name__} {key!r}"
                )
            out[key] = to_json_value(value, f"{path}.{key}")
        return out
    if isinstance(obj, list | tuple):
        return [to_json_value(item, f"{path}[{i}]") for i, item in enumerate(obj)]
    raise CanonicalizationError(
        f"{path}: expected null, bool, int, finite float, str, date, aware datetime, "
        f"list or str-keyed mapping, found {type(obj).__name__}"
    )


def canonical_json(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``obj``."""
    value = to_json_value(obj)
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalizationError(f"$: cannot canonicalise: {exc}") from exc
