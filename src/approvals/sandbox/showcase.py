"""Named showcase applicants: one per outcome of each service item, and per reason.

Their ID numbers are fixed (region, birth date and sequence are written out here, the
check digit follows from GB 11643), so docs/sandbox.md, rulesets' test cases and the
README can name them. Unless a case says otherwise, the decision date is
SHOWCASE_DATE, 2026-11-30. Items are named by their ruleset codes; the rulesets in
`rulesets/` are the criteria, and tests/test_sandbox_showcases.py decides every case
through the real engine. Each case's `form` is exactly what the applicant types in:
the ruleset's form fields that are not autofilled from government data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from approvals.licence import uscc
from approvals.sandbox.builder import Builder
from approvals.sandbox.dates import add_years
from approvals.sandbox.fixtures import Outcome, Person

D = SHOWCASE_DATE = dt.date(2026, 11, 30)
RIDEHAIL = "ride-hailing-driver-permit"
LONGEVITY = "longevity-allowance"
GRADUATE = "graduate-hukou"
BUSINESS = "individual-business-registration"
# Ruleset code -> the item's names as its ruleset states them (a test keeps them equal).
ITEMS: dict[str, tuple[str, str]] = {
    RIDEHAIL: ("网络预约出租汽车驾驶员证核发", "Ride-hailing driver permit"),
    LONGEVITY: ("高龄老人津贴申领", "Longevity allowance for senior citizens"),
    GRADUATE: ("高校应届毕业生引进落户", "Hukou transfer for recent university graduates"),
    BUSINESS: ("个体工商户设立登记", "Individual business registration"),
}
# A person with no population record is referred by every item: the engine's reason
# for an input it could not have.
NO_POPULATION_RECORD = "DATA_UNAVAILABLE"
# Where a graduate asks to register the hukou: Shenzhen's talent collective hukou.
COLLECTIVE_HUKOU = "广东省深圳市福田区深南大道8005号深圳市人才服务中心集体户"


def phone_of(p: Person) -> str:
    """A synthetic mobile number (1[3-9] and 9 digits), fixed per person."""
    return f"13800{int(p.id_number[6:17]) % 1_000_000:06d}"


def bank_account_of(p: Person) -> str:
    """A synthetic social security card account number (15 digits), fixed per person."""
    return f"6222{p.id_number[6:17]}"


def typed_in(item: str, p: Person) -> dict[str, Any]:
    """The fields of `item`'s form that only the applicant supplies (not autofilled).

    The business item's fields (name, scope, premises) describe the business, not the
    person, so every business case states them itself.
    """
    if item == RIDEHAIL:
        return {"phone": phone_of(p)}
    if item == LONGEVITY:
        return {"bank_account": bank_account_of(p)}
    if item == GRADUATE:
        return {"destination_address": COLLECTIVE_HUKOU}
    return {}


class _Cases:
    """Adds one item's showcase cases: `show(outcome, label, person, *reason_codes)`."""

    def __init__(self, b: Builder, item: str) -> None:
        self.b = b
        self.item = item

    def __call__(
        self,
        outcome: Outcome,
        label: str,
        p: Person,
        *reasons: str,
        on: dt.date = D,
        form: dict[str, Any] | None = None,
    ) -> None:
        typed = typed_in(self.item, p) | (form or {})
        self.b.show(self.item, outcome, label, p, on, typed, reasons)


# Business scope codes (GB/T 4754-2017 industry classes) used in the showcase forms.
# The ruleset's `allowed_scopes` and `licensed_scopes` own the lists; these cases use
# 5211 百货零售 and 5213 便利店零售 (allowed outright), 6220 快餐服务 (allowed, but needs a
# food business licence first: refer) and 6621 商业银行服务 (not on the list: reject).
SCOPE_ALLOWED = ["5213"]
SCOPE_NEEDS_LICENCE = ["5213", "6220"]
SCOPE_NOT_ALLOWED = ["6621"]

