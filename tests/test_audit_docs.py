"""docs/audit.md must stay true: its example is regenerated and its scripts are run."""

import base64
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from approvals.audit import (
    Checkpoint,
    MemoryTreeStore,
    MerkleLog,
    build_tlog_proof,
    leaf_hash,
    sandbox_signing_key,
    sign_checkpoint,
    sign_record,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "audit.md"
ORIGIN = "sandbox.approvals.example/log"


def _snippet(name: str) -> str:
    match = re.search(
        rf"<!-- snippet: {re.escape(name)} -->\n```\w+\n(.*?)```", DOC.read_text(), re.S
    )
    assert match, f"snippet {name} missing from docs/audit.md"
    return match.group(1)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The doc's example log: sandbox key (deterministic), five decisions."""
    key = sandbox_signing_key(ORIGIN)
    leaves = [sign_record({"decision_id": f"D-{i}", "outcome": "approve"}, key).leaf
              for i in range(5)]
    log = MerkleLog(MemoryTreeStore())
    log.append(leaves)
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, log.root()), key)
    (tmp_path / "leaf-3.json").write_bytes(leaves[3])
    (tmp_path / "checkpoint.txt").write_text(note)
    (tmp_path / "verifier.key").write_text(key.verifier.text + "\n")
    (tmp_path / "proof-3.tlog-proof").write_text(build_tlog_proof(log, 3, note).text)
    (tmp_path / "saved-checkpoint.txt").write_text(
        sign_checkpoint(Checkpoint(ORIGIN, 2, log.root(2)), key)
    )
    (tmp_path / "consistency-2-5.txt").write_text(
        "".join(base64.b64encode(h).decode() + "\n" for h in log.consistency_proof(2, 5))
    )
    for name in ("check_inclusion.py", "check_consistency.py", "by-hand.sh"):
        (tmp_path / name).write_text(_snippet(name))
    return tmp_path


def test_doc_example_is_what_the_code_produces(example: Path) -> None:
    doc = DOC.read_text()
    assert (example / "leaf-3.json").read_text() in doc
    assert (example / "verifier.key").read_text().strip() in doc
    assert (example / "proof-3.tlog-proof").read_text().strip() in doc


def _run(example: Path, *args: str) -> str:
    done = subprocess.run(args, cwd=example, capture_output=True, text=True, check=True)
    return done.stdout


def test_doc_inclusion_script(example: Path) -> None:
    out = _run(example, sys.executable, "check_inclusion.py", "proof-3.tlog-proof", "leaf-3.json")
    assert out.startswith("included - leaf 3 of 5")
    (example / "other.json").write_bytes((example / "leaf-3.json").read_bytes() + b" ")
    out = _run(example, sys.executable, "check_inclusion.py", "proof-3.tlog-proof", "other.json")
    assert out.startswith("NOT INCLUDED")


def test_doc_consistency_script(example: Path) -> None:
    args = ("check_consistency.py", "saved-checkpoint.txt", "checkpoint.txt")
    assert _run(example, sys.executable, *args, "consistency-2-5.txt") == "consistent (2 -> 5)\n"
    proof = (example / "consistency-2-5.txt").read_text().split()
    (example / "bad.txt").write_text("\n".join(reversed(proof)) + "\n")
    assert _run(example, sys.executable, *args, "bad.txt").startswith("NOT CONSISTENT")


@pytest.mark.skipif(
    not all(shutil.which(t) for t in ("bash", "openssl", "xxd", "sha256sum", "python3")),
    reason="needs bash, openssl, xxd, sha256sum and python3",
)
def test_doc_shell_commands(example: Path) -> None:
    out = _run(example, "bash", "-e", "by-hand.sh")
    assert out.count("Signature Verified Successfully") == 2
    assert leaf_hash((example / "leaf-3.json").read_bytes()).hex() in out
    key_id = (example / "verifier.key").read_text().split("+")[1]
    assert f"\n{key_id}\n" in out
