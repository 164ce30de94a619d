"""``hub report``: province reports from the dossier store, without personal data.

``hub report overdue`` is the overdue-risk radar: per unit, the dossiers with no result yet that are
due within N working days, and those already late (Vietnam's working days: ``hub.workdays``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from hub import VIETNAM
from hub.agencies import AgencyRegistry
from hub.cli_report_summary import ReportQuery, summary_command
from hub.reports.figures import province_report
from hub.reports.model import ProvinceReport
from hub.settings import Settings
from hub.store.database import make_engine, store_refusal
from hub.workdays import WorkingCalendar


@dataclass(frozen=True)
class Sources:
    """What a report reads: the store, the agency registry (roll-up to today's units), the calendar."""

    engine: Engine
    registry: AgencyRegistry
    calendar: WorkingCalendar


@contextmanager
def report_sources(settings: Settings) -> Iterator[Sources]:
    """The report's sources from the settings; a store that refuses or does not answer is a
    ``ClickException`` naming only the error's type (a driver's text may quote values)."""
    registry = AgencyRegistry(settings.agencies)
    calendar = WorkingCalendar.from_file(settings.working_calendar_file)
    engine = make_engine(settings.database_url.get_secret_value())
    try:
        yield Sources(engine, registry, calendar)
    except DBAPIError as error:
        refused = store_refusal(error, engine)
        if refused is not None:
            raise refused from None
        raise click.ClickException(
            f"the store did not answer the report's query: {type(error.orig).__name__} "
            "(is it migrated? `hub store migrate`)"
        ) from None
    finally:
        engine.dispose()


@click.group()
def report() -> None:
    """Province reports from the dossier store (HUB_DATABASE_URL), without personal data."""


@report.command("overdue")
@click.option(
    "--within",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="working days ahead: dossiers due by then count as due soon",
)
@click.option("--unit", "unit", metavar="CODE", help="only this unit (a 2019 code stands for today's unit)")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="the day to count from, YYYY-MM-DD (default: today in Vietnam)",
)
@click.pass_context
def overdue(ctx: click.Context, *, within: int, unit: str | None, today: datetime | None) -> None:
    """Per unit, the dossiers with no result yet due within --within working days, and those late."""
    settings: Settings = ctx.obj
    day = today.date() if today else datetime.now(VIETNAM).date()
    if unit is not None and unit not in AgencyRegistry(settings.agencies):
        raise click.BadParameter("not in the agency registry", param_hint="--unit")
    with report_sources(settings) as sources:
        figures = province_report(
            sources.engine, sources.registry, sources.calendar,
            start=day, end=day, unit=unit, within=within, today=day,
        )  # fmt: skip
    console = Console()
    console.print(
        f"Radar on {day} ({figures.scope}): no result, due within "
        f"{figures.within_working_days} working days or late"
    )
    console.print(radar_by_unit(figures))
    if figures.due_soon or figures.late:
        console.print(radar_dossiers(figures))


def radar_by_unit(figures: ProvinceReport) -> Table:
    """One row per unit with dossiers due soon or late, and how many."""
    table = Table()
    table.add_column("unit")
    table.add_column("due soon", justify="right")
    table.add_column("late", justify="right")
    due = Counter(d.unit for d in figures.due_soon)
    late = Counter(d.unit for d in figures.late)
    for unit in sorted(due.keys() | late.keys()):
        table.add_row(unit, str(due[unit]), str(late[unit]))
    table.add_row("total", str(len(figures.due_soon)), str(len(figures.late)), end_section=True)
    return table


def radar_dossiers(figures: ProvinceReport) -> Table:
    """The dossiers themselves, per unit, the late ones first (codes and procedures: nothing personal)."""
    table = Table(caption="left: working days from today to the due date (negative: late)")
    table.add_column("unit", no_wrap=True)
    table.add_column("dossier", no_wrap=True)
    table.add_column("procedure", no_wrap=True)
    table.add_column("due", no_wrap=True)
    table.add_column("left", justify="right")
    for dossier in sorted((*figures.late, *figures.due_soon), key=lambda d: (d.unit, d.due, d.dossier)):
        table.add_row(
            dossier.unit,
            dossier.dossier,
            dossier.procedure,
            str(dossier.due),
            f"{dossier.working_days_left:+d}",
        )
    return table


def summary_figures(ctx: click.Context, query: ReportQuery) -> ProvinceReport:
    """The figures ``hub report summary`` prints, from the store the settings name."""
    settings: Settings = ctx.obj
    if query.unit is not None and query.unit not in AgencyRegistry(settings.agencies):
        raise click.BadParameter("not in the agency registry", param_hint="--unit")
    with report_sources(settings) as sources:
        return province_report(
            sources.engine, sources.registry, sources.calendar,
            start=query.start, end=query.end, unit=query.unit, within=query.within, today=query.today,
        )  # fmt: skip


report.add_command(summary_command(summary_figures))
