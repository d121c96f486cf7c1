"""电子证照标识 (electronic licence identifier), GB/T 36904-2018.

    1.2.156.3005.2.<licence type code>.<issuer code>.<serial>.<version>.<check>

- `1.2.156.3005.2` is the OID arc assigned to electronic licences (the standard's
  root code, 根代码).
- licence type code (证照类型代码): in published identifiers, the catalogue owner's
  18-character USCC followed by a 3-digit number, e.g. `11100000000013338W032`.
- issuer code (颁发机构代码): the issuing organ's USCC (older identifiers use a
  division code, so any run of 0-9A-Z is accepted).
- serial (流水号): the issuer's own number for the licence, 0-9A-Z.
- version (版本号): three digits, `001` for a first issue, incremented on change.
- check (校验位): one character.

The text of GB/T 36904-2018 is not freely available; the check-character rule used
here is ISO/IEC 7064 MOD 37,36 (the hybrid system over the 36 characters 0-9A-Z) over
the characters after the root code with the dots removed. That is what the public
implementations of government platforms do, and it reproduces the check characters of
real published identifiers (see tests/test_licence_identifier.py), e.g.
`1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from approvals.licence.errors import IdentifierError

ROOT = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M = 36  # ISO/IEC 7064 hybrid system MOD 37,36: M = 36, M + 1 = 37
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def _step(product: int, value: int) -> int:
    """One step of the hybrid system: P = ((P + a) mod M, 0 taken as M) * 2 mod (M + 1)."""
    return ((product + value) % _M or _M) * 2 % (_M + 1)


# The step as a table, P (1..M) by character: a licence is verified on every read, and
# the arithmetic per character was most of parsing its identifier.
_STEP = {p: {ch: _step(p, v) for ch, v in _VALUE.items()} for p in range(1, _M + 1)}
_SEGMENT = re.compile(r"[0-9A-Z]+")  # with fullmatch: `$` would let a trailing newline by
_VERSION = re.compile(r"[0-9]{3}")


@dataclass(frozen=True)
class LicenceIdentifier:
    """The parts of a parsed identifier."""

    type_code: str
    issuer_code: str
    serial: str
    version: int
    check: str

    def __str__(self) -> str:
        body = f"{self.type_code}.{self.issuer_code}.{self.serial}.{self.version:03d}"
        return f"{ROOT}.{body}.{self.check}"


def check_character(body: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character over `body` (dots are ignored).

    `body` is `<type code>.<issuer code>.<serial>.<version>` (with or without the dots).
    The hybrid system: P = M; for each character a: P = ((P + a) mod M, 0 taken as M)
    * 2 mod (M + 1); the check value c makes ((P + c) mod M) == 1.
    """
    chars = body.replace(".", "")
    if not chars:
        raise IdentifierError("cannot compute a check character over an empty identifier body")
    bad = [] if _SEGMENT.fullmatch(chars) else sorted({ch for ch in chars if ch not in _VALUE})
    if bad:
        raise IdentifierError(
            f"identifier body {body!r} has characters outside 0-9A-Z: {''.join(bad)}"
        )
    product = _M
    for ch in chars:
        product = _STEP[product][ch]
    return ALPHABET[(_M + 1 - product) % _M]


def _segment(value: str, what: str) -> str:
    if not _SEGMENT.fullmatch(value):
        raise IdentifierError(f"{what}: expected one or more of 0-9A-Z, found {value!r}")
    return value


def build(type_code: str, issuer_code: str, serial: str, version: int = 1) -> str:
    """The full identifier, check character included."""
    _segment(type_code, "licence type code")
    _segment(issuer_code, "issuer code")
    _segment(serial, "serial")
    if not 1 <= version <= 999:
        raise IdentifierError(f"version: expected 1..999 (three digits), found {version}")
    body = f"{type_code}.{issuer_code}.{serial}.{version:03d}"
    return f"{ROOT}.{body}.{check_character(body)}"


def parse(identifier: str) -> LicenceIdentifier:
    """Split an identifier into its parts, checking shape and check character."""
    prefix = ROOT + "."
    if not identifier.startswith(prefix):
        raise IdentifierError(
            f"licence identifier {identifier!r}: expected it to start with {prefix!r}"
        )
    parts = identifier[len(prefix) :].split(".")
    if len(parts) != 5:
        raise IdentifierError(
            f"licence identifier {identifier!r}: expected 5 parts after {ROOT} "
            f"(type code, issuer code, serial, version, check), found {len(parts)}"
        )
    type_code, issuer_code, serial, version, check = parts
    _segment(type_code, "licence type code")
    _segment(issuer_code, "issuer code")
    _segment(serial, "serial")
    if not _VERSION.fullmatch(version):
        raise IdentifierError(
            f"licence identifier {identifier!r}: version should be three digits, found {version!r}"
        )
    expected = check_character(f"{type_code}{issuer_code}{serial}{version}")
    if check != expected:
        raise IdentifierError(
            f"licence identifier {identifier!r}: check character should be {expected!r}, "
            f"found {check!r}"
        )
    return LicenceIdentifier(type_code, issuer_code, serial, int(version), check)


def is_valid(identifier: str) -> bool:
    """True when `parse` accepts the identifier."""
    try:
        parse(identifier)
    except IdentifierError:
        return False
    return True
