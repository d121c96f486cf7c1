import json
import random
from collections.abc import Iterator

import pytest

from approvals.audit.canonical import canonical_json
from approvals.audit.checkpoint import Checkpoint, sign_checkpoint
from approvals.audit.keys import Keyring, SigningKey, generate_signing_key
from approvals.audit.merkle import MemoryTreeStore, MerkleLog, leaf_hash
from approvals.audit.record import sign_record
from approvals.audit.verify import LogEntry, VerifyReport, verify_log

ORIGIN = "approvals.test/log"
KEY = generate_signing_key(ORIGIN)
RING = Keyring([KEY.verifier])


def _decisions(n: int, key: SigningKey = KEY) -> list[bytes]:
    return [
        sign_record(
            {
                "decision_id": f"D-{i}",
                "item": {"code": "mz-senior-card", "version": "2024.1"},
                "applicant": {"id_number": f"4403001950{i:08d}"},
                "outcome": ("approve", "reject", "refer")[i % 3],
                "reasons": [] if i % 3 == 0 else [{"code": "R1", "zh": "年龄不足"}],
            },
            key,
        ).leaf
        for i in range(n)
    ]


def _checkpoint(leaves: list[bytes], size: int | None = None, key: SigningKey = KEY) -> str:
    log = MerkleLog(MemoryTreeStore())
    log.append(leaves)
    n = len(leaves) if size is None else size
    return sign_checkpoint(Checkpoint(key.name, n, log.root(n)), key)


LOG_SMALL = _decisions(300)
NOTE_SMALL = _checkpoint(LOG_SMALL)


def _failed(report: VerifyReport) -> list[int]:
    return [s.number for s in report.steps if s.status == "fail"]


def test_untouched_log_verifies_with_five_numbered_steps() -> None:
    earlier = _checkpoint(LOG_SMALL, 123)
    report = verify_log(LOG_SMALL, NOTE_SMALL, RING, since=earlier)
    assert report.ok, report.render()
    assert [s.status for s in report.steps] == ["pass"] * 5
    text = report.render()
    for n in range(1, 6):
        assert f"\n{n}. " in "\n" + text
    assert "300 records" in text and text.endswith("verified: all checks hold\n")


def test_without_earlier_checkpoint_step_5_is_skipped_and_still_ok() -> None:
    report = verify_log(iter(LOG_SMALL), NOTE_SMALL, RING)
    assert report.ok and report.step(5).status == "skip"


def test_empty_log_is_not_vacuously_verified() -> None:
    report = verify_log([], _checkpoint([]), RING)
    assert not report.ok
    assert report.step(1).status == report.step(2).status == "skip"
    assert report.step(3).status == "pass"


@pytest.mark.parametrize("seed", range(25))
def test_any_changed_byte_is_detected(seed: int) -> None:
    rng = random.Random(seed)
    leaves = list(LOG_SMALL)
    i = rng.randrange(len(leaves))
    j = rng.randrange(len(leaves[i]))
    leaves[i] = leaves[i][:j] + bytes([leaves[i][j] ^ (1 << rng.randrange(8))]) + leaves[i][j + 1:]
    report = verify_log(leaves, NOTE_SMALL, RING)
    assert not report.ok
    assert 1 in _failed(report) and 3 in _failed(report)
    assert f"record {i}:" in report.step(1).problems[0]


@pytest.mark.parametrize("seed", range(10))
def test_deleted_swapped_truncated_detected(seed: int) -> None:
    rng = random.Random(seed)
    i, j = rng.sample(range(len(LOG_SMALL)), 2)
    deleted = LOG_SMALL[:i] + LOG_SMALL[i + 1:]
    swapped = list(LOG_SMALL)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    truncated = LOG_SMALL[: rng.randrange(1, len(LOG_SMALL))]
    for leaves in (deleted, swapped, truncated):
        report = verify_log(leaves, NOTE_SMALL, RING)
        assert not report.ok
        assert _failed(report) == [3], report.render()  # records still individually valid


