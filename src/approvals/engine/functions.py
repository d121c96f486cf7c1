"""Built-in functions of the expression language.

Dates travel as ISO strings (`YYYY-MM-DD`), so they compare correctly as text, go into
canonical JSON unchanged, and need no special type in durable_rules.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from approvals.errors import EvaluationError


def to_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise EvaluationError(f"'{value}' is not a date (expected YYYY-MM-DD)") from exc
    raise EvaluationError(f"expected a date, found {type(value).__name__} {value!r}")


def anniversary(start: dt.date, years: int) -> dt.date:
    """`start` moved by whole years; 29 February falls on 1 March in common years.

    The items' rules count a person born on 29 February as a year older on 1 March
    in years without a 29 February (the civil-affairs practice the issue states).
    """
    year = start.year + years
    if start.month == 2 and start.day == 29 and not calendar.isleap(year):
        return dt.date(year, 3, 1)
    return start.replace(year=year)


def full_years(start: Any, end: Any) -> int:
    """Completed years from `start` to `end` (age on `end` when `start` is a birth date)."""
    a, b = to_date(start), to_date(end)
    years = b.year - a.year
    if anniversary(a, years) > b:
        years -= 1
    return years


def add_years(day: Any, years: Any) -> str:
    return anniversary(to_date(day), _int(years)).isoformat()


def add_days(day: Any, days: Any) -> str:
    return (to_date(day) + dt.timedelta(days=_int(days))).isoformat()


def days_between(start: Any, end: Any) -> int:
    return (to_date(end) - to_date(start)).days


def first_of_next_month(day: Any) -> str:
    d = to_date(day)
    return (
        dt.date(d.year + 1, 1, 1) if d.month == 12 else dt.date(d.year, d.month + 1, 1)
    ).isoformat()


def band(table: Any, value: Any) -> Any:
    """The `value` of the row of `table` whose [min, max] range holds `value`.

    Rows are `{min: 80, max: 89, value: 200}`; a row without `max` is open-ended.
    """
    if not isinstance(table, list):
        raise EvaluationError("band() expects a table (a list of {min, max, value} rows)")
    number = _number(value)
    for row in table:
        low, high = row.get("min"), row.get("max")
        if (low is None or number >= low) and (high is None or number <= high):
            return row["value"]
    return None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EvaluationError(f"expected a whole number, found {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvaluationError(f"expected a number, found {value!r}")
    return value


def length(value: Any) -> int:
    if not isinstance(value, list | str | dict):
        raise EvaluationError(f"len() expects a list or text, found {value!r}")
    return len(value)


def new_uscc(admin_division: Any, *seed: Any) -> str:
    """A new 统一社会信用代码 for an individual business (GB 32100-2015).

    "92" = registered by market regulation (9), individual business (2). The 9-character
    entity identifier is 8 digits derived from `seed` (so a replayed decision issues the
    same code) plus its GB 11714-1997 check character.
    """
    from approvals.licence import uscc  # the licence package owns the code's rules

    digest = hashlib.sha256("|".join(str(part) for part in seed).encode("utf-8")).digest()
    digits = f"{int.from_bytes(digest[:8], 'big') % 10**8:08d}"
    # GB 11714-1997 §5: weights 3,7,9,10,5,8,4,2; C9 = 11 - (sum mod 11); 10 -> X, 11 -> 0.
    total = sum(int(d) * w for d, w in zip(digits, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    body = digits + ("X" if check == 10 else "0" if check == 11 else str(check))
    return uscc.make("92", str(admin_division), body)


def to_date_text(value: Any) -> str:
    return to_date(value).isoformat()


# Plain functions: every argument is evaluated first. (Functions over lists with a
# condition per item, such as any() and count(), live in the evaluator because the
# condition is evaluated once per item with `it` bound to it.)
PLAIN: dict[str, tuple[int, int, Callable[..., Any]]] = {
    # name: (min args, max args, implementation)
    "full_years": (2, 2, full_years),
    "add_years": (2, 2, add_years),
    "add_days": (2, 2, add_days),
    "days_between": (2, 2, days_between),
    "first_of_next_month": (1, 1, first_of_next_month),
    "band": (2, 2, band),
    "len": (1, 1, length),
    "date": (1, 1, to_date_text),
    "new_uscc": (2, 6, new_uscc),
}

# Functions whose second argument is a per-item expression over `it`.
ITEMWISE = {"any", "all", "count", "filter", "max", "min", "first"}

# Functions that need the application date: `age(birth_date)` is `full_years(birth_date, today)`.
DATED = {"age"}

ALL_FUNCTIONS = set(PLAIN) | ITEMWISE | DATED
