"""The C canonical-form check (`approvals.audit._leafcheck`) against the Python path.

The check may answer "canonical" or "not sure", never wrongly "canonical": canonical
bytes must be accepted except in the documented cases (floats, characters beyond the
BMP, escaped or high member names, deep nesting), and no bytes that the Python path
(`is_canonical(data, orjson.loads(data))`) refuses may ever be accepted. `verify_log`
must give the same report, word for word, with the fast path on and off.
"""

import base64
import os
import random
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from approvals.audit import record as record_module
from approvals.audit.canonical import encode_canonical, is_canonical
from approvals.audit.checkpoint import Checkpoint, sign_checkpoint
from approvals.audit.errors import CanonicalizationError
from approvals.audit.keys import Keyring, SigningKey, generate_signing_key
from approvals.audit.merkle import MemoryTreeStore, MerkleLog
from approvals.audit.record import LeafVerifier, sign_record, verify_record
from approvals.audit.verify import verify_log

try:
    from approvals.audit import _leafcheck
except ImportError:  # pragma: no cover - only where the extension was not built
    if os.environ.get("CI") == "true":
        raise  # CI must not silently verify on the slow path
    pytest.skip(
        "approvals.audit._leafcheck is not built (no C compiler at install time?): "
        "run `pip install -e .` with gcc and the Python headers",
        allow_module_level=True,
    )

ORIGIN = "approvals.test/log"
KEY = generate_signing_key(ORIGIN)
RING = Keyring([KEY.verifier])


def test_the_extension_is_built_and_used() -> None:
    assert record_module.FAST_PATH
    assert _leafcheck.is_canonical(b'{"a":[1,"x",true,null,{}]}')


# -- generated values ---------------------------------------------------------------

_TRICKY_CHARS = (
    "\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f\"\\/ é\u00ff\u0800\u2028\u2029\ud7ff\ue000\uefff"
    "\uf8ff\ufb33\ufeff\ufffd\uffff中文年龄\U00010000\U0001d11e\U0010ffff"
)
_TEXT = st.text(
    alphabet=st.sampled_from(_TRICKY_CHARS) | st.characters(blacklist_categories=("Cs",)),
    max_size=8,
)
_KEYS = _TEXT | st.sampled_from(["a", "b", "aa", "ab", "A", "Z", "_", "a\x00", "é", "\ue000"])
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.sampled_from([0, -1, 2**53 - 1, -(2**53) + 1, 10**15, 9007199254740990])
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=25,
)


def _not_sure_allowed(value: Any, depth: int = 0) -> bool:
    """Whether the value holds one of the documented "not sure" cases."""
    if isinstance(value, float) or depth >= 64:
        return True
    if isinstance(value, str):
        return any(ord(c) > 0xFFFF for c in value)
    if isinstance(value, list):
        return any(_not_sure_allowed(v, depth + 1) for v in value)
    if isinstance(value, dict):
        for key, item in value.items():
            if any(ord(c) < 0x20 or c in '"\\' or ord(c) >= 0xE000 for c in key):
                return True
            if _not_sure_allowed(key) or _not_sure_allowed(item, depth + 1):
                return True
    return False


def _python_says_canonical(data: bytes) -> bool:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    try:
        return is_canonical(data, value)
    except CanonicalizationError:
        return False


@settings(max_examples=1500, deadline=None)
@given(_VALUES)
@example({"a": 1.0, "b": [1e21, -0.0]})
@example({"\U0001d11e": 2, "\ufb33": 1})
@example({"k": "\x00\x1f\x7f\u2028\\\"/"})
@example([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])
def test_canonical_bytes_are_accepted_outside_the_documented_cases(value: Any) -> None:
    data = encode_canonical(value)
    accepted = _leafcheck.is_canonical(data)
    if accepted:
        assert _python_says_canonical(data)
    elif not _not_sure_allowed(value):
        pytest.fail(f"canonical bytes not accepted: {data!r}")


# -- mutated bytes ------------------------------------------------------------------

_INSERTS = [b" ", b"\n", b"\t", b",", b"0", b"-", b".", b"e", b'"', b"\\", b"\xff", b"\xc0\xaf",
            b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80", b"\x00", b"{", b"}",
            b"[", b"]", b":"]
