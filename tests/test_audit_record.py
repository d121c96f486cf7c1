import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from approvals.audit.canonical import canonical_json
from approvals.audit.errors import AuditError, VerificationError
from approvals.audit.keys import Keyring, SigningKey, generate_signing_key
from approvals.audit.merkle import leaf_hash
from approvals.audit.record import sign_record, verify_record

ORIGIN = "approvals.test/log"

RECORD = {
    "decision_id": "D-1",
    "applicant": {"id_number": "440300195001011234", "name": "张三"},
    "item": {"code": "mz-senior-card", "version": "2024.1"},
    "outcome": "approve",
    "reasons": [],
    "application_date": dt.date(2024, 3, 1),
    "decided_at": dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC),
}


@pytest.fixture
def key() -> SigningKey:
    return generate_signing_key(ORIGIN)


def test_signed_bytes_leaf_and_hash(key: SigningKey) -> None:
    signed = sign_record(RECORD, key)
    assert signed.record["key_id"] == key.record_key_id
    assert signed.record["log_origin"] == ORIGIN
    assert signed.signed_bytes == canonical_json(signed.record)
    assert key.verifier.verify(signed.signed_bytes, signed.signature)
    envelope = {
        "record": signed.record,
        "signature": {
            "alg": "Ed25519",
            "key_id": key.record_key_id,
            "value": base64.b64encode(signed.signature).decode(),
        },
    }
    assert signed.leaf == canonical_json(envelope)
    assert signed.leaf_hash == leaf_hash(signed.leaf)
    assert signed.leaf.startswith(b'{"record":' + signed.signed_bytes + b',"signature":')
    assert "key_id" not in RECORD  # the caller's dict is not mutated


def test_verify_returns_the_record(key: SigningKey) -> None:
    signed = sign_record(RECORD, key)
    for canonical in (True, False):
        got = verify_record(signed.leaf, Keyring([key.verifier]), check_canonical=canonical)
        assert got == signed.record
        assert got["decided_at"] == "2024-03-01T02:00:00Z"


def test_record_cannot_claim_another_key(key: SigningKey) -> None:
    with pytest.raises(AuditError, match=r"expected .*\(the signing key\)"):
        sign_record({**RECORD, "key_id": "someone+00000000"}, key)
    with pytest.raises(AuditError, match="log_origin"):
        sign_record({**RECORD, "log_origin": "other.log"}, key)


def _mutate(leaf: bytes, fn: Callable[[Any], None]) -> bytes:
    obj = json.loads(leaf)
    fn(obj)
    return canonical_json(obj)


@pytest.mark.parametrize("canonical", [True, False])
def test_tampering_detected(key: SigningKey, canonical: bool) -> None:
    ring = Keyring([key.verifier])
    leaf = sign_record(RECORD, key).leaf

    def outcome(o: Any) -> None:
        o["record"]["outcome"] = "reject"

    with pytest.raises(VerificationError, match="record signature: expected a valid Ed25519"):
        verify_record(_mutate(leaf, outcome), ring, check_canonical=canonical)

    def origin(o: Any) -> None:
        o["record"]["log_origin"] = "elsewhere"

    with pytest.raises(VerificationError, match="log_origin"):
        verify_record(_mutate(leaf, origin), ring, check_canonical=canonical)

    def alg(o: Any) -> None:
        o["signature"]["alg"] = "RS256"

    with pytest.raises(VerificationError, match="expected Ed25519, found 'RS256'"):
        verify_record(_mutate(leaf, alg), ring, check_canonical=canonical)

    def sig_len(o: Any) -> None:
        o["signature"]["value"] = base64.b64encode(b"x" * 63).decode()

    with pytest.raises(VerificationError, match="base64 of 64 bytes"):
        verify_record(_mutate(leaf, sig_len), ring, check_canonical=canonical)

    with pytest.raises(VerificationError, match="UTF-8 JSON"):
        verify_record(leaf[:-1], ring, check_canonical=canonical)


def test_every_single_byte_change_is_rejected(key: SigningKey) -> None:
    ring = Keyring([key.verifier])
    leaf = sign_record({"outcome": "approve", "n": 1}, key).leaf
    for i in range(len(leaf)):
        for delta in (1, 0x20):
            bad = leaf[:i] + bytes([(leaf[i] + delta) % 256]) + leaf[i + 1:]
            with pytest.raises(AuditError):
                verify_record(bad, ring)


def test_non_canonical_leaf_refused_in_strict_mode(key: SigningKey) -> None:
    ring = Keyring([key.verifier])
    leaf = sign_record(RECORD, key).leaf
    pretty = json.dumps(json.loads(leaf), indent=1, ensure_ascii=False).encode()
    with pytest.raises(VerificationError, match="leaf encoding"):
        verify_record(pretty, ring)
    with pytest.raises(VerificationError, match="leaf layout"):
        verify_record(pretty, ring, check_canonical=False)


def test_rotation_old_records_still_verify() -> None:
    old, new = generate_signing_key(ORIGIN), generate_signing_key(ORIGIN)
    ring = Keyring([old.verifier, new.verifier])
    a, b = sign_record(RECORD, old), sign_record(RECORD, new)
    assert verify_record(a.leaf, ring)["key_id"] == old.record_key_id
    assert verify_record(b.leaf, ring)["key_id"] == new.record_key_id
    with pytest.raises(VerificationError, match="trusted keys"):
        verify_record(a.leaf, Keyring([new.verifier]))


def test_resigning_with_another_key_does_not_pass(key: SigningKey) -> None:
    # An attacker re-signs an altered record with their own key; it is not in the keyring.
    attacker = generate_signing_key(ORIGIN)
    forged = sign_record({**RECORD, "outcome": "reject"}, attacker)
    with pytest.raises(VerificationError, match="record key"):
        verify_record(forged.leaf, Keyring([key.verifier]))
