"""Every figure a province report prints, as rows of one long table: the CSV is these rows, and the
terminal table and the HTML page show them, so a figure on the page is always in the CSV.

Shares are derived here, once: a share with nothing to divide (no results ready, no deliveries) has
no value (None), which every renderer shows as "–".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from hub.reports.model import DueDossier, ProvinceReport, UnitFigures

ALL_UNITS = "all"  # the unit column of the totals over every unit of the report
NO_VALUE = "–"  # a share of nothing, a median of no dossier


class Kind(Enum):
    """How a value reads: a count, a percentage, a number of days, an amount in VND, a date."""

    COUNT = "count"
    PERCENT = "percent"
    DAYS = "days"
    VND = "vnd"
    DATE = "date"
    CODE = "code"


class Section(Enum):
    TOTALS = "totals"
    UNIT = "unit"
    PROCEDURE = "procedure"
    DUE_SOON = "due_soon"
    LATE = "late"


@dataclass(frozen=True, slots=True)
class Measure:
    name: str  # the CSV's measure column
    label: str  # what a reader sees
    kind: Kind


# The counts of UnitFigures, in the order they are printed; the shares follow them.
FILED = Measure("filed", "Dossiers filed", Kind.COUNT)
COUNTS: tuple[Measure, ...] = (
    FILED,
    Measure("filed_online", "Filed online", Kind.COUNT),
    Measure("filed_in_person", "Filed at the counter", Kind.COUNT),
    Measure("filed_by_post", "Brought by the post", Kind.COUNT),
    Measure("filed_postal_staff", "Received by postal staff", Kind.COUNT),
    Measure("results_by_post", "Results by post", Kind.COUNT),
    Measure("results_at_counter", "Results at the counter", Kind.COUNT),
    Measure("results_ready", "Results ready", Kind.COUNT),
    Measure("on_time", "Ready on time", Kind.COUNT),
    Measure("overdue", "Overdue", Kind.COUNT),
    Measure("collections_requested", "Collections requested", Kind.COUNT),
    Measure("collections_succeeded", "Collections succeeded", Kind.COUNT),
    Measure("deliveries", "Deliveries", Kind.COUNT),
    Measure("delivered_first_attempt", "Delivered at first attempt", Kind.COUNT),
    Measure("resends", "Re-sends", Kind.COUNT),
    Measure("cod_collected_vnd", "COD collected", Kind.VND),
    Measure("paid_online_vnd", "Paid online", Kind.VND),
)
ON_TIME_SHARE = Measure("on_time_pct", "On time", Kind.PERCENT)
COLLECTION_SUCCESS = Measure("collection_success_pct", "Collection success", Kind.PERCENT)
FIRST_ATTEMPT_SUCCESS = Measure("first_attempt_pct", "Delivered at first attempt", Kind.PERCENT)
SHARES: tuple[Measure, ...] = (ON_TIME_SHARE, COLLECTION_SUCCESS, FIRST_ATTEMPT_SUCCESS)
RADAR_COUNTS: tuple[Measure, ...] = (
    Measure("due_soon", "Due soon (no result yet)", Kind.COUNT),
    Measure("late", "Late (no result yet)", Kind.COUNT),
)
DOSSIERS = Measure("dossiers", "Dossiers with a result", Kind.COUNT)
MEDIAN_DAYS = Measure("median_days", "Median days", Kind.DAYS)
PROCEDURE = Measure("procedure", "Procedure", Kind.CODE)
DUE = Measure("due", "Due", Kind.DATE)
DAYS_LEFT = Measure("working_days_left", "Working days left", Kind.COUNT)
UNIT_MEASURES: tuple[Measure, ...] = (*COUNTS, *SHARES, *RADAR_COUNTS)

Value = int | float | str | None


def by_name(name: str) -> Measure:
    """A unit's measure by its CSV name."""
    return next(measure for measure in UNIT_MEASURES if measure.name == name)


