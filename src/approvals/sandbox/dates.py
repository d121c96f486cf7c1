"""Date arithmetic for synthetic data, with the one rule that matters for 29 February.

A date n years after 29 February falls on 1 March when the target year is not a leap
year: the same convention as "age in full years on D" used by the rulesets (a person
born on 29 February turns a year older on 1 March in common years).
"""

from __future__ import annotations

import calendar
import datetime as dt


def add_years(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 3, 1)
    return day.replace(year=year)


def age_on(born: dt.date, on: dt.date) -> int:
    """Full years between `born` and `on` (29 Feb birthdays count from 1 March)."""
    years = on.year - born.year
    return years if add_years(born, years) <= on else years - 1
