"""The ``hub`` command: run workers, the embedded demo, topology, configuration, a partner's publish."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

import connectors
import hub.cli_audit_integrity  # attaches verify, checkpoint, export-checkpoints to `hub audit`
import hub.cli_audit_subject  # noqa: F401  (attaches subject)
from hub import CONTRACT_VERSION, app, broker_access, docs, logs, replay
from hub.agencies import AgencyRegistry
from hub.bus.ingress import ingress_message
from hub.bus.topology import park_queue
from hub.bus.transport import Transport
from hub.cli_audit import audit
from hub.cli_config import command_variables, config
from hub.cli_deliver import deliver
from hub.cli_demo import demo
from hub.cli_events import events
from hub.cli_gateway import gateway
from hub.cli_keys import keys
from hub.cli_poll import poll
from hub.cli_report import report
from hub.cli_signatures import signed_ingress  # also attaches keys partner-keypair, egress-public-key
from hub.cli_status import status
from hub.cli_store import store
from hub.cli_template import config_template
from hub.envelope import (
    HEADER_DETAIL,
    HEADER_ORIGINAL_ROUTING_KEY,
    HEADER_REASON,
    HEADER_REJECTED_AT,
    Delivery,
)
from hub.errors import ConfigError, FatalError, TransientError
from hub.exits import Exit
from hub.health import Health, HealthServer, Probe, StoreProbe
from hub.partitions import HEADER_PARK_DETAIL, HEADER_PARK_REASON, HEADER_PARKED_AT, HEADER_ROUTING_KEY
from hub.reports.radar import RadarGauges
from hub.schemas import CATALOGUE, lock
from hub.schemas.registry import Registry
from hub.settings import Settings, load_settings, warn_unknown_variables
from hub.signals import stop_on_signals
from hub.workdays import WorkingCalendar

log = logging.getLogger("hub")


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


class _HubGroup(click.Group):
    """Any command that raises a ``FatalError`` ends with its one line on stderr and its exit code
    (hub.exits), never a traceback: what to fix is in the line, and the code tells a supervisor
    not to restart it as is."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except FatalError as error:
            click.echo(f"Error: {error}", err=True)  # as click reports its own errors
            ctx.exit(int(error.exit_code))
        except TransientError as error:  # a one-shot command does not wait: it says what did not answer
            click.echo(f"Error: {error}", err=True)
            ctx.exit(int(Exit.FAILURE))


@click.group(cls=_HubGroup)
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="TOML settings file")
@click.pass_context
def main(ctx: click.Context, config_file: Path | None) -> None:
    """Integration hub between the public service portal, the one-stop-shop system and the post."""
    ctx.obj = load_settings(config_file)
    logs.configure(ctx.obj)  # text or JSON lines on stderr (HUB_LOG_FORMAT)
    # pika narrates every socket step at INFO and each failed connection attempt in five lines at
    # ERROR; the hub reports what failed itself, at most one line every few seconds.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # and alembic every start
    warn_unknown_variables(os.environ, log, command_variables(main))


@main.group()
def topology() -> None:
    """Declare or show the broker topology (exchanges, queues, bindings)."""


@topology.command("apply")
@click.pass_context
def topology_apply(ctx: click.Context) -> None:
    """Declare every exchange, queue and binding; safe to repeat; stops at a conflicting entity."""
    transport = _broker(_settings(ctx))
    try:
        declared = transport.apply_topology(app.topology(_settings(ctx)))
    except TransientError as error:
        raise click.ClickException(f"broker unreachable: {error}") from None
    for item in declared:
        click.echo(f"{item.kind:8} {item.name}: {'unchanged' if item.existed else 'created'}")


@topology.command("show")
@click.option(
    "--definitions",
    is_flag=True,
    help="RabbitMQ definitions JSON with the vhost, users and permissions (rabbitmqctl import_definitions)",
)
@click.option("--vhost", default=None, help="vhost of the definitions (default: the broker URL's, else /)")
@click.pass_context
def topology_show(ctx: click.Context, definitions: bool, vhost: str | None) -> None:
    """Print the topology the hub declares."""
    settings = _settings(ctx)
    described = app.topology(settings)
    if definitions:
        chosen = broker_access.definitions_vhost(settings, vhost)
        found = broker_access.definitions(settings, described, connectors.partners(), chosen)
        click.echo(json.dumps(found, indent=2))
        return
    table = Table("kind", "name", "details")
    for exchange in described.exchanges:
        table.add_row("exchange", exchange.name, exchange.type)
    for queue in described.queues:
        table.add_row("queue", queue.name, json.dumps(dict(queue.arguments)))
    for binding in described.bindings:
        table.add_row("binding", f"{binding.exchange} -> {binding.queue}", binding.routing_key)
    Console().print(table)


