"""The report as one self-contained HTML page a director reads: headline figures, the charts (inline
SVG), each with the table of its figures, and the overdue-risk radar with the dossiers' codes.

No script, no external file, no web font. Every text is escaped. Each figure shown sits in an element
carrying its CSV key (data-section, data-unit, data-item, data-measure), so a test can find it in the
CSV (hub.reports.csv_out).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html import escape

from hub.reports.charts import Chart, charts
from hub.reports.measures import (
    ALL_UNITS,
    COLLECTION_SUCCESS,
    DAYS_LEFT,
    DOSSIERS,
    DUE,
    FILED,
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

HEADLINE = (FILED, ON_TIME_SHARE, by_name("overdue"), FIRST_ATTEMPT_SUCCESS, by_name("cod_collected_vnd"))
# Per chart of units, the figures its table lists: the drawn ones and those behind them.
UNIT_TABLES: dict[str, tuple[Measure, ...]] = {
    "channels": tuple(
        by_name(name)
        for name in ("filed_online", "filed_in_person", "filed_by_post", "filed_postal_staff", "filed")
    ),
    "results": tuple(by_name(name) for name in ("results_by_post", "results_at_counter", "results_ready")),
    "timeliness": (by_name("results_ready"), by_name("on_time"), ON_TIME_SHARE, by_name("overdue")),
    "success": (
        by_name("collections_requested"),
        by_name("collections_succeeded"),
        COLLECTION_SUCCESS,
        by_name("deliveries"),
        by_name("delivered_first_attempt"),
        FIRST_ATTEMPT_SUCCESS,
        by_name("resends"),
        by_name("cod_collected_vnd"),
        by_name("paid_online_vnd"),
    ),
    "radar": (by_name("due_soon"), by_name("late")),
}
STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1d2330; margin: 2rem auto; max-width: 1100px;
  padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 2px solid #1f5f99; padding-bottom: 0.2rem; }
.period { color: #4a5468; margin-top: 0; }
.headline { display: flex; flex-wrap: wrap; gap: 1rem; margin: 1.5rem 0; }
.card { flex: 1 1 0; min-width: 10rem; border: 1px solid #d5dae3; border-radius: 6px; padding: 0.8rem 1rem;
  background: #f6f8fb; }
.card .label { font-size: 0.85rem; color: #4a5468; margin: 0; }
.card .value { font-size: 1.4rem; font-weight: bold; margin: 0.2rem 0 0; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.8rem 0; }
th, td { border: 1px solid #d5dae3; padding: 0.25rem 0.5rem; }
th { background: #eef1f6; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td, tr.total th { font-weight: bold; background: #f6f8fb; }
.late td { color: #9b2c23; }
.empty { color: #4a5468; font-style: italic; }
"""


@dataclass(frozen=True, slots=True)
class Page:
    html: str
    charts: tuple[str, ...]  # the names of the charts drawn on it, in order


def report_html(report: ProvinceReport) -> Page:
    found = {(row.section, row.unit, row.item, row.measure.name): row for row in rows(report)}
    drawn = charts(report)
    body = [*_header(report, found), *_chart_sections(report, drawn, found), *_radar_lists(report, found)]
    if not report.units:
        body.append('<p class="empty">No dossiers in this period.</p>')
    html = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{escape(_title(report))}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )
    return Page(html, tuple(chart.name for chart in drawn))


Found = dict[tuple[Section, str, str, str], Row]


def _title(report: ProvinceReport) -> str:
    scope = "the province" if report.scope == "province" else f"unit {report.scope}"
    return f"Dossiers and results: {scope}, {report.period_start} to {report.period_end}"


def _header(report: ProvinceReport, found: Found) -> Iterator[str]:
    yield f"<h1>{escape(_title(report))}</h1>"
    yield (
        '<p class="period">Báo cáo tình hình tiếp nhận và trả kết quả hồ sơ. Dates inclusive; '
        "units of 2019 are counted under the unit that succeeded them.</p>"
    )
    yield '<div class="headline">'
    for measure in HEADLINE:
        row = found[Section.TOTALS, ALL_UNITS, "", measure.name]
        yield (
            f'<div class="card"><p class="label">{escape(measure.label)}</p>'
            f'<p class="value"{_key(row)}>{escape(readable(row.value, measure.kind))}</p></div>'
        )
    yield "</div>"


