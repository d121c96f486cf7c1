"""Deterministic generator of the sandbox fixture file.

    python -m approvals.sandbox.generate OUT.json [--schema SCHEMA.json] [--docs SANDBOX.md]

Writes the named showcase applicants (`showcase.py`) and about 1,100 synthetic people
drawn from a fixed seed, with their dataset records and licences. The same code always
writes the same bytes: `src/approvals/sandbox/fixtures.json` is this output, and a test
regenerates it and compares (a golden file, as sigstore does with its test assets).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path
from typing import TypedDict

from approvals.licence import id_number, uscc
from approvals.sandbox.builder import OTHER_COUNTIES, SHENZHEN, SZ_DISTRICTS, Builder
from approvals.sandbox.datasets import CRIMINAL_CATEGORIES
from approvals.sandbox.dates import add_years, age_on
from approvals.sandbox.fixtures import Fixtures, Person, Tamper, fixtures_json_schema
from approvals.sandbox.showcase import BUSINESS, ITEMS, SHOWCASE_DATE, add_showcase

SEED = 20261130
BULK_PEOPLE = 1100
TODAY = SHOWCASE_DATE  # "now" for the synthetic history; nothing reads the clock

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜"
    "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎"
    "贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩俊峰建国志文斌海林东晨轩博然"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲梅婷雪琳颖慧晶欣怡佳雨萱涵彤妍琪瑶菲"
STREETS = [
    "深南大道",
    "滨海大道",
    "北环大道",
    "红荔路",
    "福华路",
    "建设路",
    "宝安大道",
    "龙岗大道",
    "梅林路",
    "沙河西路",
    "前海路",
    "布吉路",
]
OTHER_STREETS = ["人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "胜利路"]
DRIVING_CLASSES = ["C1"] * 12 + ["C2"] * 3 + ["B2"] * 2 + ["A1", "A2", "B1", "A3", "D", "C3", "E"]
INSTITUTIONS = [
    ("10590", "深圳大学"),
    ("14325", "南方科技大学"),
    ("10558", "中山大学"),
    ("10561", "华南理工大学"),
    ("10001", "北京大学"),
    ("10003", "清华大学"),
    ("10246", "复旦大学"),
    ("10284", "南京大学"),
    ("10335", "浙江大学"),
    ("10487", "华中科技大学"),
    ("10533", "中南大学"),
    ("10610", "四川大学"),
]
SHOP_KINDS = ["便利店", "五金店", "百货店", "快餐店", "理发店", "水果店", "商行", "茶行", "文具店"]


class Damage(TypedDict, total=False):
    """What goes wrong with a small share of bulk licences (forged or revoked)."""

    tamper: Tamper
    status: str


class Bulk:
    """Synthetic people and their records, all drawn from one seeded generator."""

    def __init__(self, b: Builder, rng: random.Random) -> None:
        self.b = b
        self.rng = rng
        self.adults: list[Person] = []

    def run(self, count: int) -> None:
        for _ in range(count):
            person = self._person()
            age = age_on(person.birth_date, TODAY)
            if age >= 18 and not person.deceased:
                self.adults.append(person)
                self._adult(person, age)
            if age >= 80 and person.hukou_city == SHENZHEN and not person.deceased:
                self._allowance(person)
        self._businesses()

    # -- people ---------------------------------------------------------------------

    def _person(self) -> Person:
        rng = self.rng
        sz_born = rng.random() < 0.55
        region = rng.choice(list(SZ_DISTRICTS) if sz_born else list(OTHER_COUNTIES))
        age = rng.choices(
            range(0, 101),
            weights=[3 if a < 18 else 6 if a < 60 else 4 if a < 80 else 3 for a in range(101)],
        )[0]
        if rng.random() < 0.004:
            year = TODAY.year - age
            while year % 4 != 0 or (year % 100 == 0 and year % 400 != 0):
                year -= 1
            born = dt.date(year, 2, 29)
        else:
            born = TODAY - dt.timedelta(days=int(age * 365.25) + rng.randint(1, 364))
        # Some moved their hukou to Shenzhen, some of those born here moved it away.
        moved = rng.random() < (0.1 if sz_born else 0.2)
        city = (SHENZHEN if not sz_born else OTHER_COUNTIES["430102"][1]) if moved else None
        number_taken = True
        seq = "000"
        while number_taken:
            seq = f"{rng.randint(0, 899):03d}"
            number_taken = self.b.taken(id_number.make(region, born, seq))
        male = int(seq[2]) % 2 == 1
        given = GIVEN_MALE if male else GIVEN_FEMALE
        name = rng.choice(SURNAMES) + "".join(
            rng.choice(given) for _ in range(rng.choice((1, 2, 2)))
        )
        resolved_city = city or (SHENZHEN if sz_born else OTHER_COUNTIES[region][1])
        death = None
        if age >= 60 and rng.random() < 0.05:
            death = TODAY - dt.timedelta(days=rng.randint(1, 900))
        return self.b.person(
            region=region,
            born=born,
            seq=seq,
            name=name,
            hukou_city=resolved_city,
            hukou_address=self._home(resolved_city),
            death_date=death,
            in_population=rng.random() >= 0.01,
        )

    def _home(self, city: str) -> str:
        rng = self.rng
        if city == SHENZHEN:
            district = rng.choice(list(SZ_DISTRICTS.values()))
            return f"广东省深圳市{district}{rng.choice(STREETS)}{rng.randint(1, 3999)}号"
        province, town, county = next(v for v in OTHER_COUNTIES.values() if v[1] == city)
        return f"{province}{town}{county}{rng.choice(OTHER_STREETS)}{rng.randint(1, 999)}号"

    def _premises(self) -> str:
        rng = self.rng
        district = rng.choice(list(SZ_DISTRICTS.values()))
        street = f"{rng.choice(STREETS)}{rng.randint(1, 3999)}号"
        return f"深圳市{district}{street}{rng.randint(1, 30)}栋{rng.randint(101, 2999)}"

    def _day_between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def _tamper(self) -> Damage:
        roll = self.rng.random()
        if roll < 0.005:
            return {"tamper": "bad-signature"}
        if roll < 0.008:
            return {"tamper": "bad-identifier"}
        if roll < 0.025:
            return {"status": "revoked"}
        return {}

    # -- per adult ------------------------------------------------------------------

    def _adult(self, p: Person, age: int) -> None:
        rng = self.rng
        if age <= 75 and rng.random() < 0.55:
            self._driver(p)
        if rng.random() < 0.04:
            category = rng.choice(CRIMINAL_CATEGORIES)
            self.b.criminal(p, category, self._day_between(add_years(p.birth_date, 18), TODAY))
        if p.hukou_city != SHENZHEN and rng.random() < 0.65:
            start = self._day_between(dt.date(TODAY.year - 2, 1, 1), TODAY)
            self.b.licence(
                "residence_permit",
                p,
                "sz-public-security",
                issue_date=start,
                valid_to=add_years(start, 1) - dt.timedelta(days=1),
                fields={"city": SHENZHEN},
                number=f"440300{start.year}{len(self.b.licences):06d}",
                **self._tamper(),
            )
        if 22 <= age <= 50 and rng.random() < 0.4:
            self._degrees(p)
        if rng.random() < 0.02:
            listed = self._day_between(dt.date(TODAY.year - 5, 1, 1), TODAY)
            removed = self._day_between(listed, TODAY) if rng.random() < 0.5 else None
            court = rng.choice(["0303", "0304", "0305", "0306", "0307"])
            case = f"({listed.year})粤{court}执{rng.randint(100, 9999)}号"
            self.b.debtor(p, case, listed, removed)
        if age >= 25 and rng.random() < 0.12:
            issued = self._day_between(dt.date(2005, 1, 1), TODAY)
            self.b.licence(
                "property_certificate",
                p,
                "sz-planning",
                issue_date=issued,
                valid_to=None,
                number=f"粤（{issued.year}）深圳市不动产权第{rng.randint(0, 9999999):07d}号",
                fields={"address": self._premises()},
                **self._tamper(),
            )
        if rng.random() < 0.1:
            start = self._day_between(dt.date(TODAY.year - 3, 1, 1), TODAY)
            end = add_years(start, rng.randint(1, 3)) - dt.timedelta(days=1)
            self.b.lease(self._premises(), p, start, end)

    def _driver(self, p: Person) -> None:
        rng = self.rng
        earliest = add_years(p.birth_date, 18)
        first = self._day_between(earliest, TODAY - dt.timedelta(days=30))
        issue, valid_to = first, add_years(first, 6)
        while add_years(valid_to, 0) <= TODAY and rng.random() > 0.08:
            issue, valid_to = valid_to, add_years(valid_to, 10)
        self.b.licence(
            "driving_licence",
            p,
            "sz-traffic-police",
            issue_date=issue,
            valid_to=valid_to,
            fields={"class": rng.choice(DRIVING_CLASSES), "first_issue_date": first.isoformat()},
            **self._tamper(),
        )
        periods = min(5, age_on(first, TODAY) + 1)
        points = [
            rng.choices([0, 2, 3, 6, 9, 12], weights=[60, 12, 10, 8, 5, 3])[0]
            for _ in range(periods)
        ]
        self.b.score_periods(p, first, points, TODAY)
        if rng.random() < 0.1:
            for _ in range(rng.randint(1, 2)):
                self.b.exam(
                    p, self._day_between(TODAY - dt.timedelta(days=700), TODAY), rng.random() < 0.75
                )
        if rng.random() < 0.04 and age_on(p.birth_date, TODAY) <= 62:
            start = self._day_between(max(first, dt.date(2017, 1, 1)), TODAY)
            self.b.licence(
                "ridehail_driver_permit",
                p,
                "sz-transport",
                issue_date=start,
                valid_to=add_years(start, 6),
                fields={},
            )

    def _degrees(self, p: Person) -> None:
        rng = self.rng
        graduated = dt.date(p.birth_date.year + rng.randint(21, 23), 6, 30)
        levels = [("学士", graduated)]
        if rng.random() < 0.3:
            graduated = dt.date(graduated.year + 3, 6, 30)
            levels.append(("硕士", graduated))
            if rng.random() < 0.15:
                graduated = dt.date(graduated.year + rng.randint(3, 4), 12, 20)
                levels.append(("博士", graduated))
        for level, day in levels:
            if day > TODAY:
                break
            code, institution = rng.choice(INSTITUTIONS)
            level_code = {"学士": "4", "硕士": "3", "博士": "2"}[level]
            self.b.licence(
                "degree_certificate",
                p,
                "chsi",
                issue_date=day,
                valid_to=None,
                number=f"{code}{level_code}{day.year}{len(self.b.licences):06d}",
                fields={
                    "level": level,
                    "study_mode": "全日制" if rng.random() < 0.88 else "非全日制",
                    "graduation_date": day.isoformat(),
                    "institution": institution,
                },
                **self._tamper(),
            )

    def _allowance(self, p: Person) -> None:
        roll = self.rng.random()
        since = add_years(p.birth_date, 80) + dt.timedelta(days=self.rng.randint(10, 90))
        if roll < 0.65:
            self.b.allowance(p, since, "active")
        elif roll < 0.7:
            self.b.allowance(p, since, "stopped")

    def _businesses(self) -> None:
        rng = self.rng
        for index in range(150):
            operator = rng.choice(self.adults)
            district_code, district = rng.choice(list(SZ_DISTRICTS.items()))
            name = f"深圳市{district}{operator.name[0]}记{rng.choice(SHOP_KINDS)}{index:03d}"
            body = "".join(rng.choice(uscc.ALPHABET) for _ in range(9))
            code = uscc.make("92", district_code, body)
            registered = self._day_between(dt.date(2010, 1, 1), TODAY)
            self.b.business_name(name, code, registered)
            if rng.random() < 0.5:
                self.b.licence(
                    "business_licence",
                    operator,
                    "sz-market-regulation",
                    issue_date=registered,
                    valid_to=None,
                    number=code,
                    fields={
                        "uscc": code,
                        "business_name": name,
                        "scope_codes": sorted(
                            rng.sample(["5211", "5212", "5213", "5219", "6220", "8051"], 2)
                        ),
                        "premises_address": self._premises(),
                    },
                )


def generate(seed: int = SEED, people: int = BULK_PEOPLE) -> Fixtures:
    """The fixture set: showcase applicants first, then the seeded bulk population."""
    b = Builder(
        "SANDBOX synthetic data: every person, record and licence is made up. "
        f"Generated by approvals.sandbox.generate (seed {seed}); showcase decisions on "
        f"{SHOWCASE_DATE.isoformat()} are listed in docs/sandbox.md."
    )
    add_showcase(b)
    shops = [s.form for s in b.showcase if s.item == BUSINESS]
    reserved_names = {str(form["business_name"]) for form in shops}
    reserved_premises = {str(form["premises_address"]) for form in shops}
    Bulk(b, random.Random(seed)).run(people)
    _check_showcase_untouched(b, reserved_names, reserved_premises)
    return b.build()


def _check_showcase_untouched(b: Builder, names: set[str], premises: set[str]) -> None:
    """Random data must not land on a showcase applicant's business name or premises."""
    clash = (names & set(b.records["business_names"])) - {"深圳市南山区老张五金店"}
    if clash:
        raise RuntimeError(f"bulk data reuses showcase business names: {sorted(clash)}")
    leased = set(b.records["lease_filings"])
    bulk_leases = {a for a in leased if a in premises and len(b.records["lease_filings"][a]) > 1}
    if bulk_leases:
        raise RuntimeError(f"bulk data leases showcase premises: {sorted(bulk_leases)}")


