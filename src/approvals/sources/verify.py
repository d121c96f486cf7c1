"""What the engine sees of a licence (docs/architecture.md, "What the engine sees").

Every licence is verified on read: the issuer's Ed25519 signature against the trust
list in `licences/`, and the GB/T 36904 identifier's structure and check character
(`approvals.licence.verify` steps 1-9). A licence that fails is still handed over,
with `signature_valid: false` and the reason: whether a forged licence means `reject`
or `refer` is the ruleset's call, not the connector's.
"""

from __future__ import annotations

from typing import Any

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
)


def verification_problem(licence: Licence, trust: TrustList) -> str | None:
    """None when the licence verifies, else what the check found."""
    try:
        verify(licence, trust)
    except LicenceError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def licence_view(licence: Licence, trust: TrustList) -> dict[str, Any]:
    """The licence's fields, flattened, plus the metadata rulesets filter on.

    Dates are ISO text like dataset records, so `it.valid_to >= today` reads the same
    for both; `valid_to` is null for a licence without expiry (长期).
    """
    problem = verification_problem(licence, trust)
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
    )
    return view
