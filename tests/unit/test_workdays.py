"""Vietnam's working days (hub.workdays): weekends, holidays, swapped Saturdays, year ends."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hub.workdays import CalendarError, WorkingCalendar

SHIPPED = WorkingCalendar.from_file()


def calendar_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_weekdays_work_and_weekends_do_not() -> None:
    assert SHIPPED.is_working_day(date(2026, 11, 27))  # a Friday
    assert not SHIPPED.is_working_day(date(2026, 11, 28))
    assert not SHIPPED.is_working_day(date(2026, 11, 29))


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1), date(2026, 1, 2), *(date(2026, 2, d) for d in range(16, 21)),
        date(2026, 4, 27), date(2026, 4, 30), date(2026, 5, 1), date(2026, 9, 1), date(2026, 9, 2),
        date(2027, 1, 1),
    ],
)  # fmt: skip
def test_the_shipped_holidays_are_off(day: date) -> None:
    assert not SHIPPED.is_working_day(day)


def test_a_swapped_saturday_is_worked() -> None:
    assert SHIPPED.is_working_day(date(2026, 1, 10))
    assert not SHIPPED.is_working_day(date(2026, 1, 17))


def test_adding_working_days_skips_weekends_and_holidays() -> None:
    assert SHIPPED.add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Fri -> Mon
    assert SHIPPED.add_working_days(date(2026, 11, 27), 0) == date(2026, 11, 27)
    # Friday 13 Feb 2026, then Tết: 14-22 Feb off, back on Monday 23.
    assert SHIPPED.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert SHIPPED.add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)
    # 1 and 2 Jan off, Saturday 10 Jan worked.
    assert SHIPPED.add_working_days(date(2026, 1, 1), 1) == date(2026, 1, 5)
    assert SHIPPED.add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 10)


def test_across_the_year_end() -> None:
    # Thursday 31 Dec 2026, then New Year on Friday 1 Jan 2027 and a weekend.
    assert SHIPPED.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert SHIPPED.working_days_between(date(2026, 12, 30), date(2027, 1, 5)) == 3  # 31 Dec, 4, 5 Jan
    assert SHIPPED.working_days_between(date(2027, 1, 5), date(2026, 12, 30)) == -3


def test_working_days_between_is_signed_and_counts_the_end() -> None:
    assert SHIPPED.working_days_between(date(2026, 11, 30), date(2026, 11, 30)) == 0
    assert SHIPPED.working_days_between(date(2026, 11, 30), date(2026, 12, 1)) == 1
    assert SHIPPED.working_days_between(date(2026, 11, 27), date(2026, 11, 29)) == 0  # to Sunday
    assert SHIPPED.working_days_between(date(2026, 12, 1), date(2026, 11, 27)) == -2  # Mon, Tue
    assert SHIPPED.working_days_between(date(2026, 4, 24), date(2026, 5, 4)) == 3  # 28, 29 Apr, 4 May


def test_a_date_outside_the_coverage_is_an_error_not_a_guess() -> None:
    with pytest.raises(CalendarError, match=r"2027-02-08 is outside its coverage 2026-01-01\.\.2027-01-31"):
        SHIPPED.is_working_day(date(2027, 2, 8))


GOOD = """
[coverage]
first_day = 2026-01-01
last_day = 2026-12-31
[[holidays]]
date = 2026-09-02
name = "Quốc khánh"
[[working_saturdays]]
date = 2026-01-10
name = "swapped"
"""


def test_another_calendar_file(tmp_path: Path) -> None:
    calendar = WorkingCalendar.from_file(calendar_file(tmp_path, GOOD))
    assert not calendar.is_working_day(date(2026, 9, 2))
    assert calendar.is_working_day(date(2026, 9, 1))
    assert calendar.is_working_day(date(2026, 1, 10))


AGAIN = '[[holidays]]\ndate = 2026-09-02\nname = "again"\n'


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[coverage\n", r"calendar\.toml: not TOML: .*line 1"),
        (GOOD.replace("2026-09-02", '"2026-09-02"'), r"holidays\[0\]: date: must be a date"),
        (GOOD.replace('name = "Quốc khánh"', ""), r"holidays\[0\]: name: required"),
        (GOOD.replace("2026-01-10", "2026-01-09"), r"working_saturdays\[0\]: 2026-01-09 is not a Saturday"),
        (GOOD.replace("2026-09-02", "2027-09-02"), r"holidays\[0\]: 2027-09-02 is outside the coverage"),
        (GOOD + AGAIN, r"holidays\[1\]: 2026-09-02 is listed twice"),
        (GOOD.replace("first_day", "first"), r"coverage: first_day: must be a date"),
        (GOOD + "[extra]\n", r"extra: not a section"),
        (GOOD.replace("2026-09-02", "2026-01-10"), r"2026-01-10 is both a holiday and a working Saturday"),
    ],
)
def test_a_malformed_calendar_file_names_the_file_the_entry_and_the_rule(
    tmp_path: Path, text: str, error: str
) -> None:
    with pytest.raises(CalendarError, match=r"calendar\.toml: .*" + error.removeprefix(r"calendar\.toml: ")):
        WorkingCalendar.from_file(calendar_file(tmp_path, text))


def test_a_missing_calendar_file(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match=r"missing\.toml: cannot be read"):
        WorkingCalendar.from_file(tmp_path / "missing.toml")


def test_coverage() -> None:
    assert SHIPPED.covers(date(2026, 1, 1))
    assert SHIPPED.covers(date(2027, 1, 31))
    assert not SHIPPED.covers(date(2025, 12, 31))
    assert not SHIPPED.covers(date(2027, 2, 1))
