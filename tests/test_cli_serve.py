"""`approvals serve` on loopback: token, prefill, submit and read back over real HTTP.

The service's connectors call the sandbox mounted in the same process over real
loopback HTTP, as they would call the real data platform.
"""

from __future__ import annotations

import base64
import json
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
    yield from _serve(tmp_path)


def _serve(tmp_path: Path, *options: str, output: list[str] | None = None) -> Iterator[str]:
    """`approvals serve` on a free port until the generator is closed; what it printed
    is appended to `output`."""
    port = _free_port()
    env = os.environ | {"APPROVALS_DATABASE_URL": f"sqlite:///{tmp_path / 'approvals.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from approvals.cli import main; main()", "serve",
         "--port", str(port), *options],
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
            if output is not None:
                output.append(proc.stdout.read().decode())
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


def test_settings_survive_the_trip_to_a_worker_process(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql+psycopg://approvals@db/approvals", rulesets_dir=tmp_path,
        licences_dir=tmp_path / "licences", sandbox=False, fixtures=tmp_path / "people.json",
        sources_base_url="https://platform.example", token_secret="s3cret", token_ttl=60,
        signing_key_file=tmp_path / "log.key", log_name="approvals.example/log",
        previous_keys=("old+01020304+AAAA", "older+05060708+BBBB"),
    )
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env(Settings().to_env()) == Settings()


def test_several_worker_processes_share_the_port_the_database_and_the_log(
    tmp_path: Path,
) -> None:
    """`approvals serve --workers 2`: both processes answer on one port, decide into one
    database and one Merkle tree, and one of them signs checkpoints over all of it."""
    printed: list[str] = []
    serving = _serve(tmp_path, "--workers", "2", output=printed)
    base = next(serving)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            r = http.post("/v1/sandbox/tokens", json={"subject": STAFF, "role": "staff"})
            staff = {"Authorization": f"Bearer {r.json()['access_token']}"}
            grant = citizen_consent_sync(http, OLD, "longevity-allowance")
            body = {"item": "longevity-allowance", "applicant": OLD, "on": "2026-11-30",
                    "form": {"bank_account": "6222020200112233445"}, "consent_id": grant}
            ids = set()
            for n in range(12):  # new connections, so the kernel spreads them
                with httpx.Client(base_url=base, timeout=30) as fresh:
                    r = fresh.post("/v1/applications", json=body,
                                   headers=staff | {"Idempotency-Key": f"k{n}"})
                assert r.status_code == 201, r.text
                ids.add(r.json()["id"])
            assert len(ids) == 12
            deadline = time.monotonic() + 10
            while True:  # the sequencer signs at least once a second
                note = http.get("/v1/audit/checkpoint").text
                if note.splitlines()[1] == "12" or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert note.splitlines()[1] == "12", note
    finally:
        serving.close()
    assert printed[0].count("Started server process") == 2, printed[0]
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    approvals = str(Path(sys.executable).parent / "approvals")
    verify = subprocess.run([approvals, "audit", "verify", "--database", url],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "12 records, every signature verified" in verify.stdout


@pytest.mark.parametrize("option", [None, "--no-access-log"])
def test_the_access_log_is_on_unless_turned_off(tmp_path: Path, option: str | None) -> None:
    printed: list[str] = []
    serving = _serve(tmp_path, *([option] if option else []), output=printed)
    base = next(serving)
    for _ in range(3):
        assert httpx.get(f"{base}/v1/items", timeout=30).status_code == 200
    serving.close()
    lines = [line for line in printed[0].splitlines() if '"GET /v1/items HTTP/1.1" 200' in line]
    assert len(lines) == (0 if option else 3)
    assert "Application startup complete" in printed[0]  # the server's own log stays


def test_the_bench_load_generator_drives_the_served_api(server: str) -> None:
    """`make bench`'s HTTP section reads what this generator prints: every request it
    sends must reach the service and be counted, as a decision (201) or an error."""
    from approvals.bench.http_load import _applicants

    applicants = _applicants()
    out = subprocess.run(
        [sys.executable, "-m", "approvals.bench.loadgen", server, "20", "1"],
        input=applicants, capture_output=True, text=True, check=True, timeout=120,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["sent"] == 20
    assert got["errors"] == 0
    assert 0 < got["p50"] <= got["p99"]
    # The decisions are the service's own: the first applicant finds theirs filed.
    first = json.loads(applicants)[0]
    with httpx.Client(base_url=server, timeout=30) as http:
        token = http.post(
            "/v1/sandbox/tokens", json={"subject": first["id_number"], "role": "citizen"}
        ).json()["access_token"]
        mine = http.get("/v1/me/applications", headers={"Authorization": f"Bearer {token}"})
    assert first["item"] in {a["item"] for a in mine.json()["applications"]}
