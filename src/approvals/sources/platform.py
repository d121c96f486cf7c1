"""Client of the shared data platform (政务数据共享平台), contract in docs/architecture.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from approvals.sources import payload
from approvals.sources.errors import MalformedPayload, translate
from approvals.sources.http import Fetched, JsonClient
from approvals.spec.connectors import Dataset


@dataclass(frozen=True)
class DatasetRead:
    dataset: str
    key: str
    records: list[dict[str, Any]]
    fetched: Fetched


class PlatformClient(JsonClient):
    """Reads dataset records by key. Every failure is `SourceUnavailable` naming the dataset."""

    async def records(
        self, dataset: Dataset, key: str, headers: Mapping[str, str] | None = None
    ) -> DatasetRead:
        """`GET /v1/datasets/{name}/records?key=K`, checked against the catalogue entry.

        No records is an answer (the person has none), not a failure. `headers` carry
        the consent grant and correlation id (`approvals.sources.access`).
        """
        target = f"platform dataset {dataset.name}"
        with translate(target, self.timeouts.total):
            fetched = await self.get_json(
                f"/v1/datasets/{quote(dataset.name, safe='')}/records",
                {"key": key},
                headers=headers,
                target=target,
            )
            records = payload.dataset_records(dataset, key, fetched.payload)
        return DatasetRead(dataset.name, key, records, fetched)

    async def catalogue(self) -> list[dict[str, Any]]:
        """`GET /v1/datasets`: what the platform says it serves (for `sources check`)."""
        with translate("platform catalogue", self.timeouts.total):
            fetched = await self.get_json("/v1/datasets", target="platform catalogue")
            body = fetched.payload
            if not isinstance(body, dict) or not isinstance(body.get("datasets"), list):
                raise MalformedPayload('expected {"datasets": [...]}')
            entries = body["datasets"]
            if not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries):
                raise MalformedPayload("every catalogue entry needs a 'name'")
        return list(entries)
