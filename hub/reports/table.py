"""The report in the terminal: the province's totals, one line per unit, per procedure, and the
overdue-risk radar (the dossiers due soon or late, by code)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.reports.measures import (
    ALL_UNITS,
    COLLECTION_SUCCESS,
    DAYS_LEFT,
    DOSSIERS,
    DUE,
    FIRST_ATTEMPT_SUCCESS,
    MEDIAN_DAYS,
    ON_TIME_SHARE,
    PROCEDURE,
    Measure,
    Row,
    Section,
    by_name,
    readable,
    rows,
)
from hub.reports.model import ProvinceReport

# The per-unit table's columns and their short headers (the CSV and the HTML page have every figure).
UNIT_COLUMNS: tuple[tuple[Measure, str], ...] = (
    (by_name("filed"), "filed"),
    (by_name("filed_online"), "online"),
    (by_name("filed_in_person"), "counter"),
    (by_name("filed_by_post"), "by post"),
    (by_name("filed_postal_staff"), "postal\nstaff"),
    (by_name("results_by_post"), "results\nby post"),
    (by_name("results_at_counter"), "results at\ncounter"),
    (ON_TIME_SHARE, "on time"),
    (by_name("overdue"), "overdue"),
    (COLLECTION_SUCCESS, "collected"),
    (FIRST_ATTEMPT_SUCCESS, "1st attempt"),
    (by_name("resends"), "re-sends"),
    (by_name("cod_collected_vnd"), "COD"),
    (by_name("due_soon"), "due soon"),
    (by_name("late"), "late"),
)


def print_report(report: ProvinceReport, console: Console) -> None:
    """Every text goes in as plain Text: a unit's name with [brackets] is not read as rich markup."""
    found = list(rows(report))
    console.print(Text(f"Province report {report.period_start} to {report.period_end} ({report.scope})"))
    console.print(_units_table(report, found))
    console.print(_procedures_table(found))
    horizon = f"due within {report.within_working_days} working days"
    console.print(_radar_table(found, Section.LATE, "Late: past the due date, no result yet"))
    console.print(_radar_table(found, Section.DUE_SOON, f"Due soon: no result yet, {horizon}"))


def _units_table(report: ProvinceReport, found: list[Row]) -> Table:
    """One line per unit, the totals first; the columns a director asks for first (the CSV has all)."""
    names = {ALL_UNITS: "All units", **{unit.unit: unit.unit_name for unit in report.units}}
    table = Table("unit", title="Per unit")
    for _, header in UNIT_COLUMNS:
        table.add_column(header, justify="right")
    by_key = {(row.unit, row.measure.name): row for row in found if row.section in _UNIT_SECTIONS}
    for code, name in names.items():
        cells = (readable(by_key[code, measure.name].value, measure.kind) for measure, _ in UNIT_COLUMNS)
        label = name if code == ALL_UNITS else f"{name} ({code})"
        table.add_row(Text(label), *map(Text, cells), end_section=code == ALL_UNITS)
    return table


_UNIT_SECTIONS = {Section.TOTALS, Section.UNIT}


def _procedures_table(found: list[Row]) -> Table:
    table = Table("procedure", title="Per procedure")
    for measure in (DOSSIERS, MEDIAN_DAYS):
        table.add_column(measure.label, justify="right")
    for (_, code), values in _items(found, Section.PROCEDURE).items():
        table.add_row(*map(Text, (code, values[DOSSIERS.name], values[MEDIAN_DAYS.name])))
    return table


def _radar_table(found: list[Row], section: Section, title: str) -> Table:
    table = Table("unit", "dossier", PROCEDURE.label, DUE.label, title=title)
    table.add_column(DAYS_LEFT.label, justify="right")
    for (unit, code), values in _items(found, section).items():
        cells = (unit, code, values[PROCEDURE.name], values[DUE.name], values[DAYS_LEFT.name])
        table.add_row(*map(Text, cells))
    return table


def _items(found: list[Row], section: Section) -> dict[tuple[str, str], dict[str, str]]:
    """(unit, item) -> measure -> the value as read, in the order of the rows."""
    items: dict[tuple[str, str], dict[str, str]] = {}
    for row in found:
        if row.section is section:
            items.setdefault((row.unit, row.item), {})[row.measure.name] = readable(
                row.value, row.measure.kind
            )
    return items
