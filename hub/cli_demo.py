"""``hub demo``: a day at the sample province through the hub, with its summary tables."""

from __future__ import annotations

import logging
import time
from collections import Counter
from contextlib import ExitStack
from itertools import chain
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

import connectors
from connectors.demo_http import HttpPartners
from connectors.readback import DayByUnit, by_unit
from connectors.scenario import Day
from hub.agencies import AgencyRegistry
from hub.bus.topology import EVENTS_LOG, dead_letter_queue, egress_queue
from hub.demo import DemoReport, broker_label, broker_user, run_demo
from hub.errors import ConfigError, FatalError, TransientError
from hub.outcomes import Disposition
from hub.settings import Settings, load_settings

DEMO_SAMPLE_CONFIG = Path(connectors.__file__).parent / "samples" / "province.toml"

DEMO_COUNT = 2000


@click.command()
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=DEMO_COUNT,
    show_default=True,
    help="dossiers filed during the day (online and at counters)",
)
@click.option(
    "--database",
    type=click.Path(path_type=Path),
    default=Path("hub-demo.sqlite3"),
    show_default=True,
    help="SQLite file, recreated on each run",
)
@click.option(
    "--broker",
    metavar="URL",
    help="play the day on RabbitMQ, amqp://user:pass@host:port/vhost, whose hub queues must be empty "
    "(default: HUB_BROKER_URL; unset: the embedded broker)",
)
@click.option(
    "--http",
    "over_http",
    is_flag=True,
    help="the portal and the post as HTTP fakes on 127.0.0.1: the delivery runner sends them their "
    "egress, the tracking poller brings the post's answers",
)
@click.option("--verbose", is_flag=True, help="log every dead letter as it happens")
@click.pass_context
def demo(
    ctx: click.Context, *, count: int, database: Path, broker: str | None, over_http: bool, verbose: bool
) -> None:
    """Play a day of the fake partners' traffic through the hub, round by round; print a summary."""
    settings: Settings = ctx.obj
    if not verbose:
        logging.getLogger().setLevel(logging.WARNING)
    if not settings.agencies:
        settings = settings.model_copy(update={"agencies": load_settings(DEMO_SAMPLE_CONFIG).agencies})
    try:
        agencies = AgencyRegistry(settings.agencies)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    url = broker or settings.broker_url_value()
    day = Day(count, settings.max_body_bytes, user=broker_user(url), user_id_checked=url is not None)
    over = ", the portal and the post over HTTP" if over_http else ""
    click.echo(f"A day at the province, {count} dossiers, on {broker_label(url)}{over}:")
    started = time.monotonic()
    with ExitStack() as stack:
        partners = stack.enter_context(HttpPartners(count)) if over_http else None
        try:
            report = run_demo(settings, day, database, url, partners)
        except (FatalError, TransientError) as error:
            raise click.ClickException(str(error)) from None
    seconds = time.monotonic() - started
    units = by_unit(chain(*report.delivered.values()), chain(*report.dead.values()), agencies)
    _print_report(report, day, units, agencies)
    if partners is not None:
        Console(width=130).print(_http_table(partners))
    click.echo(_summary(report, seconds, database))
    if not report.accounted_for:
        raise click.ClickException("the demo's figures do not add up: " + "; ".join(report.problems()))


def _print_report(report: DemoReport, day: Day, units: DayByUnit, agencies: AgencyRegistry) -> None:
    console = Console(width=130)
    console.print(_day_text(day, report.on_rabbitmq))
    for table in (
        _rounds_table(report),
        _flowed_table(report),
        _queues_table(report),
        _names_table(units, agencies),
        _units_table(units),
        _dead_letters_table(report),
        _flags_table(report),
        _successors_table(units, agencies),
    ):
        console.print(table)


def _day_text(day: Day, on_rabbitmq: bool) -> str:
    f = day.figures
    journeys = ", ".join(f"{n} {name}" for name, n in sorted(day.journeys.items()))
    spoof = " (RabbitMQ refuses a spoofed user_id itself: no wrong_ingress)" if on_rabbitmq else ""
    return (
        f"{f.filed_online} dossiers filed online ({f.collections_requested} collected by the post, "
        f"{f.withdrawn_online} withdrawn, {f.paid_online} paid online), "
        f"{f.received_in_person + f.brought_by_post} at the counters "
        f"({f.brought_by_post} brought by the post); {f.results_by_post} results ready to go by post, "
        f"{f.resent} sent again after the post brought them back; the post's orders: {journeys or 'none'}; "
        f"{f.duplicates} exact copies and {f.bad} bad messages among them{spoof}."
    )


def _rounds_table(report: DemoReport) -> Table:
    partners = list(report.delivered)
    queues = [egress_queue(p) for p in partners] + [dead_letter_queue(p) for p in partners]
    table = Table("round", title="Rounds: what the partners published, what the hub delivered")
    for header in [f"from\n{p}" for p in partners] + [q.replace(".", "\n", 1) for q in queues] + ["settled"]:
        table.add_column(header, justify="right")
    for number, played in enumerate(report.rounds, 1):
        published = [str(played.published[p]) for p in partners]
        taken = [str(played.taken.get(q, 0)) for q in queues]
        table.add_row(str(number), *published, *taken, "yes" if played.settled else "NO")
    return table


