"""Offline verification of an exported decision log, as an auditor would do it by hand.

Given the log's leaves (in index order), its latest signed checkpoint, the trusted
verifier keys and, optionally, a checkpoint the auditor saved earlier:

1. every record signature verifies under a trusted key, names that key, and
   belongs to this log (``log_origin`` is the checkpoint origin);
2. every leaf hash is ``SHA-256(0x00 || leaf)`` (RFC 9162 §2.1.1) and matches the
   stored hash and index, where the export supplies them;
3. the root recomputed from the leaves (RFC 9162 §2.1.1 MTH) equals the
   checkpoint's root hash, and the number of leaves equals its tree size;
4. the checkpoint is a C2SP signed note signed by the trusted log key;
5. the earlier checkpoint is signed by the log and is a prefix of this log: its
   root equals the root of the first ``size`` leaves (checked from the leaves
   themselves, which is stronger than an RFC 9162 §2.1.4 consistency proof).

Nothing is raised for a failed check: each step reports pass, fail or skip with
its own message, and :attr:`VerifyReport.ok` is true only when steps 1–4 pass
and step 5 passes or was not asked for. An empty log proves nothing, so steps 1
and 2 are skipped on it and the report is not ok.

Leaves are streamed once; memory stays O(log n) besides the first few problems.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from approvals.audit.checkpoint import Checkpoint, checkpoint_of_note, open_checkpoint
from approvals.audit.errors import AuditError
from approvals.audit.keys import Keyring
from approvals.audit.merkle import RootAccumulator

Status = Literal["pass", "fail", "skip"]

#: Problems listed per step; the count keeps going past this.
MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One exported leaf, with the hash and index the export claims for it, if any."""

    leaf: bytes
    leaf_hash: bytes | None = None
    index: int | None = None


@dataclass(slots=True)
class StepResult:
    number: int
    title: str
    status: Status = "pass"
    detail: str = ""
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, message: str) -> None:
        self.status = "fail"
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(message)


@dataclass(slots=True)
class VerifyReport:
    steps: list[StepResult]
    records: int
    checkpoint: Checkpoint | None

    @property
    def ok(self) -> bool:
        required = all(s.status == "pass" for s in self.steps[:4])
        return required and self.steps[4].status != "fail"

    def step(self, number: int) -> StepResult:
        return self.steps[number - 1]

    def render(self) -> str:
        out: list[str] = []
        for s in self.steps:
            out.append(f"{s.number}. {s.title}: {s.status.upper()} — {s.detail}")
            out.extend(f"     {p}" for p in s.problems)
            if s.problem_count > len(s.problems):
                out.append(f"     ... and {s.problem_count - len(s.problems)} more")
        out.append("verified: all checks hold" if self.ok else "NOT verified")
        return "\n".join(out) + "\n"


