"""``hub report summary``: the province report for a period, for one unit or the whole province, as
a terminal table, and on request as CSV (``--csv``) and as one self-contained HTML page (``--html``).

The figures come from a callable given to ``summary_command`` (hub.reports.figures over the dossier
store, in ``hub report``'s group), so the command is tested on figures built in the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import click
from rich.console import Console

from hub.reports.csv_out import report_csv
from hub.reports.model import ProvinceReport
from hub.reports.table import print_report

DAY = click.DateTime(formats=["%Y-%m-%d"])
DEFAULT_WITHIN = 2  # working days: the radar's horizon
CONSOLE_WIDTH = 200  # the per-unit table in full, also in a file or a mail from cron


@dataclass(frozen=True, slots=True)
class ReportQuery:
    start: date
    end: date  # inclusive
    unit: str | None  # today's agency code; None: the whole province
    within: int  # working days: dossiers due within them are on the radar
    today: date | None = None  # the day open dossiers are judged late on (None: today in Vietnam)


ComputeReport = Callable[[click.Context, ReportQuery], ProvinceReport]


def summary_command(compute: ComputeReport) -> click.Command:
    """The ``summary`` command, its figures from ``compute`` (given the command's context, whose
    ``obj`` is the hub's settings, and the query)."""

    @click.command("summary")
    @click.option("--from", "start", type=DAY, required=True, help="first day, YYYY-MM-DD")
    @click.option("--to", "end", type=DAY, required=True, help="last day, included, YYYY-MM-DD")
    @click.option(
        "--unit",
        default=None,
        help="today's agency code: that unit, with the units it succeeded [default: the whole province]",
    )
    @click.option(
        "--within",
        type=click.IntRange(min=0),
        default=DEFAULT_WITHIN,
        show_default=True,
        help="the overdue-risk radar lists the dossiers due within this many working days",
    )
    @click.option(
        "--csv",
        "csv_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="also write every figure to this CSV file (section, unit, item, measure, value)",
    )
    @click.option(
        "--today",
        type=DAY,
        default=None,
        help="the day open dossiers are judged late on, YYYY-MM-DD [default: today in Vietnam]",
    )
    @click.option(
        "--html",
        "html_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="also write the report as one self-contained HTML page with charts",
    )
    @click.pass_context
    def summary(
        ctx: click.Context,
        *,
        start: datetime,
        end: datetime,
        unit: str | None,
        within: int,
        today: datetime | None,
        csv_file: Path | None,
        html_file: Path | None,
    ) -> None:
        """Dossiers by channel, results by post and at the counter, the share ready on time and the
        overdue, median days per procedure, collection and first-attempt delivery success, re-sends,
        COD collected, and the overdue-risk radar; for the period, per unit (2019 units counted under
        today's). No personal data: dossier codes at most."""
        if end < start:
            raise click.BadParameter("the last day is before the first (--from)", param_hint="--to")
        day = today.date() if today else None
        report = compute(ctx, ReportQuery(start.date(), end.date(), unit, within, day))
        print_report(report, Console(width=CONSOLE_WIDTH))
        if csv_file is not None:
            _write(csv_file, report_csv(report), "utf-8-sig")  # the mark tells a spreadsheet it is UTF-8
            click.echo(f"wrote {csv_file}")
        if html_file is not None:
            charts = _write_html(html_file, report)
            click.echo(f"wrote {html_file} ({charts} charts)")

    return summary


def _write_html(path: Path, report: ProvinceReport) -> int:
    """Write the page; the number of charts on it. matplotlib is imported here, when a page is asked
    for: it takes about a second, which every other ``hub`` command would pay."""
    from hub.reports.html_page import report_html  # noqa: PLC0415  (see above)

    page = report_html(report)
    _write(path, page.html, "utf-8")
    return len(page.charts)


def _write(path: Path, text: str, encoding: str) -> None:
    try:
        path.write_text(text, encoding=encoding)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from None
