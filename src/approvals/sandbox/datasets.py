"""The catalogue of the simulated shared data platform (政务数据共享平台).

Names, keys and record fields are fixed by docs/architecture.md ("Data platform HTTP
contract"); the platform serves this catalogue at `GET /v1/datasets` and fixture files
are checked against it, so a misspelt field in a fixture fails at load.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

FieldType = Literal["string", "date", "boolean", "integer", "date_or_null"]


class Title(BaseModel):
    model_config = ConfigDict(frozen=True)
    zh: str
    en: str


class DatasetField(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    type: FieldType


class Dataset(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    title: Title
    owner: str
    key: str
    fields: list[DatasetField]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def _dataset(name: str, zh: str, en: str, owner: str, key: str, *fields: str) -> Dataset:
    parsed = []
    for spec in fields:
        field_name, _, kind = spec.partition(":")
        parsed.append(DatasetField(name=field_name, type=kind or "string"))
    return Dataset(name=name, title=Title(zh=zh, en=en), owner=owner, key=key, fields=parsed)


CRIMINAL_CATEGORIES = (
    "交通肇事犯罪",
    "危险驾驶犯罪",
    "吸毒",
    "饮酒后驾驶",
    "暴力犯罪",
    "盗窃",
    "诈骗",
)

CATALOGUE: tuple[Dataset, ...] = (
    _dataset(
        "population",
        "人口基础信息",
        "Population register",
        "深圳市公安局",
        "id_number",
        "id_number",
        "name",
        "gender",
        "birth_date:date",
        "hukou_city",
        "hukou_address",
        "deceased:boolean",
        "death_date:date_or_null",
    ),
    _dataset(
        "criminal_records",
        "违法犯罪记录",
        "Criminal and offence records",
        "深圳市公安局",
        "id_number",
        "category",
        "record_date:date",
    ),
    _dataset(
        "driving_scores",
        "驾驶人记分周期",
        "Driver penalty point periods",
        "深圳市公安局交通警察局",
        "id_number",
        "period_start:date",
        "period_end:date",
        "points:integer",
    ),
    _dataset(
        "ridehail_exams",
        "网约车驾驶员考试成绩",
        "Ride-hailing driver exam results",
        "深圳市交通运输局",
        "id_number",
        "exam_date:date",
        "passed:boolean",
    ),
    _dataset(
        "longevity_allowance",
        "高龄津贴发放名册",
        "Longevity allowance roll",
        "深圳市民政局",
        "id_number",
        "since:date",
        "status",
    ),
    _dataset(
        "dishonest_debtors",
        "失信被执行人名单",
        "Dishonest judgment debtors",
        "深圳市中级人民法院",
        "id_number",
        "case_number",
        "listed_on:date",
        "removed_on:date_or_null",
    ),
    _dataset(
        "business_names",
        "市场主体名称",
        "Registered business names",
        "深圳市市场监督管理局",
        "business name",
        "name",
        "uscc",
        "registered_on:date",
    ),
    _dataset(
        "lease_filings",
        "房屋租赁备案",
        "Residential and commercial lease filings",
        "深圳市住房和建设局",
        "premises address",
        "filing_number",
        "address",
        "lessee_id_number",
        "valid_from:date",
        "valid_to:date",
    ),
)

BY_NAME: dict[str, Dataset] = {d.name: d for d in CATALOGUE}
