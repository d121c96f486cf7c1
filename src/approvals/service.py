"""One application, end to end: find the ruleset, gather, decide, sign, store, issue.

The order matters and is the service's promise (DESIGN.md, "One application"):

1. The ruleset is the version in force on the application date D: today in China
   Standard Time unless a privileged caller states D.
2. Inputs are re-read from the authoritative sources; the client's copy of government
   data is never used (the form carries only what the applicant supplies).
3. The engine decides (synchronously: durable_rules holds the GIL for ~70 µs).
4. The decision record is canonicalised (RFC 8785), signed (Ed25519) and committed in
   the same transaction as the application and any licence it issues. Only then is
   the answer returned, so an acknowledged decision is never lost.
5. A licence is signed by its issuing department and delivered to the licence store
   after the commit; a delivery failure leaves it `pending` (never a second licence).

A second submission with the same Idempotency-Key gets the stored decision back; the
same key with a different body is a `Conflict`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import TypeAdapter

from approvals.audit.canonical import canonical_json, to_json_value
from approvals.audit.keys import SigningKey
from approvals.audit.record import sign_record
from approvals.engine.model import CheckResult, Decision, Gathered, Reason
from approvals.engine.runtime import Engine
from approvals.errors import ApprovalsError, Conflict, InvalidRequest
from approvals.licence import Holder, IssuerRef, Licence, LicenceError, TrustList, sign
from approvals.licence import id_number as id_numbers
from approvals.licence import identifier as licence_ids
from approvals.licence import uscc as usccs
from approvals.licence import verify as verify_licence
from approvals.sandbox.keys import signing_key as sandbox_issuer_key
from approvals.sources.governed import Access
from approvals.sources.verify import licences_not_used
from approvals.spec.catalog import Catalog, LoadedRuleset
from approvals.store import (
    Application,
    DecisionRecord,
    DuplicateSubmission,
    IssuedLicence,
    RulesetText,
    Store,
    StoredApplication,
    utc,
)
from approvals.store.consents import UsageRow
from approvals.store.rows import build_row

RECORD_VERSION = 1
# China Standard Time has been UTC+8 without daylight saving since 1991; the
# application date D is the calendar date there (DESIGN.md, "Rulesets").
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")
# 个体工商户 (individual business): registration department 9 (market regulation),
# category 2 (GB 32100-2015 Table 2); Shenzhen's division code (GB/T 2260).
INDIVIDUAL_BUSINESS_PREFIX = "92"
SHENZHEN_DIVISION = "440300"

Clock = Callable[[], dt.datetime]
# (trust list, issuer id, issue date) -> the issuer's private key and its key id.
IssuerKeys = Callable[[TrustList, str, dt.date], tuple[Ed25519PrivateKey, str]]


class Sources(Protocol):
    """What the service needs of `approvals.sources.Sources`."""

    async def gather(
        self,
        loaded: LoadedRuleset,
        applicant_id: str,
        form: Mapping[str, Any],
        on: dt.date,
        access: Access | None = None,
    ) -> Mapping[str, Gathered]: ...

    async def prefill(
        self, loaded: LoadedRuleset, applicant_id: str, on: dt.date, access: Access | None = None
    ) -> Any: ...


class LicenceSink(Protocol):
    """Delivers a signed licence to the licence store (raises `ApprovalsError` on failure)."""

    async def __call__(self, licence: Licence) -> None: ...


@dataclass(frozen=True)
class Submission:
    applicant: str
    item: str
    form: Mapping[str, Any]
    idempotency_key: str | None = None
    on: dt.date | None = None
    filed_by: str | None = None
    consent_id: str | None = None  # the grant to read under (default: the applicant's own)

    def digest(self) -> str:
        """What makes two submissions "the same" for an Idempotency-Key."""
        body = {
            "applicant": self.applicant,
            "item": self.item,
            "form": dict(self.form),
            "on": None if self.on is None else self.on.isoformat(),  # as canonical_json writes it
        }
        return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class Outcome:
    stored: StoredApplication
    replayed: bool  # True when an earlier submission with the same key answered


def today_in_china(clock: Clock) -> dt.date:
    return clock().astimezone(CHINA_STANDARD_TIME).date()


def check_id_number(number: str, field: str = "applicant") -> str:
    if not id_numbers.is_valid(number):
        raise InvalidRequest(
            f"公民身份号码无效（GB 11643 校验）/ invalid citizen ID number {number!r}: "
            "expected 17 digits, a real birth date and the GB 11643 check character",
            field=field,
        )
    return number


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DecisionService:
    def __init__(
        self,
        catalog: Catalog,
        sources: Sources,
        store: Store,
        signer: SigningKey,
        *,
        trust: TrustList,
        deliver_licence: LicenceSink | None = None,
        issuer_keys: IssuerKeys | None = sandbox_issuer_key,
        clock: Clock = utcnow,
    ) -> None:
        self.catalog = catalog
        self.sources = sources
        self.store = store
        self.signer = signer
        self.trust = trust
        self.deliver_licence = deliver_licence
        self.issuer_keys = issuer_keys
        self.clock = clock
        self.engine = Engine()

    def application_date(self, stated: dt.date | None) -> dt.date:
        return stated if stated is not None else today_in_china(self.clock)

    def ruleset(self, code: str, on: dt.date | None = None) -> LoadedRuleset:
        return self.catalog.in_force(code, self.application_date(on))

    async def prefill(
        self,
        code: str,
        applicant: str,
        on: dt.date | None = None,
        *,
        by: str | None = None,
        consent_id: str | None = None,
    ) -> Any:
        """`by` is the staff member prefilling for the applicant (免证办), if any."""
        check_id_number(applicant)
        day = self.application_date(on)
        access = Access(actor=_actor(applicant, by), consent_id=consent_id)
        return await self.sources.prefill(self.catalog.in_force(code, day), applicant, day, access)

    async def submit(self, submission: Submission) -> Outcome:
        check_id_number(submission.applicant)
        digest = submission.digest()
        if submission.idempotency_key is not None:
            earlier = await self.store.read(
                self.store.by_idempotency_key, submission.applicant, submission.idempotency_key
            )
            if earlier is not None:
                return await self._replay(earlier, digest)

        day = self.application_date(submission.on)
        loaded = self.catalog.in_force(submission.item, day)
        # The id exists before the reads, so each usage record names its application.
        application_id = str(uuid.uuid4())
        # The reads' usage records are committed with the decision, or alone if no
        # decision is committed: every read is recorded either way (用证留痕).
        usage: list[UsageRow] = []
        access = Access(
            actor=_actor(submission.applicant, submission.filed_by),
            consent_id=submission.consent_id,
            application_id=application_id,
            usage=usage,
        )
        committed = False
        try:
            inputs = await self.sources.gather(
                loaded, submission.applicant, submission.form, day, access
            )
            decision = self.engine.decide(
                loaded, inputs, submission.form, day, applicant={"id_number": submission.applicant}
            )
            rows = self._rows(submission, digest, loaded, inputs, decision, application_id)
            try:
                stored = await self.store.commit_decision(*rows, usage=usage)
                committed = True
            except DuplicateSubmission as lost:
                # Lost an Idempotency-Key race: the winner's decision stands.
                return await self._replay(lost.existing, digest)
        finally:
            if usage and not committed:
                await self.store.run(self.store.save_usage, usage)
        if not stored.licences:  # nothing to deliver: what was committed is the answer
            return Outcome(stored, replayed=False)
        await self._deliver(stored)
        refreshed = await self.store.read(self.store.get, stored.application.id)
        return Outcome(refreshed or stored, replayed=False)

    def get(self, application_id: str) -> StoredApplication | None:
        return self.store.get(application_id)

    async def _replay(self, earlier: StoredApplication, digest: str) -> Outcome:
        if earlier.application.request_digest != digest:
            raise Conflict(
                "Idempotency-Key 已用于另一份申请 / the Idempotency-Key was already used "
                f"for a different request (application {earlier.application.id}); "
                "use a new key for a new application"
            )
        if any(lic.status == "pending" for lic in earlier.licences):
            await self._deliver(earlier)  # a retry is also a chance to deliver the licence
            again: StoredApplication | None = await self.store.read(
                self.store.get, earlier.application.id
            )
            earlier = again or earlier
        return Outcome(earlier, replayed=True)

    def _rows(
        self,
        submission: Submission,
        digest: str,
        loaded: LoadedRuleset,
        inputs: Mapping[str, Gathered],
        decision: Decision,
        application_id: str,
    ) -> tuple[Application, DecisionRecord, IssuedLicence | None, RulesetText | None]:
        """The rows a decision commits: the application, its signed record, the licence
        it issues (signed by the issuer), and the ruleset text it was decided under."""
        now = self.clock().astimezone(dt.UTC)
        licence = None
        if decision.outcome == "approve" and decision.issues and decision.issues.get("licence"):
            licence = self._build_licence(application_id, submission.applicant, inputs, decision)
        record = decision_record(
            application_id, submission, loaded, inputs, decision, now, licence
        )
        signed = sign_record(record, self.signer)
        ruleset = None
        if not self.store.has_ruleset(loaded.hash):  # stored once per version
            ruleset = build_row(
                RulesetText, hash=loaded.hash, code=loaded.code, version=loaded.version,
                path=loaded.path, text=loaded.text, stored_at=now,
            )
        application = build_row(
            Application,
            id=application_id,
            applicant=submission.applicant,
            item_code=loaded.code,
            ruleset_version=loaded.version,
            ruleset_hash=loaded.hash,
            application_date=decision.on,
            outcome=decision.outcome,
            filed_by=submission.filed_by,
            idempotency_key=submission.idempotency_key,
            request_digest=digest,
            created_at=now,
        )
        row = build_row(
            DecisionRecord,
            application_id=application_id,
            leaf=signed.leaf,
            signature=signed.signature,
            key_id=signed.key_id,
            created_at=now,
        )
        issued = None
        if licence is not None:
            issued = build_row(
                IssuedLicence,
                licence_id=licence.licence_id,
                application_id=application_id,
                holder=licence.holder.id_number,
                type=licence.type,
                document=licence.model_dump_json(),
                created_at=now,
            )
        # The ruleset text is stored with the decision (once per version), in its transaction.
        return application, row, issued, ruleset

    def _build_licence(
        self,
        application_id: str,
        applicant: str,
        inputs: Mapping[str, Gathered],
        decision: Decision,
    ) -> Licence:
        assert decision.issues is not None
        spec: dict[str, Any] = decision.issues["licence"]
        kind = self.trust.licence_type(spec["type"])
        issuer = self.trust.issuer(spec["issuer"])
        # The serial is the application id: one application, one licence, traceable.
        serial = uuid.UUID(application_id).hex.upper()
        fields = dict(spec.get("fields") or {})
        declared = {f.name for f in kind.fields}
        if "uscc" in declared and not fields.get("uscc"):
            fields["uscc"] = new_uscc(application_id)
        valid_from = _as_date(spec.get("valid_from")) or decision.on
        valid_to = _as_date(spec.get("valid_to"))
        if valid_to is None and kind.validity is not None:
            valid_to = _years_later(valid_from, kind.validity.years) - dt.timedelta(days=1)
        licence = Licence(
            licence_id=licence_ids.build(kind.code, issuer.code, serial),
            type=kind.type,
            type_name=kind.name.zh,
            number=str(fields.get("uscc") or serial[:20]),
            holder=Holder(id_number=applicant, name=_holder_name(decision, inputs, applicant)),
            issuer=IssuerRef(id=issuer.id, code=issuer.code, name=issuer.name.zh),
            issue_date=decision.on,
            valid_from=valid_from,
            valid_to=valid_to,
            fields=fields,
        )
        # Sandbox mode: the issuing department's key is derived from its id. A real
        # deployment hands the unsigned licence to the department's signing service.
        if self.issuer_keys is None:
            raise ApprovalsError(
                f"cannot issue {kind.type}: no signing service for issuer {issuer.id} is "
                "configured (sandbox issuer keys are only used in sandbox mode)"
            )
        private, key_id = self.issuer_keys(self.trust, issuer.id, decision.on)
        signed = sign(licence, private, key_id)
        try:
            # The store would refuse it; find out before the decision is committed.
            verify_licence(signed, self.trust)
        except LicenceError as exc:
            raise ApprovalsError(
                f"item {decision.ruleset.code} v{decision.ruleset.version} issues a licence "
                f"the trust list does not accept (run `approvals items lint`): {exc}"
            ) from exc
        return signed

    async def _deliver(self, stored: StoredApplication) -> None:
        if self.deliver_licence is None:
            return
        for row in stored.licences:
            if row.status != "pending":
                continue
            licence = Licence.model_validate_json(row.document)
            try:
                await self.deliver_licence(licence)
            except ApprovalsError as exc:
                await self.store.mark_licence(row.licence_id, delivered_at=None, error=str(exc))
            else:
                when = self.clock().astimezone(dt.UTC)
                await self.store.mark_licence(row.licence_id, delivered_at=when)


# One call into pydantic's serializer for each list, not one per model: the checks'
# dump took half the time (timed alone: 10.8 against 5.3 µs for seven checks).
_INPUTS = TypeAdapter(dict[str, Gathered])
_CHECKS = TypeAdapter(list[CheckResult])
_REASONS = TypeAdapter(list[Reason])


def decision_record(
    application_id: str,
    submission: Submission,
    loaded: LoadedRuleset,
    inputs: Mapping[str, Gathered],
    decision: Decision,
    decided_at: dt.datetime,
    licence: Licence | None,
) -> dict[str, Any]:
    """The record an auditor reads: everything the decision depended on, and why.

    `sign_record` adds `key_id` and `log_origin`; the signed record is a Merkle leaf.
    """
    spec = loaded.spec
    facts = {k: v for k, v in decision.facts.items() if k != "form"}
    return {
        "record_version": RECORD_VERSION,
        "type": "decision",
        "decision_id": application_id,
        "application_id": application_id,
        "applicant": {"id_number": submission.applicant},
        "filed_by": submission.filed_by,
        "item": {
            "code": spec.code,
            "name": spec.name.model_dump(),
            "kind": spec.kind,
            "department": spec.department.model_dump(),
        },
        "ruleset": decision.ruleset.model_dump(),
        # As text already, in the form `canonical_json` writes them (date: YYYY-MM-DD;
        # datetime: UTC with Z): the record is then plain JSON, and signing takes the
        # fast walk instead of the careful one (a tenth of a decision's CPU).
        "application_date": decision.on.isoformat(),
        "decided_at": to_json_value(decided_at.astimezone(dt.UTC)),
        "inputs": _INPUTS.dump_python(dict(sorted(inputs.items())), mode="json"),
        "form": decision.facts.get("form", {}),
        "submitted_form": dict(submission.form),
        "facts": facts,
        "parameters": decision.parameters,
        "checks": _CHECKS.dump_python(decision.checks, mode="json"),
        "outcome": decision.outcome,
        "reasons": _REASONS.dump_python(decision.reasons, mode="json"),
        # Why each licence read was not relied on (forged, revoked, expired, ...).
        "licences_not_used": licences_not_used(inputs),
        "issues": decision.issues,
        "licence": None if licence is None else {
            "licence_id": licence.licence_id,
            "type": licence.type,
            "issuer": licence.issuer.id,
            "digest": "sha256:" + hashlib.sha256(
                canonical_json(licence.model_dump(mode="json"))
            ).hexdigest(),
        },
    }


def answer(stored: StoredApplication) -> dict[str, Any]:
    """The decision as the API and the CLI show it, read back from the signed record.

    Everything but the licence delivery status comes out of the stored record bytes,
    so what a caller sees is exactly what was signed.
    """
    # From the leaf (what the log holds and `approvals audit verify` checks), not from
    # the `record` column beside it. The leaf is RFC 8785 JSON with I-JSON integers,
    # which orjson reads as `json` does, at a third of the cost.
    leaf: dict[str, Any] = orjson.loads(stored.record.leaf)
    record: dict[str, Any] = leaf["record"]
    app = stored.application
    return {
        "id": app.id,
        "applicant": app.applicant,
        "item": record["item"],
        "outcome": record["outcome"],
        "reasons": record["reasons"],
        "ruleset": record["ruleset"],
        "application_date": record["application_date"],
        "decided_at": record["decided_at"],
        "issues": record["issues"],
        "checks": record["checks"],
        "licences": [
            {
                "licence_id": row.licence_id,
                "type": row.type,
                "status": row.status,
                "error": row.error,
                "issued_at": None if row.issued_at is None else utc(row.issued_at).isoformat(),
                "document": json.loads(row.document),
            }
            for row in stored.licences
        ],
        "signed_record": leaf,
        "leaf": base64.b64encode(stored.record.leaf).decode("ascii"),
        "leaf_index": stored.record.leaf_index,
    }


def _actor(applicant: str, staff: str | None) -> str:
    return f"staff:{staff}" if staff else f"citizen:{applicant}"


def summary(app: Application) -> dict[str, Any]:
    return {
        "id": app.id,
        "item": app.item_code,
        "outcome": app.outcome,
        "application_date": app.application_date.isoformat(),
        "created_at": utc(app.created_at).isoformat(),
    }


def new_uscc(application_id: str) -> str:
    """A new 统一社会信用代码 for an individual business, derived from the application id."""
    alphabet = usccs.ALPHABET
    number = uuid.UUID(application_id).int
    body = ""
    for _ in range(9):
        number, digit = divmod(number, len(alphabet))
        body += alphabet[digit]
    return usccs.make(INDIVIDUAL_BUSINESS_PREFIX, SHENZHEN_DIVISION, body)


def _holder_name(decision: Decision, inputs: Mapping[str, Gathered], applicant: str) -> str:
    form = decision.facts.get("form") or {}
    for key in ("name", "operator_name", "applicant_name"):
        if isinstance(form.get(key), str) and form[key]:
            return str(form[key])
    for got in inputs.values():
        if got.provenance.dataset == "population" and isinstance(got.value, list):
            for row in got.value:
                if isinstance(row, dict) and row.get("id_number") == applicant and row.get("name"):
                    return str(row["name"])
    raise ApprovalsError(
        "cannot issue the licence: the holder's name is neither in the form nor in the "
        "population record"
    )


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one: the anniversary is 1 March
        return dt.date(day.year + years, 3, 1)
