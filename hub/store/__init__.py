"""The hub's SQL store (SQLAlchemy): SQLite embedded, PostgreSQL in production."""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite

metadata = MetaData()


def insert_ignoring_existing(connection: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect: rows already there (a
    replayed batch, a concurrent writer) are kept as they are."""
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement: sqlite.Insert | postgresql.Insert = dialect_insert(table)
    return statement.on_conflict_do_nothing()
