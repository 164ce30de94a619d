"""The alembic environment, run by ``hub.store.migrate`` with the connection (and transaction) it
passes in the configuration's attributes: there is no URL and no offline mode."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from hub.store.migrate import all_tables


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=all_tables(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        # hub.store.migrate wraps SQLite's DDL in a transaction of its own (BEGIN IMMEDIATE) too.
        transactional_ddl=True,
    )
    with context.begin_transaction():  # a no-op inside the caller's transaction, which commits
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if context.is_offline_mode() or not isinstance(connection, Connection):
        raise RuntimeError("migrations run through hub.store.migrate, which passes a connection")
    run(connection)


main()