TRAFFIC = "sz-traffic-police"
POLICE = "sz-public-security"
TRANSPORT = "sz-transport"
CHSI = "chsi"
PLANNING = "sz-planning"


def _sz(district: str, rest: str) -> str:
    return f"广东省深圳市{district}{rest}"


def _elsewhere(code: str, rest: str) -> tuple[str, str]:
    places = {
        "430102": "湖南省长沙市芙蓉区",
        "360102": "江西省南昌市东湖区",
        "420106": "湖北省武汉市武昌区",
        "441302": "广东省惠州市惠城区",
        "445202": "广东省揭阳市榕城区",
    }
    return code, places[code] + rest


def add_showcase(b: Builder) -> None:
    _ridehail(b)
    _longevity(b)
    _graduate(b)
    _business(b)


# -- A. ride-hailing driver permit --------------------------------------------------


def _driver(
    b: Builder,
    p: Person,
    *,
    cls: str = "C1",
    first_issue: dt.date = dt.date(2015, 3, 10),
    licence: dict[str, Any] | None = None,
    exam: tuple[dt.date, bool] | None = (dt.date(2026, 6, 15), True),
    points: tuple[int, ...] = (1, 3, 0, 6, 2),
) -> None:
    """A driver who meets every criterion unless an argument says otherwise."""
    # A first licence is valid 6 years, a renewal 10 (机动车驾驶证申领和使用规定).
    issue, valid_to = first_issue, add_years(first_issue, 6)
    while valid_to <= D:
        issue, valid_to = valid_to, add_years(valid_to, 10)
    options: dict[str, Any] = {"issue_date": issue, "valid_to": valid_to}
    options.update(licence or {})
    issuer = options.pop("issuer", TRAFFIC)
    b.licence(
        "driving_licence",
        p,
        issuer,
        fields={"class": cls, "first_issue_date": first_issue.isoformat()},
        **options,
    )
    b.score_periods(p, first_issue, list(points), D)
    if exam is not None:
        b.exam(p, exam[0], exam[1])


def _permit(b: Builder, p: Person, start: dt.date, end: dt.date) -> None:
    b.licence(
        "residence_permit",
        p,
        POLICE,
        issue_date=start,
        valid_to=end,
        fields={"city": "深圳市"},
        number=f"440300{start.year}{len(b.licences):06d}",
    )


# 第十四条: traffic crimes, drugs and drink-driving are one criterion, violence another.
_CRIMINAL_REASON = {
    "危险驾驶犯罪": "A04_TRAFFIC_DRUG_RECORD",
    "饮酒后驾驶": "A04_TRAFFIC_DRUG_RECORD",
    "吸毒": "A04_TRAFFIC_DRUG_RECORD",
    "交通肇事犯罪": "A04_TRAFFIC_DRUG_RECORD",
    "暴力犯罪": "A05_VIOLENT_RECORD",
}