_REPLACEMENTS = [
    (b"\xc3\xa9", b"\\u00e9"),  # é escaped
    (b"/", b"\\/"),
    (b"\\u001f", b"\\u001F"),  # uppercase hex
    (b"\\u001f", b"\\u001f\\u001f"[:6]),
    (b"\\n", b"\\u000a"),  # a short escape written long
    (b"\\t", b"\\u0009"),
    (b"\\\\", b"\\u005c"),
    (b'\\"', b"\\u0022"),
    (b"\x7f", b"\\u007f"),
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"1", b"01"),
    (b"0", b"-0"),
    (b"1", b"1.0"),
    (b"1", b"1e0"),
    (b"1", b"1E0"),
    (b"2", b"2.5"),
    (b"true", b"True"),
    (b"null", b"nul"),
    (b'"a"', b'"\\ud800"'),  # a lone surrogate escape
    (b'"a"', b'"\\udc00\\ud800"'),
    (b":", b": "),
    (b",", b" ,"),
]


def _swap_first_two_members(data: bytes) -> bytes:
    value = orjson.loads(data)
    if not isinstance(value, dict) or len(value) < 2:
        return data
    items = list(value.items())
    items[0], items[1] = items[1], items[0]
    return orjson.dumps(dict(items))


def _duplicate_first_member(data: bytes) -> bytes:
    if not data.startswith(b'{"') or data == b"{}":
        return data
    value = orjson.loads(data)
    key, item = next(iter(value.items()))
    first = orjson.dumps({key: item})[1:-1]
    return b"{" + first + b"," + data[1:]


@settings(max_examples=2500, deadline=None)
@given(_VALUES, st.randoms(use_true_random=False), st.integers(0, 7))
def test_mutated_bytes_are_never_accepted_unless_python_accepts_them(
    value: Any, rng: random.Random, how: int
) -> None:
    data = encode_canonical(value)
    at = rng.randrange(len(data) + 1)
    if how == 0:
        mutated = data[:at] + rng.choice(_INSERTS) + data[at:]
    elif how == 1:
        mutated = data[:at] + data[at + 1 :]
    elif how == 2:
        mutated = data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
    elif how == 3:
        mutated = data[:at]  # truncated
    elif how == 4:
        old, new = rng.choice(_REPLACEMENTS)
        mutated = data.replace(old, new, 1)
    elif how == 5:
        mutated = _swap_first_two_members(data)
    elif how == 6:
        mutated = _duplicate_first_member(data)
    else:
        mutated = data[:at] + data[at:].upper()
    if _leafcheck.is_canonical(mutated):
        assert _python_says_canonical(mutated), mutated


@pytest.mark.parametrize(
    "data",
    [
        b"", b" 1", b"1 ", b"{ }", b"[1, 2]", b'{"a" :1}', b"01", b"-0", b"1.0", b"1e5", b"-",
        b"9007199254740992", b"-9007199254740992", b"12345678901234567", b"tru", b"nul",
        b'{"b":1,"a":2}', b'{"a":1,"a":1}', b'{"a":1,}', b"[1,]", b'"\\u00e9"', b'"\\/"',
        b'"\\u001F"', b'"\\u000a"', b'"\\u0008"', b'"\\u0009"', b'"\\u000c"', b'"\\u000d"',
        b'"\\u0020"', b'"\\ud800"', b'"\\x"',
        b'"\x01"', b'"\x7f\\u007f"', b'"\xc3"', b'"\xc0\xaf"', b'"\xe0\x80\xaf"',
        b'"\xed\xa0\x80"', b'"\xf0\x9d\x84\x9e"', b'"\xf4\x90\x80\x80"', b'"\xff"', b'"abc',
        b'"abc\\', b"[" * 65 + b"]" * 65, b'{"a\\n":1}', b'{"\xee\x80\x80":1}', b"[1]]",
        b"{}{}", b"\xef\xbb\xbf{}", b'"\x00"',
    ],
)
def test_documented_refusals(data: bytes) -> None:
    assert not _leafcheck.is_canonical(data)


