"""`approvals serve` on loopback: token, prefill, submit and read back over real HTTP.

The service's connectors call the sandbox mounted in the same process over real
loopback HTTP, as they would call the real data platform.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from approvals.api import Settings
from approvals.audit.keys import Keyring, sandbox_signing_key
from approvals.audit.record import verify_record
from consent_helpers import citizen_consent_sync

OLD = "440304194406159129"
STAFF = "440305198805129116"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = os.environ | {"APPROVALS_DATABASE_URL": f"sqlite:///{tmp_path / 'approvals.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from approvals.cli import main; main()", "serve",
         "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"approvals serve did not come up:\n{output}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_the_whole_flow_over_loopback_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        r = http.post("/v1/sandbox/tokens", json={"subject": STAFF, "role": "staff"})
        staff = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = http.get("/sandbox/platform/v1/datasets")
        assert r.status_code == 200  # the sandbox is mounted in the same process
        # 免证办: the citizen authorizes the counter in the app, then staff file for them.
        grant = citizen_consent_sync(http, OLD, "longevity-allowance")
        r = http.post("/v1/items/longevity-allowance/prefill", headers=staff,
                      json={"applicant": OLD, "consent_id": grant})
        assert r.status_code == 200, r.text
        assert OLD in r.text
        body = {"item": "longevity-allowance", "applicant": OLD, "on": "2026-11-30",
                "form": {"bank_account": "6222020200112233445"}, "consent_id": grant}
        r = http.post("/v1/applications", json=body, headers=staff | {"Idempotency-Key": "k1"})
        assert r.status_code == 201, r.text
        decision = r.json()
        assert decision["outcome"] == "approve"
        r = http.get(f"/v1/applications/{decision['id']}", headers=staff)
        stored = r.json()
        keyring = Keyring([sandbox_signing_key(Settings().log_name).verifier])
        record = verify_record(base64.b64decode(stored["leaf"]), keyring)
        assert record["outcome"] == decision["outcome"]
        assert record["reasons"] == decision["reasons"]
        assert record["ruleset"] == decision["ruleset"]
        provenance = record["inputs"]["person"]["provenance"]
        assert provenance["source"] == "platform" and provenance["digest"]
