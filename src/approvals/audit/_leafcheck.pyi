# The C extension built from _leafcheck.c (see its header comment for what is accepted).

def is_canonical(data: bytes, /) -> bool:
    """True if ``data`` is definitely RFC 8785 canonical JSON; False means not sure."""

def leaf(data: bytes, /) -> tuple[int, int, str, str, str, str, str] | None:
    """For a definitely canonical leaf: (record start, record end, the record's key_id
    and log_origin, the signature's alg, key_id and value); None when not sure."""

def is_plain(obj: object, /) -> bool:
    """True if ``obj`` is built only of exact dict (str keys), list, str, int, bool, None
    and finite float; False means not sure."""
