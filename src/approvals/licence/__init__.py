"""Electronic licences (电子证照): identifiers, codes, the signed document, the trust list."""

from approvals.licence.document import (
    Holder,
    IssuerRef,
    Licence,
    Signature,
    is_verified,
    sign,
    signing_payload,
    verify,
)
from approvals.licence.errors import (
    BadSignature,
    IdentifierError,
    InvalidCode,
    LicenceError,
    NonConforming,
    TrustListError,
    UnknownIssuer,
    UnknownKey,
    VerificationError,
)
from approvals.licence.trust import Issuer, LicenceType, TrustList, licences_dir

__all__ = [
    "BadSignature",
    "Holder",
    "IdentifierError",
    "InvalidCode",
    "Issuer",
    "IssuerRef",
    "Licence",
    "LicenceError",
    "LicenceType",
    "NonConforming",
    "Signature",
    "TrustList",
    "TrustListError",
    "UnknownIssuer",
    "UnknownKey",
    "VerificationError",
    "is_verified",
    "licences_dir",
    "sign",
    "signing_payload",
    "verify",
]
