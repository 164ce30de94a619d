"""``hub audit``: what happened to a dossier, and proof that the record was not edited since."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from hub import VIETNAM
from hub.audit import query, retention
from hub.audit.personal import MASK
from hub.audit.query import TrailItem
from hub.crypto import KeyringError
from hub.errors import ConfigError
from hub.settings import Settings
from hub.store.keys import DataKeys
from hub.store.migrate import migrated_engine

SUMMARY_CHARS = 90
REVEAL_WARNING = "warning: personal data is shown below; do not copy it into tickets, chats or logs"
DAY = click.DateTime(formats=["%Y-%m-%d"])
CITIZEN_ID = click.option(
    "--citizen-id",
    prompt="citizen ID",
    hide_input=True,
    help="the 12-digit citizen ID; omit it to be asked without echo (kept out of shell history)",
)


@click.group()
def audit() -> None:
    """The audit log: trail, search, export, forget, verify."""


@audit.command("trail")
@click.argument("dossier")
@click.option("--reveal", is_flag=True, help="show personal values (needs the master keys)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per entry instead of a table")
@click.pass_context
def audit_trail(ctx: click.Context, dossier: str, reveal: bool, as_json: bool) -> None:
    """The whole history of DOSSIER (its MaHoSo) across the partners, in time order (Vietnam time)."""
    settings: Settings = ctx.obj
    with store_engine(settings) as engine, clear_errors():
        keys = DataKeys(settings.keyring()) if reveal else None
        items = query.trail(engine, dossier, reveal_with=keys)
    if not items:
        raise click.ClickException(f"no audit entries for dossier {dossier}")
    if reveal:
        click.echo(REVEAL_WARNING, err=True)
    if as_json:
        for item in items:
            click.echo(json.dumps(item.as_json(), ensure_ascii=False, sort_keys=True))
        return
    _console().print(_trail_table(dossier, items))


@audit.command("search")
@CITIZEN_ID
@click.pass_context
def audit_search(ctx: click.Context, citizen_id: str) -> None:
    """The dossiers whose audit entries name a citizen ID (found by its keyed pseudonym)."""
    settings: Settings = ctx.obj
    digits = citizen_digits(citizen_id)
    with store_engine(settings) as engine, clear_errors():
        found = query.search_citizen(engine, settings.pseudonymizer(), digits)
    if not found:
        click.echo("no dossier found for this citizen ID")
        return
    table = Table(title="dossiers (Vietnam time)")
    table.add_column("dossier", no_wrap=True, min_width=25)  # a dossier code is never cut short
    for name in ("first seen", "last seen", "entries"):
        table.add_column(name, overflow="fold")
    for hit in found:
        row = (hit.dossier or "(none)", _shown(hit.first_seen), _shown(hit.last_seen), str(hit.entries))
        table.add_row(*(Text(cell) for cell in row))
    _console().print(table)


@audit.command("export")
@click.option("--since", type=DAY, required=True, help="first day, YYYY-MM-DD (Vietnam time)")
@click.option("--until", type=DAY, required=True, help="last day, included, YYYY-MM-DD (Vietnam time)")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-", help="file (default: stdout)")
@click.pass_context
def audit_export(ctx: click.Context, since: datetime, until: datetime, out: TextIO) -> None:
    """The entries of the days SINCE..UNTIL as JSON lines, exactly as stored (hashes included), then
    the checkpoints that vouch for them as {"checkpoint": ...} lines: an auditor can re-verify offline."""
    if until < since:
        raise click.ClickException("--until is before --since")
    start = since.replace(tzinfo=VIETNAM)
    end = until.replace(tzinfo=VIETNAM) + timedelta(days=1)
    count, first, last = 0, 0, 0
    with store_engine(ctx.obj) as engine:
        for row in query.export(engine, start, end):
            _write(out, row)
            count, first, last = count + 1, first or row["seq"], row["seq"]
        signed = query.checkpoints(engine, first, last) if count else []
    for checkpoint in signed:
        _write(out, {"checkpoint": checkpoint})
    span = f" (seq {first}..{last})" if count else ""
    click.echo(f"exported {count} entries{span} and {len(signed)} checkpoints", err=True)


@audit.command("forget")
@click.argument("dossier")
@click.pass_context
def audit_forget(ctx: click.Context, dossier: str) -> None:
    """Erase DOSSIER's personal data by destroying its data key. The audit entries stay (the chain
    still verifies) with their masked part; no one can open the sealed part again. Asks nothing."""
    settings: Settings = ctx.obj
    with store_engine(settings) as engine, clear_errors():
        entries = query.entry_count(engine, dossier)
        if not entries:  # a typo must not look like a successful erasure
            raise click.ClickException(f"no audit entries for dossier {dossier}")
        destroyed = retention.forget(engine, DataKeys(settings.keyring()), dossier, datetime.now(UTC))
    if destroyed:
        click.echo(f"forgot dossier {dossier}: data key destroyed; its {entries} audit entries stay, masked")
    else:
        click.echo(f"dossier {dossier} has no live data key (already forgotten, or no personal data)")


@audit.command("retain")
@click.pass_context
def audit_retain(ctx: click.Context) -> None:
    """Apply audit_retention_days: forget every dossier whose last audit entry is older."""
    settings: Settings = ctx.obj
    days = settings.audit_retention_days
    if days is None:
        click.echo("audit_retention_days is not set: nothing is forgotten by age")
        return
    now = datetime.now(UTC)
    with store_engine(settings) as engine, clear_errors():
        destroyed = retention.expire(engine, DataKeys(settings.keyring()), days, now)
    cutoff = _shown(now - timedelta(days=days))
    click.echo(f"forgot {destroyed} dossiers or rejected messages with no audit entry since {cutoff}")


def citizen_digits(citizen_id: str) -> str:
    """The 12 digits of a citizen ID typed with or without spaces; a clear error otherwise."""
    digits = "".join(citizen_id.split())
    if not (digits.isascii() and digits.isdigit() and len(digits) == 12):
        raise click.ClickException("--citizen-id: 12 digits expected")  # never echo the value back
    return digits


@contextmanager
def store_engine(settings: Settings) -> Iterator[Engine]:
    """The settings' database, migrated, for an audit command."""
    with migrated_engine(settings.database_url.get_secret_value()) as engine:
        yield engine