def _ridehail(b: Builder) -> None:
    show = _Cases(b, RIDEHAIL)

    def sz(born: dt.date, seq: str, name: str, **kw: Any) -> Person:
        return b.person(
            region="440305",
            born=born,
            seq=seq,
            name=name,
            hukou_address=_sz("南山区", "桃园路88号"),
            **kw,
        )

    def outsider(born: dt.date, seq: str, name: str) -> Person:
        region, address = _elsewhere("430102", "五一大道16号")
        return b.person(region=region, born=born, seq=seq, name=name, hukou_address=address)

    p = sz(dt.date(1988, 5, 12), "911", "陈建国")
    _driver(b, p)
    show("approve", "approved: Shenzhen hukou, C1 since 2015, exam passed", p)

    p = outsider(dt.date(1985, 9, 3), "913", "刘志强")
    _driver(
        b,
        p,
        cls="B2",
        first_issue=dt.date(2012, 7, 1),
        licence={"issue_date": dt.date(2024, 7, 1), "valid_to": dt.date(2034, 7, 1)},
    )
    _permit(b, p, dt.date(2026, 3, 1), dt.date(2027, 2, 28))
    show("approve", "approved: non-Shenzhen hukou with a valid residence permit", p)

    p = sz(dt.date(1990, 1, 15), "915", "张伟")
    _driver(b, p, first_issue=dt.date(2023, 11, 30))
    show("approve", "approved: licence first issued exactly 3 years before", p)

    p = sz(dt.date(1966, 11, 30), "917", "王德明")
    _driver(b, p, first_issue=dt.date(1995, 4, 20))
    show("approve", "approved: 60 years old on the day", p)

    p = sz(dt.date(1987, 2, 14), "919", "李强")
    _driver(b, p, points=(12, 0, 0, 3, 0))
    show("approve", "approved: 12 points four periods ago (outside the window)", p)

    p = sz(dt.date(1992, 8, 8), "921", "赵磊")
    _driver(b, p)
    b.criminal(p, "盗窃", dt.date(2012, 5, 6))
    show("approve", "approved: a theft record is not a disqualifying category", p)

    p = sz(dt.date(1989, 3, 21), "923", "孙浩")
    _driver(b, p)
    b.licence(
        "ridehail_driver_permit",
        p,
        TRANSPORT,
        issue_date=dt.date(2020, 1, 31),
        valid_to=dt.date(2026, 1, 31),
        fields={},
    )
    show("approve", "approved: earlier ride-hailing permit has expired", p)

    p = sz(dt.date(1991, 6, 1), "925", "周勇")
    b.exam(p, dt.date(2026, 6, 15), True)
    show("reject", "rejected: no driving licence", p, "A01_NO_VALID_LICENCE")

    p = sz(dt.date(1986, 10, 10), "927", "吴军")
    _driver(b, p, cls="D")
    show("reject", "rejected: licence class D (motorcycle) not allowed", p, "A01_NO_VALID_LICENCE")

    p = sz(dt.date(1984, 12, 24), "929", "郑斌")
    _driver(
        b,
        p,
        first_issue=dt.date(2010, 10, 31),
        licence={"issue_date": dt.date(2016, 10, 31), "valid_to": dt.date(2026, 10, 31)},
    )
    show("reject", "rejected: driving licence expired", p, "A01_NO_VALID_LICENCE")

    p = sz(dt.date(1995, 4, 4), "931", "冯涛")
    _driver(b, p, first_issue=dt.date(2024, 6, 1), points=(0, 2))
    show(
        "reject", "rejected: licence too new (first issued 2024-06-01)", p, "A02_DRIVING_EXPERIENCE"
    )

    p = sz(dt.date(1965, 3, 2), "933", "何国平")
    _driver(b, p, first_issue=dt.date(1993, 8, 16))
    show("reject", "rejected: aged 61", p, "A03_OVER_AGE")

    for seq, name, category, born in (
        ("935", "许文", "危险驾驶犯罪", dt.date(1983, 7, 7)),
        ("937", "曾辉", "饮酒后驾驶", dt.date(1982, 1, 19)),
        ("939", "彭飞", "吸毒", dt.date(1990, 11, 11)),
        ("941", "曹阳", "交通肇事犯罪", dt.date(1979, 5, 30)),
        ("943", "邓刚", "暴力犯罪", dt.date(1981, 9, 9)),
    ):
        p = sz(born, seq, name)
        _driver(b, p)
        b.criminal(p, category, dt.date(2018, 4, 2))
        show("reject", f"rejected: criminal record ({category})", p, _CRIMINAL_REASON[category])

    p = sz(dt.date(1986, 6, 18), "945", "萧峰")
    _driver(b, p, points=(0, 2, 12, 4, 1))
    show("reject", "rejected: 12 points in a recent completed period", p, "A06_FULL_SCORE")

    p = outsider(dt.date(1988, 2, 2), "947", "罗斌")
    _driver(b, p)
    show("reject", "rejected: no Shenzhen hukou and no residence permit", p, "A07_NO_RESIDENCE")

    p = outsider(dt.date(1987, 7, 27), "949", "梁超")
    _driver(b, p)
    _permit(b, p, dt.date(2025, 10, 1), dt.date(2026, 9, 30))
    show("reject", "rejected: residence permit expired", p, "A07_NO_RESIDENCE")

    p = sz(dt.date(1993, 3, 3), "951", "宋杰")
    _driver(b, p, exam=(dt.date(2026, 8, 1), False))
    show("reject", "rejected: exam failed", p, "A08_NO_RECENT_EXAM")

    p = sz(dt.date(1990, 10, 1), "953", "唐亮")
    _driver(b, p, exam=(dt.date(2025, 10, 1), True))
    show("reject", "rejected: exam passed more than 365 days before", p, "A08_NO_RECENT_EXAM")

    p = sz(dt.date(1985, 5, 5), "955", "韩冰")
    _driver(b, p)
    b.licence(
        "ridehail_driver_permit",
        p,
        TRANSPORT,
        issue_date=dt.date(2024, 5, 20),
        valid_to=dt.date(2030, 5, 20),
        fields={},
    )
    show(
        "reject",
        "rejected: already holds a valid ride-hailing permit",
        p,
        "A09_ALREADY_HOLDS_PERMIT",
    )

    p = sz(dt.date(1984, 8, 18), "957", "蒋海")
    _driver(
        b,
        p,
        first_issue=dt.date(2010, 10, 31),
        licence={
            "issue_date": dt.date(2016, 10, 31),
            "valid_to": dt.date(2026, 10, 31),
            "tamper": "bad-signature",
            "after_signing": {"valid_to": "2036-10-31"},
        },
    )
    show(
        "reject",
        "rejected: forged licence (validity extended after signing)",
        p,
        "A01_NO_VALID_LICENCE",
    )

    p = sz(dt.date(1986, 12, 12), "959", "沈毅")
    _driver(b, p, licence={"status": "revoked"})
    show("reject", "rejected: driving licence revoked", p, "A01_NO_VALID_LICENCE")

    p = sz(dt.date(1989, 9, 19), "961", "潘宇")
    _driver(
        b,
        p,
        licence={
            "tamper": "unknown-issuer",
            "issuer": "sz-fake-dmv",
            "issuer_code": uscc.make("11", "440300", "MB2C10008"),
            "issuer_name": "深圳市机动车驾驶证服务中心",
        },
    )
    show(
        "reject",
        "rejected: licence signed by an issuer not on the trust list",
        p,
        "A01_NO_VALID_LICENCE",
    )

    p = sz(dt.date(1991, 12, 1), "963", "田野")
    _driver(b, p, licence={"tamper": "bad-identifier"})
    show(
        "reject",
        "rejected: licence identifier with a wrong check character",
        p,
        "A01_NO_VALID_LICENCE",
    )

    p = sz(dt.date(1988, 4, 8), "965", "杜鹏", in_population=False)
    _driver(b, p)
    show("refer", "referred: no population record", p, NO_POPULATION_RECORD)