def _flowed_table(report: DemoReport) -> Table:
    table = Table(
        "partner", "kind", "outcome", "reason", "messages", "outputs", title="What flowed (the ledger)"
    )
    for t in report.tallies:
        table.add_row(t.partner, t.kind or "-", t.outcome, t.reason or "-", str(t.messages), str(t.outputs))
    return table


def _queues_table(report: DemoReport) -> Table:
    table = Table("queue", "messages", title="Where it went")
    if report.on_rabbitmq:
        table.caption = f"{EVENTS_LOG} is a stream on RabbitMQ: counted by how much its length grew"
    for queue, depth in report.egress_depths.items():
        table.add_row(queue, str(depth))
    for partner, letters in report.dead.items():
        table.add_row(dead_letter_queue(partner), str(len(letters)))
    return table


# The per-unit table's rows, by section: (label, UnitFigures attribute).
UNIT_ROWS: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("filed online", "filed_online"),
        ("  paid online", "paid_online"),
        ("counter, in person", "in_person"),
        ("counter, brought by post", "brought_by_post"),
        ("counter, civil servant", "civil_servant"),
        ("counter, postal staff", "postal_staff"),
        ("supplement requested", "supplement_requested"),
        ("withdrawn", "withdrawn"),
        ("returned at counter", "returned_at_counter"),
    ),
    (
        ("results sent by post", "result_orders"),
        ("  of which sent again", "resent"),
        ("delivered", "delivered"),
        ("delivery failed", "delivery_failed"),
        ("returned to the unit", "returned_to_agency"),
        ("COD collected (đồng)", "cod_collected"),
    ),
    (
        ("collections requested", "collection_requested"),
        ("collected", "collected"),
        ("collection failed", "collection_failed"),
        ("collection cancelled", "collection_cancelled"),
    ),
    (("dead letters", "dead_letters"),),
)


def _unit_name(agencies: AgencyRegistry, code: str) -> str:
    agency = agencies.get(code)
    return agency.name if agency is not None else "?"


def _names_table(units: DayByUnit, agencies: AgencyRegistry) -> Table:
    table = Table("unit", "name", title="Owning units")
    for code in sorted(code for code in units.units if code is not None):
        table.add_row(code, _unit_name(agencies, code))
    return table


def _units_table(units: DayByUnit) -> Table:
    """Per owning unit (a column each), figures read off the egress and dead-letter queues."""
    codes = sorted(units.units, key=lambda code: (code is None, code or ""))
    columns = [units.units[code] for code in codes] + [units.total()]
    table = Table("", title="Per owning unit (read off the egress and dead-letter queues)")
    table.columns[0].no_wrap = True
    for header in [code or "(none)" for code in codes] + ["total"]:
        table.add_column(header, justify="right", no_wrap=True)
    for section in UNIT_ROWS:
        for label, attribute in section:
            table.add_row(label, *(str(getattr(figures, attribute)) for figures in columns))
        table.add_section()
    return table


def _dead_letters_table(report: DemoReport) -> Table:
    expected = Counter(
        {
            (p, str(r)): n
            for (p, outcome, r), n in report.expected.outcomes.items()
            if outcome == Disposition.DEAD_LETTERED
        }
    )
    table = Table("queue", "reason", "letters", "expected", title="Dead letters by reason")
    for partner, reason in sorted(expected.keys() | report.dead_letters.keys()):
        counts = (report.dead_letters[(partner, reason)], expected[(partner, reason)])
        table.add_row(dead_letter_queue(partner), reason, *map(str, counts))
    return table


def _flags_table(report: DemoReport) -> Table:
    table = Table("partner", "flag", "inputs", "expected", title="Flags on accepted inputs (the ledger)")
    for partner, flag in sorted(report.flags.keys() | report.expected.flags.keys()):
        counts = (report.flags[(partner, flag)], report.expected.flags[(partner, flag)])
        table.add_row(partner, flag, *map(str, counts))
    return table


def _successors_table(units: DayByUnit, agencies: AgencyRegistry) -> Table:
    table = Table(
        "code named", "unit of 2019 (until 2025-06-30)", "routed to", "dossiers", title="Legacy codes routed"
    )
    for (named, owner), n in sorted(units.successors.items()):
        table.add_row(named, _unit_name(agencies, named), owner, str(n))
    return table


def _http_table(partners: HttpPartners) -> Table:
    table = Table("over HTTP", "count", title="The portal and the post over HTTP (their fakes on 127.0.0.1)")
    table.caption = (
        "the one-stop-shop system stays on AMQP; the post's malformed messages, which no tracking page "
        "can carry, are published directly"
    )
    for name, n in partners.calls().items():
        table.add_row(f"calls to {name}", str(n))
    table.add_section()
    for partner, delivered in partners.delivered.items():
        table.add_row(f"egress delivered to {partner} by the runner", str(len(delivered)))
    table.add_section()
    for name, n in sorted(partners.figures.items()):
        table.add_row(name, str(n))
    return table


def _summary(report: DemoReport, seconds: float, database: Path) -> str:
    lines = [
        f"{report.published} published in {len(report.rounds)} rounds, {report.forwarded} forwarded "
        f"({report.outputs} outputs), {report.duplicates} deduplicated, {report.dead_lettered} "
        f"dead-lettered, in {seconds:.1f}s; ledger: {database}; "
        f"every message accounted for: {'yes' if report.accounted_for else 'NO'}",
        *(f"  does not add up: {problem}" for problem in report.problems()),
    ]
    return "\n".join(lines)
