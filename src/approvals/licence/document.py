"""The electronic licence document (电子证照): shape, canonical form, signature.

The JSON shape is fixed in docs/architecture.md. The issuer signs the RFC 8785
(JSON Canonicalization Scheme) serialisation of the licence without `signature` and
`status`: status belongs to the store (it changes on revocation, which must not
invalidate the issuer's signature).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field

from approvals.audit.canonical import encode_canonical
from approvals.licence import identifier as ident
from approvals.licence.errors import (
    BadSignature,
    IdentifierError,
    NonConforming,
    UnknownKey,
    VerificationError,
)
from approvals.licence.keys import key_id_of
from approvals.licence.trust import TrustList
from approvals.signatures import VERIFIED

Status = Literal["valid", "revoked"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Holder(_Model):
    id_number: str = Field(min_length=1, description="Citizen ID number or USCC of the holder")
    name: str = Field(min_length=1)


class IssuerRef(_Model):
    id: str = Field(min_length=1, description="Issuer id in licences/issuers/")
    code: str = Field(min_length=1, description="The issuer's USCC (统一社会信用代码)")
    name: str = Field(min_length=1)


class Signature(_Model):
    alg: Literal["Ed25519"] = "Ed25519"
    key_id: str = Field(pattern=r"^[0-9a-f]{8}$")
    value: str = Field(description="Standard base64 of the 64-byte Ed25519 signature")


class Licence(_Model):
    licence_id: str = Field(description="GB/T 36904 identifier, 1.2.156.3005.2.…")
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type_name: str
    number: str = Field(min_length=1, description="The number printed on the licence")
    holder: Holder
    issuer: IssuerRef
    issue_date: dt.date
    valid_from: dt.date
    valid_to: dt.date | None = Field(
        default=None, description="Last valid day; null for licences without expiry (长期)"
    )
    fields: dict[str, Any] = Field(default_factory=dict)
    status: Status = "valid"
    signature: Signature | None = None


def signing_payload(licence: Licence) -> bytes:
    """RFC 8785 canonical JSON of the licence without `signature` and `status`."""
    body = licence.model_dump(mode="json", exclude={"signature", "status"})
    return encode_canonical(body)


def sign(licence: Licence, issuer_private_key: Ed25519PrivateKey, key_id: str) -> Licence:
    """Return a copy of `licence` carrying the issuer's signature.

    `key_id` must name `issuer_private_key` (see `approvals.licence.keys.key_id_of`);
    a mismatch is a programming error caught here rather than by every verifier later.
    """
    actual = key_id_of(issuer_private_key)
    if key_id != actual:
        raise UnknownKey(f"key id {key_id!r} does not name this private key (its id is {actual!r})")
    value = issuer_private_key.sign(signing_payload(licence))
    signature = Signature(key_id=key_id, value=base64.b64encode(value).decode("ascii"))
    return licence.model_copy(update={"signature": signature})


def verify(licence: Licence, trust: TrustList) -> None:
    """Check a licence against the trust list; raise a `VerificationError` if it fails.

    Steps, in the order an examiner would take them:
    1. the licence is signed, with Ed25519;
    2. the issuer is on the trust list (`UnknownIssuer` otherwise);
    3. the key id is one of the issuer's keys, valid on the issue date (key rotation);
    4. the signature verifies over the canonical form (`BadSignature`);
    5. the issuer's code and name agree with the trust list;
    6. the licence type is known, its name agrees, and this issuer may issue it;
    7. the identifier is well formed, its check character is right, and it names
       this type and this issuer;
    8. the fields are exactly the type's fields, with the declared types;
    9. the dates are in order.
    """
    # 1.
    if licence.signature is None:
        raise BadSignature(f"licence {licence.licence_id}: expected a signature, found none")
    # 2.
    issuer = trust.issuer(licence.issuer.id)
    # 3.
    key = issuer.key(licence.signature.key_id, on=licence.issue_date)
    # 4.
    try:
        raw = base64.b64decode(licence.signature.value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSignature(
            f"licence {licence.licence_id}: signature value is not base64 ({exc})"
        ) from exc
    try:
        VERIFIED.verify(key.verifier(), raw, signing_payload(licence))
    except InvalidSignature as exc:
        raise BadSignature(
            f"licence {licence.licence_id}: expected a valid Ed25519 signature by "
            f"{issuer.id} key {key.key_id} over the canonical licence, found one that does "
            "not verify (the content was altered or signed with another key)"
        ) from exc
    # 5.
    if licence.issuer.code != issuer.code:
        raise NonConforming(
            f"licence {licence.licence_id}: issuer {issuer.id} has code {issuer.code}, "
            f"found {licence.issuer.code}"
        )
    if licence.issuer.name != issuer.name.zh:
        raise NonConforming(
            f"licence {licence.licence_id}: issuer {issuer.id} is named {issuer.name.zh}, "
            f"found {licence.issuer.name}"
        )
    # 6.
    kind = trust.licence_type(licence.type)
    if licence.type_name != kind.name.zh:
        raise NonConforming(
            f"licence {licence.licence_id}: type {kind.type} is named {kind.name.zh}, "
            f"found {licence.type_name}"
        )
    if issuer.id not in kind.issuers:
        raise NonConforming(
            f"licence {licence.licence_id}: type {kind.type} may be issued by "
            f"{', '.join(kind.issuers)}, found {issuer.id}"
        )
    # 7.
    try:
        parts = ident.parse(licence.licence_id)
    except IdentifierError as exc:
        raise NonConforming(str(exc)) from exc
    if parts.type_code != kind.code:
        raise NonConforming(
            f"licence {licence.licence_id}: identifier should carry type code {kind.code} "
            f"({kind.type}), found {parts.type_code}"
        )
    if parts.issuer_code != issuer.code:
        raise NonConforming(
            f"licence {licence.licence_id}: identifier should carry issuer code {issuer.code}, "
            f"found {parts.issuer_code}"
        )
    # 8.
    problems = kind.field_problems(licence.fields)
    if problems:
        raise NonConforming(f"licence {licence.licence_id}: {'; '.join(problems)}")
    # 9.
    if licence.valid_to is not None and licence.valid_to < licence.valid_from:
        raise NonConforming(
            f"licence {licence.licence_id}: valid_to {licence.valid_to} is before "
            f"valid_from {licence.valid_from}"
        )


def is_verified(licence: Licence, trust: TrustList) -> bool:
    """True when `verify` passes (for callers that record a boolean, like the sources layer)."""
    try:
        verify(licence, trust)
    except VerificationError:
        return False
    return True