# -- B. longevity allowance -----------------------------------------------------------


def _longevity(b: Builder) -> None:
    show = _Cases(b, LONGEVITY)

    def elder(born: dt.date, seq: str, name: str, **kw: Any) -> Person:
        kw.setdefault("hukou_address", _sz("福田区", "莲花路1011号"))
        return b.person(region="440304", born=born, seq=seq, name=name, **kw)

    p = elder(dt.date(1944, 6, 15), "912", "黄秀英")
    show("approve", "approved: aged 82 (band 80-89)", p)

    p = elder(dt.date(1933, 1, 20), "914", "林桂兰")
    show("approve", "approved: aged 93 (band 90-99)", p)

    p = elder(dt.date(1925, 8, 8), "916", "郭淑珍")
    show("approve", "approved: aged 101 (band 100 and over)", p)

    p = elder(dt.date(1946, 11, 30), "918", "马玉梅")
    show("approve", "approved: turns 80 on the day", p)

    p = elder(dt.date(1942, 4, 9), "931", "胡永福")
    b.allowance(p, dt.date(2022, 5, 1), "stopped")
    show("approve", "approved: an earlier allowance was stopped", p)

    p = elder(dt.date(1936, 2, 29), "920", "高翠花")
    show(
        "approve",
        "approved: born 29 Feb 1936, aged 89 on 2026-02-28 (band 80-89)",
        p,
        on=dt.date(2026, 2, 28),
    )
    show(
        "approve",
        "approved: born 29 Feb 1936, aged 90 on 2026-03-01 (band 90-99)",
        p,
        on=dt.date(2026, 3, 1),
    )

    p = elder(dt.date(1946, 12, 1), "922", "朱秀兰")
    show("reject", "rejected: aged 79 (80 tomorrow)", p, "B02_UNDER_80")

    region, address = _elsewhere("360102", "八一大道300号")
    p = b.person(
        region=region, born=dt.date(1941, 3, 15), seq="924", name="徐桂英", hukou_address=address
    )
    show("reject", "rejected: no Shenzhen hukou", p, "B01_NOT_SHENZHEN_HUKOU")

    p = elder(dt.date(1938, 7, 7), "926", "孙凤英", death_date=dt.date(2026, 10, 2))
    show("reject", "rejected: deceased", p, "B03_DECEASED")

    p = elder(dt.date(1940, 10, 20), "928", "胡玉兰")
    b.allowance(p, dt.date(2020, 11, 1), "active")
    show("reject", "rejected: already receiving the allowance", p, "B04_ALREADY_RECEIVING")

    p = elder(dt.date(1943, 5, 25), "930", "何文华", in_population=False)
    show("refer", "referred: no population record", p, NO_POPULATION_RECORD)


