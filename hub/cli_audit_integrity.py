"""``hub audit verify | checkpoint | export-checkpoints``: proof that the audit log was not edited.

Importing this module attaches the commands to the ``hub audit`` group.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hub.audit.checkpoints import (
    CheckpointError,
    CheckpointSigner,
    export_checkpoints,
    public_key_from_text,
    read_checkpoints,
)
from hub.audit.verify import VerifyReport, verify
from hub.cli_audit import audit, store_engine
from hub.errors import ConfigError
from hub.settings import Settings


@audit.command("verify")
@click.option(
    "--checkpoints",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="checkpoints exported earlier (JSON lines), kept outside the database",
)
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    help="base64 public key that signs checkpoints (repeatable); default: the settings' signing key's",
)
@click.pass_context
def audit_verify(ctx: click.Context, checkpoint_file: Path | None, public_keys: tuple[str, ...]) -> None:
    """Check the hash chain and the signed checkpoints; exit 1 naming the first broken record."""
    settings: Settings = ctx.obj
    keys = _public_keys(settings, public_keys)
    try:
        external = [] if checkpoint_file is None else read_checkpoints(checkpoint_file)
    except CheckpointError as error:
        raise click.BadParameter(str(error), param_hint="--checkpoints") from None
    with store_engine(settings) as engine:
        report = verify(engine, keys, external)
    _print_report(report)
    if not report.ok:
        ctx.exit(1)


@audit.command("checkpoint")
@click.pass_context
def audit_checkpoint(ctx: click.Context) -> None:
    """Sign the chain's head now and print the checkpoint (a JSON line, as exported)."""
    settings: Settings = ctx.obj
    signer = _signer(settings)
    with store_engine(settings) as engine, engine.begin() as connection:
        checkpoint = signer.write(connection, datetime.now(UTC))
    if checkpoint is None:
        click.echo("no new checkpoint: the audit log is empty or its head already has one")
        return
    click.echo(checkpoint.to_json())


@audit.command("export-checkpoints")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def audit_export_checkpoints(ctx: click.Context, out: Path) -> None:
    """Write every checkpoint to FILE as JSON lines, to keep where the database's owners cannot
    rewrite it; ``hub audit verify --checkpoints FILE`` checks the log against it."""
    settings: Settings = ctx.obj
    signer = _signer(settings)
    with store_engine(settings) as engine, engine.connect() as connection:
        count = export_checkpoints(connection, out, [signer.public_key])
    click.echo(f"exported {count} checkpoints to {out}")


def _print_report(report: VerifyReport) -> None:
    click.echo(
        f"checked {report.records} records and {report.checkpoints} checkpoints in "
        f"{report.seconds:.2f} s ({report.records_per_second:,.0f} records/s)"
    )
    if report.broken is not None:
        click.echo(f"BROKEN at record {report.broken.seq} ({report.broken.kind}): {report.broken.message}")
    for problem in report.bad_checkpoints:
        click.echo(f"BAD CHECKPOINT ({problem.kind}): {problem.message}")
    if report.ok and report.records == 0:
        # Not a failure (a new deployment has no traffic yet), but never an unqualified "ok".
        click.echo("ok: the audit log is empty, nothing to verify yet (is HUB_DATABASE_URL the hub's?)")
    elif report.ok:
        click.echo(f"ok: the chain is intact up to record {report.last_seq}")


def _public_keys(settings: Settings, texts: tuple[str, ...]) -> list[Ed25519PublicKey]:
    if not texts:
        return [_signer(settings).public_key]
    try:
        return [public_key_from_text(text) for text in texts]
    except CheckpointError as error:
        raise click.BadParameter(str(error), param_hint="--public-key") from None


def _signer(settings: Settings) -> CheckpointSigner:
    try:
        signer = CheckpointSigner(settings.audit_private_key())
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if settings.audit_signing_key is None:
        click.echo(
            f"warning: no HUB_AUDIT_SIGNING_KEY set; the public development key {signer.key_id} signs",
            err=True,
        )
    return signer
