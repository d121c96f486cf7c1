"""Turn the fixture file's unsigned licences into signed ones (or deliberate forgeries).

Each licence gets its GB/T 36904 identifier from the type's catalogue code, the
issuer's USCC and the fixture's serial and version, and is signed by the issuer's
sandbox key that was current on its issue date (so rotated keys are exercised).
"""

from __future__ import annotations

import base64

from approvals.licence import identifier
from approvals.licence.document import Holder, IssuerRef, Licence, sign
from approvals.licence.keys import key_id_of
from approvals.licence.trust import TrustList
from approvals.sandbox.fixtures import FixtureError, Fixtures, LicenceFixture
from approvals.sandbox.keys import issuer_private_key, signing_key


def signed_licences(fixtures: Fixtures, trust: TrustList) -> list[Licence]:
    """Every fixture licence, signed, with forgeries made as their `tamper` mark says."""
    names = {p.id_number: p.name for p in fixtures.people}
    return [_materialise(item, index, names, trust) for index, item in enumerate(fixtures.licences)]


def _materialise(
    item: LicenceFixture, index: int, names: dict[str, str], trust: TrustList
) -> Licence:
    where = f"licences[{index}] ({item.type} of {item.holder})"
    holder_name = item.holder_name or names.get(item.holder)
    if holder_name is None:
        raise FixtureError(f"{where}: holder {item.holder} is not a person; give holder_name")
    if item.type not in trust.types:
        raise FixtureError(
            f"{where}: unknown licence type {item.type!r} (known: {', '.join(sorted(trust.types))})"
        )
    kind = trust.types[item.type]
    if item.tamper == "unknown-issuer":
        if item.issuer in trust.issuers:
            raise FixtureError(
                f"{where}: tamper unknown-issuer needs an issuer not on the trust list"
            )
        assert item.issuer_code is not None and item.issuer_name is not None  # model validator
        issuer = IssuerRef(id=item.issuer, code=item.issuer_code, name=item.issuer_name)
        key = issuer_private_key(item.issuer)
        key_id = key_id_of(key)
    else:
        if item.issuer not in trust.issuers:
            raise FixtureError(
                f"{where}: unknown issuer {item.issuer!r} "
                f"(known: {', '.join(sorted(trust.issuers))})"
            )
        known = trust.issuers[item.issuer]
        issuer = IssuerRef(id=known.id, code=known.code, name=known.name.zh)
        key, key_id = signing_key(trust, known.id, item.issue_date)
    licence_id = identifier.build(kind.code, issuer.code, item.serial, item.version)
    if item.tamper == "bad-identifier":
        # Same identifier with the next check character: signed as is, so only the
        # identifier check can catch it.
        right = licence_id[-1]
        wrong = identifier.ALPHABET[(identifier.ALPHABET.index(right) + 1) % 36]
        licence_id = licence_id[:-1] + wrong
    draft = Licence(
        licence_id=licence_id,
        type=kind.type,
        type_name=kind.name.zh,
        number=item.number,
        holder=Holder(id_number=item.holder, name=holder_name),
        issuer=issuer,
        issue_date=item.issue_date,
        valid_from=item.valid_from,
        valid_to=item.valid_to,
        fields=dict(item.fields),
        status=item.status,
    )
    signed = sign(draft, key, key_id)
    if item.tamper != "bad-signature":
        return signed
    assert signed.signature is not None
    if item.after_signing:
        data = signed.model_dump(mode="json")
        data.update(item.after_signing)
        return Licence.model_validate(data)
    raw = bytearray(base64.b64decode(signed.signature.value))
    raw[-1] ^= 0x01
    corrupted = signed.signature.model_copy(update={"value": base64.b64encode(raw).decode()})
    return signed.model_copy(update={"signature": corrupted})