# -- C. graduate hukou transfer -------------------------------------------------------

LEVEL_CODE = {"博士": "2", "硕士": "3", "学士": "4"}


def _degree(
    b: Builder,
    p: Person,
    level: str,
    graduated: dt.date,
    *,
    institution: tuple[str, str] = ("10590", "深圳大学"),
    mode: str = "全日制",
    **kw: Any,
) -> None:
    # 学位证书编号: institution code (5), level (博士 2, 硕士 3, 学士 4), year, sequence.
    number = f"{institution[0]}{LEVEL_CODE[level]}{graduated.year}{len(b.licences):06d}"
    b.licence(
        "degree_certificate",
        p,
        kw.pop("issuer", CHSI),
        issue_date=graduated,
        valid_to=None,
        number=number,
        fields={
            "level": level,
            "study_mode": mode,
            "graduation_date": graduated.isoformat(),
            "institution": institution[1],
        },
        **kw,
    )


def _graduate(b: Builder) -> None:
    show = _Cases(b, GRADUATE)

    def grad(born: dt.date, seq: str, name: str, **kw: Any) -> Person:
        region, address = _elsewhere("420106", "中山路120号")
        return b.person(region=region, born=born, seq=seq, name=name, hukou_address=address, **kw)

    june = dt.date(2026, 6, 30)
    p = grad(dt.date(2003, 4, 18), "932", "李思雨")
    _degree(b, p, "学士", june)
    show("approve", "approved: full-time bachelor's, graduated 2026, aged 23", p)

    p = grad(dt.date(1988, 9, 9), "935", "王浩然")
    _degree(b, p, "硕士", dt.date(2025, 7, 1), institution=("10558", "中山大学"))
    show("approve", "approved: full-time master's, aged 38", p)

    p = grad(dt.date(1983, 5, 5), "937", "张博文")
    _degree(b, p, "博士", dt.date(2025, 12, 20), institution=("10003", "清华大学"))
    show("approve", "approved: full-time doctorate, aged 43", p)

    p = grad(dt.date(1989, 6, 6), "938", "刘子涵")
    _degree(b, p, "学士", dt.date(2011, 6, 30))
    _degree(b, p, "硕士", dt.date(2026, 6, 30), institution=("14325", "南方科技大学"))
    show("approve", "approved: aged 37, the master's (limit 40) counts, not the bachelor's", p)

    p = grad(dt.date(1996, 1, 8), "940", "陈雅琪")
    _degree(b, p, "学士", dt.date(2018, 6, 30))
    b.debtor(p, "(2024)粤0305执1234号", dt.date(2024, 3, 1), dt.date(2025, 12, 1))
    _degree(b, p, "硕士", dt.date(2026, 1, 10), institution=("10561", "华南理工大学"))
    show("approve", "approved: dishonest-debtor listing removed before", p)

    p = grad(dt.date(1992, 2, 29), "942", "杨梦瑶")
    _degree(b, p, "学士", june)
    show("approve", "approved: born 29 Feb 1992, aged 34", p)
    show(
        "approve", "approved: born 29 Feb 1992, still 34 on 2027-02-28", p, on=dt.date(2027, 2, 28)
    )
    show(
        "reject",
        "rejected: born 29 Feb 1992, 35 on 2027-03-01 (bachelor's limit)",
        p,
        "C03_OVER_AGE_LIMIT",
        on=dt.date(2027, 3, 1),
    )

    p = grad(dt.date(1990, 2, 10), "945", "赵明轩")
    _degree(b, p, "学士", june)
    show("reject", "rejected: aged 36 with a bachelor's (limit 35)", p, "C03_OVER_AGE_LIMIT")

    p = grad(dt.date(1991, 11, 30), "946", "孙嘉怡")
    _degree(b, p, "学士", june)
    show("reject", "rejected: 35 on the day with a bachelor's", p, "C03_OVER_AGE_LIMIT")

    p = grad(dt.date(1995, 7, 17), "949", "周子豪")
    _degree(b, p, "硕士", june, mode="非全日制")
    show("reject", "rejected: part-time (非全日制) degree only", p, "C01_NO_DEGREE")

    p = grad(dt.date(1999, 10, 2), "950", "吴欣怡")
    _degree(b, p, "学士", dt.date(2024, 6, 30))
    show("reject", "rejected: graduated more than 2 years before", p, "C02_NOT_RECENT_GRADUATE")

    p = b.person(
        region="440303",
        born=dt.date(2002, 12, 3),
        seq="953",
        name="郑宇航",
        hukou_address=_sz("罗湖区", "人民南路2008号"),
    )
    _degree(b, p, "学士", june)
    show("reject", "rejected: already has Shenzhen hukou", p, "C04_ALREADY_SHENZHEN_HUKOU")

    p = grad(dt.date(2002, 3, 14), "954", "冯诗涵")
    _degree(b, p, "学士", june, status="revoked")
    show("reject", "rejected: degree certificate revoked", p, "C01_NO_DEGREE")

    p = grad(dt.date(2001, 8, 21), "957", "何俊杰")
    _degree(
        b,
        p,
        "学士",
        june,
        tamper="bad-signature",
        after_signing={
            "fields": {
                "level": "硕士",
                "study_mode": "全日制",
                "graduation_date": "2026-06-30",
                "institution": "深圳大学",
            }
        },
    )
    show("reject", "rejected: forged certificate (level changed after signing)", p, "C01_NO_DEGREE")

    p = grad(
        dt.date(2002, 5, 9),
        "958",
        "许晓彤",
    )
    _degree(
        b,
        p,
        "学士",
        june,
        issuer="degree-mill",
        issuer_code=uscc.make("12", "440300", "MB0C10009"),
        issuer_name="深圳学历认证服务中心",
        tamper="unknown-issuer",
    )
    show(
        "reject",
        "rejected: certificate signed by an issuer not on the trust list",
        p,
        "C01_NO_DEGREE",
    )

    p = grad(dt.date(2003, 1, 1), "961", "曾子轩")
    show("reject", "rejected: no degree certificate", p, "C01_NO_DEGREE")

    p = grad(dt.date(2002, 9, 30), "962", "彭雨桐")
    _degree(b, p, "学士", june)
    b.criminal(p, "盗窃", dt.date(2022, 3, 3))
    show("refer", "referred: has a criminal record", p, "C05_CRIMINAL_RECORD_REVIEW")

    p = grad(dt.date(2000, 4, 4), "965", "曹博涛")
    _degree(b, p, "学士", june)
    b.debtor(p, "(2025)粤0304执5678号", dt.date(2025, 4, 1), None)
    show("refer", "referred: listed as a dishonest debtor", p, "C06_DISHONEST_DEBTOR_REVIEW")

    p = grad(dt.date(2003, 6, 6), "966", "邓可欣", in_population=False)
    _degree(b, p, "学士", june)
    show("refer", "referred: no population record", p, NO_POPULATION_RECORD)