def _broker(settings: Settings) -> Transport:
    url = settings.broker_url_value()
    if url is None:
        raise ConfigError("this command needs a broker: set HUB_BROKER_URL=amqp://...")
    return Transport(url)


@main.group()
def schemas() -> None:
    """The canonical event catalogue: check it, release it, list it."""


@schemas.command("check")
@click.option("--root", type=click.Path(path_type=Path), default=CATALOGUE, show_default=True)
def schemas_check(root: Path) -> None:
    """Fail on an edited released revision or an incompatible change; name record, field and rule."""
    found = lock.problems(root)
    for problem in found:
        click.echo(f"FAIL {problem}", err=True)
    failing = {problem.record for problem in found}
    pending = [] if any(problem.invalid for problem in found) else lock.pending(root)
    for name in pending:
        if name not in failing:
            click.echo(f"pending release: {name} (compatible; `hub schemas release` freezes it)")
    if found:
        raise click.ClickException(f"{len(found)} schema problem(s)")
    click.echo(f"schemas ok: {len(Registry.load(root).names())} records")


@schemas.command("release")
@click.option("--root", type=click.Path(path_type=Path), default=CATALOGUE, show_default=True)
def schemas_release(root: Path) -> None:
    """Freeze every changed record as its next revision and lock its fingerprint."""
    try:
        frozen = lock.release(root)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    for version in frozen:
        click.echo(f"released {version.full_name} revision {version.revision} ({version.fingerprint})")


@schemas.command("list")
@click.option("--root", type=click.Path(path_type=Path), default=CATALOGUE, show_default=True)
def schemas_list(root: Path) -> None:
    """Every record with its current fingerprint, released revisions and personal-data fields."""
    registry = Registry.load(root)
    table = Table("record", "fingerprint", "released", "personal data")
    for name in registry.names():
        revisions = ", ".join(str(v.revision) for v in registry.released(name)) or "-"
        personal = ", ".join(sorted(registry.personal_fields(name))) or "-"
        table.add_row(name, registry.current(name).fingerprint, revisions, personal)
    Console(width=160).print(table)


@main.command("docs")
@click.option(
    "--out", type=click.Path(path_type=Path, file_okay=False), default=Path("docs"), show_default=True
)
@click.option("--check", is_flag=True, help="write nothing; exit 1 naming each stale file")
def docs_command(out: Path, check: bool) -> None:
    """Generate the partner documentation (asyncapi.json, partners.md) from the code."""
    files = docs.render()
    if not check:
        for path in docs.write(files, out):
            click.echo(f"wrote {path}")
        return
    if not out.is_dir():  # e.g. an installed hub run outside a checkout: nothing to compare with
        click.echo(f"no directory {out} to check: run in the checkout, or pass --out DIR", err=True)
        sys.exit(1)
    stale = docs.stale(files, out)
    for path in stale:
        click.echo(f"stale: {path} (regenerate with `hub docs`)", err=True)
    if stale:
        sys.exit(1)
    click.echo(f"docs current: {', '.join(sorted(files))} in {out}")


@main.group("dead-letters")
def dead_letters() -> None:
    """Look at what the hub dead-lettered, without taking it off the queue."""


EGRESS_HELP = "the egress messages PARTNER's HTTP service refused (hub.dead.egress.PARTNER, `hub deliver`)"


@dead_letters.command("show")
@click.argument("partner")
@click.option("--limit", default=20, show_default=True, help="how many to show, oldest first")
@click.option("--egress", is_flag=True, help=EGRESS_HELP)
@click.pass_context
def dead_letters_show(ctx: click.Context, partner: str, limit: int, egress: bool) -> None:
    """List PARTNER's dead letters: id, kind, reason and detail (no bodies, so no personal data)."""
    _show_waiting(_settings(ctx), partner, replay.dead_letters(partner, egress), limit, parked=False)


