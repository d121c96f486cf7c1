import hashlib

import pytest

from approvals.audit.checkpoint import (
    Checkpoint,
    checkpoint_of_note,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from approvals.audit.errors import AuditError, VerificationError
from approvals.audit.keys import (
    Keyring,
    generate_signing_key,
    parse_signing_key,
    parse_verifier_key,
)
from approvals.audit.merkle import MemoryTreeStore, MerkleLog, leaf_hash
from approvals.audit.note import open_note, sign_note
from approvals.audit.tlogproof import (
    HEADER,
    TlogProof,
    build_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
)

# Known-answer example of golang.org/x/mod/sumdb/note (note_test.go: TestSign, TestOpen),
# the reference implementation of C2SP signed-note.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWL"
    "ox33WWd1RvMc+QQ=\n"
)
PETER = Keyring([PETER_VKEY])


def test_signer_reproduces_the_published_note_byte_for_byte() -> None:
    signer = parse_signing_key(PETER_SKEY, None, source="note_test.go")
    assert sign_note(TEXT, [signer]) == TEXT + "\n" + PETER_SIG


def test_verifier_accepts_the_published_note() -> None:
    note = open_note(TEXT + "\n" + PETER_SIG, PETER)
    assert note.text == TEXT
    assert [(s.name, s.key_id.hex()) for s in note.verified] == [("PeterNeumann", "c74f20a3")]
    assert note.unverified == ()


def test_unknown_signatures_are_ignored_known_ones_verified() -> None:
    note = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, PETER)
    assert [s.name for s in note.verified] == ["PeterNeumann"]
    assert [s.name for s in note.unverified] == ["EnochRoot"]
    both = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, Keyring([PETER_VKEY, ENOCH_VKEY]))
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    # Repeated identical signatures count once.
    again = open_note(TEXT + "\n" + PETER_SIG + PETER_SIG, PETER)
    assert len(again.verified) == 1


def test_no_trusted_signature_rejected() -> None:
    with pytest.raises(VerificationError, match="signatures only by unknown keys"):
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, Keyring())
    with pytest.raises(VerificationError, match="signatures only by unknown keys"):
        open_note(TEXT + "\n" + ENOCH_SIG, PETER)


def test_bad_signature_from_known_key_rejects_the_note() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError, match="known key PeterNeumann\\+c74f20a3"):
        open_note(TEXT + "\n" + bad, PETER)
    with pytest.raises(VerificationError):
        open_note(TEXT.replace("cryptography", "cryptographY") + "\n" + PETER_SIG, PETER)


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
        "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("\u2014", "-"),
        TEXT + "\n" + PETER_SIG * 101,
        TEXT + "\n" + "\u2014 PeterNeumann AAAA\n",
    ],
)
def test_malformed_notes_rejected(message: str) -> None:
    # The malformed-message table of Go's TestOpen, plus hyphen-for-em-dash and short blobs.
    with pytest.raises(VerificationError, match="well-formed C2SP signed note"):
        open_note(message, PETER)


def test_invalid_utf8_rejected() -> None:
    with pytest.raises(VerificationError, match="invalid UTF-8"):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), PETER)


def test_note_text_may_contain_blank_lines() -> None:
    key = generate_signing_key("log.example")
    text = "a\n\nb\n\n"
    opened = open_note(sign_note(text, [key]), Keyring([key.verifier]))
    assert opened.text == text


def test_sign_refuses_bad_text() -> None:
    key = generate_signing_key("log.example")
    with pytest.raises(VerificationError, match="does not end with a newline"):
        sign_note("abc", [key])
    with pytest.raises(VerificationError, match="control character"):
        sign_note("a\tb\n", [key])


# --- tlog-checkpoint ---

ORIGIN = "approvals.test/log"
ROOT = hashlib.sha256(b"root").digest()


def test_checkpoint_round_trip_and_exact_text() -> None:
    key = generate_signing_key(ORIGIN)
    cp = Checkpoint(ORIGIN, 20852163, ROOT, ("ext one",))
    note = sign_checkpoint(cp, key)
    lines = note.split("\n")
    assert lines[:4] == [ORIGIN, "20852163", cp.text.split("\n")[2], "ext one"]
    assert lines[4] == "" and lines[5].startswith(f"\u2014 {ORIGIN} ")
    assert open_checkpoint(note, Keyring([key.verifier])) == cp
    assert checkpoint_of_note(note) == cp


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("o\n5\n", "lines"),
        ("\n5\nAAAA\n", "empty origin"),
        (f"o\n05\n{'A' * 43}=\n", "leading zeroes"),
        (f"o\n-5\n{'A' * 43}=\n", "ASCII decimal"),
        (f"o\n\u0665\n{'A' * 43}=\n", "ASCII decimal"),  # ARABIC-INDIC DIGIT FIVE
        ("o\n5\nAAAA\n", "base64 of 32"),
        (f"o\n5\n{'A' * 43}=\n\n", "empty extension"),
    ],
)
def test_bad_checkpoints(text: str, why: str) -> None:
    with pytest.raises(VerificationError, match=why):
        parse_checkpoint(text)