@pytest.mark.parametrize(
    "data",
    [
        b"0", b"-1", b"9007199254740991", b"-9007199254740991", b"true", b"false", b"null",
        b'""', b"[]", b"{}", b'"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\\"\\\\/\x7f"',
        b'{"":0,"A":1,"a":[],"aa":{},"b":"\xe2\x80\xa8\xef\xbf\xbf"}', b"[" * 63 + b"]" * 63,
        '{"中":"年龄"}'.encode(),
    ],
)
def test_accepted_examples(data: bytes) -> None:
    assert _leafcheck.is_canonical(data)
    assert _python_says_canonical(data)


def test_every_six_character_escape() -> None:
    for code in range(0x10000):
        for data in (b'"\\u%04x"' % code, b'"\\u%04X"' % code):
            if _leafcheck.is_canonical(data):
                assert _python_says_canonical(data), data
            elif code < 0x20 and code not in (0x08, 0x09, 0x0A, 0x0C, 0x0D) and data.islower():
                pytest.fail(f"canonical escape refused: {data!r}")


def test_every_character_of_the_bmp_as_a_value_and_a_name() -> None:
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        value = encode_canonical(chr(code))
        assert _leafcheck.is_canonical(value), value
        name = encode_canonical({chr(code): 0})
        if _leafcheck.is_canonical(name):
            assert _python_says_canonical(name)
        else:
            assert code < 0x20 or code in (0x22, 0x5C) or code >= 0xE000, name


def test_every_one_and_two_byte_string() -> None:
    for first in range(256):
        for second in (None, *range(256)):
            body = bytes([first]) if second is None else bytes([first, second])
            data = b'"' + body + b'"'
            if _leafcheck.is_canonical(data):
                assert _python_says_canonical(data), data


def test_every_byte_at_every_position_of_a_long_string() -> None:
    # The scanner skips plain ASCII eight bytes at a time: any one odd byte in a run
    # must stop it, wherever it sits in the run.
    for byte in range(256):
        for at in range(24):
            body = bytearray(b"abcdefghijklmnopqrstuvwx")
            body[at] = byte
            for data in (b'"' + body + b'"', b'["' + body + b'","' + body + b'"]'):
                if _leafcheck.is_canonical(data):
                    assert _python_says_canonical(data), data
                else:
                    assert not (0x20 <= byte < 0x80 and byte not in b'"\\'), data


def test_every_three_byte_sequence_from_e0_to_f4() -> None:
    for first in range(0xE0, 0xF5):
        for second in range(0x70, 0xD0):
            for third in (0x00, 0x22, 0x41, 0x7F, 0x80, 0xA0, 0xBF, 0xC0):
                data = b'"' + bytes([first, second, third]) + b'"'
                if _leafcheck.is_canonical(data):
                    assert _python_says_canonical(data), data


def test_only_bytes_are_checked() -> None:
    assert not _leafcheck.is_canonical(bytearray(b"{}"))  # type: ignore[arg-type]
    assert _leafcheck.leaf(memoryview(b"{}")) is None  # type: ignore[arg-type]


# -- leaves -------------------------------------------------------------------------

RECORD: dict[str, Any] = {
    "decision_id": "D-1",
    "applicant": {"id_number": "440300195001011234", "name": "张三", "key_id": "nested"},
    "outcome": "approve",
    "reasons": [{"code": "R1", "zh": "年龄不足"}],
    "score": 17,
}


def _sig(leaf: bytes) -> dict[str, Any]:
    return dict(orjson.loads(leaf)["signature"])


def _leaf(record: Any, signature: Any) -> bytes:
    return encode_canonical({"record": record, "signature": signature})


def test_leaf_parts_of_a_signed_leaf() -> None:
    signed = sign_record(RECORD, KEY)
    parts = _leafcheck.leaf(signed.leaf)
    assert parts is not None
    start, end, record_key_id, origin, alg, key_id, value = parts
    assert signed.leaf[start:end] == signed.signed_bytes
    assert (record_key_id, origin) == (KEY.record_key_id, ORIGIN)
    assert (alg, key_id) == ("Ed25519", KEY.record_key_id)
    assert base64.b64decode(value) == signed.signature