@main.group()
def parked() -> None:
    """Look at the messages waiting for their dossier or earlier steps (the resequencing window)."""


@parked.command("show")
@click.argument("partner")
@click.option("--limit", default=20, show_default=True, help="how many to show, oldest first")
@click.pass_context
def parked_show(ctx: click.Context, partner: str, limit: int) -> None:
    """List PARTNER's parked messages: id, kind, the reason they get if the window ends, the detail,
    and when they first waited. They are retried on their own; nothing to do unless they pile up."""
    _show_waiting(_settings(ctx), partner, park_queue(partner), limit, parked=True)


def _show_waiting(settings: Settings, partner: str, queue: str, limit: int, parked: bool) -> None:
    transport = _broker(settings)
    try:
        connectors.load(partner)
        waiting = transport.depth(queue)
        letters = transport.peek(queue, limit, partner)
    except (ConfigError, TransientError) as error:
        raise click.ClickException(str(error)) from None
    since = "parked at" if parked else "rejected at"
    table = Table("message_id", "kind", "reason", "detail", since, title=f"{waiting} waiting")
    for letter in letters:
        table.add_row(letter.properties.message_id or "-", *_letter_columns(letter, parked))
    Console(width=160).print(table)


def _letter_columns(letter: Delivery, parked: bool) -> tuple[str, str, str, str]:
    headers = letter.properties.headers
    if parked:
        at = headers.get(HEADER_PARKED_AT)
        moment = (
            datetime.fromtimestamp(at / 1000, UTC).isoformat(timespec="seconds")
            if isinstance(at, int)
            else "-"
        )
        return (
            str(headers.get(HEADER_ROUTING_KEY, "-")),
            str(headers.get(HEADER_PARK_REASON, "-")),
            str(headers.get(HEADER_PARK_DETAIL, "-")),
            moment,
        )
    return (
        str(headers.get(HEADER_ORIGINAL_ROUTING_KEY, letter.routing_key)),
        str(headers.get(HEADER_REASON, "broker: see x-death")),
        str(headers.get(HEADER_DETAIL, "-")),
        str(headers.get(HEADER_REJECTED_AT, "-")),
    )


@dead_letters.command("replay")
@click.argument("partner")
@click.option("--message-id", "message_ids", multiple=True, help="only these messages (repeatable)")
@click.option("--reason", "reasons", multiple=True, help="only dead letters with this reason (repeatable)")
@click.option("--limit", default=100, show_default=True, help="look at most at this many dead letters")
@click.option("--egress", is_flag=True, help=f"{EGRESS_HELP}: back to egress.PARTNER, ids kept")
@click.pass_context
def dead_letters_replay(  # noqa: PLR0917  (click passes every option by keyword)
    ctx: click.Context,
    partner: str,
    message_ids: tuple[str, ...],
    reasons: tuple[str, ...],
    limit: int,
    egress: bool,
) -> None:
    """Send PARTNER's dead letters through its ingress again, once their cause is fixed. The broker
    URL's user must be in HUB_REPLAY_USERS (and may write to the ingress exchange). With --egress,
    the egress messages its HTTP service refused go back to egress.PARTNER for `hub deliver`."""
    settings = _settings(ctx)
    transport = _broker(settings)
    operator = transport.user
    try:
        connectors.load(partner)
        chosen = replay.matching(message_ids, reasons)
        moved = replay.replay(
            transport, partner, operator=operator, chosen=chosen, limit=limit, egress=egress
        )
    except (ConfigError, TransientError) as error:
        raise click.ClickException(str(error)) from None
    for letter in moved:
        reason = letter.properties.headers.get(HEADER_REASON)
        click.echo(f"replayed {letter.properties.message_id} (dead-lettered as {reason})")
    again = "hub deliver sends them again" if egress else "the hub judges them again"
    click.echo(f"{len(moved)} replayed; {again}")


