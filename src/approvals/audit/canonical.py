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

Speed (docs/performance.md): the pure-Python ``rfc8785`` encoder took about 270 µs for
a 5 KB decision record, most of signing and of verifying. ``orjson`` with sorted keys
writes the same bytes as RFC 8785 for every JSON value *except* in three cases, which
:func:`encode_canonical` detects in its output and hands to ``rfc8785`` instead:

* a float (ECMAScript number formatting, RFC 8785 §3.2.2.3, differs from orjson's
  for e.g. ``1.0`` and ``1e+16``): a number token with ``.``, ``e`` or ``E``;
* an integer of 16 digits or more (it may lie outside the I-JSON range ``rfc8785``
  refuses);
* any character outside the Basic Multilingual Plane (RFC 8785 §3.2.3 sorts keys by
  UTF-16 code units, orjson by code points; the orders differ only there).

String escaping is the same in both (RFC 8785 §3.2.2.2: short escapes for backspace,
tab, newline, form feed and return, other control characters as lowercase six-character
escapes, nothing else escaped); tests/test_audit_canonical.py
checks the two encoders against each other on generated values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785

from approvals.audit.errors import CanonicalizationError

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]


_PLAIN = (str, int, bool, type(None))


def _fast(obj: Any) -> JSONValue:
    """:func:`to_json_value` without the path bookkeeping (a decision record is a few
    hundred values; building a path string for each one was half of signing). Raises
    ``ValueError`` on anything it does not take as is; the caller then reruns the
    careful walk for the exact error message."""
    kind = type(obj)
    if kind is str or kind is int or kind is bool or obj is None:
        return obj  # type: ignore[no-any-return]
    if kind is dict:
        out: dict[str, JSONValue] = {}
        for key, value in obj.items():
            if type(key) is not str:
                raise ValueError(key)
            out[key] = value if type(value) in _PLAIN else _fast(value)
        return out
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else _fast(v) for v in obj]
    if kind is float and math.isfinite(obj):
        return obj  # type: ignore[no-any-return]
    raise ValueError(obj)


def to_json_value(obj: Any, path: str = "$") -> JSONValue:
    """Convert ``obj`` to plain JSON values by the rule in this module's docstring."""
    if path == "$":
        try:
            return _fast(obj)
        except ValueError:
            pass  # dates, other mappings, or an error: the careful walk below
    return _careful(obj, path)


def _careful(obj: Any, path: str) -> JSONValue:
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
            out[key] = _careful(value, f"{path}.{key}")
        return out
    if isinstance(obj, list | tuple):
        return [_careful(item, f"{path}[{i}]") for i, item in enumerate(obj)]
    raise CanonicalizationError(
        f"{path}: expected null, bool, int, finite float, str, date, aware datetime, "
        f"list or str-keyed mapping, found {type(obj).__name__}"
    )


# In compact JSON every number token starts the text or follows ``":`` (a member's
# value: keys end with a quote), ``,`` or ``[``; so these find every float and every
# long integer. A match inside a string ("12:30" does not match, "a,1.5" does) only
# costs a slow-path encode. One pattern per literal prefix: re scans for a literal
# prefix far faster than for an alternation. Bytes 0xF0-0xF4 lead the UTF-8 of
# characters beyond the BMP; translate() finds them faster than a regex class.
_NUMBER_TAIL = rb"-?[0-9]+(?:[.eE]|[0-9]{15})"
_NOT_FAST = tuple(
    re.compile(prefix + _NUMBER_TAIL) for prefix in (rb'":', rb",", rb"\[", rb"^")
)
_BEYOND_BMP = bytes(1 if 0xF0 <= b <= 0xF4 else 0 for b in range(256))


def _orjson_is_canonical(fast: bytes) -> bool:
    if b"\x01" in fast.translate(_BEYOND_BMP):
        return False
    return not any(pattern.search(fast) for pattern in _NOT_FAST)


def encode_canonical(value: JSONValue) -> bytes:
    """RFC 8785 bytes of a plain JSON value (already through :func:`to_json_value`, or
    parsed from JSON): orjson where its output is provably the same, else ``rfc8785``."""
    try:
        fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        fast = None  # e.g. an integer beyond 64 bits: let rfc8785 name the problem
    if fast is not None and _orjson_is_canonical(fast):
        return fast
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalizationError(f"$: cannot canonicalise: {exc}") from exc


def canonical_json(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``obj``."""
    return encode_canonical(to_json_value(obj))
