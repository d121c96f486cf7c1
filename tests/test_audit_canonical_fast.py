"""The verifier's canonical-form test (`is_canonical`) and the scan behind orjson's fast path.

The fast path may accept orjson's bytes only when the value holds no float, no
integer outside ±(2**53 - 1) and no character beyond the BMP; these tests pin that the
scan never misses one, and that `is_canonical` agrees with `rfc8785` byte for byte.
"""

from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.audit.canonical import _orjson_is_canonical, encode_canonical, is_canonical
from approvals.audit.errors import CanonicalizationError

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
# Strings that look like numbers, times and separators, to tempt the scan.
_TRICKY = st.sampled_from(["1.5", "a,1.5", "12:30.5", "2026-11-30T03:53:52.413605Z", "e", ",e",
                           "-", "[1e5]", '":1.0', "2025.1", "1e+16"])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
    | _TRICKY
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT | _TRICKY, inner, max_size=4),
    max_leaves=20,
)


def _floats_or_beyond_bmp(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, str):
        return any(ord(c) > 0xFFFF for c in value)
    if isinstance(value, list):
        return any(_floats_or_beyond_bmp(v) for v in value)
    if isinstance(value, dict):
        return any(_floats_or_beyond_bmp(k) or _floats_or_beyond_bmp(v) for k, v in value.items())
    return False


@settings(max_examples=600, deadline=None)
@given(_VALUES)
def test_the_scan_never_misses_a_float_or_a_character_beyond_the_bmp(value: Any) -> None:
    fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if _floats_or_beyond_bmp(value):
        assert not _orjson_is_canonical(fast)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_is_canonical_agrees_with_rfc8785(value: Any) -> None:
    expected = bytes(rfc8785.dumps(value))
    assert is_canonical(expected, value)
    assert encode_canonical(value) == expected
    fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    assert is_canonical(fast, value) == (fast == expected)
    assert not is_canonical(expected + b" ", value)


@pytest.mark.parametrize(
    ("value", "data"),
    [
        ({"x": 1.0}, b'{"x":1.0}'),  # orjson's float form, not ECMAScript's
        ([1e16], b"[1e+16]"),
        # code-point order, not UTF-16 code units
        ({"\ufb33": 1, "\U0001d11e": 2}, '{"\ufb33":1,"\U0001d11e":2}'.encode()),
        ({"b": 1, "a": 2}, b'{"b":1,"a":2}'),  # unsorted
        ({"a": "\u00e9"}, b'{"a":"\\u00e9"}'),  # needless escape
        ({"a": 1}, b'{"a": 1}'),  # whitespace
    ],
)
def test_non_canonical_bytes_are_refused(value: Any, data: bytes) -> None:
    assert not is_canonical(data, value)


def test_the_rfc8785_forms_of_those_values_are_accepted() -> None:
    assert is_canonical(b'{"x":1}', {"x": 1.0})
    assert is_canonical(b"[10000000000000000]", [1e16])
    assert is_canonical('{"\U0001d11e":2,"\ufb33":1}'.encode(), {"\ufb33": 1, "\U0001d11e": 2})


def test_integers_outside_the_i_json_range_are_refused_by_name() -> None:
    big = 2**53
    with pytest.raises(CanonicalizationError, match="cannot canonicalise"):
        is_canonical(str(big).encode(), big)
    assert is_canonical(str(big - 1).encode(), big - 1)
    assert is_canonical(b"1000000000000000", 10**15)  # 16 digits, inside the range
