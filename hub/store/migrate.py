"""Schema migrations for the hub's store (alembic), run from code: no ``alembic.ini``, no command line.

``upgrade`` brings a database to the newest revision and is meant to run at every start: on an empty
database it creates every table, on an up-to-date one it changes nothing. A database made before
migrations existed (by ``metadata.create_all``: tables, no ``alembic_version``) is first adopted:
stamped with the revision its tables match, so demo and development databases keep working.

One migrator at a time: PostgreSQL takes a transaction-scoped advisory lock, SQLite its write lock
(``BEGIN IMMEDIATE``). Either way the whole upgrade is one transaction, so a failed one leaves the
database as it was and a second worker starting at the same moment waits, then finds nothing to do.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text
from sqlalchemy.exc import DBAPIError

from hub.errors import FatalError
from hub.exits import Exit
from hub.store import metadata
from hub.store.database import make_engine, opening_failure

MIGRATIONS = Path(__file__).with_name("migrations")
INITIAL = "0001"
VERSION_TABLE = "alembic_version"
# Every module that defines a table on ``hub.store.metadata``; imported by name, when needed, since
# some of them import the store themselves.
TABLE_MODULES = (
    "hub.store.ledger",
    "hub.store.dossiers",
    "hub.store.keys",
    "hub.store.partner_state",
    "hub.audit.chain",
    "hub.audit.checkpoints",
)
LOCK_KEY = 0x6875625F6D6967  # "hub_mig": the PostgreSQL advisory lock migrators share


class MigrationError(FatalError):
    """The database's schema is not one the migrations know; it needs a person, not a retry."""

    exit_code = Exit.STORE_REFUSED  # like a database that does not exist: fix the store, then start


def all_tables() -> MetaData:
    """``hub.store.metadata`` with every table of the hub defined on it."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return metadata


def config(connection: Connection | None = None) -> Config:
    """The alembic configuration, built in code; ``env.py`` runs on ``connection``, in its transaction."""
    settings = Config()
    # Config values are interpolated (configparser): a literal % must be doubled.
    settings.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        settings.attributes["connection"] = connection
    return settings


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None, "the migrations have one head"
    return revision


def known_revisions() -> set[str]:
    """Every revision of this hub's migrations."""
    return {script.revision for script in ScriptDirectory.from_config(config()).walk_revisions()}


def initial_schema() -> MetaData:
    """The tables as the initial revision creates them (and as ``create_all`` made them before it)."""
    script = ScriptDirectory.from_config(config()).get_revision(INITIAL)
    assert script is not None
    tables: MetaData = script.module.schema()
    return tables


def current(engine: Engine) -> str | None:
    """The database's revision; None when it has none (empty, or made by ``create_all``)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision, adopting a database made by ``create_all``."""
    with engine.begin() as connection:
        _lock(connection)
        _adopt(connection)
        _require_known_revision(connection)
        command.upgrade(config(connection), "head")


def _require_known_revision(connection: Connection) -> None:
    """A database migrated by a newer hub (this one rolled back to) is named, not a traceback."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None and revision not in known_revisions():
        raise MigrationError(
            f"HUB_DATABASE_URL ({connection.engine.url.render_as_string(hide_password=True)}): the "
            f"schema is at revision {revision}, which this hub does not know (a newer hub migrated "
            "it): run that version, or restore a backup made for this one"
        )


def adopt(engine: Engine) -> str | None:
    """Stamp a database made by ``create_all`` with the revision its tables match; the revision
    stamped, or None when there was nothing to adopt (no tables, or a migration history already).
    Raises ``MigrationError`` when its tables match no revision."""
    with engine.begin() as connection:
        _lock(connection)
        return _adopt(connection)


def differences(connection: Connection, tables: MetaData) -> list[Any]:
    """What alembic would change to make the database hold ``tables``; empty when it does."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, tables))


def _adopt(connection: Connection) -> str | None:
    existing = set(inspect(connection).get_table_names())
    if VERSION_TABLE in existing or not existing & set(all_tables().tables):
        return None
    # A database from before migrations matches the initial revision; one made by ``create_all``
    # since (a tool that still calls it, a test) matches the current tables, which are the head's.
    for revision, tables in ((INITIAL, initial_schema()), (head(), all_tables())):
        if not differences(connection, tables):
            command.stamp(config(connection), revision)
            return revision
    found = _summary(differences(connection, all_tables()))
    where = connection.engine.url.render_as_string(hide_password=True)
    raise MigrationError(
        f"HUB_DATABASE_URL ({where}): the hub's tables have no migration history and match no "
        f"revision: {found}"
    )


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # pysqlite opens a transaction only before DML, so the DDL would commit statement by statement.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _summary(found: Sequence[Any], shown: int = 5) -> str:
    """The first differences, by operation and name (``add_column message_log.x``)."""
    described = ", ".join(_describe(difference) for difference in found[:shown])
    return described + (f" and {len(found) - shown} more" if len(found) > shown else "")


def _describe(difference: Any) -> str:
    # A difference is a tuple (operation, *items), or a list of them for one column's changes.
    operation, *items = difference[0] if isinstance(difference, list) else difference
    names = [item if isinstance(item, str) else getattr(item, "name", None) for item in items]
    return f"{operation} {'.'.join(n for n in names if isinstance(n, str))}"


@contextmanager
def migrated_engine(url: str) -> Iterator[Engine]:
    """An engine on ``url`` whose database is at the newest revision, disposed after use: what the
    operator commands open."""
    engine = make_engine(url)
    try:
        try:
            upgrade(engine)
        except DBAPIError as error:  # refused, or not answering: one line naming the setting
            raise opening_failure(error, engine) from None
        yield engine
    finally:
        engine.dispose()
