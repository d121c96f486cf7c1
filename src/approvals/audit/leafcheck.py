"""The optional C canonical-form check (_leafcheck.c), imported in one place.

Built at install when a C compiler is there; without it both answers below are
"not sure" and the callers' Python paths decide alone, more slowly.
"""

from __future__ import annotations

try:
    from approvals.audit import _leafcheck
except ImportError:  # built without a C compiler
    _leafcheck = None  # type: ignore[assignment]

#: Whether the extension is built.
AVAILABLE = _leafcheck is not None
_IS_PLAIN = getattr(_leafcheck, "is_plain", None)


def is_canonical(data: bytes) -> bool:
    """True only if ``data`` is definitely RFC 8785 canonical JSON; False: not sure."""
    return _leafcheck is not None and _leafcheck.is_canonical(data)


def is_plain(obj: object) -> bool:
    """True only if ``obj`` is definitely a plain JSON value (exact dict with str keys,
    list, str, int, bool, None, finite float); False: not sure. Older builds of the
    extension lack the check: not sure."""
    return _IS_PLAIN is not None and _IS_PLAIN(obj)


def leaf(data: bytes) -> tuple[int, int, str, str, str, str, str] | None:
    """For a definitely canonical leaf: (record start, record end, the record's key_id
    and log_origin, the signature's alg, key_id and value); None when not sure."""
    return None if _leafcheck is None else _leafcheck.leaf(data)
