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
and ``OPT_STRICT_INTEGER`` writes the same bytes as RFC 8785 for every JSON value
*except* in three cases, which :func:`encode_canonical` hands to ``rfc8785`` instead:

* an integer outside the I-JSON range ±(2**53 - 1) (RFC 7493 §2.2): orjson's strict
  mode refuses exactly the integers ``rfc8785`` refuses, and ``rfc8785`` names the
  problem; inside that range both write plain decimal digits;
* a float (ECMAScript number formatting, RFC 8785 §3.2.2.3, differs from orjson's
  for e.g. ``1.0`` and ``1e+16``): found in the output as a number token with ``.``,
  ``e`` or ``E``;
* any character outside the Basic Multilingual Plane (RFC 8785 §3.2.3 sorts keys by
  UTF-16 code units, orjson by code points; the orders differ only there): found in
  the output by its UTF-8 lead byte.

String escaping is the same in both (RFC 8785 §3.2.2.2: short escapes for backspace,
tab, newline, form feed and return, other control characters as lowercase six-character
escapes, nothing else escaped); tests/test_audit_canonical.py
checks the two encoders against each other on generated values.

:func:`is_canonical` answers "are these bytes the RFC 8785 form of this value" for a
verifier that has just parsed them: one orjson encode and a byte comparison.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785

from approvals.audit import leafcheck
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


# Orjson's fast path: sorted keys, and integers beyond ±(2**53 - 1) refused.
_ORJSON_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER

# In compact JSON every number token starts the text or follows '":' (a member's
# value: keys end with a quote), ',' or '[' (an array element); a float token has
# '.', 'e' or 'E' after its leading digits. One translate() deletes digits and '-' (so
# a float token shrinks to its '.'/'e'/'E', an integer to nothing) and UTF-8
# continuation bytes (the lead byte stays, so no two other bytes become neighbours);
# it folds 'e'/'E' into '.' and '[' into ',', maps 0xF0-0xF4 (the UTF-8 lead bytes of
# characters beyond the BMP) to 0x01 and every other byte to 'x'. Left to find are two
# short byte strings, a byte and the first byte. A match inside a string ("a,1.5")
# only costs a slow-path encode.
def _marks_table() -> bytes:
    table = bytearray(b"x" * 256)
    for kept in b'":,.':
        table[kept] = kept
    table[ord("[")] = ord(",")
    table[ord("e")] = table[ord("E")] = ord(".")
    for lead in range(0xF0, 0xF5):
        table[lead] = 0x01
    return bytes(table)


_MARKS = _marks_table()
_DROPPED = b"0123456789-" + bytes(range(0x80, 0xC0))


def _orjson_is_canonical(fast: bytes) -> bool:
    """Whether orjson output ``fast`` holds no float and no character beyond the BMP."""
    marks = fast.translate(_MARKS, _DROPPED)
    return not (b"\x01" in marks or b'":.' in marks or b",." in marks or marks[:1] == b".")


def encode_canonical(value: JSONValue) -> bytes:
    """RFC 8785 bytes of a plain JSON value (already through :func:`to_json_value`, or
    parsed from JSON): orjson where its output is provably the same, else ``rfc8785``."""
    try:
        fast = orjson.dumps(value, option=_ORJSON_CANONICAL)
    except (orjson.JSONEncodeError, TypeError):
        fast = None  # e.g. an integer beyond 2**53: let rfc8785 name the problem
    # The C check (~5 µs on a decision record, against ~15 µs for the scan) says True
    # only for canonical bytes; orjson's bytes parse back to `value`, so then they are
    # its RFC 8785 form.
    if fast is not None and (leafcheck.is_canonical(fast) or _orjson_is_canonical(fast)):
        return fast
    try:
        return bytes(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalizationError(f"$: cannot canonicalise: {exc}") from exc


def is_canonical(data: bytes, value: JSONValue) -> bool:
    """Whether ``data`` is exactly the RFC 8785 form of ``value`` (typically ``data`` parsed).

    The common case costs one orjson encode and one comparison: if orjson's bytes
    equal ``data`` and hold none of the three cases above, they are RFC 8785's.
    Anything else is decided by :func:`encode_canonical` (which may raise
    :class:`CanonicalizationError` for a value RFC 8785 cannot encode).
    """
    try:
        fast = orjson.dumps(value, option=_ORJSON_CANONICAL)
    except (orjson.JSONEncodeError, TypeError):
        fast = None
    if fast == data and _orjson_is_canonical(data):
        return True
    return encode_canonical(value) == data


def canonical_json(obj: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``obj``."""
    return encode_canonical(obj if leafcheck.is_plain(obj) else to_json_value(obj))
