"""统一社会信用代码 (Unified Social Credit Code), GB 32100-2015.

Structure (GB 32100-2015 §4): 1 char registration department (登记管理部门代码),
1 char organisation category (机构类别代码), 6 digits administrative division
(登记管理机关行政区划码, GB/T 2260), 9 chars entity identifier (主体标识码, the
GB 11714 organisation code), 1 check character.

The alphabet is the digits and the 21 capital letters left after dropping I, O, Z, S
and V (GB 32100-2015 Table 1), so the code cannot be misread; values are 0..30.
"""

from __future__ import annotations

import re

from approvals.licence.errors import InvalidCode

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100-2015 §5 (check character): weights W_i = 3^(i-1) mod 31 for i = 1..17.
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_DIVISION = re.compile(r"^[0-9]{6}$")


def _require_alphabet(text: str, what: str) -> None:
    bad = sorted({ch for ch in text if ch not in _VALUE})
    if bad:
        raise InvalidCode(
            f"{what} {text!r} has characters outside the GB 32100 alphabet "
            f"(0-9 and {ALPHABET[10:]}; I, O, S, V, Z are never used): {''.join(bad)}"
        )


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (GB 32100-2015 §5).

    C18 = 31 - (sum(C_i * W_i) mod 31), with 31 written as 0.
    """
    if len(first17) != LENGTH - 1:
        raise InvalidCode(f"expected 17 characters before the check, found {len(first17)}")
    _require_alphabet(first17, "code")
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """True when `code` is 18 characters of the alphabet with the right check character."""
    if len(code) != LENGTH or any(ch not in _VALUE for ch in code):
        return False
    return check_character(code[:17]) == code[17]


def validate(code: str) -> str:
    """Return `code` if valid, else raise `InvalidCode` saying what is wrong."""
    if len(code) != LENGTH:
        raise InvalidCode(f"USCC {code!r}: expected 18 characters, found {len(code)}")
    _require_alphabet(code, "USCC")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidCode(
            f"USCC {code!r}: check character should be {expected!r}, found {code[17]!r}"
        )
    return code


def make(registration_dept_code: str, admin_division: str, body: str) -> str:
    """Assemble a USCC from its parts and append the check character.

    `registration_dept_code` is the two leading characters (registration department
    and organisation category, e.g. "11" for a government organ, "91" for a company,
    "92" for an individual business), `admin_division` the 6-digit GB/T 2260 code and
    `body` the 9-character entity identifier.
    """
    if len(registration_dept_code) != 2:
        raise InvalidCode(
            "registration department and category code: expected 2 characters, "
            f"found {registration_dept_code!r}"
        )
    if not _DIVISION.match(admin_division):
        raise InvalidCode(f"administrative division: expected 6 digits, found {admin_division!r}")
    if len(body) != 9:
        raise InvalidCode(f"entity identifier: expected 9 characters, found {body!r}")
    first17 = registration_dept_code + admin_division + body
    return first17 + check_character(first17)
