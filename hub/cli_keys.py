"""``hub keys``: master keys that wrap each dossier's data key (generate, rotate, see which are used)."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from hub.crypto import KeyringError, generate_key_text
from hub.errors import ConfigError
from hub.settings import Settings
from hub.store.keys import DataKeys, dossier_keys
from hub.store.migrate import migrated_engine


@click.group()
def keys() -> None:
    """Master keys (HUB_MASTER_KEYS) and the dossier data keys they wrap."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new random master key (base64 of 32 bytes) for HUB_MASTER_KEYS."""
    click.echo(generate_key_text())


@keys.command("rotate")
@click.pass_context
def keys_rotate(ctx: click.Context) -> None:
    """Re-wrap every dossier data key with the active master key. Sealed data is not rewritten;
    afterwards the retired master keys can be removed from the settings."""
    settings: Settings = ctx.obj
    try:
        data_keys = DataKeys(settings.keyring())
        with (
            migrated_engine(settings.database_url.get_secret_value()) as engine,
            engine.begin() as connection,
        ):
            rotated = data_keys.rotate(connection)
    except (ConfigError, KeyringError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"re-wrapped {rotated} data keys with master key {settings.keyring().active}")


@keys.command("status")
@click.pass_context
def keys_status(ctx: click.Context) -> None:
    """How many live data keys each master key wraps, and how many were destroyed (forgotten)."""
    settings: Settings = ctx.obj
    live = dossier_keys.c.wrapped.is_not(None)
    query = select(dossier_keys.c.master_id, live.label("live"), func.count()).group_by(
        dossier_keys.c.master_id, live
    )
    with migrated_engine(settings.database_url.get_secret_value()) as engine, engine.connect() as connection:
        rows = connection.execute(query).all()
    if settings.uses_development_key():
        click.echo("warning: no HUB_MASTER_KEYS set; the public development key is in use")
    for master_id, is_live, count in rows:
        click.echo(f"{master_id}: {count} {'live' if is_live else 'destroyed'}")