def test_checkpoint_must_be_signed_by_its_origin_key() -> None:
    log_key, witness = generate_signing_key(ORIGIN), generate_signing_key("witness.example")
    cp = Checkpoint(ORIGIN, 3, ROOT)
    with pytest.raises(AuditError, match="expected a key named"):
        sign_checkpoint(cp, witness)
    witnessed_only = sign_note(cp.text, [witness])
    with pytest.raises(VerificationError, match="by the log key"):
        open_checkpoint(witnessed_only, Keyring([witness.verifier]))
    note = sign_checkpoint(cp, log_key)
    with pytest.raises(VerificationError, match="checkpoint origin"):
        open_checkpoint(note, Keyring([log_key.verifier]), origin="other.log")


def test_checkpoint_by_rotated_key_verifies_with_both_in_keyring() -> None:
    old, new = generate_signing_key(ORIGIN), generate_signing_key(ORIGIN)
    ring = Keyring([old.verifier, new.verifier])
    assert open_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), old), ring).size == 1
    assert open_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, 2, ROOT), new), ring).size == 2


# --- tlog-proof ---

def _log_and_note(n: int, tag: str = "leaf") -> tuple[MerkleLog, str, Keyring, list[bytes]]:
    key = generate_signing_key(ORIGIN)
    leaves = [f"{tag} {i}".encode() for i in range(n)]
    log = MerkleLog(MemoryTreeStore())
    log.append(leaves)
    note = sign_checkpoint(Checkpoint(ORIGIN, n, log.root()), key)
    return log, note, Keyring([key.verifier]), leaves


def test_tlog_proof_build_format_parse_verify() -> None:
    log, note, ring, leaves = _log_and_note(11)
    proof = build_tlog_proof(log, 6, note, extra=b"decision D-6")
    text = proof.text
    lines = text.split("\n")
    assert lines[0] == HEADER
    assert lines[1] == "extra ZGVjaXNpb24gRC02"
    assert lines[2] == "index 6"
    assert text.endswith("\n\n" + note)
    assert parse_tlog_proof(text) == proof
    got, cp = verify_tlog_proof(text, leaf_hash(leaves[6]), ring, origin=ORIGIN)
    assert (got.index, cp.size) == (6, 11)
    with pytest.raises(VerificationError):
        verify_tlog_proof(text, leaf_hash(leaves[5]), ring)


def test_tlog_proof_without_extra_and_single_leaf() -> None:
    log, note, ring, leaves = _log_and_note(1)
    proof = build_tlog_proof(log, 0, note)
    assert proof.text == f"{HEADER}\nindex 0\n\n{note}"
    verify_tlog_proof(proof.text, leaf_hash(leaves[0]), ring)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace(HEADER, "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace("index 6", "index 06"),
        lambda t: t.replace("index 6", "index 5"),
        lambda t: t.replace("index 6", "idx 6"),
        lambda t: t.replace("\n\n", "\n", 1),
    ],
)
def test_tlog_proof_mangled(mangle: object) -> None:
    log, note, ring, leaves = _log_and_note(11)
    text = build_tlog_proof(log, 6, note).text
    with pytest.raises(VerificationError):
        verify_tlog_proof(mangle(text), leaf_hash(leaves[6]), ring)  # type: ignore[operator]


def test_tlog_proof_refuses_checkpoint_of_another_log() -> None:
    log, _, _, _ = _log_and_note(4)
    _, other_note, _, _ = _log_and_note(4, tag="other")
    with pytest.raises(VerificationError, match="another log"):
        build_tlog_proof(log, 1, other_note)


def test_tlog_proof_with_stray_proof_line() -> None:
    proof = TlogProof(0, (), "x")
    with pytest.raises(VerificationError, match="proof line"):
        parse_tlog_proof(proof.text.replace("index 0\n", "index 0\nnot-base64\n"))


def test_verifier_key_text_is_go_compatible_form() -> None:
    key = generate_signing_key(ORIGIN)
    assert parse_verifier_key(key.verifier.text) == key.verifier
