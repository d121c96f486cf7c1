"""Group commit must not weaken "an acknowledged decision is never lost" (not timed).

A child process runs the service on a SQLite file and submits decisions from 32
concurrent callers, printing each application id the moment `submit` returns (its
acknowledgement). The parent kills it with SIGKILL mid-stream — no shutdown, no
flush — then opens the database and checks that every acknowledged id is there with
a signature that verifies, a leaf index, and its leaf hash in the Merkle tree; and
that the tree's root over all leaves is consistent with the stored subtrees.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from approvals.api.settings import DEFAULT_LOG_NAME
from approvals.audit.keys import Keyring, sandbox_signing_key
from approvals.audit.merkle import leaf_hash
from approvals.audit.record import verify_record

CHILD = textwrap.dedent(
    """
    import asyncio, sys, uuid
    from approvals.api.settings import Settings
    from approvals.api.wiring import wire
    from approvals.sandbox.fixtures import load_fixtures
    from approvals.service import Submission

    async def main() -> None:
        wired = wire(Settings(database_url=sys.argv[1]))
        cases = list(load_fixtures(None).showcase)
        n = 0

        async def caller() -> None:
            nonlocal n
            while True:
                case = cases[n % len(cases)]
                n += 1
                out = await wired.service.submit(Submission(
                    applicant=case.id_number, item=case.item, form=case.form, on=case.on,
                    idempotency_key=str(uuid.uuid4()),
                ))
                print(out.stored.application.id, flush=True)

        await asyncio.gather(*(caller() for _ in range(32)))

    asyncio.run(main())
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_every_acknowledged_decision_survives_a_kill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    acknowledged: list[str] = []
    assert child.stdout is not None
    deadline = time.monotonic() + 120
    try:
        while len(acknowledged) < 300 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
    finally:
        child.send_signal(signal.SIGKILL)  # mid-stream: later groups are in flight
        child.wait()
        child.stdout.close()
    assert len(acknowledged) >= 300, "the child stopped deciding early"

    ring = Keyring([sandbox_signing_key(DEFAULT_LOG_NAME).verifier])
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = {
            r[0]: (bytes(r[1]), r[2])
            for r in conn.execute(
                text("select application_id, leaf, leaf_index from decision_records")
            )
        }
        tree = {
            r[0]: bytes(r[1])
            for r in conn.execute(text("select node, hash from merkle_nodes where level = 0"))
        }
        apps = {r[0] for r in conn.execute(text("select id from applications"))}
    missing = [a for a in acknowledged if a not in rows or a not in apps]
    assert not missing, f"{len(missing)} acknowledged decisions lost, e.g. {missing[:3]}"
    for app_id in acknowledged:
        leaf, index = rows[app_id]
        assert verify_record(leaf, ring)["application_id"] == app_id
        assert index is not None and tree[index] == leaf_hash(leaf)
    # Every stored record is a leaf, and the leaves are 0..n-1 with no gap.
    assert sorted(tree) == list(range(len(rows)))
    engine.dispose()