def verify_log(
    entries: Iterable[LogEntry | bytes],
    checkpoint_note: str | bytes,
    keyring: Keyring,
    *,
    since: str | bytes | None = None,
    origin: str | None = None,
    check_canonical: bool = True,
    workers: int = 1,
) -> VerifyReport:
    """Run steps 1–5 (see module docstring) and return the report; never raises on a failed check.

    ``entries`` are the log's leaves in index order (``bytes`` or :class:`LogEntry`),
    exactly as many as the checkpoint covers. ``origin``, if given, is the log the
    auditor expects; otherwise the checkpoint's own origin is used. With ``workers``
    > 1, a log in a database (`DecisionLog.entries`) has its records' signatures
    checked on that many processes (`approvals.audit.parallel`); the report is the same.
    """
    from approvals.audit.parallel import checked_entries  # it reads logs: sqllog -> here

    s1 = StepResult(1, "record signatures")
    s2 = StepResult(2, "leaf hashes")
    s3 = StepResult(3, "root hash and size against the checkpoint")
    s4 = StepResult(4, "checkpoint signature")
    s5 = StepResult(5, "consistency with the earlier checkpoint")

    latest: Checkpoint | None = None
    try:
        latest = checkpoint_of_note(checkpoint_note)
    except AuditError as exc:
        s3.problem(f"cannot read the checkpoint: {exc}")
    earlier: Checkpoint | None = None
    if since is not None:
        try:
            earlier = checkpoint_of_note(since)
        except AuditError as exc:
            s5.problem(f"cannot read the earlier checkpoint: {exc}")
    log_origin = origin or (latest.origin if latest else None)

    acc = RootAccumulator()
    prefix_root = acc.root() if earlier is not None and earlier.size == 0 else None
    stored_hashes = 0
    checked = checked_entries(
        entries, keyring, log_origin, check_canonical=check_canonical, workers=workers
    )
    for position, (stored, index, computed, problem) in enumerate(checked):
        if problem is not None:  # step 1
            s1.problem(f"record {position}: {problem}")
        if stored is not None:  # step 2
            stored_hashes += 1
            if stored != computed:
                s2.problem(
                    f"record {position}: stored leaf hash {stored.hex()}, "
                    f"computed SHA-256(0x00 || leaf) = {computed.hex()}"
                )
        if index is not None and index != position:
            s2.problem(
                f"record at position {position} is labelled index {index} "
                "(a record was removed, inserted or moved)"
            )
        acc.append(computed)
        if earlier is not None and acc.size == earlier.size:
            prefix_root = acc.root()

    records = acc.size
    if records == 0:
        for s in (s1, s2):
            if s.status == "pass":
                s.status, s.detail = "skip", "the log is empty: nothing to check"
    else:
        if s1.status == "pass":
            s1.detail = f"{records} records, every signature verified by a trusted key"
        else:
            s1.detail = f"{s1.problem_count} of {records} records fail"
        if s2.status == "pass":
            s2.detail = (
                f"{records} leaf hashes computed, {stored_hashes} compared with stored hashes"
            )
        else:
            s2.detail = f"{s2.problem_count} problems"

    _step3(s3, latest, records, acc.root())
    _step4(s4, checkpoint_note, keyring, origin)
    _step5(s5, since, earlier, latest, prefix_root, keyring)
    return VerifyReport([s1, s2, s3, s4, s5], records, latest)


def _step3(s3: StepResult, latest: Checkpoint | None, records: int, root: bytes) -> None:
    if latest is None:
        s3.detail = "no readable checkpoint"
        return
    if records != latest.size:
        what = "truncated or records removed" if records < latest.size else "extra records"
        s3.problem(
            f"the log has {records} leaves, the checkpoint covers {latest.size} ({what}); "
            "pass exactly the leaves the checkpoint covers"
        )
    elif root != latest.root_hash:
        s3.problem(
            f"root of the {records} leaves is {root.hex()}, "
            f"the checkpoint says {latest.root_hash.hex()} (a leaf was changed, moved or replaced)"
        )
    s3.detail = (
        f"size {latest.size}, root {latest.root_hash.hex()} recomputed from the leaves"
        if s3.status == "pass"
        else "the leaves do not match the checkpoint"
    )


def _step4(s4: StepResult, note: str | bytes, keyring: Keyring, origin: str | None) -> None:
    try:
        cp = open_checkpoint(note, keyring, origin=origin)
    except AuditError as exc:
        s4.problem(str(exc))
        s4.detail = "the checkpoint is not signed by a trusted log key"
        return
    s4.detail = f"signed by the log key {cp.origin!r}"


def _step5(
    s5: StepResult,
    since: str | bytes | None,
    earlier: Checkpoint | None,
    latest: Checkpoint | None,
    prefix_root: bytes | None,
    keyring: Keyring,
) -> None:
    if since is None:
        s5.status, s5.detail = "skip", "no earlier checkpoint given"
        return
    if earlier is None or latest is None:
        s5.detail = "cannot compare unreadable checkpoints"
        if s5.status == "pass":
            s5.problem("the latest checkpoint is unreadable")
        return
    try:
        open_checkpoint(since, keyring, origin=latest.origin)
    except AuditError as exc:
        s5.problem(f"earlier checkpoint: {exc}")
    if earlier.size > latest.size:
        s5.problem(
            f"the earlier checkpoint has size {earlier.size}, the latest only {latest.size} "
            "(the log was truncated or forked)"
        )
    elif prefix_root is None:
        s5.problem(f"the log has fewer than {earlier.size} leaves, the earlier checkpoint's size")
    elif prefix_root != earlier.root_hash:
        s5.problem(
            f"the first {earlier.size} leaves hash to {prefix_root.hex()}, the earlier "
            f"checkpoint says {earlier.root_hash.hex()} (history was rewritten)"
        )
    s5.detail = (
        f"the earlier checkpoint (size {earlier.size}) is a prefix of this log"
        if s5.status == "pass"
        else "the earlier checkpoint is not consistent with this log"
    )