def test_resigned_record_with_another_key_detected() -> None:
    attacker = generate_signing_key(ORIGIN)
    leaves = list(LOG_SMALL)
    record = json.loads(leaves[42])["record"]
    record["outcome"] = "approve"
    del record["key_id"]
    leaves[42] = sign_record(record, attacker).leaf
    report = verify_log(leaves, NOTE_SMALL, RING)
    assert 1 in _failed(report)
    assert "record 42: record key" in report.step(1).problems[0]
    # Even a fully re-signed log (new checkpoint by the attacker) fails at steps 1 and 4.
    forged_note = _checkpoint(leaves, key=attacker)
    report = verify_log(leaves, forged_note, RING)
    assert _failed(report) == [1, 4]


def test_stored_hash_and_index_mismatches_are_step_2() -> None:
    entries = [LogEntry(leaf, leaf_hash(leaf), i) for i, leaf in enumerate(LOG_SMALL)]
    assert verify_log(entries, NOTE_SMALL, RING).ok
    entries[7] = LogEntry(LOG_SMALL[7], leaf_hash(b"other"), 7)
    entries[9] = LogEntry(LOG_SMALL[9], leaf_hash(LOG_SMALL[9]), 10)
    report = verify_log(entries, NOTE_SMALL, RING)
    assert _failed(report) == [2]
    assert report.step(2).problem_count == 2
    assert "record 7: stored leaf hash" in report.step(2).problems[0]
    assert "labelled index 10" in report.step(2).problems[1]


def test_record_from_another_log_is_step_1() -> None:
    other = generate_signing_key("other.test/log")
    leaves = [*LOG_SMALL[:5], sign_record({"outcome": "approve"}, other).leaf]
    note = _checkpoint(leaves)
    report = verify_log(leaves, note, Keyring([KEY.verifier, other.verifier]))
    assert _failed(report) == [1]
    assert "expected this log's origin" in report.step(1).problems[0]


def test_bad_checkpoints() -> None:
    report = verify_log(LOG_SMALL, "not a note", RING)
    assert _failed(report) == [3, 4]
    tampered = NOTE_SMALL.replace("\n300\n", "\n299\n")
    report = verify_log(LOG_SMALL, tampered, RING)
    assert _failed(report) == [3, 4]


def test_inconsistent_earlier_checkpoint_is_step_5() -> None:
    forked = _decisions(100)  # same key, different history
    forked[50] = sign_record({"decision_id": "forged"}, KEY).leaf
    report = verify_log(LOG_SMALL, NOTE_SMALL, RING, since=_checkpoint(forked))
    assert _failed(report) == [5]
    assert "history was rewritten" in report.step(5).problems[0]

    bigger = _checkpoint(_decisions(301))
    report = verify_log(LOG_SMALL, NOTE_SMALL, RING, since=bigger)
    assert _failed(report) == [5] and "truncated or forked" in report.step(5).problems[0]

    unsigned = _checkpoint(LOG_SMALL, 100, key=generate_signing_key(ORIGIN))
    report = verify_log(LOG_SMALL, NOTE_SMALL, RING, since=unsigned)
    assert _failed(report) == [5]


def test_problem_list_is_capped_but_counted() -> None:
    leaves = [leaf.replace(b"D-", b"X-") for leaf in LOG_SMALL]
    report = verify_log(leaves, NOTE_SMALL, RING)
    assert report.step(1).problem_count == 300
    assert len(report.step(1).problems) == 20
    assert "... and 280 more" in report.render()


def test_ten_thousand_decisions_streamed_once() -> None:
    leaves = _decisions(10_000)
    note = _checkpoint(leaves)
    consumed = 0

    def stream() -> Iterator[bytes]:
        nonlocal consumed
        for leaf in leaves:
            consumed += 1
            yield leaf

    report = verify_log(stream(), note, RING, since=_checkpoint(leaves, 4321))
    assert report.ok and consumed == 10_000
    i = 9_876
    original = leaves[i]
    leaves[i] = original.replace(b'"approve"', b'"reject"').replace(b'"refer"', b'"reject"')
    assert leaves[i] != original
    report = verify_log(leaves, note, RING, check_canonical=False)
    assert _failed(report) == [1, 3]


def test_canonical_json_of_record_is_what_was_signed() -> None:
    record = json.loads(LOG_SMALL[0])["record"]
    assert LOG_SMALL[0].startswith(b'{"record":' + canonical_json(record))
