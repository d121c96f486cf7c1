"""The simulated shared data platform (共享数据平台), contract in docs/architecture.md.

    GET /v1/datasets                          the catalogue
    GET /v1/datasets/{name}/records?key=K     every record of dataset `name` under key K

A key without records answers `records: []` (an absence is a fact the rules use); an
unknown dataset is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from approvals.sandbox.datasets import BY_NAME, CATALOGUE
from approvals.sandbox.fixtures import Fixtures


class UnknownDataset(LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown dataset {name!r} (known: {', '.join(BY_NAME)})")


class PlatformData:
    """Read-only index of the fixture records: dataset -> key -> records."""

    def __init__(self, fixtures: Fixtures) -> None:
        population: dict[str, list[dict[str, Any]]] = {}
        for person in fixtures.people:
            if person.in_population:
                population[person.id_number] = [person.population_record()]
        self._records: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in BY_NAME}
        self._records["population"] = population
        for name, by_key in fixtures.records.items():
            self._records[name] = {key: list(records) for key, records in by_key.items()}

    def records(self, dataset: str, key: str) -> list[dict[str, Any]]:
        if dataset not in self._records:
            raise UnknownDataset(dataset)
        return [dict(r) for r in self._records[dataset].get(key, [])]


def create_platform_app(fixtures: Fixtures) -> FastAPI:
    """A FastAPI app serving `fixtures` under the data platform contract."""
    data = PlatformData(fixtures)
    app = FastAPI(
        title="Approvals sandbox: shared data platform",
        description="Simulated 政务数据共享平台 serving synthetic records (SANDBOX).",
        version="1",
    )

    @app.exception_handler(UnknownDataset)
    async def _unknown(request: Request, exc: UnknownDataset) -> JSONResponse:
        return JSONResponse(
            status_code=404,
            content={"error": "unknown_dataset", "dataset": exc.name, "detail": str(exc)},
        )

    @app.get("/v1/datasets")
    def list_datasets() -> dict[str, Any]:
        return {"datasets": [d.model_dump(mode="json") for d in CATALOGUE]}

    @app.get("/v1/datasets/{name}/records")
    def get_records(
        name: str, key: str = Query(min_length=1, description="The dataset's record key")
    ) -> dict[str, Any]:
        return {"dataset": name, "key": key, "records": data.records(name, key)}

    return app
