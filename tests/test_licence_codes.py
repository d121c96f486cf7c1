"""Check characters: GB 32100 (USCC), GB 11643 (citizen ID), GB/T 36904 (licence identifier)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from approvals.licence import id_number, identifier, uscc
from approvals.licence.errors import IdentifierError, InvalidCode

# Published codes of well-known entities; their check characters were recomputed by hand
# from the GB 32100 weights before being put here.
KNOWN_USCC = [
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "11100000000013338W",  # 国务院办公厅 (owner of the national licence catalogue)
]

# Published GB/T 36904 identifiers found in government platform code and documents.
KNOWN_IDENTIFIERS = [
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
    "1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3",
    "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
]


@pytest.mark.parametrize("code", KNOWN_USCC)
def test_uscc_known_codes(code: str) -> None:
    assert uscc.is_valid(code)
    assert uscc.check_character(code[:17]) == code[17]


def test_uscc_rejects_wrong_check_and_alphabet() -> None:
    assert not uscc.is_valid("914403001922038217")
    assert not uscc.is_valid("91440300MA5DC4XF2B")  # check should be 6
    assert not uscc.is_valid("9144030019220382I6")  # I is not in the alphabet
    with pytest.raises(InvalidCode, match="check character should be '6', found '7'"):
        uscc.validate("914403001922038217")
    with pytest.raises(InvalidCode, match="outside the GB 32100 alphabet"):
        uscc.validate("91440300192203O216")


def test_uscc_check_31_is_written_0() -> None:
    # Search a body whose weighted sum is 0 mod 31, so that 31 - 0 = 31 -> '0'.
    for n in range(10_000):
        first17 = f"91440300{n:09d}"
        if uscc.check_character(first17) == "0":
            pairs = zip(first17, uscc.WEIGHTS, strict=True)
            total = sum(uscc.ALPHABET.index(c) * w for c, w in pairs)
            assert total % 31 == 0
            return
    pytest.fail("no code with check 0 found")


@given(
    dept=st.sampled_from(["11", "12", "51", "91", "92", "93"]),
    division=st.from_regex(r"^[1-8][0-9]{5}$", fullmatch=True),
    body=st.text(alphabet=uscc.ALPHABET, min_size=9, max_size=9),
)
def test_uscc_make_round_trip(dept: str, division: str, body: str) -> None:
    code = uscc.make(dept, division, body)
    assert uscc.is_valid(code)
    assert code[:17] == dept + division + body
    # Any single-character change is detected (MOD 31 with weights coprime to 31).
    position = len(body) % 17
    for replacement in uscc.ALPHABET:
        if replacement != code[position]:
            assert not uscc.is_valid(code[:position] + replacement + code[position + 1 :])


def test_id_number_known_values() -> None:
    # The example of GB 11643-1999 itself and a common textbook example.
    assert id_number.is_valid("11010519491231002X")
    assert id_number.is_valid("440524188001010014")
    assert id_number.birth_date_of("11010519491231002X") == dt.date(1949, 12, 31)
    assert id_number.gender_of("11010519491231002X") == "女"
    assert id_number.gender_of("440524188001010014") == "男"
    assert not id_number.is_valid("110105194912310021")
    assert not id_number.is_valid("110105194902300026")  # 30 Feb
    with pytest.raises(InvalidCode, match="check character should be 'X', found '1'"):
        id_number.validate("110105194912310021")
    with pytest.raises(InvalidCode, match="not a calendar date"):
        id_number.birth_date_of("110105194902300026")


@given(
    region=st.from_regex(r"^[1-8][0-9]{5}$", fullmatch=True),
    born=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
    seq=st.integers(min_value=0, max_value=999),
)
def test_id_number_make_round_trip(region: str, born: dt.date, seq: int) -> None:
    number = id_number.make(region, born, f"{seq:03d}")
    assert id_number.is_valid(number)
    assert id_number.birth_date_of(number) == born
    assert id_number.gender_of(number) == ("男" if seq % 2 else "女")
    wrong = "0" if number[-1] != "0" else "1"
    assert not id_number.is_valid(number[:-1] + wrong)


def test_id_number_make_refuses_bad_parts() -> None:
    with pytest.raises(InvalidCode, match="region code"):
        id_number.make("44030", dt.date(2000, 1, 1), "001")
    with pytest.raises(InvalidCode, match="sequence code"):
        id_number.make("440305", dt.date(2000, 1, 1), "1")


@pytest.mark.parametrize("known", KNOWN_IDENTIFIERS)
def test_identifier_check_matches_published(known: str) -> None:
    parts = identifier.parse(known)
    assert str(parts) == known
    assert (
        identifier.build(parts.type_code, parts.issuer_code, parts.serial, parts.version) == known
    )


def test_identifier_errors_say_what_is_wrong() -> None:
    good = KNOWN_IDENTIFIERS[0]
    with pytest.raises(IdentifierError, match="check character should be 'F', found 'G'"):
        identifier.parse(good[:-1] + "G")
    with pytest.raises(IdentifierError, match=r"start with '1\.2\.156\.3005\.2\.'"):
        identifier.parse("1.2.156.3005.3" + good[len("1.2.156.3005.2") :])
    with pytest.raises(IdentifierError, match="expected 5 parts"):
        identifier.parse("1.2.156.3005.2.AAA.BBB.001.F")
    with pytest.raises(IdentifierError, match="version should be three digits"):
        identifier.parse("1.2.156.3005.2.AAA.BBB.1.1.F")
    with pytest.raises(IdentifierError, match="serial"):
        identifier.build("11100000000013338W901", "11440300MB2C100012", "ab-1")
    assert not identifier.is_valid(good.lower())
    with pytest.raises(IdentifierError, match="licence type code"):
        identifier.parse("1.2.156.3005.2.AB\n.CD.EF.001.Z")  # `$` once let a newline by
    with pytest.raises(IdentifierError, match="version should be three digits"):
        identifier.parse("1.2.156.3005.2.AB.CD.EF.001\n.Z")


def _check_by_arithmetic(body: str) -> str:
    """ISO/IEC 7064 MOD 37,36 step by step, as the standard writes it."""
    product = 36
    for ch in body.replace(".", ""):
        product = ((product + identifier.ALPHABET.index(ch)) % 36 or 36) * 2 % 37
    return identifier.ALPHABET[(37 - product) % 36]


@given(st.text(alphabet=identifier.ALPHABET + ".", min_size=1, max_size=80))
def test_the_check_table_computes_the_standard_s_arithmetic(body: str) -> None:
    if body.replace(".", ""):
        assert identifier.check_character(body) == _check_by_arithmetic(body)


segment = st.text(alphabet=identifier.ALPHABET, min_size=1, max_size=24)


@given(type_code=segment, issuer_code=segment, serial=segment, version=st.integers(1, 999))
def test_identifier_round_trip(type_code: str, issuer_code: str, serial: str, version: int) -> None:
    built = identifier.build(type_code, issuer_code, serial, version)
    parts = identifier.parse(built)
    assert (parts.type_code, parts.issuer_code, parts.serial, parts.version) == (
        type_code,
        issuer_code,
        serial,
        version,
    )
    # MOD 37,36 catches every single substitution.
    last = built.rindex(".")
    body_pos = last - 1
    if built[body_pos] != ".":
        for ch in "0Z":
            if ch != built[body_pos]:
                assert not identifier.is_valid(built[:body_pos] + ch + built[body_pos + 1 :])
