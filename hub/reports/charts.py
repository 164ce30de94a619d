"""The report's charts as SVG text, drawn with matplotlib's object API (no pyplot: no global figure
state, no display). Text is drawn as paths, so a page shows the same glyphs (DejaVu Sans, which ships
with matplotlib and has Vietnamese) whatever fonts the reader's machine has."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hub.reports.measures import (
    COLLECTION_SUCCESS,
    FIRST_ATTEMPT_SUCCESS,
    MEDIAN_DAYS,
    Kind,
    Measure,
    Value,
    by_name,
    readable,
    unit_values,
)
from hub.reports.model import ProvinceReport

CHANNELS = tuple(
    by_name(name) for name in ("filed_online", "filed_in_person", "filed_by_post", "filed_postal_staff")
)
RESULTS = (by_name("results_by_post"), by_name("results_at_counter"))
TIMELINESS = (by_name("on_time"), by_name("overdue"))
SUCCESS = (COLLECTION_SUCCESS, FIRST_ATTEMPT_SUCCESS)
RADAR = (by_name("due_soon"), by_name("late"))
COLOURS = ("#1f5f99", "#e08a1e", "#3f9b5a", "#b8443c")  # a chart's series in turn...
GOOD, WARNING, BAD = "#3f9b5a", "#e08a1e", "#b8443c"
COLOUR_OF = {"on_time": GOOD, "overdue": BAD, "due_soon": WARNING, "late": BAD}  # ...unless it means this
WIDTH_INCHES = 9.0
LABEL_WIDTH = 28  # characters of a unit's name per line


@dataclass(frozen=True, slots=True)
class Chart:
    name: str  # stable, for the page's anchors and the tests
    title: str
    svg: str  # an <svg> element, without XML prolog


@dataclass(frozen=True, slots=True)
class Series:
    """Bars to draw: one label per bar group, and per measure one value per label."""

    labels: tuple[str, ...]
    measures: tuple[Measure, ...]
    values: tuple[tuple[Value, ...], ...]  # [measure][label]


@dataclass(frozen=True, slots=True)
class UnitChart:
    name: str
    title: str
    measures: tuple[Measure, ...]
    stacked: bool  # parts of one whole (channels, the radar's two lists) rather than side by side


UNIT_CHARTS = (
    UnitChart("channels", "Dossiers filed by channel, per unit", CHANNELS, stacked=True),
    UnitChart("results", "Results handed over by post and at the counter, per unit", RESULTS, stacked=False),
    UnitChart(
        "timeliness", "Results ready on time and overdue dossiers, per unit", TIMELINESS, stacked=False
    ),
    UnitChart(
        "success",
        "Collection success and delivery at the first attempt (%), per unit",
        SUCCESS,
        stacked=False,
    ),
)
RADAR_CHART = UnitChart(
    "radar", "Overdue-risk radar: dossiers without a result, due soon or late, per unit", RADAR, stacked=True
)
MEDIAN_DAYS_TITLE = "Median days from acceptance to result, per procedure"
SMALLEST_LABELLED = 0.03  # a stacked part narrower than this share of the axis gets no label: no room


def charts(report: ProvinceReport) -> tuple[Chart, ...]:
    """The charts the report has figures for, in the page's order: none per unit without units, none
    per procedure without procedures; the radar last, beside its lists of dossiers."""
    drawn: list[Chart] = []
    if report.units:
        drawn += [_unit_chart(report, chart) for chart in UNIT_CHARTS]
    if report.procedures:
        series = _procedure_series(report)
        drawn.append(Chart("median_days", MEDIAN_DAYS_TITLE, _svg("median_days", _grouped(series))))
    if report.units:
        drawn.append(_unit_chart(report, RADAR_CHART))
    return tuple(drawn)


def _unit_chart(report: ProvinceReport, chart: UnitChart) -> Chart:
    series = _unit_series(report, chart.measures)
    figure = _stacked(series) if chart.stacked else _grouped(series)
    return Chart(chart.name, chart.title, _svg(chart.name, figure))


def _unit_series(report: ProvinceReport, measures: tuple[Measure, ...]) -> Series:
    found = [unit_values(report, unit) for unit in report.units]
    return Series(
        tuple(_wrapped(unit.unit_name) for unit in report.units),
        measures,
        tuple(tuple(values[measure.name] for values in found) for measure in measures),
    )


def _procedure_series(report: ProvinceReport) -> Series:
    return Series(
        tuple(procedure.procedure for procedure in report.procedures),
        (MEDIAN_DAYS,),
        (tuple(procedure.median_days for procedure in report.procedures),),
    )


def _wrapped(name: str) -> str:
    return "\n".join(textwrap.wrap(name, LABEL_WIDTH)) or name


def _lengths(values: tuple[Value, ...]) -> list[float]:
    """Bar lengths; a missing value ("–") draws no bar."""
    return [float(value) if isinstance(value, int | float) else 0.0 for value in values]


def _figure(series: Series, rows_per_label: float) -> tuple[Figure, Axes, list[float]]:
    """A figure tall enough for its labels, and their positions, the report's first on top."""
    count = len(series.labels)
    figure = Figure(figsize=(WIDTH_INCHES, 1.2 + 0.5 * count * rows_per_label))
    return figure, figure.add_subplot(), [float(count - 1 - index) for index in range(count)]


