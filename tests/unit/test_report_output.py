"""The province report's renderers: the CSV holds every figure the HTML page shows, with the same
value; shares are computed from the right counts, and a share of nothing is "–", never a crash; every
text on the page is escaped."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from hub.reports.csv_out import HEADER, report_csv
from hub.reports.html_page import Page, report_html
from hub.reports.measures import NO_VALUE, rows
from hub.reports.model import ProvinceReport, UnitFigures
from hub.reports.table import print_report
from tests.province_report import due, idle_unit, sample_report, unit

Key = tuple[str, str, str, str]  # section, unit, item, measure
KEY_ATTRIBUTES = ("data-section", "data-unit", "data-item", "data-measure")


class Figures(HTMLParser):
    """The figures shown on the page: the text of each element carrying a CSV key, and the charts."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[Key, str]] = []
        self.charts: list[str] = []
        self.svgs = 0
        self._open: Key | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "figure":
            self.charts.append(found["data-chart"] or "")
        if "data-measure" in found:
            section, unit, item, measure = (found[name] or "" for name in KEY_ATTRIBUTES)
            self._open = (section, unit, item, measure)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.shown.append((self._open, data))
            self._open = None


@pytest.fixture(scope="module")
def sample_page() -> Page:
    return report_html(sample_report())


def shown_on_page(report: ProvinceReport | Page) -> Figures:
    figures = Figures()
    figures.feed((report if isinstance(report, Page) else report_html(report)).html)
    return figures


def csv_values(report: ProvinceReport) -> dict[Key, str]:
    lines = list(csv.reader(io.StringIO(report_csv(report))))
    assert tuple(lines[0]) == HEADER
    values = {(section, unit, item, measure): value for section, unit, item, measure, value in lines[1:]}
    assert len(values) == len(lines) - 1, "a figure is twice in the CSV"
    return values


def as_written(shown: str) -> str:
    """A figure as the page shows it, written as the CSV does: no separators, no "%" or "VND"."""
    return shown.replace(",", "").removesuffix("%").removesuffix("\u00a0VND")


def test_every_figure_on_the_page_is_in_the_csv_with_its_value(sample_page: Page) -> None:
    values = csv_values(sample_report())
    shown = shown_on_page(sample_page).shown
    assert len(shown) > 150  # headline, the charts' tables, the radar's dossiers
    for key, text in shown:
        assert key in values, f"on the page, not in the CSV: {key}"
        assert as_written(text) == values[key], key


def test_the_headline_is_on_the_page(sample_page: Page) -> None:
    shown = {key[3] for key, _ in shown_on_page(sample_page).shown if key[0] == "totals"}
    assert {"filed", "on_time_pct", "overdue", "first_attempt_pct", "cod_collected_vnd"} <= shown


def test_shares_are_computed_from_their_counts() -> None:
    figures = unit("H12.50", "Sở Y tế", 1)
    report = replace(
        sample_report(),
        units=(
            replace(
                figures,
                results_ready=8,
                on_time=6,
                collections_requested=3,
                collections_succeeded=1,
                deliveries=7,
                delivered_first_attempt=7,
            ),
        ),
    )
    values = csv_values(report)
    assert values["unit", "H12.50", "", "on_time_pct"] == "75.0"
    assert values["unit", "H12.50", "", "collection_success_pct"] == "33.3"
    assert values["unit", "H12.50", "", "first_attempt_pct"] == "100.0"
    assert values["totals", "all", "", "on_time_pct"] == "75.0"


def test_totals_sum_the_units_and_their_shares_are_of_the_sums() -> None:
    values = csv_values(sample_report())
    units = sample_report().units
    assert values["totals", "all", "", "filed"] == str(sum(u.filed for u in units))
    assert values["totals", "all", "", "filed"] == "1304"
    assert values["totals", "all", "", "cod_collected_vnd"] == "16250000"
    on_time = sum(u.on_time for u in units) / sum(u.results_ready for u in units)
    assert values["totals", "all", "", "on_time_pct"] == f"{100 * on_time:.1f}"


