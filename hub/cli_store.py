"""``hub store migrate``: bring the store to the newest schema revision before the workers start.

Workers migrate at start too (one at a time, under a lock); a deployment runs this once first, so
an upgrade's migration is done, or has failed, before any worker of the new version takes work.
"""

from __future__ import annotations

import click
from sqlalchemy.exc import DBAPIError

from hub.settings import Settings
from hub.store import migrate
from hub.store.database import make_engine, store_refusal


@click.group()
def store() -> None:
    """The hub's database (HUB_DATABASE_URL): its schema migrations."""


@store.command("migrate")
@click.pass_context
def store_migrate(ctx: click.Context) -> None:
    """Create or upgrade every table to the newest revision; safe to repeat."""
    settings: Settings = ctx.obj
    engine = make_engine(settings.database_url.get_secret_value())
    try:
        migrate.upgrade(engine)
        revision = migrate.current(engine)
    except DBAPIError as error:
        refused = store_refusal(error, engine)
        if refused is not None:
            raise refused from None  # its own line and exit code (hub.exits)
        raise click.ClickException(f"store unreachable: {type(error.orig).__name__}") from None
    finally:
        engine.dispose()
    click.echo(f"store at revision {revision}")
