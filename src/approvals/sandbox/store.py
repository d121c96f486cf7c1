"""The simulated electronic licence store (电子证照库), contract in docs/architecture.md.

    GET  /v1/licences?holder=ID&type=CODE   every licence of that holder (and type)
    GET  /v1/licences/{licence_id}          one licence, 404 if unknown
    POST /v1/licences                       a signed licence: 201, or 422 if it does not
                                            verify against the trust list, 409 if the id
                                            is taken
    POST /v1/licences/{licence_id}/revocation   mark it revoked (status is the store's)

The fixture licences are loaded without verification (forgeries are there on purpose,
the sources layer must catch them); licences POSTed later must verify. With a
`ConsentGate`, reading a holder's licences needs a consent grant token covering the
licence type and that holder (else 403); issuing (POST) and revoking are the issuing
departments' writes and need none. A `FaultInjector` makes reads fail on demand.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from approvals.licence.document import Licence, verify
from approvals.licence.errors import LicenceError
from approvals.licence.trust import TrustList
from approvals.sandbox import faults as faults_admin
from approvals.sandbox.consent import ConsentGate
from approvals.sandbox.faults import FaultInjector, other_key
from approvals.sandbox.fixtures import Fixtures
from approvals.sandbox.signing import signed_licences
from approvals.sources.consent import ConsentError


class UnknownLicence(LookupError):
    def __init__(self, licence_id: str) -> None:
        self.licence_id = licence_id
        super().__init__(f"no licence {licence_id!r} in the store")


class DuplicateLicence(ValueError):
    def __init__(self, licence_id: str) -> None:
        self.licence_id = licence_id
        super().__init__(f"a licence {licence_id!r} is already in the store")


class LicenceStore:
    """In-memory, thread-safe (one lock; the sandbox is not a load test)."""

    def __init__(self, trust: TrustList, licences: list[Licence] | None = None) -> None:
        self._trust = trust
        self._lock = threading.Lock()
        self._by_id: dict[str, Licence] = {}
        # Licence ids per holder: every read is by holder, and scanning all ~1,100
        # licences per read was a tenth of a signed decision's CPU (docs/performance.md).
        self._by_holder: dict[str, list[str]] = {}
        for licence in licences or []:
            self._put(licence)

    def _put(self, licence: Licence) -> None:
        if licence.licence_id not in self._by_id:
            self._by_holder.setdefault(licence.holder.id_number, []).append(licence.licence_id)
        self._by_id[licence.licence_id] = licence

    def find(self, holder: str, licence_type: str | None = None) -> list[Licence]:
        with self._lock:
            held = (self._by_id[i] for i in self._by_holder.get(holder, ()))
            return [lic for lic in held if licence_type is None or lic.type == licence_type]

    def someone_elses(self, holder: str, licence_type: str) -> Licence | None:
        """A licence of the type held by anyone but `holder` (for wrong-person faults)."""
        with self._lock:
            return next(
                (
                    lic
                    for lic in self._by_id.values()
                    if lic.type == licence_type and lic.holder.id_number != holder
                ),
                None,
            )

    def get(self, licence_id: str) -> Licence:
        with self._lock:
            try:
                return self._by_id[licence_id]
            except KeyError:
                raise UnknownLicence(licence_id) from None

    def add(self, licence: Licence) -> Licence:
        """Verify and store a newly issued licence; its status starts as `valid`."""
        verify(licence, self._trust)
        stored = licence.model_copy(update={"status": "valid"})
        with self._lock:
            if licence.licence_id in self._by_id:
                raise DuplicateLicence(licence.licence_id)
            self._put(stored)
        return stored

    def revoke(self, licence_id: str) -> Licence:
        with self._lock:
            if licence_id not in self._by_id:
                raise UnknownLicence(licence_id)
            revoked = self._by_id[licence_id].model_copy(update={"status": "revoked"})
            self._by_id[licence_id] = revoked
            return revoked


def _json(licence: Licence) -> dict[str, Any]:
    return licence.model_dump(mode="json")


def create_licence_store_app(
    fixtures: Fixtures,
    trust: TrustList,
    *,
    consent: ConsentGate | None = None,
    faults: FaultInjector | None = None,
) -> FastAPI:
    """A FastAPI app serving the fixture licences (signed at load) and accepting new ones.

    `consent` enforces grant tokens on reads; `faults` defaults to the plan in
    `$APPROVALS_SANDBOX_FAULTS`.
    """
    store = LicenceStore(trust, signed_licences(fixtures, trust))
    injector = faults or FaultInjector.from_env("licences")
    app = FastAPI(
        title="Approvals sandbox: electronic licence store",
        description="Simulated 电子证照库 (SANDBOX).",
        version="1",
    )
    app.state.store = store
    app.state.consent = consent
    faults_admin.install(app, injector)

    @app.exception_handler(ConsentError)
    async def _no_consent(request: Request, exc: ConsentError) -> JSONResponse:
        return JSONResponse(
            status_code=403, content={"error": "consent_required", "detail": str(exc)}
        )

    # Domain errors are mapped to HTTP statuses here, and only here.
    @app.exception_handler(UnknownLicence)
    async def _unknown(request: Request, exc: UnknownLicence) -> JSONResponse:
        return JSONResponse(
            status_code=404, content={"error": "unknown_licence", "detail": str(exc)}
        )

    @app.exception_handler(DuplicateLicence)
    async def _duplicate(request: Request, exc: DuplicateLicence) -> JSONResponse:
        return JSONResponse(
            status_code=409, content={"error": "duplicate_licence", "detail": str(exc)}
        )

    @app.exception_handler(LicenceError)
    async def _refused(request: Request, exc: LicenceError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={
                "error": "licence_not_verified",
                "kind": type(exc).__name__,
                "detail": str(exc),
            },
        )

    @app.get("/v1/licences", response_model=None)
    async def list_licences(request: Request, holder: str, type: str | None = None) -> Response:
        if consent is not None:
            # A grant names licence types: a read of "every type" is never covered.
            consent.check(request.headers, type or "*", holder, subject=holder)

        def produce() -> dict[str, Any]:
            return {"licences": [_json(lic) for lic in store.find(holder, type)]}

        def schema(body: dict[str, Any]) -> dict[str, Any]:
            if body["licences"]:
                del body["licences"][0]["issue_date"]
            else:
                body["licences"] = {"count": 0}
            return body

        def wrong_person(body: dict[str, Any]) -> dict[str, Any]:
            other = store.someone_elses(holder, type or "")
            if body["licences"]:
                body["licences"][0]["holder"]["id_number"] = other_key(holder)
            elif other is not None:
                body["licences"] = [_json(other)]
            else:
                body["licences"] = [{"holder": {"id_number": other_key(holder)}}]
            return body

        return await injector.respond(
            request.headers, type or "*", holder, produce, schema=schema, wrong_person=wrong_person
        )

    @app.get("/v1/licences/{licence_id}")
    def get_licence(licence_id: str, request: Request) -> dict[str, Any]:
        found = store.get(licence_id)
        if consent is not None:
            consent.check(request.headers, found.type, licence_id, subject=found.holder.id_number)
        return _json(found)

    @app.post("/v1/licences", status_code=201)
    def post_licence(licence: Licence) -> dict[str, Any]:
        return _json(store.add(licence))

    @app.post("/v1/licences/{licence_id}/revocation")
    def revoke_licence(licence_id: str) -> dict[str, Any]:
        return _json(store.revoke(licence_id))

    return app