def test_a_share_of_nothing_is_a_dash_everywhere() -> None:
    report = replace(sample_report(), units=(idle_unit("H12.40", "Sở Xây dựng"),), procedures=())
    values = csv_values(report)
    for measure in ("on_time_pct", "collection_success_pct", "first_attempt_pct"):
        assert values["unit", "H12.40", "", measure] == NO_VALUE
        assert values["totals", "all", "", measure] == NO_VALUE
    shown = dict(shown_on_page(report).shown)
    assert shown["totals", "all", "", "on_time_pct"] == NO_VALUE
    out = io.StringIO()
    print_report(report, Console(file=out, width=200))
    assert NO_VALUE in out.getvalue()


def test_a_procedure_without_a_median_is_a_dash() -> None:
    values = csv_values(sample_report())
    assert values["procedure", "all", "2.001157", "median_days"] == NO_VALUE
    assert values["procedure", "all", "1.001612", "median_days"] == "3.0"


def test_the_radar_lists_each_dossier_and_counts_them_per_unit() -> None:
    values = csv_values(sample_report())
    assert values["late", "H12.23", "000.23.12.H12-261103-0009", "working_days_left"] == "-3"
    assert values["late", "H12.23", "000.23.12.H12-261103-0009", "due"] == "2026-12-01"
    assert values["due_soon", "H12.30", "000.30.12.H12-261129-0112", "procedure"] == "1.001612"
    assert values["unit", "H12.30", "", "due_soon"] == "2"
    assert values["totals", "all", "", "late"] == "2"


def test_amounts_have_thousands_separators_on_the_page(sample_page: Page) -> None:
    shown = dict(shown_on_page(sample_page).shown)
    assert shown["totals", "all", "", "cod_collected_vnd"] == "16,250,000\u00a0VND"


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & [bold]'
    report = replace(
        sample_report(),
        units=(unit("H12.99", hostile, 1),),
        late=(due("H12.99", "<b>X</b>", "<i>P</i>", 1, -1),),
    )
    html = report_html(report).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; [bold]" in html
    assert "&lt;b&gt;X&lt;/b&gt;" in html
    out = io.StringIO()
    print_report(report, Console(file=out, width=300))
    assert "[bold]" in out.getvalue()  # printed as written, not read as rich markup


def test_each_chart_drawn_is_one_svg_on_the_page(sample_page: Page) -> None:
    page = sample_page
    figures = shown_on_page(page)
    assert page.charts == ("channels", "results", "timeliness", "success", "median_days", "radar")
    assert figures.charts == list(page.charts)
    assert figures.svgs == len(page.charts)


@pytest.mark.parametrize("units", [(), (idle_unit("H12.40", "Sở Xây dựng"),)])
def test_a_quiet_period_renders(units: tuple[UnitFigures, ...]) -> None:
    report = replace(sample_report(), units=units, procedures=(), due_soon=(), late=())
    page = report_html(report)
    assert len(page.charts) == (5 if units else 0)
    assert ("No dossiers in this period." in page.html) == (not units)
    assert report_csv(report).startswith(",".join(HEADER))
    out = io.StringIO()
    print_report(report, Console(file=out, width=200))
    assert "All units" in out.getvalue()


def test_the_page_needs_nothing_from_outside(sample_page: Page) -> None:
    """No script, no style sheet or font to fetch; links only within the page (the charts' glyphs
    and clip paths). XML namespaces name, they are not fetched."""
    html = sample_page.html
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert re.findall(r"url\((?!#)", html) == []
    links = re.findall(r"(?:src|href)=\"([^\"]*)\"", html)
    assert links
    assert [link for link in links if not link.startswith("#")] == []


def test_every_measure_is_documented() -> None:
    documented = (Path(__file__).resolve().parents[2] / "docs/reports.md").read_text(encoding="utf-8")
    names = {row.measure.name for row in rows(sample_report())}
    assert [name for name in sorted(names) if f"`{name}`" not in documented] == []


def test_ids_are_unique_and_every_link_in_the_page_finds_its_target(sample_page: Page) -> None:
    """Charts inlined side by side must not share ids: a glyph or clip path would come from another."""
    ids = re.findall(r'\bid="([^"]*)"', sample_page.html)
    assert len(ids) == len(set(ids)), [name for name in set(ids) if ids.count(name) > 1][:5]
    targets = set(re.findall(r'(?:href="#|url\(#)([^")]*)', sample_page.html))
    assert targets
    assert sorted(targets - set(ids)) == []
