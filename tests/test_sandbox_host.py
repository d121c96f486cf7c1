"""`approvals serve --providers-only`: the sandbox providers alone, on a lean host.

It must answer every status and byte the providers mounted by `approvals serve` answer
(connectors and `make bench` read it in their place), and a service pointed at it with
`APPROVALS_SOURCES_BASE_URL` must decide as with the mounted providers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from approvals.api.settings import Settings
from approvals.api.wiring import wire
from approvals.sandbox.host import create_providers_app
from approvals.service import Submission
from approvals.sources.consent import CORRELATION_HEADER, GRANT_HEADER
from test_cli_serve import _serve
from test_sandbox_inprocess import DRIVER, STRANGER, token

REPO = Path(__file__).resolve().parents[1]


def _answers(app: object, requests: list[tuple[str, str, dict[str, str], dict[str, str]]]) -> list[
    tuple[int, bytes]
]:
    async def go() -> list[tuple[int, bytes]]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            out = []
            for method, path, params, headers in requests:
                r = await client.request(method, path, params=params, headers=headers)
                out.append((r.status_code, r.content))
            return out

    return asyncio.run(go())


def test_the_lean_host_answers_byte_for_byte_as_the_mounted_providers() -> None:
    from approvals.api import create_app

    settings = Settings(database_url="sqlite://")
    mounted = create_app(settings, mount_sandbox=True)
    lean = create_providers_app(settings)
    platform = {GRANT_HEADER: token("platform"), CORRELATION_HEADER: "c-1"}
    licences = {GRANT_HEADER: token("licences")}
    requests = [
        ("GET", "/sandbox/platform/v1/datasets", {}, {}),
        ("GET", "/sandbox/platform/v1/datasets/population/records", {"key": DRIVER}, platform),
        ("GET", "/sandbox/platform/v1/datasets/driving_scores/records", {"key": DRIVER}, platform),
        ("GET", "/sandbox/platform/v1/datasets/population/records", {"key": DRIVER}, {}),
        ("GET", "/sandbox/platform/v1/datasets/population/records", {"key": STRANGER}, platform),
        ("GET", "/sandbox/platform/v1/datasets/tax/records", {"key": DRIVER}, platform),
        ("GET", "/sandbox/platform/v1/nowhere", {}, platform),
        ("GET", "/sandbox/licences/v1/licences",
         {"holder": DRIVER, "type": "driving_licence"}, licences),
        ("GET", "/sandbox/licences/v1/licences", {"holder": DRIVER}, licences),
        ("GET", "/sandbox/licences/v1/licences",
         {"holder": DRIVER, "type": "driving_licence"}, {}),
    ]
    got, want = _answers(lean, requests), _answers(mounted, requests)
    assert [status for status, _ in got] == [200, 200, 200, 403, 403, 403, 404, 200, 403, 403]
    for lean_answer, mounted_answer, request in zip(got, want, requests, strict=True):
        assert lean_answer == mounted_answer, request
    # A request FastAPI cannot parse: the same status (the wording is FastAPI's own).
    [(missing, _)] = _answers(lean, [("GET", "/sandbox/licences/v1/licences", {}, licences)])
    assert missing == 422
    [(health, body)] = _answers(lean, [("GET", "/healthz", {}, {})])
    assert health == 200 and b"licences" in body


@pytest.fixture(scope="module")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    serving = _serve(tmp_path_factory.mktemp("providers"), "--providers-only", "--no-access-log")
    yield next(serving)
    serving.close()


def test_a_service_reads_its_sources_from_the_providers_host(
    providers: str, tmp_path: Path
) -> None:
    """The showcase driver, decided with every read over HTTP from the lean host."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'approvals.db'}", sources_base_url=providers
    )

    async def decide() -> None:
        wired = wire(settings)
        try:
            outcome = await wired.service.submit(Submission(
                applicant=DRIVER, item="ride-hailing-driver-permit",
                form={"phone": "13800512911"}, idempotency_key=str(uuid.uuid4()),
            ))
        finally:
            await wired.aclose()
        assert outcome.stored.application.outcome == "approve"
        assert [lic.status for lic in outcome.stored.licences] == ["issued"]  # POSTed there

    asyncio.run(decide())
    # Nothing but the providers is served there.
    assert httpx.get(f"{providers}/v1/items", timeout=10).status_code == 404
    refused = httpx.get(
        f"{providers}/sandbox/platform/v1/datasets/population/records",
        params={"key": DRIVER}, timeout=10,
    )
    assert refused.status_code == 403  # consent is enforced as when mounted
