import datetime as dt
import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.audit.canonical import canonical_json, encode_canonical
from approvals.audit.errors import AuditError, CanonicalizationError


def test_keys_sorted_and_no_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'


def test_rfc8785_number_and_string_forms() -> None:
    # RFC 8785 §3.2.2.3: ECMAScript number serialisation; §3.2.2.2: minimal escaping.
    assert canonical_json([1.0, 1e21, 0.1, -0.0]) == b"[1,1e+21,0.1,0]"
    assert canonical_json("深圳\n\"") == '"深圳\\n\\""'.encode()


def test_member_order_is_utf16_code_units() -> None:
    # RFC 8785 §3.2.3 sorts by UTF-16 code units: U+FB33 sorts after U+1D11E (surrogates).
    assert canonical_json({"\ufb33": 1, "\U0001d11e": 2}) == '{"\U0001d11e":2,"\ufb33":1}'.encode()


def test_dates_and_datetimes_by_the_documented_rule() -> None:
    cst = dt.timezone(dt.timedelta(hours=8))
    value = {
        "on": dt.date(2024, 3, 1),
        "at": dt.datetime(2024, 3, 1, 8, 30, tzinfo=cst),
        "precise": dt.datetime(2024, 3, 1, 0, 0, 0, 5, tzinfo=dt.UTC),
    }
    assert canonical_json(value) == (
        b'{"at":"2024-03-01T00:30:00Z","on":"2024-03-01","precise":"2024-03-01T00:00:00.000005Z"}'
    )


def test_naive_datetime_refused() -> None:
    with pytest.raises(CanonicalizationError, match=r"\$\.at: expected a timezone-aware"):
        canonical_json({"at": dt.datetime(2024, 3, 1)})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_refused_with_path(bad: float) -> None:
    with pytest.raises(CanonicalizationError, match=r"\$\.x\[1\]: expected a finite number"):
        canonical_json({"x": [0, bad]})


@pytest.mark.parametrize("bad", [b"bytes", {1, 2}, object()])
def test_unknown_types_refused(bad: object) -> None:
    with pytest.raises(AuditError, match="found"):
        canonical_json({"v": bad})


def test_non_string_keys_and_unsafe_integers_refused() -> None:
    with pytest.raises(CanonicalizationError, match="string object keys"):
        canonical_json({1: "a"})
    with pytest.raises(CanonicalizationError):
        canonical_json(2**60)  # outside the I-JSON safe range (RFC 7493 §2.2)


def test_tuple_is_an_array() -> None:
    assert canonical_json((1, "a")) == canonical_json([1, "a"]) == b'[1,"a"]'


# -- the fast encoder (orjson) must write exactly what rfc8785 writes --------------------

_KEYS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6
)  # any scalar value: control characters, BMP, beyond the BMP
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_fast_encoder_writes_exactly_rfc8785(value: Any) -> None:
    assert encode_canonical(value) == bytes(rfc8785.dumps(value))


def test_fast_encoder_falls_back_where_orjson_differs() -> None:
    # Each of these takes the rfc8785 path; the results are RFC 8785's.
    assert encode_canonical({"x": 1.0, "y": [1e21]}) == b'{"x":1,"y":[1e+21]}'
    beyond_bmp = {"\ufb33": 1, "\U0001d11e": 2}
    assert encode_canonical(beyond_bmp) == '{"\U0001d11e":2,"\ufb33":1}'.encode()
    with pytest.raises(CanonicalizationError):
        encode_canonical({"big": 2**63 + 1})
