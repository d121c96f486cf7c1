"""What the engine sees of a licence (docs/architecture.md, "What the engine sees").

Every licence is verified on read: the issuer's Ed25519 signature against the trust
list in `licences/`, and the GB/T 36904 identifier's structure and check character
(`approvals.licence.verify` steps 1-9). A licence that fails is still handed over,
with `signature_valid: false` and the reason: whether a forged licence means `reject`
or `refer` is the ruleset's call, not the connector's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from approvals.engine.model import Gathered
from approvals.licence import Licence, LicenceError, TrustList, verify

# Names the view sets itself; a licence field of the same name is shadowed, because
# rulesets rely on these meaning the same thing for every licence type.
METADATA = (
    "licence_id",
    "type",
    "number",
    "holder_id_number",
    "issuer",
    "issue_date",
    "valid_from",
    "valid_to",
    "status",
    "signature_valid",
    "verification_problem",
    "usable",
    "problems",
)


def verification_problem(licence: Licence, trust: TrustList) -> str | None:
    """None when the licence verifies, else what the check found."""
    try:
        verify(licence, trust)
    except LicenceError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def problems_on(licence: Licence, problem: str | None, on: dt.date | None) -> list[str]:
    """Every reason the licence may not be relied on for an application dated `on`:
    authenticity (signature, identifier, trust list), the store's revocation status, and
    validity dates. Empty when it may be used."""
    found = [f"not authentic: {problem}"] if problem else []
    if licence.status != "valid":
        found.append(f"{licence.status} (licence store status)")
    if on is not None:
        if licence.valid_from > on:
            found.append(f"not valid until {licence.valid_from.isoformat()}")
        if licence.valid_to is not None and licence.valid_to < on:
            found.append(f"expired on {licence.valid_to.isoformat()}")
    return found


def licence_view(
    licence: Licence, trust: TrustList, on: dt.date | None = None
) -> dict[str, Any]:
    """The licence's fields, flattened, plus the metadata rulesets filter on.

    Dates are ISO text like dataset records, so `it.valid_to >= today` reads the same
    for both; `valid_to` is null for a licence without expiry (长期). `usable` and
    `problems` sum up every check on the application date `on` (when given), so the
    decision record says why a licence was not relied on.
    """
    problem = verification_problem(licence, trust)
    problems = problems_on(licence, problem, on)
    view = dict(licence.fields)
    view.update(
        licence_id=licence.licence_id,
        type=licence.type,
        number=licence.number,
        holder_id_number=licence.holder.id_number,
        issuer=licence.issuer.id,
        issue_date=licence.issue_date.isoformat(),
        valid_from=licence.valid_from.isoformat(),
        valid_to=licence.valid_to.isoformat() if licence.valid_to else None,
        status=licence.status,
        signature_valid=problem is None,
        verification_problem=problem,
        usable=not problems,
        problems=problems,
    )
    return view


def licences_not_used(inputs: Mapping[str, Gathered]) -> list[dict[str, Any]]:
    """Every licence read that a decision could not rely on, with why (for the record).

    The ruleset decides what follows (reject as "no valid licence", or refer); the
    record says which licence it was and what was wrong with it, so a citizen told
    "no valid driving licence" can see that theirs was revoked, expired or forged.
    """
    out: list[dict[str, Any]] = []
    for name, got in sorted(inputs.items()):
        if got.provenance.source != "licences" or not isinstance(got.value, list):
            continue
        for view in got.value:
            if isinstance(view, dict) and view.get("problems"):
                out.append(
                    {
                        "input": name,
                        "licence_id": view.get("licence_id"),
                        "type": view.get("type"),
                        "problems": list(view["problems"]),
                    }
                )
    return out