def _chart_sections(report: ProvinceReport, drawn: tuple[Chart, ...], found: Found) -> Iterator[str]:
    for chart in drawn:
        yield f'<section id="{escape(chart.name)}">'
        yield f"<h2>{escape(chart.title)}</h2>"
        yield f'<figure class="chart" data-chart="{escape(chart.name)}">{_labelled(chart)}</figure>'
        if chart.name == "median_days":
            yield from _procedure_table(report, found)
        else:
            yield from _unit_table(report, UNIT_TABLES[chart.name], found)
        yield "</section>"


def _labelled(chart: Chart) -> str:
    return chart.svg.replace("<svg ", f'<svg role="img" aria-label="{escape(chart.title)}" ', 1)


def _unit_table(report: ProvinceReport, measures: tuple[Measure, ...], found: Found) -> Iterator[str]:
    yield "<table>"
    yield _head_row(["Unit", *(measure.label for measure in measures)])
    lines = [(Section.TOTALS, ALL_UNITS, "All units")]
    lines += [(Section.UNIT, unit.unit, f"{unit.unit_name} ({unit.unit})") for unit in report.units]
    for section, code, name in lines:
        cells = (_cell(found[section, code, "", measure.name]) for measure in measures)
        total = ' class="total"' if section is Section.TOTALS else ""
        yield f"<tr{total}><th>{escape(name)}</th>{''.join(cells)}</tr>"
    yield "</table>"


def _procedure_table(report: ProvinceReport, found: Found) -> Iterator[str]:
    yield "<table>"
    yield _head_row(["Procedure", DOSSIERS.label, MEDIAN_DAYS.label])
    for procedure in report.procedures:
        code = procedure.procedure
        cells = (_cell(found[Section.PROCEDURE, ALL_UNITS, code, m.name]) for m in (DOSSIERS, MEDIAN_DAYS))
        yield f"<tr><th>{escape(code)}</th>{''.join(cells)}</tr>"
    yield "</table>"


def _radar_lists(report: ProvinceReport, found: Found) -> Iterator[str]:
    """The dossiers behind the radar's bars, late first: a unit's head calls about these codes."""
    horizon = f"due within {report.within_working_days} working days"
    for section, dossiers, title in (
        (Section.LATE, report.late, "Late: past the due date, no result yet"),
        (Section.DUE_SOON, report.due_soon, f"Due soon: no result yet, {horizon}"),
    ):
        yield f'<section id="{section.value}">'
        yield f"<h2>{escape(title)} ({len(dossiers)})</h2>"
        if not dossiers:
            yield '<p class="empty">None.</p>'
        else:
            yield f'<table class="{"late" if section is Section.LATE else "soon"}">'
            yield _head_row(["Unit", "Dossier", PROCEDURE.label, DUE.label, DAYS_LEFT.label])
            for dossier in dossiers:
                key = (section, dossier.unit, dossier.dossier)
                cells = "".join(_cell(found[(*key, m.name)]) for m in (PROCEDURE, DUE, DAYS_LEFT))
                codes = f"<td>{escape(dossier.unit)}</td><td>{escape(dossier.dossier)}</td>"
                yield f"<tr>{codes}{cells}</tr>"
            yield "</table>"
        yield "</section>"


def _head_row(labels: Iterable[str]) -> str:
    return "<tr>" + "".join(f"<th>{escape(label)}</th>" for label in labels) + "</tr>"


def _cell(row: Row) -> str:
    number = ' class="number"' if isinstance(row.value, int | float) or row.value is None else ""
    return f"<td{number}{_key(row)}>{escape(readable(row.value, row.measure.kind))}</td>"


def _key(row: Row) -> str:
    """The figure's CSV key as attributes."""
    return (
        f' data-section="{escape(row.section.value)}" data-unit="{escape(row.unit)}"'
        f' data-item="{escape(row.item)}" data-measure="{escape(row.measure.name)}"'
    )