def test_leaves_the_fast_path_leaves_to_python() -> None:
    signed = sign_record(RECORD, KEY)
    sig = _sig(signed.leaf)
    record = signed.record
    not_sure = [
        _leaf(record, {**sig, "extra": 1}),
        _leaf(record, {k: v for k, v in sig.items() if k != "alg"}),
        _leaf(record, {**sig, "alg": 1}),
        _leaf({k: v for k, v in record.items() if k != "log_origin"}, sig),
        _leaf({**record, "key_id": 5}, sig),
        _leaf({**record, "log_origin": "a\nb"}, sig),  # escaped
        _leaf(record, {**sig, "key_id": 'x"y'}),
        _leaf([record], sig),
        encode_canonical({"record": record, "signature": sig, "z": 1}),
        encode_canonical({"record": record}),
        signed.leaf + b" ",
        signed.leaf[:-1],
        signed.leaf.replace(b'"score":17', b'"score":17.0'),
    ]
    for leaf in not_sure:
        assert _leafcheck.leaf(leaf) is None, leaf


# -- verify_log, fast path on and off -----------------------------------------------


def _checkpoint(leaves: list[bytes], key: SigningKey = KEY) -> str:
    log = MerkleLog(MemoryTreeStore())
    log.append(leaves)
    return sign_checkpoint(Checkpoint(key.name, len(leaves), log.root(len(leaves))), key)