# -- D. individual business registration ------------------------------------------------


def _shop_form(name: str, address: str, scope: list[str]) -> dict[str, Any]:
    return {"business_name": name, "premises_address": address, "scope_codes": scope}


def _business(b: Builder) -> None:
    show = _Cases(b, BUSINESS)

    def owner(born: dt.date, seq: str, name: str, **kw: Any) -> Person:
        return b.person(
            region="440306",
            born=born,
            seq=seq,
            name=name,
            hukou_address=_sz("宝安区", "新安街道建安一路99号"),
            **kw,
        )

    own = "深圳市福田区华强北路1002号赛格广场首层101"
    p = owner(dt.date(1980, 4, 12), "972", "陈美玲")
    b.licence(
        "property_certificate",
        p,
        PLANNING,
        issue_date=dt.date(2019, 8, 1),
        valid_to=None,
        number="粤（2019）深圳市不动产权第0123456号",
        fields={"address": own},
    )
    show(
        "approve",
        "approved: owns the premises (property certificate)",
        p,
        form=_shop_form("深圳市福田区美玲便利店", own, SCOPE_ALLOWED),
    )

    rent = "深圳市南山区科技南十二路18号创维大厦A栋首层102"
    p = owner(dt.date(1990, 7, 20), "973", "黄家豪")
    b.lease(rent, p, dt.date(2026, 1, 1), dt.date(2027, 12, 31))
    show(
        "approve",
        "approved: leases the premises (lease filing)",
        p,
        form=_shop_form("深圳市南山区家豪百货店", rent, ["5211", "5213"]),
    )

    leap = "深圳市宝安区新安街道宝城76区海秀路21号101"
    p = owner(dt.date(2008, 2, 29), "976", "林小燕")
    b.lease(leap, p, dt.date(2025, 12, 1), dt.date(2027, 11, 30))
    form = _shop_form("深圳市宝安区小燕便利店", leap, SCOPE_ALLOWED)
    show("approve", "approved: born 29 Feb 2008, aged 18", p, form=form)
    show(
        "reject",
        "rejected: born 29 Feb 2008, still 17 on 2026-02-28",
        p,
        "D01_UNDER_18",
        on=dt.date(2026, 2, 28),
        form=form,
    )
    show(
        "approve",
        "approved: born 29 Feb 2008, 18 on 2026-03-01",
        p,
        on=dt.date(2026, 3, 1),
        form=form,
    )

    young = "深圳市宝安区西乡街道宝源路148号105"
    p = owner(dt.date(2009, 5, 20), "977", "王梓涵")
    b.lease(young, p, dt.date(2026, 5, 1), dt.date(2028, 4, 30))
    show(
        "reject",
        "rejected: aged 17",
        p,
        "D01_UNDER_18",
        form=_shop_form("深圳市宝安区梓涵便利店", young, SCOPE_ALLOWED),
    )

    debt = "深圳市龙岗区龙城街道龙翔大道3001号102"
    p = owner(dt.date(1978, 3, 8), "979", "李建华")
    b.lease(debt, p, dt.date(2026, 2, 1), dt.date(2028, 1, 31))
    b.debtor(p, "(2023)粤0307执9012号", dt.date(2023, 9, 1), None)
    show(
        "reject",
        "rejected: active dishonest-debtor listing",
        p,
        "D02_DISHONEST_DEBTOR",
        form=_shop_form("深圳市龙岗区建华百货店", debt, SCOPE_ALLOWED),
    )

    taken_name = "深圳市南山区老张五金店"
    shop = "深圳市南山区南头街道南新路3030号108"
    p = owner(dt.date(1983, 10, 16), "981", "张国栋")
    b.lease(shop, p, dt.date(2026, 3, 1), dt.date(2029, 2, 28))
    b.business_name(taken_name, uscc.make("92", "440305", "MA5DC4XF2"), dt.date(2016, 5, 18))
    show(
        "reject",
        "rejected: business name already registered",
        p,
        "D03_NAME_TAKEN",
        form=_shop_form(taken_name, shop, SCOPE_ALLOWED),
    )

    nowhere = "深圳市龙华区民治街道人民路2020号112"
    p = owner(dt.date(1986, 1, 26), "984", "刘海燕")
    show(
        "reject",
        "rejected: neither owns nor leases the premises",
        p,
        "D04_NO_PREMISES_PROOF",
        form=_shop_form("深圳市龙华区海燕便利店", nowhere, SCOPE_ALLOWED),
    )

    expired = "深圳市罗湖区东门街道解放路3001号106"
    p = owner(dt.date(1979, 12, 5), "985", "周文斌")
    b.lease(expired, p, dt.date(2024, 7, 1), dt.date(2026, 6, 30))
    show(
        "reject",
        "rejected: lease filing expired",
        p,
        "D04_NO_PREMISES_PROOF",
        form=_shop_form("深圳市罗湖区文斌百货店", expired, SCOPE_ALLOWED),
    )

    other = "深圳市福田区福华路368号107"
    p = owner(dt.date(1987, 8, 28), "987", "吴晓东")
    q = owner(dt.date(1975, 2, 14), "989", "郑志华")
    b.lease(other, q, dt.date(2026, 1, 1), dt.date(2027, 12, 31))
    show(
        "reject",
        "rejected: the lease is in someone else's name",
        p,
        "D04_NO_PREMISES_PROOF",
        form=_shop_form("深圳市福田区晓东便利店", other, SCOPE_ALLOWED),
    )

    bank = "深圳市南山区后海大道2388号109"
    p = owner(dt.date(1982, 6, 30), "992", "马晓丽")
    b.lease(bank, p, dt.date(2026, 4, 1), dt.date(2028, 3, 31))
    show(
        "reject",
        "rejected: scope 6621 not open to individual businesses",
        p,
        "D05_SCOPE_NOT_ALLOWED",
        form=_shop_form("深圳市南山区晓丽商行", bank, SCOPE_NOT_ALLOWED),
    )

    food = "深圳市宝安区新安街道新安六路1008号110"
    p = owner(dt.date(1985, 11, 11), "993", "朱志明")
    b.lease(food, p, dt.date(2026, 1, 15), dt.date(2028, 1, 14))
    show(
        "refer",
        "referred: scope 6220 (fast food) needs a food business licence",
        p,
        "D06_PRIOR_LICENCE_REVIEW",
        form=_shop_form("深圳市宝安区志明快餐店", food, SCOPE_NEEDS_LICENCE),
    )

    ghost = "深圳市龙岗区布吉街道吉华路505号111"
    p = owner(dt.date(1988, 8, 8), "995", "胡晓军", in_population=False)
    b.lease(ghost, p, dt.date(2026, 1, 1), dt.date(2027, 12, 31))
    show(
        "refer",
        "referred: no population record",
        p,
        NO_POPULATION_RECORD,
        form=_shop_form("深圳市龙岗区晓军便利店", ghost, SCOPE_ALLOWED),
    )
