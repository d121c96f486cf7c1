"""Decision records, signing, the Merkle log, checkpoints, proofs and offline verification.

Storage-independent core: the service backs :class:`TreeStore` with SQL and wires
the HTTP routes and CLI commands; see ``docs/audit.md`` for the auditor's view.
"""

from approvals.audit.canonical import canonical_json
from approvals.audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from approvals.audit.errors import AuditError, KeyLoadError, OutOfRangeError, VerificationError
from approvals.audit.keys import (
    Keyring,
    SigningKey,
    VerifierKey,
    is_sandbox_key,
    load_signing_key,
    parse_verifier_key,
    sandbox_signing_key,
)
from approvals.audit.merkle import (
    MemoryTreeStore,
    MerkleLog,
    TreeStore,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from approvals.audit.record import SignedRecord, sign_record, verify_record
from approvals.audit.tlogproof import TlogProof, build_tlog_proof, verify_tlog_proof
from approvals.audit.verify import LogEntry, VerifyReport, verify_log

__all__ = [
    "AuditError",
    "Checkpoint",
    "KeyLoadError",
    "Keyring",
    "LogEntry",
    "MemoryTreeStore",
    "MerkleLog",
    "OutOfRangeError",
    "SignedRecord",
    "SigningKey",
    "TlogProof",
    "TreeStore",
    "VerificationError",
    "VerifierKey",
    "VerifyReport",
    "build_tlog_proof",
    "canonical_json",
    "is_sandbox_key",
    "leaf_hash",
    "load_signing_key",
    "open_checkpoint",
    "parse_verifier_key",
    "sandbox_signing_key",
    "sign_checkpoint",
    "sign_record",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
    "verify_record",
    "verify_tlog_proof",
]