def render(fixtures: Fixtures) -> str:
    """The fixture file's text: stable key order, one JSON value per line for diffs."""
    data = fixtures.model_dump(mode="json", exclude_defaults=True)
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def render_schema() -> str:
    return json.dumps(fixtures_json_schema(), ensure_ascii=False, indent=2) + "\n"


def showcase_table(fixtures: Fixtures) -> str:
    """Markdown tables of the showcase applicants, one per item (spliced into docs/sandbox.md).

    The form column is the JSON to put in the `--form` file of `approvals decide`.
    """
    items = list(dict.fromkeys(case.item for case in fixtures.showcase))
    out: list[str] = []
    for item in items:
        zh, en = ITEMS.get(item, (item, ""))
        out += [
            f"#### `{item}` {zh}" + (f" ({en})" if en else ""),
            "",
            "| ID number | name | date | outcome | reasons | form | case |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for case in fixtures.showcase:
            if case.item != item:
                continue
            form = json.dumps(case.form, ensure_ascii=False, separators=(", ", ": "))
            reasons = ", ".join(f"`{code}`" for code in case.reasons)
            label = case.label.split(": ", 1)[-1]
            out.append(
                f"| `{case.id_number}` | {case.name} | {case.on.isoformat()} | {case.outcome} "
                f"| {reasons} | `{form}` | {label} |"
            )
        out.append("")
    return "\n".join(out)


TABLE_BEGIN = (
    "<!-- showcase tables: written by `python -m approvals.sandbox.generate ... --docs "
    "docs/sandbox.md`; do not edit by hand -->"
)
TABLE_END = "<!-- end of showcase tables -->"


def splice_docs(text: str, table: str) -> str:
    """`text` (docs/sandbox.md) with the part between the table markers replaced."""
    try:
        head, rest = text.split(TABLE_BEGIN + "\n", 1)
        _, tail = rest.split(TABLE_END, 1)
    except ValueError:
        raise ValueError(
            f"the docs page has no showcase table markers:\n{TABLE_BEGIN}\n{TABLE_END}"
        ) from None
    return f"{head}{TABLE_BEGIN}\n\n{table}{TABLE_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m approvals.sandbox.generate",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("out", type=Path, help="where to write the fixture JSON")
    parser.add_argument("--schema", type=Path, help="also write the fixture JSON Schema here")
    parser.add_argument("--table", type=Path, help="also write the showcase tables (Markdown) here")
    parser.add_argument(
        "--docs", type=Path, help="also update the showcase tables in this page (docs/sandbox.md)"
    )
    args = parser.parse_args(argv)
    fixtures = generate()
    args.out.write_text(render(fixtures), encoding="utf-8")
    if args.schema:
        args.schema.write_text(render_schema(), encoding="utf-8")
    if args.table:
        args.table.write_text(showcase_table(fixtures), encoding="utf-8")
    if args.docs:
        page = args.docs.read_text(encoding="utf-8")
        args.docs.write_text(splice_docs(page, showcase_table(fixtures)), encoding="utf-8")
    print(
        f"wrote {args.out}: {len(fixtures.people)} people, {len(fixtures.licences)} licences, "
        f"{len(fixtures.showcase)} showcase cases"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
