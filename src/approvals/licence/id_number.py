"""公民身份号码 (citizen identity number), GB 11643-1999.

Structure (GB 11643-1999 §4): 6-digit address code (GB/T 2260 county of hukou at
issue), 8-digit birth date YYYYMMDD, 3-digit sequence (odd for men, even for women,
§4.3), 1 check character computed with ISO 7064:1983 MOD 11-2 (§4.4), where the
value 10 is written 'X'.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from approvals.licence.errors import InvalidCode

# GB 11643-1999 §4.4.1: W_i = 2^(i-1) mod 11, taken from the right (position 18 has weight 1).
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"  # CHECK[sum mod 11] per §4.4.2
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_REGION = re.compile(r"^[1-9][0-9]{5}$")
_SEQ = re.compile(r"^[0-9]{3}$")

Gender = Literal["男", "女"]


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise InvalidCode(f"expected 17 digits before the check, found {first17!r}")
    total = sum(int(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHECK[total % 11]


def _birth(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def is_valid(number: str) -> bool:
    """True for 18 characters with a real birth date and the right check character."""
    if not _SHAPE.match(number):
        return False
    if _birth(number) is None:
        return False
    return check_character(number[:17]) == number[17]


def validate(number: str) -> str:
    """Return `number` if valid, else raise `InvalidCode` saying what is wrong."""
    if not _SHAPE.match(number):
        raise InvalidCode(
            f"ID number {number!r}: expected 17 digits and a digit or 'X' (18 characters)"
        )
    if _birth(number) is None:
        raise InvalidCode(f"ID number {number!r}: {number[6:14]} is not a calendar date")
    expected = check_character(number[:17])
    if number[17] != expected:
        raise InvalidCode(
            f"ID number {number!r}: check character should be {expected!r}, found {number[17]!r}"
        )
    return number


def birth_date_of(number: str) -> dt.date:
    """The birth date encoded in a valid number."""
    validate(number)
    born = _birth(number)
    assert born is not None  # validate() guarantees a calendar date
    return born


def gender_of(number: str) -> Gender:
    """男 for an odd sequence code, 女 for an even one (GB 11643-1999 §4.3)."""
    validate(number)
    return "男" if int(number[16]) % 2 == 1 else "女"


def make(region: str, birth_date: dt.date, seq3: str) -> str:
    """Assemble a number from region code, birth date and 3-digit sequence."""
    if not _REGION.match(region):
        raise InvalidCode(f"region code: expected 6 digits (GB/T 2260), found {region!r}")
    if not _SEQ.match(seq3):
        raise InvalidCode(f"sequence code: expected 3 digits, found {seq3!r}")
    first17 = f"{region}{birth_date:%Y%m%d}{seq3}"
    return first17 + check_character(first17)
