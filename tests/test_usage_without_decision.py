"""用证留痕 holds even when no decision is committed: the reads are still recorded.

A decision's usage records are committed in its own transaction (one group commit for
both, issue 5). If the decision never commits — an error after the reads, or a lost
Idempotency-Key race — the records must be committed on their own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from approvals.api.settings import Settings
from approvals.api.wiring import wire
from approvals.errors import ApprovalsError
from approvals.service import Submission
from approvals.store.consents import ConsentStore

pytestmark = pytest.mark.anyio
OLD = "440304194406159129"  # longevity allowance: approved
ON = dt.date(2026, 11, 30)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def submission(key: str) -> Submission:
    return Submission(
        applicant=OLD, item="longevity-allowance",
        form={"bank_account": "6222020200112233445"}, idempotency_key=key, on=ON,
    )


@pytest.mark.parametrize("database", ["file", "memory"])
async def test_reads_are_recorded_when_the_decision_fails_after_them(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}" if database == "file" else "sqlite://"
    wired = wire(Settings(database_url=url))
    service = wired.service
    try:
        def broken(*args: object) -> None:
            raise ApprovalsError("the signing service is down")

        monkeypatch.setattr(service, "_rows", broken)
        with pytest.raises(ApprovalsError):
            await service.submit(submission(str(uuid.uuid4())))
        usage = ConsentStore(service.store.engine).usage(applicant=OLD)
        assert usage, "the reads of a decision that failed must still be recorded"
        assert {u.stage for u in usage} == {"submit"}
        assert {u.name for u in usage} >= {"population", "longevity_allowance"}
        application_ids = {u.application_id for u in usage}
        assert len(application_ids) == 1 and None not in application_ids
        # Nothing was decided: no application row for that id.
        assert service.store.get(application_ids.pop() or "") is None

        # A decision that does commit carries its reads in the same transaction.
        monkeypatch.undo()
        outcome = await service.submit(submission(str(uuid.uuid4())))
        mine = ConsentStore(service.store.engine).usage(
            application_id=outcome.stored.application.id
        )
        assert mine and all(u.outcome in ("ok", "cached") for u in mine)
    finally:
        await wired.aclose()
