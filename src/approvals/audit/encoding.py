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
    """Decode canonical standard base64; return None if ``text`` is anything else.

    The re-encoding must give ``text`` back, so padding, stray low bits and any
    character outside the alphabet are refused (one accepted text per byte string).
    binascii directly: this runs once per record in a full log verification.
    """
    if not text.isascii():
        return None
    encoded = text.encode("ascii")
    try:
        raw = binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    if binascii.b2a_base64(raw, newline=False) != encoded:
        return None
    return raw
