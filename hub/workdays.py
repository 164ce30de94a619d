"""Vietnam's working days: weekends and public holidays off, swapped Saturdays worked.

The days come from a calendar file (TOML: ``[coverage]``, ``[[holidays]]`` and
``[[working_saturdays]]``, each entry a ``date`` and a ``name``); the package ships the current
one (``workdays_vn.toml``, its sources in its comments) and ``HUB_WORKING_CALENDAR_FILE`` points at
another. A date outside the file's coverage is an error rather than a guess: the government decides
Tết and some swapped days each year, so a year nobody entered is not known.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hub.errors import ConfigError

DEFAULT_CALENDAR = Path(__file__).with_name("workdays_vn.toml")
SATURDAY = 5


class CalendarError(ConfigError):
    """A calendar file that cannot be read, or a date it does not cover."""


@dataclass(frozen=True)
class WorkingCalendar:
    first_day: date
    last_day: date
    holidays: frozenset[date]
    working_saturdays: frozenset[date]

    @classmethod
    def from_file(cls, path: Path | None = None) -> WorkingCalendar:
        """The calendar of ``path`` (None: the shipped one); raises ``CalendarError`` naming the
        file, the entry and the rule it breaks."""
        path = path or DEFAULT_CALENDAR
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise CalendarError(f"{path}: cannot be read ({error.strerror})") from None
        except tomllib.TOMLDecodeError as error:
            raise CalendarError(f"{path}: not TOML: {error}") from None
        return _parse(document, str(path))

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def is_working_day(self, day: date) -> bool:
        self._require_covered(day)
        if day in self.working_saturdays:
            return True
        return day.weekday() < SATURDAY and day not in self.holidays

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (before it when negative); ``day`` itself for 0."""
        step = timedelta(days=1 if count >= 0 else -1)
        left = abs(count)
        while left:
            day += step
            left -= self.is_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``; negative when ``end`` is earlier
        (then those after ``end`` up to ``start``). So a day due tomorrow is 1 away, one due
        yesterday -1, and a date due over a weekend counts only the working days."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(self.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))

    def _require_covered(self, day: date) -> None:
        if not self.covers(day):
            raise CalendarError(
                f"working calendar: {day} is outside its coverage {self.first_day}..{self.last_day}; "
                "add that year's holidays to the calendar file (HUB_WORKING_CALENDAR_FILE)"
            )


def _parse(document: Mapping[str, Any], source: str) -> WorkingCalendar:
    unknown = sorted(set(document) - {"coverage", "holidays", "working_saturdays"})
    if unknown:
        raise CalendarError(f"{source}: {unknown[0]}: not a section of a working calendar")
    coverage = document.get("coverage")
    if not isinstance(coverage, dict):
        raise CalendarError(f"{source}: coverage: required, a table with first_day and last_day")
    first = _date(coverage, "first_day", f"{source}: coverage")
    last = _date(coverage, "last_day", f"{source}: coverage")
    if first > last:
        raise CalendarError(f"{source}: coverage: first_day {first} is after last_day {last}")
    holidays = _days(document, "holidays", source, first, last)
    saturdays = _days(document, "working_saturdays", source, first, last)
    for index, day in enumerate(saturdays):
        if day.weekday() != SATURDAY:
            raise CalendarError(f"{source}: working_saturdays[{index}]: {day} is not a Saturday")
    both = sorted(set(holidays) & set(saturdays))
    if both:
        raise CalendarError(f"{source}: {both[0]} is both a holiday and a working Saturday")
    return WorkingCalendar(first, last, frozenset(holidays), frozenset(saturdays))


def _days(document: Mapping[str, Any], section: str, source: str, first: date, last: date) -> list[date]:
    entries = document.get(section, [])
    if not isinstance(entries, list):
        raise CalendarError(f"{source}: {section}: must be a list of [[{section}]] entries")
    days: list[date] = []
    for index, entry in enumerate(entries):
        where = f"{source}: {section}[{index}]"
        if not isinstance(entry, dict):
            raise CalendarError(f"{where}: must be a table with date and name")
        day = _date(entry, "date", where)
        if not isinstance(entry.get("name"), str) or not entry["name"].strip():
            raise CalendarError(f"{where}: name: required, a text saying what the day is")
        if not first <= day <= last:
            raise CalendarError(f"{where}: {day} is outside the coverage {first}..{last}")
        if day in days:
            raise CalendarError(f"{where}: {day} is listed twice")
        days.append(day)
    return days


def _date(table: Mapping[str, Any], key: str, where: str) -> date:
    value = table.get(key)
    if type(value) is not date:  # a datetime is a date too, and not what the file means
        raise CalendarError(f"{where}: {key}: must be a date (2026-01-01, unquoted)")
    return value
