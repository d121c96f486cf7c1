"""The flagship items as plain Python functions: the floor no rules engine can beat.

Each function in `FUNCTIONS` is what a programmer would write for one item with the
facts in hand: compare, collect the failures, settle the outcome. Each in `FROM_RAW`
starts from the gathered inputs instead: the hand-written derivation
(`approvals.bench.derive`), then the same comparisons. No explanation is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from approvals.bench import derive
from approvals.bench.criteria import Verdict, settle

Facts = dict[str, Any]


def longevity_allowance(f: Facts, p: Facts) -> Verdict:
    hukou, age, deceased, receiving = (
        f["shenzhen_hukou"],
        f["age"],
        f["deceased"],
        f["already_receiving"],
    )
    failed = []
    if hukou is False:
        failed.append("shenzhen-hukou")
    if age is not None and age < p["min_age"]:
        failed.append("age-80")
    if deceased is True:
        failed.append("alive")
    if receiving is True:
        failed.append("not-receiving")
    missing = None in (hukou, age, deceased, receiving)
    return settle(f["data_ok"], missing, bool(failed), failed)


def ride_hailing_driver_permit(f: Facts, p: Facts) -> Verdict:
    licence, years, age = f["has_valid_licence"], f["driving_years"], f["age"]
    flags = (
        ("no-traffic-drug-record", f["traffic_record"], True),
        ("no-violent-record", f["violent_record"], True),
        ("no-full-score", f["recent_full_score"], True),
        ("residence", f["lives_in_shenzhen"], False),
        ("exam", f["recent_exam_pass"], False),
        ("no-existing-permit", f["holds_permit"], True),
    )
    failed = []
    missing = licence is None or age is None
    if licence is False:
        failed.append("driving-licence")
    elif licence is True:
        if years is None:
            missing = True
        elif years < p["min_driving_years"]:
            failed.append("driving-experience")
    if age is not None and age > p["max_age"]:
        failed.append("age")
    for check, value, failing in flags:
        if value is None:
            missing = True
        elif value is failing:
            failed.append(check)
    return settle(f["data_ok"], missing, bool(failed), failed)


def graduate_hukou(f: Facts, p: Facts) -> Verdict:
    degree, hukou = f["has_degree"], f["shenzhen_hukou"]
    record, debtor = f["any_criminal_record"], f["dishonest_debtor"]
    failed = []
    missing = None in (degree, hukou, record, debtor)
    if degree is False:
        failed.append("degree")
    elif degree is True:
        recent, under = f["recent_graduate"], f["under_age_limit"]
        missing = missing or None in (recent, under)
        if recent is False:
            failed.append("recent-graduation")
        if under is False:
            failed.append("age-limit")
    rejects = bool(failed) or hukou is True
    if hukou is True:
        failed.append("not-shenzhen-hukou")
    if record is True:
        failed.append("no-criminal-record")
    if debtor is True:
        failed.append("not-dishonest-debtor")
    return settle(f["data_ok"], missing, rejects, failed)


def individual_business_registration(f: Facts, p: Facts) -> Verdict:
    age = f["age"]
    flags = (
        ("not-dishonest-debtor", f["dishonest_debtor"], True),
        ("name-available", f["name_taken"], True),
        ("premises", f["premises_proven"], False),
        ("scope-allowed", f["scopes_allowed"], False),
    )
    failed = []
    missing = age is None
    if age is not None and age < p["min_age"]:
        failed.append("adult")
    for check, value, failing in flags:
        if value is None:
            missing = True
        elif value is failing:
            failed.append(check)
    rejects = bool(failed)
    prior = f["needs_prior_licence"]
    if prior is None:
        missing = True
    elif prior is True:
        failed.append("scope-prior-licence")
    return settle(f["data_ok"], missing, rejects, failed)


FUNCTIONS: dict[str, Callable[[Facts, Facts], Verdict]] = {
    "longevity-allowance": longevity_allowance,
    "ride-hailing-driver-permit": ride_hailing_driver_permit,
    "graduate-hukou": graduate_hukou,
    "individual-business-registration": individual_business_registration,
}


def _from_raw(
    derive_facts: Callable[[Facts, Facts], Facts], decide: Callable[[Facts, Facts], Verdict]
) -> Callable[[Facts, Facts], Verdict]:
    def from_raw(raw: Facts, p: Facts) -> Verdict:
        return decide(derive_facts(raw, p), p)

    from_raw.__name__ = f"{decide.__name__}_from_raw"
    return from_raw


FROM_RAW: dict[str, Callable[[Facts, Facts], Verdict]] = {
    code: _from_raw(derive.DERIVE[code], decide) for code, decide in FUNCTIONS.items()
}