@contextmanager
def clear_errors() -> Iterator[None]:
    """Key and configuration problems as one clear line (their messages hold no key or value)."""
    try:
        yield
    except (ConfigError, KeyringError) as error:
        raise click.ClickException(str(error)) from None


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _trail_table(dossier: str, items: list[TrailItem]) -> Table:
    # No outcome column: the entry says it (in: forwarded, out: published, rejected: dead-lettered).
    table = Table(title=f"audit trail of {dossier} (Vietnam time)")
    for name in ("seq", "time", "entry", "partner", "kind", "summary"):
        table.add_column(name, overflow="fold")
    for item in items:
        row = (str(item.seq), _shown(item.time), item.entry, item.partner, item.kind or "", _summary(item))
        table.add_row(*(Text(_printable(cell)) for cell in row))
    return table


def _summary(item: TrailItem) -> str:
    """A line about the entry: a rejection's reason and detail, else the payload's top-level values."""
    if item.reason is not None:
        text = f"{item.reason}: {item.detail or ''}"
    elif isinstance(item.payload, dict):
        text = " ".join(f"{key}={value}" for key, value in item.payload.items() if _plain(key, value))
    else:
        text = "" if item.payload is None else str(item.payload)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _plain(key: str, value: Any) -> bool:
    # The dossier code is the table's title, a masked value says nothing, nested ones would not fit.
    if key in ("MaHoSo", "dossier_code") or value == MASK:
        return False
    return isinstance(value, str | int | float | bool)


def _printable(text: str) -> str:
    """Control characters escaped: a rejected body or message id may hold anything, terminal escape
    sequences included."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _shown(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M:%S")


def _write(out: TextIO, line: dict[str, Any]) -> None:
    out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
