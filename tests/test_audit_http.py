"""The audit endpoints, in-process and over real loopback HTTP against `approvals serve`,
checked by the independent verifier (tests/audit_independent_verifier.py)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from approvals.api import Settings, create_app
from approvals.sources.factory import sources_for_sandbox
from audit_independent_verifier import (
    Rejected,
    check_consistency,
    check_inclusion,
    check_tlog_proof,
    open_checkpoint,
    rfc9162_leaf_hash,
)
from consent_helpers import citizen_consent, citizen_consent_sync
from test_cli_serve import _free_port

OLD = "440304194406159129"
FORM = {"bank_account": "6222020200112233445"}


def _b64s(text: str) -> list[bytes]:
    return [base64.b64decode(line) for line in text.split()]


# -- in-process ---------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'approvals.db'}")
    sources = sources_for_sandbox()
    app: FastAPI = create_app(settings, sources=sources, mount_sandbox=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
    await sources.aclose()
    app.state.service.store.engine.dispose()


async def _auth(client: httpx.AsyncClient, subject: str, role: str) -> dict[str, str]:
    r = await client.post("/v1/sandbox/tokens", json={"subject": subject, "role": role})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.mark.anyio
async def test_trail_proofs_and_errors_in_process(client: httpx.AsyncClient) -> None:
    staff = await _auth(client, "440305198805129116", "staff")
    auditor = await _auth(client, "440304194612019223", "auditor")
    citizen = await _auth(client, OLD, "citizen")
    grant = await citizen_consent(client, OLD, "longevity-allowance")
    ids = []
    for _ in range(3):
        r = await client.post(
            "/v1/applications", headers=staff | {"Idempotency-Key": str(uuid.uuid4())},
            json={"item": "longevity-allowance", "applicant": OLD, "on": "2026-11-30",
                  "form": FORM, "consent_id": grant})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        assert r.json()["leaf_index"] == len(ids) - 1  # assigned at commit

    vkey = (await client.get("/v1/audit/key")).text.split("\n")[0]
    r = await client.get(f"/v1/decisions/{ids[1]}/trail", headers=auditor)
    assert r.status_code == 200, r.text
    trail = r.json()
    assert trail["log"]["leaf_index"] == 1 and trail["outcome"] == "approve"
    assert trail["ruleset"]["text"].startswith("code:") or "code:" in trail["ruleset"]["text"]
    assert {i["name"] for i in trail["inputs"]} == set(trail["record"]["inputs"])
    assert all(i["provenance"]["source"] for i in trail["inputs"])
    assert all(c["basis"]["article"] for c in trail["checks"])
    assert trail["signature"]["alg"] == "Ed25519" and trail["verifier_key"] == vkey
    leaf = base64.b64decode(trail["log"]["leaf"])
    _, size, root = open_checkpoint(trail["log"]["checkpoint"], vkey)
    check_inclusion(rfc9162_leaf_hash(leaf), 1, size,
                    [base64.b64decode(h) for h in trail["log"]["inclusion_proof"]], root)
    assert check_tlog_proof(trail["log"]["tlog_proof"], leaf, vkey) == 1

    # Who may see what.
    assert (await client.get(f"/v1/decisions/{ids[1]}/trail", headers=citizen)).status_code == 403
    assert (await client.get("/v1/audit/records/0", headers=staff)).status_code == 403
    r = await client.get(f"/v1/applications/{ids[0]}/proof", headers=citizen)
    assert r.status_code == 200 and r.text.startswith("c2sp.org/tlog-proof@v1\nindex 0\n")
    other = await _auth(client, "440304194612019223", "citizen")
    assert (await client.get(f"/v1/applications/{ids[0]}/proof", headers=other)).status_code == 404
    # Outside the log: the one error mapping gives 400 / 404 with a message.
    r = await client.get("/v1/audit/proof/inclusion", params={"index": 5, "size": 3})
    assert r.status_code == 400 and r.json()["error"]["code"] == "out_of_range"
    r = await client.get("/v1/audit/proof/consistency", params={"from": 1, "to": 99})
    assert r.status_code == 400 and "tree size" in r.json()["error"]["message_en"]
    r = await client.get("/v1/audit/records/99", headers=auditor)
    assert r.status_code == 404
    r = await client.get("/v1/decisions/nope/trail", headers=auditor)
    assert r.status_code == 404


# -- over loopback ------------------------------------------------------------------------


def _serve(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"APPROVALS_DATABASE_URL": f"sqlite:///{tmp_path / 'approvals.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from approvals.cli import main; main()", "serve",
         "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("approvals serve did not come up")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _decide(http: httpx.Client, staff: dict[str, str], n: int) -> list[str]:
    grant = citizen_consent_sync(http, OLD, "longevity-allowance")
    ids = []
    for _ in range(n):
        r = http.post("/v1/applications", headers=staff | {"Idempotency-Key": str(uuid.uuid4())},
                      json={"item": "longevity-allowance", "applicant": OLD, "on": "2026-11-30",
                            "form": FORM, "consent_id": grant})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_running_service_is_accepted_by_the_independent_verifier(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            r = http.post("/v1/sandbox/tokens", json={"subject": "440305198805129116",
                                                      "role": "staff"})
            staff = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = http.post("/v1/sandbox/tokens",
                          json={"subject": "440304194612019223", "role": "auditor"})
            auditor = {"Authorization": f"Bearer {r.json()['access_token']}"}
            vkey = http.get("/v1/audit/key").text.split("\n")[0]
            ids = _decide(http, staff, 5)
            # The sequencer signs on its own within about a second.
            deadline = time.monotonic() + 5
            while True:
                before = http.get("/v1/audit/checkpoint")
                assert before.headers["content-type"].startswith("text/plain")
                origin, size1, root1 = open_checkpoint(before.text, vkey)
                if size1 == 5 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert size1 == 5 and origin == Settings().log_name
            for index in range(size1):
                leaf = http.get(f"/v1/audit/records/{index}", headers=auditor).content
                proof = _b64s(http.get("/v1/audit/proof/inclusion",
                                       params={"index": index, "size": size1}).text)
                check_inclusion(rfc9162_leaf_hash(leaf), index, size1, proof, root1)
            bundle = http.get(f"/v1/applications/{ids[2]}/proof", headers=staff).text
            leaf2 = http.get("/v1/audit/records/2", headers=auditor).content
            assert check_tlog_proof(bundle, leaf2, vkey) == 2
            with pytest.raises(Rejected):
                check_tlog_proof(bundle, leaf2 + b" ", vkey)
    finally:
        _stop(proc)

    # Restart on the same database: the next checkpoint extends the one before.
    proc = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            r = http.post("/v1/sandbox/tokens", json={"subject": "440305198805129116",
                                                      "role": "staff"})
            staff = {"Authorization": f"Bearer {r.json()['access_token']}"}
            _decide(http, staff, 4)
            deadline = time.monotonic() + 5
            while True:
                origin, size2, root2 = open_checkpoint(http.get("/v1/audit/checkpoint").text,
                                                       vkey)
                if size2 == 9 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert size2 == 9
            proof = _b64s(http.get("/v1/audit/proof/consistency",
                                   params={"from": size1, "to": size2}).text)
            check_consistency(size1, size2, root1, root2, proof)
            with pytest.raises(Rejected):
                check_consistency(size1, size2, root1, root2, proof[::-1])
    finally:
        _stop(proc)