def _grouped(series: Series) -> Figure:
    """Side by side bars, one group per label, each bar labelled with its value as the tables print it."""
    figure, axes, positions = _figure(series, len(series.measures) ** 0.5)
    height = 0.8 / len(series.measures)
    for index, (measure, values) in enumerate(zip(series.measures, series.values, strict=True)):
        where = [position + 0.4 - height * (index + 0.5) for position in positions]
        colour = _colour(measure, index)
        bars = axes.barh(where, _lengths(values), height=height, color=colour, label=measure.label)
        axes.bar_label(
            bars, labels=[readable(value, measure.kind) for value in values], padding=3, fontsize=8
        )
    _frame(axes, series, positions)
    figure.tight_layout()
    return figure


def _stacked(series: Series) -> Figure:
    """One bar per label made of its parts, each part labelled inside when there is room for it."""
    figure, axes, positions = _figure(series, 1)
    left = [0.0] * len(positions)
    widest = max(sum(lengths) for lengths in zip(*map(_lengths, series.values), strict=True)) or 1.0
    for index, (measure, values) in enumerate(zip(series.measures, series.values, strict=True)):
        lengths = _lengths(values)
        colour = _colour(measure, index)
        bars = axes.barh(positions, lengths, height=0.8, left=left, color=colour, label=measure.label)
        shown = [
            readable(value, measure.kind) if length >= SMALLEST_LABELLED * widest else ""
            for value, length in zip(values, lengths, strict=True)
        ]
        axes.bar_label(bars, labels=shown, label_type="center", fontsize=8, color="white")
        left = [a + b for a, b in zip(left, lengths, strict=True)]
    _frame(axes, series, positions)
    figure.tight_layout()
    return figure


def _colour(measure: Measure, index: int) -> str:
    return COLOUR_OF.get(measure.name, COLOURS[index])


def _frame(axes: Axes, series: Series, positions: Sequence[float]) -> None:
    axes.set_yticks(list(positions), list(series.labels), fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    axes.margins(x=0.12)
    if series.measures[0].kind is Kind.PERCENT:
        axes.set_xlim(0, 112)  # room for "100.0%" beside a full bar
    if series.measures[0].kind is Kind.COUNT:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(series.measures) > 1:
        axes.legend(
            loc="lower right", fontsize=8, frameon=False, bbox_to_anchor=(1, 1), ncols=len(series.measures)
        )


def _svg(name: str, figure: Figure) -> str:
    """The figure as an <svg> element whose ids (glyphs, clip paths, axes) are prefixed with the
    chart's name: charts inlined in one page neither repeat nor borrow each other's ids. No date, so
    the output is stable."""
    out = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "path"}):
        figure.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return SVG_REFERENCE.sub(lambda found: f"{found[1]}{name}-", text[text.index("<svg") :])


SVG_REFERENCE = re.compile(r'(\bid="|href="#|url\(#)')  # where an SVG names or points at an id
