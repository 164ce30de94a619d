"""``hub status``: the hub at a glance for operations, and an exit code for cron or a monitoring agent.

Exit codes: 0 all is well; 8 (``Exit.ATTENTION``) something needs attention, one line each saying
what and what to do; 1 the management API or the store does not answer; 3, 4, 5 a setting is wrong,
or the API or the store refuses it (hub.exits).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import click
from rich.console import Console
from rich.table import Table

import connectors
from hub.bus.management import ManagementApi, QueueFigures
from hub.errors import TransientError
from hub.exits import Exit
from hub.settings import Settings
from hub.status import CheckpointFigures, Status, gather
from hub.status_rules import (
    DEFAULT_BACKLOG,
    DEFAULT_DEAD_LETTERS,
    DEFAULT_PARKED,
    Attention,
    Thresholds,
    checkpoint_lag_default,
    judge,
)

DEFAULT_WINDOW_HOURS = 24.0
CONSOLE_WIDTH = 140  # the partners' table in full, also in a log or a mail from cron


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="one JSON document instead of tables")
@click.option(
    "--backlog",
    type=click.IntRange(min=0),
    default=DEFAULT_BACKLOG,
    show_default=True,
    help="more messages than this in an ingress, egress or partition queue need attention",
)
@click.option(
    "--parked",
    type=click.IntRange(min=0),
    default=DEFAULT_PARKED,
    show_default=True,
    help="more parked messages than this (per partner) need attention",
)
@click.option(
    "--dead-letters",
    type=click.IntRange(min=0),
    default=DEFAULT_DEAD_LETTERS,
    show_default=True,
    help="more dead letters waiting than this (per partner, in hub.dead.P and in hub.dead.egress.P) "
    "need attention",
)
@click.option(
    "--checkpoint-lag",
    type=click.FloatRange(min=0),
    default=None,
    help="seconds entries may go on being recorded after the last signed audit checkpoint "
    "[default: 2 x HUB_AUDIT_CHECKPOINT_SECONDS + 60]",
)
@click.option(
    "--window-hours",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_WINDOW_HOURS,
    show_default=True,
    help="count the ledger's dead letters by reason over this many hours",
)
@click.pass_context
def status(
    ctx: click.Context,
    *,
    as_json: bool,
    backlog: int,
    parked: int,
    dead_letters: int,
    checkpoint_lag: float | None,
    window_hours: float,
) -> None:
    """Queue depths and consumers per partner, dead letters by reason, egress dead letters (refused
    by a partner's HTTP service), parked messages, partitions, workers and the audit checkpoints;
    exit 8 when something needs attention (one line each)."""
    settings: Settings = ctx.obj
    lag = (
        checkpoint_lag_default(settings.audit_checkpoint_seconds)
        if checkpoint_lag is None
        else checkpoint_lag
    )
    thresholds = Thresholds(backlog, parked, dead_letters, lag)
    address = settings.broker_address()
    try:
        figures = gather(
            ManagementApi(settings.management_addresses()),
            vhost="/" if address is None else address.vhost,
            database_url=settings.database_url.get_secret_value(),
            partners=connectors.partners(),
            partitions=settings.partitions,
            window=timedelta(hours=window_hours),
        )
    except TransientError as error:  # the API or the store does not answer: one line, exit 1
        click.echo(f"Error: {error}", err=True)
        ctx.exit(int(Exit.FAILURE))
    found = judge(figures, thresholds)
    if as_json:
        click.echo(json.dumps(as_document(figures, found), indent=2, ensure_ascii=False))
    else:
        _print_tables(figures, found)
    if found:
        ctx.exit(int(Exit.ATTENTION))


def as_document(status: Status, found: list[Attention]) -> dict[str, Any]:
    """The figures and the verdict as plain data (``--json``)."""
    return {
        "ok": not found,
        "attention": [{"subject": a.subject, "problem": a.problem, "action": a.action} for a in found],
        "taken_at": status.taken_at.isoformat(timespec="seconds"),
        "vhost": status.vhost,
        "dead_letters_window_hours": status.window.total_seconds() / 3600,
        "partners": {
            p.partner: {
                "ingress": _queue(p.ingress),
                "egress": _queue(p.egress),
                "dead_letters": _queue(p.dead),
                "dead_letters_by_reason": dict(sorted(p.dead_by_reason.items())),
                "egress_dead_letters": _queue(p.egress_dead),
                "parked": _queue(p.park),
            }
            for p in status.partners
        },
        "partitions": {name: _queue(queue) for name, queue in status.partitions},
        "workers": None if status.workers is None else status.workers.consumers,
        "audit": _audit(status.checkpoint, status.taken_at),
    }


def _queue(queue: QueueFigures | None) -> dict[str, int] | None:
    if queue is None:
        return None
    return {
        "depth": queue.depth,
        "ready": queue.ready,
        "unacknowledged": queue.unacknowledged,
        "consumers": queue.consumers,
    }


def _audit(figures: CheckpointFigures, now: datetime) -> dict[str, Any]:
    at = figures.checkpoint_at
    return {
        "head_seq": figures.head_seq,
        "last_checkpoint_seq": figures.checkpoint_seq,
        "last_checkpoint_at": None if at is None else at.isoformat(timespec="seconds"),
        "last_checkpoint_age_seconds": None if at is None else round((now - at).total_seconds(), 1),
        "entries_after_checkpoint": figures.uncovered,
        "checkpoint_lag_seconds": figures.lag_seconds(),
    }


def _print_tables(status: Status, found: list[Attention]) -> None:
    console = Console(highlight=False, soft_wrap=True, width=CONSOLE_WIDTH)
    hours = f"{status.window.total_seconds() / 3600:g} h"
    partners = Table(
        "partner",
        "ingress",
        "egress",
        "egress readers",
        "dead letters",
        f"dead-lettered by reason ({hours})",
        "egress dead letters",
        "parked",
        title=f"hub status, vhost {status.vhost!r}, {status.taken_at:%Y-%m-%d %H:%M:%S} UTC",
    )
    for p in status.partners:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(p.dead_by_reason.items()))
        partners.add_row(
            p.partner,
            _depth_and_consumers(p.ingress),
            _depth(p.egress),
            _readers(p.egress),
            _depth(p.dead),
            reasons or "-",
            _depth(p.egress_dead),
            _depth(p.park),
        )
    console.print(partners)
    partitions = Table("partition", "depth", "consumers")
    for name, queue in status.partitions:
        partitions.add_row(name, _depth(queue), "missing" if queue is None else str(queue.consumers))
    console.print(partitions)
    workers = "missing" if status.workers is None else str(status.workers.consumers)
    console.print(f"workers connected: {workers}")
    console.print(_checkpoint_line(status.checkpoint, status.taken_at))
    for attention in found:
        console.print(f"ATTENTION {attention.line()}", markup=False)
    if not found:
        console.print("all well")


def _depth(queue: QueueFigures | None) -> str:
    return "missing" if queue is None else str(queue.depth)


def _depth_and_consumers(queue: QueueFigures | None) -> str:
    return "missing" if queue is None else f"{queue.depth} ({queue.consumers} consumers)"


def _readers(queue: QueueFigures | None) -> str:
    if queue is None:
        return "missing"
    return "nobody reads it" if queue.consumers == 0 else str(queue.consumers)


def _checkpoint_line(figures: CheckpointFigures, now: datetime) -> str:
    if figures.checkpoint_at is None:
        return f"audit: {figures.head_seq} entries, no signed checkpoint"
    age = _duration((now - figures.checkpoint_at).total_seconds())
    return (
        f"audit: {figures.head_seq} entries; last signed checkpoint at entry {figures.checkpoint_seq}, "
        f"{age} ago; {figures.uncovered} entries after it"
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
