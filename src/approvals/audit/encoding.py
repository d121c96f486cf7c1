"""Standard base64 (RFC 4648 §4) as the C2SP formats use it, decoded strictly.

Strict means: only the standard alphabet, correct padding, and the canonical
encoding (no stray low bits), so each byte string has exactly one accepted text.
"""

from __future__ import annotations

import base64
import binascii


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str) -> bytes | None:
    """Decode canonical standard base64; return None if ``text`` is anything else."""
    if not text.isascii():
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw
