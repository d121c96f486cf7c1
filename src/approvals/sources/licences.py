"""Client of the electronic licence store (电子证照库), contract in docs/architecture.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from pydantic import ValidationError

from approvals.licence import Licence
from approvals.sources import payload
from approvals.sources.errors import MalformedPayload, WrongRecord, translate
from approvals.sources.http import Fetched, JsonClient


@dataclass(frozen=True)
class LicenceRead:
    holder: str
    licence_type: str
    licences: list[Licence]
    fetched: Fetched


class LicenceStoreClient(JsonClient):
    """Reads and issues licences. Reads return documents as stored, not yet verified:
    `approvals.sources.verify` decides what the engine may believe of them."""

    async def licences(
        self, holder: str, licence_type: str, headers: Mapping[str, str] | None = None
    ) -> LicenceRead:
        """`GET /v1/licences?holder=ID&type=CODE`: every licence of that type, any status.

        `headers` carry the consent grant and correlation id (`approvals.sources.access`).
        """
        target = f"licences type {licence_type}"
        with translate(target, self.timeouts.total):
            fetched = await self.get_json(
                "/v1/licences",
                {"holder": holder, "type": licence_type},
                headers=headers,
                target=target,
            )
            found = payload.licences(holder, licence_type, fetched.payload)
        return LicenceRead(holder, licence_type, found, fetched)

    async def licence(
        self, licence_id: str, headers: Mapping[str, str] | None = None
    ) -> tuple[Licence, Fetched]:
        """`GET /v1/licences/{licence_id}`; an unknown id (404) is `SourceUnavailable` too."""
        with translate(f"licence {licence_id}", self.timeouts.total):
            fetched = await self.get_json(
                f"/v1/licences/{quote(licence_id, safe='')}",
                headers=headers,
                target="licences by id",
            )
            try:
                licence = Licence.model_validate(fetched.payload)
            except ValidationError as exc:
                raise MalformedPayload(f"not a licence: {exc.errors()[0]['msg']}") from exc
            if licence.licence_id != licence_id:
                raise WrongRecord(f"asked for {licence_id}, found {licence.licence_id}")
        return licence, fetched

    async def issue(self, licence: Licence) -> None:
        """`POST /v1/licences` with a signed licence; the store refuses (422) a bad signature.

        Not retried by anything in this package: issuing is not idempotent.
        """
        with translate(f"licences issue {licence.type}", self.timeouts.total):
            await self.post_json("/v1/licences", licence.model_dump(mode="json"))
