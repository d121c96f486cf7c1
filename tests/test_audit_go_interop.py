"""Go's golang.org/x/mod sumdb/note and sumdb/tlog accept our checkpoints and proofs.

Issue 3: "an independent verifier written against the C2SP specs (for example Go's
golang.org/x/mod/sumdb/note and tlog packages) must accept our checkpoints and proofs".
tests/interop/tlogcheck.go is that verifier; it is built with Debian's golang-go and
golang-golang-x-mod-dev (.ci/run installs them). Outside CI the test skips when Go or
x/mod is missing; under CI=true it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import FastAPI

from approvals.api import Settings, create_app
from approvals.sources.factory import sources_for_sandbox
from consent_helpers import citizen_consent

HERE = Path(__file__).resolve().parent
GOPATH = Path("/usr/share/gocode")  # where Debian's golang-golang-x-mod-dev puts x/mod
OLD = "440304194406159129"
FORM = {"bank_account": "6222020200112233445"}


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("Go and golang.org/x/mod are required under CI (see .ci/run)")
        pytest.skip(
            "Go or golang.org/x/mod not installed (apt-get install golang-go "
            "golang-golang-x-mod-dev)"
        )
    out = tmp_path_factory.mktemp("go") / "tlogcheck"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(out.parent / "cache"),
        "GOFLAGS": "",
    }
    subprocess.run(
        [go, "build", "-o", str(out), str(HERE / "interop/tlogcheck.go")],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'approvals.db'}")
    sources = sources_for_sandbox()
    app: FastAPI = create_app(settings, sources=sources, mount_sandbox=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c
    await sources.aclose()
    app.state.service.store.engine.dispose()


async def _decide(client: httpx.AsyncClient, staff: dict[str, str], n: int) -> None:
    grant = await citizen_consent(client, OLD, "longevity-allowance")
    for _ in range(n):
        r = await client.post(
            "/v1/applications",
            headers=staff | {"Idempotency-Key": str(uuid.uuid4())},
            json={
                "item": "longevity-allowance",
                "applicant": OLD,
                "on": "2026-11-30",
                "form": FORM,
                "consent_id": grant,
            },
        )
        assert r.status_code == 201, r.text


@pytest.mark.anyio
async def test_go_x_mod_accepts_checkpoints_and_proofs(
    client: httpx.AsyncClient, tlogcheck: Path, tmp_path: Path
) -> None:
    async def token(subject: str, role: str) -> dict[str, str]:
        r = await client.post("/v1/sandbox/tokens", json={"subject": subject, "role": role})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    staff = await token("440305198805129116", "staff")
    auditor = await token("440304194612019223", "auditor")
    await _decide(client, staff, 3)
    old = (await client.get("/v1/audit/checkpoint")).text
    await _decide(client, staff, 4)
    await anyio.sleep(1.1)  # a served checkpoint may be up to a second behind the tree
    new = (await client.get("/v1/audit/checkpoint")).text
    size_old, size_new = int(old.split("\n")[1]), int(new.split("\n")[1])
    assert (size_old, size_new) == (3, 7)

    files = {
        "key": (await client.get("/v1/audit/key")).text.split("\n")[0],
        "old": old,
        "new": new,
        "consistency": (
            await client.get("/v1/audit/proof/consistency", params={"from": 3, "to": 7})
        ).text,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    def go(index: int, leaf: bytes, proof: str, *extra: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / "leaf").write_bytes(leaf)
        (tmp_path / "proof").write_text(proof, encoding="utf-8")
        return subprocess.run(
            [
                str(tlogcheck),
                files["key"],
                str(tmp_path / "new"),
                str(tmp_path / "leaf"),
                str(index),
                str(tmp_path / "proof"),
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    for index in range(size_new):
        leaf = (await client.get(f"/v1/audit/records/{index}", headers=auditor)).content
        proof = (
            await client.get("/v1/audit/proof/inclusion", params={"index": index, "size": 7})
        ).text
        done = go(index, leaf, proof, str(tmp_path / "old"), str(tmp_path / "consistency"))
        assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr

    # Go rejects what it should: a changed record, a proof for another index.
    leaf = (await client.get("/v1/audit/records/5", headers=auditor)).content
    proof = (await client.get("/v1/audit/proof/inclusion", params={"index": 5, "size": 7})).text
    assert go(5, leaf.replace(b"approve", b"reject!"), proof).returncode == 1
    assert go(4, leaf, proof).returncode == 1
