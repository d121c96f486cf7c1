"""Signing and verifying licences against the trust list; loading the trust list."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from approvals.licence import (
    BadSignature,
    Holder,
    IssuerRef,
    Licence,
    NonConforming,
    TrustList,
    TrustListError,
    UnknownIssuer,
    UnknownKey,
    identifier,
    sign,
    signing_payload,
    verify,
)
from approvals.licence.keys import key_id_of, public_key_b64
from approvals.sandbox.keys import issuer_private_key, signing_key

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trust() -> TrustList:
    return TrustList.load(REPO / "licences")


def draft(trust: TrustList, issue: dt.date = dt.date(2024, 7, 1)) -> Licence:
    kind = trust.types["driving_licence"]
    issuer = trust.issuers["sz-traffic-police"]
    return Licence(
        licence_id=identifier.build(kind.code, issuer.code, "2024000001"),
        type="driving_licence",
        type_name=kind.name.zh,
        number="440305198805129116",
        holder=Holder(id_number="440305198805129116", name="陈建国"),
        issuer=IssuerRef(id=issuer.id, code=issuer.code, name=issuer.name.zh),
        issue_date=issue,
        valid_from=issue,
        valid_to=dt.date(2034, 7, 1),
        fields={"class": "C1", "first_issue_date": "2015-03-10"},
    )


def signed(trust: TrustList, licence: Licence) -> Licence:
    key, key_id = signing_key(trust, licence.issuer.id, licence.issue_date)
    return sign(licence, key, key_id)


def test_sign_then_verify(trust: TrustList) -> None:
    licence = signed(trust, draft(trust))
    verify(licence, trust)
    assert licence.signature is not None and licence.signature.key_id == "c38d3a1a"


def test_payload_is_canonical_and_excludes_signature_and_status(trust: TrustList) -> None:
    licence = signed(trust, draft(trust))
    payload = signing_payload(licence)
    assert b'"signature"' not in payload and b'"status"' not in payload
    assert payload.startswith(b'{"fields":{"class":"C1"')  # RFC 8785: keys sorted
    assert signing_payload(licence.model_copy(update={"status": "revoked"})) == payload
    verify(licence.model_copy(update={"status": "revoked"}), trust)  # status is the store's


@pytest.mark.parametrize(
    "change",
    [
        {"valid_to": dt.date(2044, 7, 1)},
        {"fields": {"class": "A1", "first_issue_date": "2015-03-10"}},
        {"holder": Holder(id_number="440305198805129116", name="陈建华")},
        {"number": "440305198805129117"},
    ],
)
def test_tampered_content_fails(trust: TrustList, change: dict[str, object]) -> None:
    licence = signed(trust, draft(trust)).model_copy(update=change)
    with pytest.raises(BadSignature, match="does not verify"):
        verify(licence, trust)


def test_wrong_key_fails(trust: TrustList) -> None:
    other = issuer_private_key("sz-transport")
    forged = sign(draft(trust), other, key_id_of(other))
    with pytest.raises(UnknownKey, match="has keys 9952c7ad, c38d3a1a, found key id 'ae359aaa'"):
        verify(forged, trust)
    # Right key id, wrong key: the signature itself fails.
    good = signed(trust, draft(trust))
    assert good.signature is not None and forged.signature is not None
    mixed = good.model_copy(
        update={"signature": good.signature.model_copy(update={"value": forged.signature.value})}
    )
    with pytest.raises(BadSignature):
        verify(mixed, trust)


def test_rotated_key_only_covers_its_period(trust: TrustList) -> None:
    old = issuer_private_key("sz-traffic-police", 1)
    licence = sign(draft(trust, dt.date(2024, 7, 1)), old, key_id_of(old))
    with pytest.raises(UnknownKey, match="signs licences issued 1970-01-01 to 2022-12-31"):
        verify(licence, trust)
    verify(signed(trust, draft(trust, dt.date(2020, 7, 1))), trust)


def test_unknown_issuer(trust: TrustList) -> None:
    fake = issuer_private_key("sz-fake-dmv")
    licence = draft(trust).model_copy(
        update={"issuer": IssuerRef(id="sz-fake-dmv", code="11440300MB2C10008N", name="假")}
    )
    with pytest.raises(UnknownIssuer, match="found 'sz-fake-dmv'"):
        verify(sign(licence, fake, key_id_of(fake)), trust)


def test_identifier_and_fields_must_conform(trust: TrustList) -> None:
    base = draft(trust)
    bad_check = base.model_copy(update={"licence_id": base.licence_id[:-1] + "0"})
    if bad_check.licence_id == base.licence_id:
        bad_check = base.model_copy(update={"licence_id": base.licence_id[:-1] + "1"})
    with pytest.raises(NonConforming, match="check character should be"):
        verify(signed(trust, bad_check), trust)
    other_type = base.model_copy(
        update={
            "licence_id": identifier.build(
                trust.types["residence_permit"].code, base.issuer.code, "2024000001"
            )
        }
    )
    with pytest.raises(NonConforming, match="should carry type code 11100000000013338W901"):
        verify(signed(trust, other_type), trust)
    bad_field = base.model_copy(
        update={"fields": {"class": "Z9", "first_issue_date": "2015-03-10"}}
    )
    with pytest.raises(NonConforming, match="expected one of A1"):
        verify(signed(trust, bad_field), trust)
    missing = base.model_copy(update={"fields": {"class": "C1"}})
    with pytest.raises(NonConforming, match="'first_issue_date' \\(date\\) is required"):
        verify(signed(trust, missing), trust)


def test_issuer_not_allowed_for_type(trust: TrustList) -> None:
    base = draft(trust)
    transport = trust.issuers["sz-transport"]
    licence = base.model_copy(
        update={
            "issuer": IssuerRef(id=transport.id, code=transport.code, name=transport.name.zh),
            "licence_id": identifier.build(base.licence_id.split(".")[5], transport.code, "1"),
        }
    )
    with pytest.raises(
        NonConforming, match="may be issued by sz-traffic-police, found sz-transport"
    ):
        verify(signed(trust, licence), trust)


def test_committed_public_keys_match_sandbox_derivation(trust: TrustList) -> None:
    for issuer in trust.issuers.values():
        for generation, key in enumerate(issuer.keys, start=1):
            assert key.public_key == public_key_b64(issuer_private_key(issuer.id, generation))


def copy_licences(tmp_path: Path) -> Path:
    root = tmp_path / "licences"
    shutil.copytree(REPO / "licences", root)
    return root


def test_trust_list_errors_name_file_line_and_field(tmp_path: Path) -> None:
    root = copy_licences(tmp_path)
    path = root / "issuers" / "sz-transport.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("11440300MB2C100038", "11440300MB2C100039")
    )
    with pytest.raises(TrustListError) as caught:
        TrustList.load(root)
    assert str(caught.value).startswith(
        f"{path}:3: code: USCC '11440300MB2C100039': check character"
    )

    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("11440300MB2C100039", "11440300MB2C100038")
        .replace("key_id: ae359aaa", "key_id: ae359aab")
    )
    with pytest.raises(
        TrustListError, match=r"sz-transport.yaml:8: keys.0: key_id should be 'ae359aaa'"
    ):
        TrustList.load(root)


def test_trust_list_unknown_issuer_and_typo(tmp_path: Path) -> None:
    root = copy_licences(tmp_path)
    path = root / "types" / "residence_permit.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("[sz-public-security]", "[sz-police]"))
    with pytest.raises(
        TrustListError, match=r"residence_permit.yaml:\d+: issuers: unknown issuer 'sz-police'"
    ):
        TrustList.load(root)
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("[sz-police]", "[sz-public-security]")
        .replace("fields:", "feilds:")
    )
    with pytest.raises(
        TrustListError, match=r"residence_permit.yaml:\d+: feilds: Extra inputs are not permitted"
    ):
        TrustList.load(root)
