"""The flagship items' facts derived by hand, in Python, from the gathered inputs.

What a team using durable_rules or plain Python would write instead of our derived-fact
expressions: read the records the data sources returned, compute the facts the criteria
read (`criteria.fact_names`), and note whether every source answered. The result has
exactly the shape the peers' rules take (`criteria.peer_facts`): the facts, `None`
where one could not be had, and `data_ok`.

The input (`RawInputs`) is our engine's input unwrapped, nothing derived: each source's
records as it delivered them (`None` when the source failed), the application date as
ISO text, the applicant and the form as typed. Dates are ISO text, so they compare as
text; they are parsed only for arithmetic (ages, spans in days). The rules follow the
rulesets (and so the engine) to the letter:

* a required single record (the population record) that is absent or not single makes
  the data not ok and every fact read from it missing;
* a failed source makes the data not ok and the facts read from it missing, but a fact
  that is already settled without it (`hukou or residence permit` with a Shenzhen
  hukou) is still had;
* a malformed date makes the data not ok and the fact missing;
* years are counted as the civil-affairs bureaus count them: someone born on 29
  February is a year older on 1 March in a common year.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

RawInputs = dict[str, Any]
Facts = dict[str, Any]
Params = dict[str, Any]


def _person(raw: RawInputs) -> dict[str, Any] | None:
    records = raw["person"]
    return records[0] if records is not None and len(records) == 1 else None


def _full_years(start: str, on: dt.date) -> int:
    born = dt.date.fromisoformat(start)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _age(person: dict[str, Any] | None, on: dt.date) -> tuple[int | None, bool]:
    """The age on `on`, and whether the birth date could be read."""
    if person is None or person["birth_date"] is None:
        return None, True
    try:
        return _full_years(person["birth_date"], on), True
    except (TypeError, ValueError):
        return None, False


def _years_before(on: dt.date, years: int) -> str:
    year = on.year - years
    if on.month == 2 and on.day == 29 and not calendar.isleap(year):
        return f"{year:04d}-03-01"
    return on.replace(year=year).isoformat()


def _valid_on(licence: dict[str, Any], today: str) -> bool:
    valid_to = licence["valid_to"]
    return bool(
        licence["signature_valid"]
        and licence["status"] == "valid"
        and licence["valid_from"] <= today
        and (valid_to is None or valid_to >= today)
    )


def _listed(debtors: list[dict[str, Any]], today: str) -> bool:
    return any(
        d["listed_on"] <= today and (d["removed_on"] is None or d["removed_on"] > today)
        for d in debtors
    )


def _answered(raw: RawInputs, sources: Sequence[str]) -> bool:
    return all(raw[s] is not None for s in sources)


def longevity_allowance(raw: RawInputs, p: Params) -> Facts:
    on = dt.date.fromisoformat(raw["today"])
    person = _person(raw)
    age, age_ok = _age(person, on)
    allowance = raw["allowance"]
    return {
        "shenzhen_hukou": None if person is None else person["hukou_city"] == "深圳市",
        "age": age,
        "deceased": None if person is None else person["deceased"],
        "already_receiving": (
            None if allowance is None else any(a["status"] == "active" for a in allowance)
        ),
        "data_ok": person is not None and age_ok and allowance is not None,
    }


def ride_hailing_driver_permit(raw: RawInputs, p: Params) -> Facts:
    today = raw["today"]
    on = dt.date.fromisoformat(today)
    person = _person(raw)
    age, age_ok = _age(person, on)

    licences = raw["driving_licences"]
    has_licence: bool | None = None
    years: int | None = None
    if licences is not None:
        classes = p["licence_classes"]
        valid = [x for x in licences if _valid_on(x, today) and x["class"] in classes]
        has_licence = bool(valid)
        firsts = [x["first_issue_date"] for x in valid if x["first_issue_date"] is not None]
        years = _full_years(min(firsts), on) if firsts else None

    records = raw["records"]
    traffic = violent = None
    if records is not None:
        traffic = any(r["category"] in p["traffic_disqualifying"] for r in records)
        violent = any(r["category"] in p["violent_disqualifying"] for r in records)

    scores = raw["scores"]
    full_score = None
    if scores is not None:
        since = _years_before(on, 3)
        full_score = any(since <= s["period_end"] < today and s["points"] >= 12 for s in scores)

    hukou = None if person is None else person["hukou_city"] == "深圳市"
    permits = raw["residence_permits"]
    lives = (
        hukou
        if hukou is not False
        else (None if permits is None else any(_valid_on(x, today) for x in permits))
    )

    exams = raw["exams"]
    exam = None
    if exams is not None:
        window = p["exam_valid_days"]
        exam = any(
            e["passed"]
            and e["exam_date"] <= today
            and (on - dt.date.fromisoformat(e["exam_date"])).days <= window
            for e in exams
        )

    held = raw["permits"]
    return {
        "has_valid_licence": has_licence,
        "driving_years": years,
        "age": age,
        "traffic_record": traffic,
        "violent_record": violent,
        "recent_full_score": full_score,
        "lives_in_shenzhen": lives,
        "recent_exam_pass": exam,
        "holds_permit": None if held is None else any(_valid_on(x, today) for x in held),
        "data_ok": person is not None and age_ok and _answered(raw, RIDE_HAILING_SOURCES),
    }


RIDE_HAILING_SOURCES = (
    "records",
    "scores",
    "exams",
    "driving_licences",
    "residence_permits",
    "permits",
)


def graduate_hukou(raw: RawInputs, p: Params) -> Facts:
    today = raw["today"]
    on = dt.date.fromisoformat(today)
    person = _person(raw)
    age, age_ok = _age(person, on)

    degrees = raw["degrees"]
    has_degree = recent = under = None
    if degrees is not None:
        levels = p["degree_levels"]
        valid = [
            d
            for d in degrees
            if d["signature_valid"]
            and d["status"] == "valid"
            and d["study_mode"] == "全日制"
            and d["level"] in levels
        ]
        has_degree = bool(valid)
        since = _years_before(on, p["graduation_window_years"])
        recent = any(since <= d["graduation_date"] <= today for d in valid)
        if valid and age is not None:
            limits = p["age_limit"]
            under = age < max(limits[d["level"]] for d in valid)

    records, debtors = raw["records"], raw["debtors"]
    return {
        "has_degree": has_degree,
        "recent_graduate": recent,
        "under_age_limit": under,
        "shenzhen_hukou": None if person is None else person["hukou_city"] == "深圳市",
        "any_criminal_record": None if records is None else len(records) > 0,
        "dishonest_debtor": None if debtors is None else _listed(debtors, today),
        "data_ok": person is not None and age_ok and _answered(raw, GRADUATE_SOURCES),
    }


GRADUATE_SOURCES = ("degrees", "records", "debtors")


def individual_business_registration(raw: RawInputs, p: Params) -> Facts:
    today = raw["today"]
    on = dt.date.fromisoformat(today)
    person = _person(raw)
    age, age_ok = _age(person, on)
    form = raw["form"]
    address = form["premises_address"]

    property_ = raw["property"]
    owns = None
    if property_ is not None:
        owns = any(
            x["signature_valid"] and x["status"] == "valid" and x["address"] == address
            for x in property_
        )
    leases = raw["leases"]
    leased = None
    if leases is not None:
        applicant = raw["applicant"]["id_number"]
        leased = any(
            x["address"] == address
            and x["lessee_id_number"] == applicant
            and x["valid_from"] <= today
            and x["valid_to"] >= today
            for x in leases
        )
    premises = owns if owns is not False else leased

    codes = form["scope_codes"] or []
    allowed, licensed = p["allowed_scopes"], p["licensed_scopes"]
    debtors, same_name = raw["debtors"], raw["same_name"]
    return {
        "age": age,
        "dishonest_debtor": None if debtors is None else _listed(debtors, today),
        "name_taken": None if same_name is None else len(same_name) > 0,
        "premises_proven": premises,
        # No vacuous truth: an empty list of scopes is not allowed (as the engine's all()).
        "scopes_allowed": bool(codes) and all(c in allowed for c in codes),
        "needs_prior_licence": any(c in licensed for c in codes),
        "data_ok": person is not None and age_ok and _answered(raw, BUSINESS_SOURCES),
    }


BUSINESS_SOURCES = ("debtors", "same_name", "leases", "property")


DERIVE: dict[str, Callable[[RawInputs, Params], Facts]] = {
    "longevity-allowance": longevity_allowance,
    "ride-hailing-driver-permit": ride_hailing_driver_permit,
    "graduate-hukou": graduate_hukou,
    "individual-business-registration": individual_business_registration,
}