@dataclass(frozen=True, slots=True)
class Row:
    """One figure: ``item`` is the procedure or dossier code it is about, "" for a unit's figures."""

    section: Section
    unit: str
    item: str
    measure: Measure
    value: Value


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, None when there is nothing to divide."""
    return None if whole == 0 else 100 * part / whole


def totals(units: tuple[UnitFigures, ...]) -> dict[str, int]:
    """Each count of UnitFigures (``filed`` too) summed over ``units``."""
    return {measure.name: sum(getattr(unit, measure.name) for unit in units) for measure in COUNTS}


def values(counts: dict[str, int], due_soon: int, late: int) -> dict[str, Value]:
    """The counts, the shares derived from them, and the radar's counts, by measure name."""
    found: dict[str, Value] = {measure.name: counts[measure.name] for measure in COUNTS}
    found[ON_TIME_SHARE.name] = share(counts["on_time"], counts["results_ready"])
    found[COLLECTION_SUCCESS.name] = share(counts["collections_succeeded"], counts["collections_requested"])
    found[FIRST_ATTEMPT_SUCCESS.name] = share(counts["delivered_first_attempt"], counts["deliveries"])
    found["due_soon"], found["late"] = due_soon, late
    return found


def unit_values(report: ProvinceReport, unit: UnitFigures) -> dict[str, Value]:
    return values(
        totals((unit,)),
        sum(1 for d in report.due_soon if d.unit == unit.unit),
        sum(1 for d in report.late if d.unit == unit.unit),
    )


def total_values(report: ProvinceReport) -> dict[str, Value]:
    return values(totals(report.units), len(report.due_soon), len(report.late))


def rows(report: ProvinceReport) -> Iterator[Row]:
    """Every figure of the report: totals, each unit, each procedure, each dossier on the radar."""
    found = total_values(report)
    for measure in UNIT_MEASURES:
        yield Row(Section.TOTALS, ALL_UNITS, "", measure, found[measure.name])
    for unit in report.units:
        found = unit_values(report, unit)
        for measure in UNIT_MEASURES:
            yield Row(Section.UNIT, unit.unit, "", measure, found[measure.name])
    for procedure in report.procedures:
        yield Row(Section.PROCEDURE, ALL_UNITS, procedure.procedure, DOSSIERS, procedure.dossiers)
        yield Row(Section.PROCEDURE, ALL_UNITS, procedure.procedure, MEDIAN_DAYS, procedure.median_days)
    for section, dossiers in ((Section.DUE_SOON, report.due_soon), (Section.LATE, report.late)):
        for dossier in dossiers:
            yield from radar_rows(section, dossier)


def radar_rows(section: Section, dossier: DueDossier) -> Iterator[Row]:
    yield Row(section, dossier.unit, dossier.dossier, PROCEDURE, dossier.procedure)
    yield Row(section, dossier.unit, dossier.dossier, DUE, dossier.due.isoformat())
    yield Row(section, dossier.unit, dossier.dossier, DAYS_LEFT, dossier.working_days_left)


def plain(value: Value, kind: Kind) -> str:
    """The value as the CSV writes it: digits with a decimal point, no separators; "–" for none."""
    if value is None:
        return NO_VALUE
    if kind in {Kind.PERCENT, Kind.DAYS}:
        return f"{value:.1f}"
    return str(value)


def readable(value: Value, kind: Kind) -> str:
    """The value as a reader sees it: thousands separators, "%", "VND"; "–" for none."""
    if value is None:
        return NO_VALUE
    if kind is Kind.PERCENT:
        return f"{value:.1f}%"
    if kind is Kind.DAYS:
        return f"{value:.1f}"
    if kind is Kind.VND:
        return f"{value:,}\u00a0VND"  # never broken from its figure
    if kind is Kind.COUNT:
        return f"{value:,}"
    return str(value)
