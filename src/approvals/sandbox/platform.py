"""The simulated shared data platform (共享数据平台), contract in docs/architecture.md.

    GET /v1/datasets                          the catalogue
    GET /v1/datasets/{name}/records?key=K     every record of dataset `name` under key K

A key without records answers `records: []` (an absence is a fact the rules use); an
unknown dataset is 404. With a `ConsentGate`, a record read needs a consent grant token
covering the dataset (and, for a dataset keyed by ID number, that person): else 403.
A `FaultInjector` makes reads fail on demand (`approvals.sandbox.faults`, `/admin/faults`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

from approvals.sandbox import faults as faults_admin
from approvals.sandbox.consent import ConsentGate
from approvals.sandbox.datasets import BY_NAME, CATALOGUE
from approvals.sandbox.faults import FaultInjector, other_key
from approvals.sandbox.fixtures import Fixtures
from approvals.sandbox.reply import HANDLED, Reply, UnknownDataset, reply_for_error


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
            raise UnknownDataset(dataset, list(BY_NAME))
        return [dict(r) for r in self._records[dataset].get(key, [])]

    def someone_else(self, dataset: str, key: str) -> list[dict[str, Any]]:
        """Another key's records in the same dataset (for wrong-person faults)."""
        for other, records in self._records.get(dataset, {}).items():
            if other != key and records:
                return [dict(r) for r in records]
        return []


class SandboxPlatform:
    """The platform's handlers: consent, data and faults, without HTTP.

    The FastAPI app (`create_platform_app`) and the in-process exchange
    (`approvals.sandbox.inprocess`) both call these, so the two answer alike.
    """

    def __init__(
        self, data: PlatformData, consent: ConsentGate | None, faults: FaultInjector
    ) -> None:
        self.data = data
        self.consent = consent
        self.faults = faults

    def catalogue(self) -> dict[str, Any]:
        return {"datasets": [d.model_dump(mode="json") for d in CATALOGUE]}

    async def records(self, headers: Mapping[str, str], name: str, key: str) -> Reply:
        """`GET /v1/datasets/{name}/records?key=K`; raises the `HANDLED` errors."""
        if self.consent is not None:
            by_person = name in BY_NAME and BY_NAME[name].key == "id_number"
            self.consent.check(headers, name, key, subject=key if by_person else None)
        data = self.data

        def produce() -> dict[str, Any]:
            return {"dataset": name, "key": key, "records": data.records(name, key)}

        def schema(body: dict[str, Any]) -> dict[str, Any]:
            if body["records"]:
                first = body["records"][0]
                field = next(f for f in first if f != BY_NAME[name].key)
                first[field] = {"unexpected": "an object where the catalogue says a value"}
            else:
                body["records"] = {"count": 0}
            return body

        def wrong_person(body: dict[str, Any]) -> dict[str, Any]:
            field = BY_NAME[name].key
            others = data.someone_else(name, key)
            if others:
                for record in others:
                    record.setdefault(field, other_key(key))
                body["records"] = others
            elif body["records"]:
                body["records"][0][field] = other_key(key)
            else:
                body["key"] = other_key(key)
            return body

        return await self.faults.respond(
            headers, name, key, produce, schema=schema, wrong_person=wrong_person
        )


def create_platform_app(
    fixtures: Fixtures,
    *,
    consent: ConsentGate | None = None,
    faults: FaultInjector | None = None,
) -> FastAPI:
    """A FastAPI app serving `fixtures` under the data platform contract.

    `consent` enforces grant tokens (the service's sandbox does; tests of the data alone
    may leave it out); `faults` defaults to the plan in `$APPROVALS_SANDBOX_FAULTS`.
    The handlers are at `app.state.provider` (a `SandboxPlatform`).
    """
    provider = SandboxPlatform(
        PlatformData(fixtures), consent, faults or FaultInjector.from_env("platform")
    )
    app = FastAPI(
        title="Approvals sandbox: shared data platform",
        description="Simulated 政务数据共享平台 serving synthetic records (SANDBOX).",
        version="1",
    )
    for error in HANDLED:
        app.add_exception_handler(error, _error_response)
    app.state.provider = provider
    app.state.consent = consent
    faults_admin.install(app, provider.faults)

    @app.get("/v1/datasets")
    def list_datasets() -> dict[str, Any]:
        return provider.catalogue()

    @app.get("/v1/datasets/{name}/records", response_model=None)
    async def get_records(
        request: Request,
        name: str,
        key: str = Query(min_length=1, description="The dataset's record key"),
    ) -> Response:
        return (await provider.records(request.headers, name, key)).response()

    return app


async def _error_response(request: Request, exc: Exception) -> Response:
    return reply_for_error(exc).response()
