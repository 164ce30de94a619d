"""``hub events open``: a dossier's canonical events from ``hub.events.log``, their sealed personal fields
opened with the store's keys (hub.event_seal). Consumers that need the clear values come here, and each
access is recorded in the audit log."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import Engine

from hub import app
from hub.audit.entries import EVENTS, OPENED, AuditEntry, canonical_json
from hub.audit.personal import PersonalCatalogue
from hub.bus.stream import StreamMessage, read_stream
from hub.bus.topology import EVENTS_LOG, EVENTS_RETENTION
from hub.cli_audit import REVEAL_WARNING
from hub.crypto import KeyringError
from hub.errors import ConfigError, Rejection
from hub.event_seal import EventSealer
from hub.schemas import CATALOGUE
from hub.schemas.registry import HEADER_FINGERPRINT, HEADER_SCHEMA, Registry
from hub.settings import Settings
from hub.store.keys import DataKeys


@click.group()
def events() -> None:
    """The canonical events on hub.events.log."""


@events.command("open")
@click.option("--dossier", required=True, help="the dossier code (MaHoSo) whose events to open")
@click.option(
    "--idle-seconds",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="the stream has no end: stop once no event came for this long",
)
@click.option(
    "--limit-seconds",
    type=click.FloatRange(min=1.0),
    default=600.0,
    show_default=True,
    help="stop reading the stream after this long whatever comes",
)
@click.pass_context
def events_open(ctx: click.Context, dossier: str, idle_seconds: float, limit_seconds: float) -> None:
    """Every event of DOSSIER on hub.events.log, as JSON lines, with its personal fields opened. The
    access is recorded in the audit log first; a forgotten dossier's events cannot be opened."""
    settings: Settings = ctx.obj
    address = settings.broker_address()
    if address is None:
        raise click.ClickException(f"hub events open reads {EVENTS_LOG} on RabbitMQ: set HUB_BROKER_URL")
    store = app.open_store(settings.database_url.get_secret_value(), settings)
    try:
        with _clear_errors():
            key = _data_key(store.engine, settings, dossier)
        started = time.monotonic()
        messages = read_stream(address, EVENTS_LOG, idle_seconds, limit_seconds)
        opened = _opened(dossier, key, (m for m in messages if m.correlation_id == dossier))
        if time.monotonic() - started >= limit_seconds:
            click.echo(f"warning: stopped after --limit-seconds; {EVENTS_LOG} may hold more", err=True)
        if not opened:
            raise click.ClickException(
                f"no events of dossier {dossier} on {EVENTS_LOG} (kept {EVENTS_RETENTION})"
            )
        store.record((), (), [_access(dossier, opened)])
    finally:
        store.engine.dispose()
    click.echo(REVEAL_WARNING, err=True)
    for line, _ in opened:
        click.echo(canonical_json(line))
    click.echo(f"opened {len(opened)} events of dossier {dossier}; the access is in the audit log", err=True)


def _data_key(engine: Engine, settings: Settings, dossier: str) -> bytes:
    with engine.connect() as connection:
        found = DataKeys(settings.keyring()).existing(connection, [dossier])
    if dossier not in found:
        raise click.ClickException(f"dossier {dossier} has no data key: the hub sealed nothing of it")
    key = found[dossier]
    if key is None:
        raise click.ClickException(
            f"dossier {dossier} was forgotten (its data key was destroyed): its events cannot be opened"
        )
    return key


Opened = list[tuple[dict[str, Any], bytes]]  # each event as printed, with its body as read


def _opened(dossier: str, key: bytes, messages: Iterator[StreamMessage]) -> Opened:
    """The events of ``dossier``, opened; the first that does not open stops the command."""
    registry = Registry.load(CATALOGUE)
    sealer = EventSealer(PersonalCatalogue(registry, {}))
    opened: Opened = []
    for message in messages:
        record = str(message.headers.get(HEADER_SCHEMA, ""))
        try:
            datum = registry.decode(message.body, str(message.headers.get(HEADER_FINGERPRINT, "")))
            event = sealer.open(record, dossier, datum, key)
        except (Rejection, KeyringError, KeyError) as error:
            raise click.ClickException(
                f"event {message.message_id} of dossier {dossier} does not open ({_why(error)})"
            ) from None
        line = {"event_id": message.message_id, "kind": message.routing_key, "record": record, "event": event}
        opened.append((line, message.body))
    return opened


def _why(error: Exception) -> str:
    if isinstance(error, Rejection):
        return error.detail
    if isinstance(error, KeyringError):
        return f"{error}: altered, sealed under another key, or published before sealing"
    return "not a canonical event of this hub"


def _access(dossier: str, opened: Opened) -> AuditEntry:
    """The audit entry of this access: which dossier, how many events, a hash over what was read."""
    digest = hashlib.sha256()
    for _, body in opened:
        digest.update(body)
    return AuditEntry(
        recorded_at_ms=int(time.time() * 1000),
        entry=OPENED,
        partner=EVENTS,
        kind=None,
        message_id=None,
        source_message_id=None,
        dossier=dossier,
        schema_fingerprint=None,
        outcome=OPENED,
        reason=None,
        detail=f"{len(opened)} events opened from {EVENTS_LOG} by hub events open",
        body_sha256=digest.hexdigest(),
        clear=None,
        personal={},
        citizen_id=None,
    )


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Key and configuration problems as one clear line (their messages hold no key or value)."""
    try:
        yield
    except (ConfigError, KeyringError) as error:
        raise click.ClickException(str(error)) from None
