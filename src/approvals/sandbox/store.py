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
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from approvals.licence.document import Licence, verify
from approvals.licence.trust import TrustList
from approvals.sandbox import faults as faults_admin
from approvals.sandbox.consent import ConsentGate
from approvals.sandbox.faults import FaultInjector, other_key
from approvals.sandbox.fixtures import Fixtures
from approvals.sandbox.reply import (
    HANDLED,
    DuplicateLicence,
    Reply,
    UnknownLicence,
    reply_for_error,
)
from approvals.sandbox.signing import signed_licences

__all__ = [
    "DuplicateLicence",
    "LicenceStore",
    "SandboxLicenceStore",
    "UnknownLicence",
    "create_licence_store_app",
]


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


class SandboxLicenceStore:
    """The licence store's handlers: consent, data and faults, without HTTP.

    The FastAPI app (`create_licence_store_app`) and the in-process exchange
    (`approvals.sandbox.inprocess`) both call these, so the two answer alike.
    """

    def __init__(
        self, store: LicenceStore, consent: ConsentGate | None, faults: FaultInjector
    ) -> None:
        self.store = store
        self.consent = consent
        self.faults = faults

    async def licences(
        self, headers: Mapping[str, str], holder: str, licence_type: str | None
    ) -> Reply:
        """`GET /v1/licences?holder=ID&type=CODE`; raises the `HANDLED` errors."""
        store = self.store
        if self.consent is not None:
            # A grant names licence types: a read of "every type" is never covered.
            self.consent.check(headers, licence_type or "*", holder, subject=holder)

        def produce() -> dict[str, Any]:
            return {"licences": [_json(lic) for lic in store.find(holder, licence_type)]}

        def schema(body: dict[str, Any]) -> dict[str, Any]:
            if body["licences"]:
                del body["licences"][0]["issue_date"]
            else:
                body["licences"] = {"count": 0}
            return body

        def wrong_person(body: dict[str, Any]) -> dict[str, Any]:
            other = store.someone_elses(holder, licence_type or "")
            if body["licences"]:
                body["licences"][0]["holder"]["id_number"] = other_key(holder)
            elif other is not None:
                body["licences"] = [_json(other)]
            else:
                body["licences"] = [{"holder": {"id_number": other_key(holder)}}]
            return body

        return await self.faults.respond(
            headers, licence_type or "*", holder, produce,
            schema=schema, wrong_person=wrong_person,
        )

    def licence(self, headers: Mapping[str, str], licence_id: str) -> dict[str, Any]:
        """`GET /v1/licences/{licence_id}`."""
        found = self.store.get(licence_id)
        if self.consent is not None:
            self.consent.check(headers, found.type, licence_id, subject=found.holder.id_number)
        return _json(found)

    def issue(self, licence: Licence) -> dict[str, Any]:
        """`POST /v1/licences` (201)."""
        return _json(self.store.add(licence))

    def revoke(self, licence_id: str) -> dict[str, Any]:
        """`POST /v1/licences/{licence_id}/revocation`."""
        return _json(self.store.revoke(licence_id))


def create_licence_store_app(
    fixtures: Fixtures,
    trust: TrustList,
    *,
    consent: ConsentGate | None = None,
    faults: FaultInjector | None = None,
) -> FastAPI:
    """A FastAPI app serving the fixture licences (signed at load) and accepting new ones.

    `consent` enforces grant tokens on reads; `faults` defaults to the plan in
    `$APPROVALS_SANDBOX_FAULTS`. The handlers are at `app.state.provider`.
    """
    store = LicenceStore(trust, signed_licences(fixtures, trust))
    provider = SandboxLicenceStore(store, consent, faults or FaultInjector.from_env("licences"))
    app = FastAPI(
        title="Approvals sandbox: electronic licence store",
        description="Simulated 电子证照库 (SANDBOX).",
        version="1",
    )
    for error in HANDLED:
        app.add_exception_handler(error, _error_response)
    app.state.provider = provider
    app.state.store = store
    app.state.consent = consent
    faults_admin.install(app, provider.faults)

    @app.get("/v1/licences", response_model=None)
    async def list_licences(request: Request, holder: str, type: str | None = None) -> Response:
        return (await provider.licences(request.headers, holder, type)).response()

    @app.get("/v1/licences/{licence_id}")
    def get_licence(licence_id: str, request: Request) -> dict[str, Any]:
        return provider.licence(request.headers, licence_id)

    @app.post("/v1/licences", status_code=201)
    def post_licence(licence: Licence) -> dict[str, Any]:
        return provider.issue(licence)

    @app.post("/v1/licences/{licence_id}/revocation")
    def revoke_licence(licence_id: str) -> dict[str, Any]:
        return provider.revoke(licence_id)

    return app


async def _error_response(request: Request, exc: Exception) -> Response:
    return reply_for_error(exc).response()
