"""``hub audit subject``: answer a citizen who asks what the hub holds about them (docs/privacy.md).

Importing this module attaches the command to the ``hub audit`` group.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TextIO

import click

from hub.audit import subject
from hub.audit.chain import AuditChain
from hub.audit.checkpoints import CheckpointSigner
from hub.cli_audit import CITIZEN_ID, REVEAL_WARNING, audit, citizen_digits, clear_errors, store_engine
from hub.settings import Settings
from hub.store.keys import DataKeys

PRIVATE_FILE = 0o600  # the export holds personal data: readable by its owner only


@audit.command("subject")
@CITIZEN_ID
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="write the export to FILE, readable by its owner only (default: stdout)",
)
@click.pass_context
def audit_subject(ctx: click.Context, citizen_id: str, out: Path | None) -> None:
    """Export, as one JSON document, every dossier and personal value the hub holds about a citizen:
    each dossier's record, its trail with personal values opened (needs the master keys), erased
    dossiers marked as such. The export is recorded in the audit log (without personal data)."""
    settings: Settings = ctx.obj
    digits = citizen_digits(citizen_id)
    with ExitStack() as stack:
        # Opened first: a bad path fails before anything is read or recorded.
        file = None if out is None else stack.enter_context(_private_file(out))
        with store_engine(settings) as engine, clear_errors():
            keys = DataKeys(settings.keyring())
            export = subject.gather(engine, keys, settings.pseudonymizer(), digits)
            chain = AuditChain(keys, settings.pseudonymizer())
            signer = CheckpointSigner(settings.audit_private_key())
            seq = subject.record(engine, chain, signer, export, digits)
        if file is None:
            click.echo(REVEAL_WARNING, err=True)
            click.echo(export.text(), nl=False)
        else:
            file.write(export.text())
            click.echo(
                f"warning: {out} holds personal data; hand it over as docs/runbook.md says, then delete it",
                err=True,
            )
    click.echo(
        f"exported {len(export.dossiers)} dossiers ({export.erased} erased) and {export.values} personal "
        f"values; recorded as audit entry {seq} (export {export.export_id})",
        err=True,
    )


@contextmanager
def _private_file(path: Path) -> Iterator[TextIO]:
    """``path`` open for writing with mode 0600, also when it existed with a wider mode; removed again
    when filling it fails, so that no empty or partial export is left behind."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    except OSError as error:
        raise click.BadParameter(f"cannot write {path}: {error.strerror}", param_hint="--out") from None
    os.fchmod(descriptor, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        try:
            yield file
        except BaseException:
            path.unlink(missing_ok=True)
            raise