@main.command()
@click.option(
    "--connector",
    "chosen",
    multiple=True,
    help="route only these partners' ingress (repeatable); the partitions, shared by every partner, "
    "are judged whatever this says",
)
@click.pass_context
def run(ctx: click.Context, chosen: tuple[str, ...]) -> None:
    """Run workers until SIGTERM or SIGINT, then finish in-flight work and exit 0.

    A broker or database that does not answer is waited for, at start and later, however long. One
    that refuses the hub (a wrong vhost, user, password or database) ends it with one line naming
    the setting, and the exit code for it (hub.exits).
    """
    settings = _settings(ctx)
    _broker(settings)
    if settings.uses_development_key():
        log.warning(
            "development keys in use (master, pseudonym or audit signing key unset): "
            "personal data is NOT protected; set HUB_MASTER_KEYS, HUB_PSEUDONYM_KEY, HUB_AUDIT_SIGNING_KEY"
        )
    for warning in broker_access.guest_warnings(settings, connectors.partners()):
        log.warning("%s", warning)
    if settings.uses_development_egress_key():
        log.warning("egress messages are signed with the public development key: set HUB_EGRESS_SIGNING_KEY")
    stop = stop_on_signals()
    health = Health(stop)  # /healthz, /readyz and /metrics, served while the command runs
    ctx.call_on_close(health.close)
    if settings.metrics_port is not None:
        ctx.call_on_close(HealthServer(health, settings.metrics_host, settings.metrics_port).stop)
    hub = app.start(settings, chosen, stop)
    if hub is None:
        log.info("stopped before the broker and the store answered")
        return
    health.watch_store(StoreProbe.of(hub.ledger.engine).start())
    if settings.metrics_port is not None:
        ctx.call_on_close(_radar_gauges(settings, hub.ledger.engine).stop)
    worker = hub.worker(health)
    worker.run(stop)
    log.info("stopped after settling %d inputs", worker.settled)


def _radar_gauges(settings: Settings, engine: Engine) -> Probe:
    """hub_dossiers_due_soon and hub_dossiers_overdue, counted on a thread of their own; a calendar
    file that cannot be read stops the start (a ``CalendarError``)."""
    calendar = WorkingCalendar.from_file(settings.working_calendar_file)
    gauges = RadarGauges(
        engine, AgencyRegistry(settings.agencies), calendar, settings.radar_within_working_days
    )
    return gauges.start(settings.radar_refresh_seconds)


@main.command()
@click.option("--as", "partner", required=True, help="the partner publishing (portal, onestop, postal)")
@click.option("--message-id", default=None, help="default: a new UUID")
@click.option(
    "--signing-key",
    envvar="HUB_PUBLISH_SIGNING_KEY",
    default=None,
    show_envvar=True,
    help="sign with this base64 Ed25519 private key of the partner (`hub keys partner-keypair`); the "
    "environment variable keeps it out of the process list",
)
@click.option("--key-id", default=None, help="the signing key's id (default: derived from its public key)")
@click.option(
    "--contract-version", default=CONTRACT_VERSION, show_default=True, help="header x-contract-version"
)
@click.argument("kind")
@click.argument("file", type=click.File("rb"))
@click.pass_context
def publish(  # noqa: PLR0917  (click passes every option by keyword)
    ctx: click.Context,
    partner: str,
    message_id: str | None,
    signing_key: str | None,
    key_id: str | None,
    contract_version: str,
    kind: str,
    file: BinaryIO,
) -> None:
    """Publish FILE's JSON as PARTNER's KIND message, with the contract's properties; wait for the confirm.

    The user_id property is the broker URL's user, as RabbitMQ requires.
    """
    settings = _settings(ctx)
    transport = _broker(settings)
    try:
        connectors.load(partner)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    message = ingress_message(
        partner,
        kind,
        file.read(),
        message_id=message_id or str(uuid.uuid4()),
        user_id=transport.user,
        timestamp=int(time.time()),
        contract_version=contract_version,
    )
    if signing_key is not None:
        message = signed_ingress(message, signing_key, key_id)
    try:
        transport.publish_confirmed([message])
    except (FatalError, TransientError):
        raise  # the broker refused the URL, or did not answer: its own line and exit code
    except Exception as error:  # the partner's tool reports any refusal in one line
        raise click.ClickException(f"not confirmed: {type(error).__name__}: {error}") from None
    click.echo(f"confirmed: {message.properties.message_id} -> {message.exchange} ({kind})")


main.add_command(demo)
main.add_command(deliver)
main.add_command(events)
main.add_command(keys)
main.add_command(audit)
config.add_command(config_template)
main.add_command(store)
main.add_command(status)
main.add_command(config)
main.add_command(poll)
main.add_command(gateway)
main.add_command(report)
