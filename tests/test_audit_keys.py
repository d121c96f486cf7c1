import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from approvals.audit.errors import KeyLoadError, VerificationError
from approvals.audit.keys import (
    SANDBOX_SEED,
    SIGNING_KEY_ENV,
    Keyring,
    SigningKey,
    ed25519_key_id,
    generate_signing_key,
    is_sandbox_key,
    load_signing_key,
    parse_signing_key,
    parse_verifier_key,
    sandbox_signing_key,
)

# golang.org/x/mod/sumdb/note note_test.go (TestNewVerifier / TestNewSigner).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"


def test_known_verifier_key_parses_and_round_trips() -> None:
    key = parse_verifier_key(PETER_VKEY)
    assert key.name == "PeterNeumann"
    assert key.key_id == bytes.fromhex("c74f20a3")
    assert key.text == PETER_VKEY
    assert key.record_key_id == "PeterNeumann+c74f20a3"
    assert parse_verifier_key(ENOCH_VKEY).key_id_hex == "af0cfe78"


def test_key_id_is_the_c2sp_formula() -> None:
    key = parse_verifier_key(PETER_VKEY)
    want = hashlib.sha256(b"PeterNeumann\n\x01" + key.public_key).digest()[:4]
    assert ed25519_key_id("PeterNeumann", key.public_key) == want == key.key_id


def test_mangled_verifier_keys_refused() -> None:
    # As in Go's TestNewVerifier: every proper substring and every single-byte bump fails.
    b = PETER_VKEY.encode()
    bad = [b[i:j] for i in range(len(b) + 1) for j in range(i + 1, len(b) + 1)
           if (i, j) != (0, len(b))]
    bad += [b[:i] + bytes([b[i] + 1]) + b[i + 1:] for i in range(len(b))]
    for candidate in bad:
        with pytest.raises(KeyLoadError):
            parse_verifier_key(candidate.decode("latin-1"))


def test_go_signer_key_loads_to_the_matching_public_key() -> None:
    signer = parse_signing_key(PETER_SKEY, None, source="test")
    assert signer.verifier == parse_verifier_key(PETER_VKEY)
    with pytest.raises(KeyLoadError, match="expected key name 'Other'"):
        parse_signing_key(PETER_SKEY, "Other", source="test")
    # The variant in the task brief ends differently from Go's published key: its ID mismatches.
    wrong = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxEXUKYE1"
    with pytest.raises(KeyLoadError, match="key ID does not match"):
        parse_signing_key(wrong, None, source="test")


def _pem(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_load_from_pem_file_and_seed_file(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    pem = tmp_path / "log.pem"
    pem.write_bytes(_pem(private))
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw = tmp_path / "log.seed"
    raw.write_text(base64.b64encode(seed).decode() + "\n")
    a = load_signing_key("log.example/a", path=pem)
    b = load_signing_key("log.example/a", path=raw)
    assert a.public_key == b.public_key
    assert a.verifier.verify(b"m", b.sign(b"m"))


def test_load_from_environment_and_errors_never_echo_material(tmp_path: Path) -> None:
    seed_b64 = base64.b64encode(bytes(range(32))).decode()
    key = load_signing_key("log.example/a", environ={SIGNING_KEY_ENV: seed_b64})
    assert key.public_key == SigningKey.from_seed("x", bytes(range(32))).public_key

    secretish = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="  # valid base64, wrong length
    with pytest.raises(KeyLoadError) as err:
        load_signing_key("n", environ={SIGNING_KEY_ENV: secretish})
    assert secretish not in str(err.value)
    assert SIGNING_KEY_ENV in str(err.value)

    with pytest.raises(KeyLoadError, match="found neither"):
        load_signing_key("n", environ={})
    with pytest.raises(KeyLoadError, match="cannot read"):
        load_signing_key("n", path=tmp_path / "missing.pem")


def test_non_ed25519_pem_refused(tmp_path: Path) -> None:
    ec = generate_private_key(SECP256R1())
    pem = ec.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())
    with pytest.raises(KeyLoadError, match="expected an Ed25519 private key"):
        parse_signing_key(pem, "n", source="k.pem")


def test_repr_and_str_hide_private_key() -> None:
    seed = bytes(range(32))
    key = SigningKey.from_seed("log.example/a", seed)
    for shown in (repr(key), str(key), f"{key}"):
        assert "hidden" in shown
        assert seed.hex() not in shown
        assert base64.b64encode(seed).decode() not in shown
    with pytest.raises(TypeError):
        __import__("pickle").dumps(key)


def test_sandbox_key_is_derived_and_detected() -> None:
    assert hashlib.sha256(b"approvals-sandbox-log-key").digest() == SANDBOX_SEED
    sandbox = sandbox_signing_key("any.name/log")
    assert is_sandbox_key(sandbox)
    assert is_sandbox_key(sandbox.verifier)
    assert is_sandbox_key(sandbox_signing_key("other.name/log"))
    assert not is_sandbox_key(generate_signing_key("any.name/log"))


@pytest.mark.parametrize("name", ["", "a+b", "a b", "a\u3000b", "tab\tname"])
def test_bad_key_names(name: str) -> None:
    with pytest.raises(KeyLoadError):
        SigningKey.from_seed(name, bytes(32))


def test_keyring_rotation_and_lookup() -> None:
    old, new = generate_signing_key("log.example/a"), generate_signing_key("log.example/a")
    ring = Keyring([old.verifier, new.verifier.text])
    assert len(ring) == 2
    assert ring.get(old.record_key_id) == old.verifier
    assert ring.get(new.record_key_id) == new.verifier
    with pytest.raises(VerificationError, match="expected one of the trusted keys"):
        ring.get("log.example/a+00000000")
    with pytest.raises(VerificationError):
        ring.get("garbage")


def test_a_key_added_after_a_failed_lookup_is_found() -> None:
    ring = Keyring()
    key = generate_signing_key("rotation.example/log").verifier
    with pytest.raises(VerificationError):
        ring.get(key.record_key_id)  # not trusted yet: a failure is not remembered
    ring.add(key)
    assert ring.get(key.record_key_id) is key
    assert ring.get(key.record_key_id) is key  # the second lookup from memory
