"""Assembling a fixture file: people, dataset records and unsigned licences.

Used by the generator (`generate.py`) and the named showcase cases (`showcase.py`).
Every helper takes explicit values so that the output depends only on the calls made
(and on the generator's seeded random numbers), never on the clock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from approvals.licence import id_number
from approvals.sandbox.datasets import BY_NAME
from approvals.sandbox.dates import add_years
from approvals.sandbox.fixtures import (
    Fixtures,
    LicenceFixture,
    Outcome,
    Person,
    Showcase,
    Tamper,
)

SHENZHEN = "深圳市"

# GB/T 2260 county codes used for synthetic people, with the hukou city they imply.
SZ_DISTRICTS: dict[str, str] = {
    "440303": "罗湖区",
    "440304": "福田区",
    "440305": "南山区",
    "440306": "宝安区",
    "440307": "龙岗区",
    "440308": "盐田区",
    "440309": "龙华区",
    "440310": "坪山区",
    "440311": "光明区",
}
OTHER_COUNTIES: dict[str, tuple[str, str, str]] = {
    # code: (province, city, county)
    "430102": ("湖南省", "长沙市", "芙蓉区"),
    "360102": ("江西省", "南昌市", "东湖区"),
    "420106": ("湖北省", "武汉市", "武昌区"),
    "510104": ("四川省", "成都市", "锦江区"),
    "450102": ("广西壮族自治区", "南宁市", "兴宁区"),
    "441302": ("广东省", "惠州市", "惠城区"),
    "445202": ("广东省", "揭阳市", "榕城区"),
    "440106": ("广东省", "广州市", "天河区"),
    "350102": ("福建省", "福州市", "鼓楼区"),
    "410105": ("河南省", "郑州市", "金水区"),
}


def city_of(region: str) -> str:
    if region in SZ_DISTRICTS:
        return SHENZHEN
    return OTHER_COUNTIES[region][1]


class Builder:
    """Collects fixture content; `build()` validates it as a `Fixtures`."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.people: list[Person] = []
        self._people_by_id: dict[str, Person] = {}
        self.records: dict[str, dict[str, list[dict[str, Any]]]] = {
            name: {} for name in BY_NAME if name != "population"
        }
        self.licences: list[LicenceFixture] = []
        self.showcase: list[Showcase] = []
        self._serials: Counter[str] = Counter()

    # -- people -------------------------------------------------------------------

    def person(
        self,
        *,
        region: str,
        born: dt.date,
        seq: str,
        name: str,
        hukou_city: str | None = None,
        hukou_address: str,
        death_date: dt.date | None = None,
        in_population: bool = True,
    ) -> Person:
        number = id_number.make(region, born, seq)
        if number in self._people_by_id:
            raise ValueError(f"ID number {number} generated twice")
        person = Person(
            id_number=number,
            name=name,
            gender=id_number.gender_of(number),
            birth_date=born,
            hukou_city=hukou_city or city_of(region),
            hukou_address=hukou_address,
            deceased=death_date is not None,
            death_date=death_date,
            in_population=in_population,
        )
        self.people.append(person)
        self._people_by_id[number] = person
        return person

    def taken(self, number: str) -> bool:
        return number in self._people_by_id

    # -- dataset records ----------------------------------------------------------

    def record(self, dataset: str, key: str, **fields: Any) -> None:
        values = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in fields.items()}
        self.records[dataset].setdefault(key, []).append(values)

    def criminal(self, person: Person, category: str, on: dt.date) -> None:
        self.record("criminal_records", person.id_number, category=category, record_date=on)

    def score_periods(
        self, person: Person, first_issue: dt.date, points: list[int], today: dt.date
    ) -> None:
        """Annual point periods (记分周期) running from the first-issue anniversary.

        `points` lists the periods oldest first, ending with the period containing `today`.
        """
        years = today.year - first_issue.year
        start = add_years(first_issue, years)
        if start > today:
            start = add_years(first_issue, years - 1)
        current_offset = start.year - first_issue.year
        for back, value in enumerate(reversed(points)):
            offset = current_offset - back
            if offset < 0:
                break
            begin = add_years(first_issue, offset)
            end = add_years(first_issue, offset + 1) - dt.timedelta(days=1)
            self.record(
                "driving_scores", person.id_number, period_start=begin, period_end=end, points=value
            )
        # keep each person's periods in date order
        self.records["driving_scores"][person.id_number].sort(key=lambda r: r["period_start"])

    def exam(self, person: Person, on: dt.date, passed: bool) -> None:
        self.record("ridehail_exams", person.id_number, exam_date=on, passed=passed)

    def allowance(self, person: Person, since: dt.date, status: str) -> None:
        self.record("longevity_allowance", person.id_number, since=since, status=status)

    def debtor(
        self, person: Person, case_number: str, listed: dt.date, removed: dt.date | None
    ) -> None:
        self.record(
            "dishonest_debtors",
            person.id_number,
            case_number=case_number,
            listed_on=listed,
            removed_on=removed,
        )

    def business_name(self, name: str, uscc: str, registered: dt.date) -> None:
        self.record("business_names", name, name=name, uscc=uscc, registered_on=registered)

    def lease(self, address: str, lessee: Person, start: dt.date, end: dt.date) -> None:
        self._serials["lease"] += 1
        number = f"深房租备{start.year}{self._serials['lease']:06d}"
        self.record(
            "lease_filings",
            address,
            filing_number=number,
            address=address,
            lessee_id_number=lessee.id_number,
            valid_from=start,
            valid_to=end,
        )

    # -- licences -----------------------------------------------------------------

    def serial(self, licence_type: str, year: int) -> str:
        self._serials[licence_type] += 1
        return f"{year}{self._serials[licence_type]:06d}"

    def licence(
        self,
        licence_type: str,
        holder: Person,
        issuer: str,
        *,
        issue_date: dt.date,
        valid_to: dt.date | None,
        fields: dict[str, Any],
        number: str | None = None,
        status: str = "valid",
        tamper: Tamper | None = None,
        after_signing: dict[str, Any] | None = None,
        issuer_code: str | None = None,
        issuer_name: str | None = None,
    ) -> LicenceFixture:
        item = LicenceFixture.model_validate(
            {
                "type": licence_type,
                "holder": holder.id_number,
                "issuer": issuer,
                "issuer_code": issuer_code,
                "issuer_name": issuer_name,
                "serial": self.serial(licence_type, issue_date.year),
                "number": number or holder.id_number,
                "issue_date": issue_date,
                "valid_from": issue_date,
                "valid_to": valid_to,
                "fields": fields,
                "status": status,
                "tamper": tamper,
                "after_signing": after_signing,
            }
        )
        self.licences.append(item)
        return item

    def show(
        self,
        item: str,
        outcome: Outcome,
        label: str,
        person: Person,
        on: dt.date,
        form: dict[str, Any] | None = None,
        reasons: Sequence[str] = (),
    ) -> None:
        self.showcase.append(
            Showcase(
                item=item,
                outcome=outcome,
                label=label,
                id_number=person.id_number,
                name=person.name,
                on=on,
                form=form or {},
                reasons=list(reasons),
            )
        )

    def build(self) -> Fixtures:
        records = {name: by_key for name, by_key in self.records.items() if by_key}
        return Fixtures(
            description=self.description,
            people=self.people,
            records=records,
            licences=self.licences,
            showcase=self.showcase,
        )