def _reports(leaves: list[bytes], monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    note = _checkpoint(leaves)
    fast = verify_log(leaves, note, RING).render()
    with monkeypatch.context() as m:
        m.setattr(record_module, "FAST_PATH", False)
        slow = verify_log(leaves, note, RING).render()
    return fast, slow


def test_a_good_log_verifies_on_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    leaves = [sign_record({**RECORD, "decision_id": f"D-{i}"}, KEY).leaf for i in range(50)]

    def slow_path(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a canonical, valid leaf took the Python path")

    with monkeypatch.context() as m:
        m.setattr(record_module, "verify_record", slow_path)
        report = verify_log(leaves, _checkpoint(leaves), RING)
    assert report.ok, report.render()
    fast, slow = _reports(leaves, monkeypatch)
    assert fast == slow and fast.endswith("verified: all checks hold\n")


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _stray_bits(value: str) -> str:
    """The same 64 bytes in non-canonical base64: a low bit set in the last character."""
    last = _B64[_B64.index(value[-3]) | 1]
    changed = value[:-3] + last + "=="
    assert base64.b64decode(changed) == base64.b64decode(value) and changed != value
    return changed


def _tampered_leaves() -> dict[str, bytes]:
    signed = sign_record(RECORD, KEY)
    leaf, sig, record = signed.leaf, _sig(signed.leaf), signed.record
    other = generate_signing_key("approvals.test/other-log")
    same_name = generate_signing_key(ORIGIN)
    wrong_sig = base64.b64encode(bytes(64)).decode()
    return {
        "record byte flipped": leaf.replace(b'"D-1"', b'"D-2"'),
        "whitespace": leaf.replace(b'"outcome":', b'"outcome": '),
        "escaped é": sign_record({**RECORD, "x": "é"}, KEY).leaf.replace(b"\xc3\xa9", b"\\u00e9"),
        "alg": _leaf(record, {**sig, "alg": "ed25519"}),
        "short signature": _leaf(record, {**sig, "value": base64.b64encode(bytes(63)).decode()}),
        "non-canonical base64": _leaf(record, {**sig, "value": _stray_bits(sig["value"])}),
        "zero signature": _leaf(record, {**sig, "value": wrong_sig}),
        "signature key_id": _leaf(record, {**sig, "key_id": other.record_key_id}),
        "untrusted key": sign_record(RECORD, other).leaf,
        "untrusted key, same name": sign_record(RECORD, same_name).leaf,
        "log_origin": _leaf({**record, "log_origin": "elsewhere"}, sig),
        "extra signature member": _leaf(record, {**sig, "note": "x"}),
        "record not an object": _leaf([record], sig),
        "float, valid": sign_record({**RECORD, "score": 1.5}, KEY).leaf,
        "beyond the BMP, valid": sign_record({**RECORD, "name": "\U0001d11e"}, KEY).leaf,
        "not JSON": b"{",
        "truncated": leaf[:-1],
    }


@pytest.mark.parametrize("name", sorted(_tampered_leaves()))
def test_tampered_leaves_give_the_same_report(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = _tampered_leaves()[name]
    good = [sign_record({**RECORD, "decision_id": f"D-{i}"}, KEY).leaf for i in range(3)]
    fast, slow = _reports([good[0], bad, *good[1:]], monkeypatch)
    assert fast == slow
    if "valid" in name:
        assert fast.endswith("verified: all checks hold\n")
    else:
        assert "1 of 4 records fail" in fast and "record 1: " in fast


def test_a_record_of_another_trusted_log_gives_the_same_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = generate_signing_key("approvals.test/other-log")
    ring = Keyring([KEY.verifier, other.verifier])
    leaves = [sign_record(RECORD, KEY).leaf, sign_record(RECORD, other).leaf]
    note = _checkpoint(leaves)
    fast = verify_log(leaves, note, ring).render()
    monkeypatch.setattr(record_module, "FAST_PATH", False)
    assert verify_log(leaves, note, ring).render() == fast
    assert "record 1: log_origin 'approvals.test/other-log'" in fast


@pytest.mark.parametrize("seed", range(4))
def test_every_changed_byte_gives_the_same_verdict_and_message(seed: int) -> None:
    rng = random.Random(seed)
    leaf = sign_record({"decision_id": "D-9", "n": [1, -2, "é\n"], "ok": True}, KEY).leaf
    verifier = LeafVerifier(RING)
    for at in range(len(leaf)):
        changed = leaf[:at] + bytes([leaf[at] ^ (1 << rng.randrange(8))]) + leaf[at + 1 :]
        try:
            fast: Any = verifier(changed)
        except Exception as exc:  # compared with the Python path's
            fast = repr(exc)
        try:
            slow: Any = verify_record(changed, RING).get("log_origin")
        except Exception as exc:
            slow = repr(exc)
        assert fast == slow, changed


# -- is_plain: the check signing asks before walking a record --------------------------

_ODD = st.sampled_from([
    (1, 2), float("nan"), float("inf"), -float("inf"), b"x", {1: "a"}, {("a",): 1},
    set(), frozenset(), 1 + 2j, object(),
    __import__("datetime").date(2026, 11, 30),
    __import__("enum").IntEnum("Level", "LOW")(1),  # an int subclass
    type("Text", (str,), {})("x"),  # a str subclass
    __import__("collections").OrderedDict(a=1),  # a dict subclass
])
_ANYTHING = st.recursive(
    _SCALARS | _ODD,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4)
    | st.tuples(inner, inner),
    max_leaves=20,
)


def _python_plain(value: Any) -> bool:
    """The same question answered in Python, by the definition."""
    kind = type(value)
    if value is None or kind in (str, int, bool):
        return True
    if kind is float:
        return value == value and value not in (float("inf"), -float("inf"))
    if kind is list:
        return all(_python_plain(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _python_plain(v) for k, v in value.items())
    return False


@given(_ANYTHING)
@settings(max_examples=400, deadline=None)
def test_is_plain_answers_as_the_definition(value: Any) -> None:
    assert _leafcheck.is_plain(value) == _python_plain(value)


def test_is_plain_stops_at_depth() -> None:
    deep: Any = []
    for _ in range(200):
        deep = [deep]
    assert not _leafcheck.is_plain(deep)  # not sure: the Python walk decides
    assert _leafcheck.is_plain([[[1]]])


@given(_ANYTHING)
@settings(max_examples=200, deadline=None)
def test_signing_gives_the_same_bytes_with_and_without_the_check(
    value: Any,
) -> None:
    record = {"outcome": "approve", "facts": value}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(record_module.leafcheck, "_IS_PLAIN", None)
        try:
            slow: Any = sign_record(record, KEY)
        except Exception as exc:  # refused: the fast path must refuse it alike
            slow = type(exc)
    try:
        fast: Any = sign_record(record, KEY)
    except Exception as exc:
        fast = type(exc)
    if isinstance(slow, type):
        assert fast is slow
    else:
        assert fast.leaf == slow.leaf and fast.record == slow.record
