"""The hub's SQL store (SQLAlchemy): SQLite embedded, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, MetaData, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite

metadata = MetaData()


def insert_ignoring_existing(connection: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect: rows already there (a
    replayed batch, a concurrent writer) are kept as they are."""
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement: sqlite.Insert | postgresql.Insert = dialect_insert(table)
    return statement.on_conflict_do_nothing()


class DriverStatement:
    """A statement compiled once for ``dialect`` and run straight on the driver: SQLAlchemy Core's
    per-call and per-row parameter handling costs more than the statement itself at a few thousand
    messages a second. Parameters are dicts by name; values pass the columns' bind processors
    given in ``processors`` (a DateTime on SQLite, say)."""

    def __init__(self, statement: Any, dialect: Dialect, processors: dict[str, Any] | None = None) -> None:
        compiled = statement.compile(dialect=dialect)
        self._sql = str(compiled)
        self._order = list(compiled.positiontup or [])  # empty where the driver takes named parameters
        self._processors = {name: p for name, p in (processors or {}).items() if p is not None}
        # The statement's own values (a literal in a WHERE, a LIMIT), under their generated names.
        self._constants = {k: v for k, v in compiled.params.items() if v is not None}

    def _parameters(self, row: dict[str, Any]) -> Any:
        if self._constants:
            row = self._constants | row
        if self._processors:
            row = row | {name: process(row[name]) for name, process in self._processors.items()}
        return tuple(row[name] for name in self._order) if self._order else row

    def run_many(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            connection.exec_driver_sql(self._sql, [self._parameters(row) for row in rows])

    def first_value(self, connection: Connection, parameters: dict[str, Any]) -> Any:
        row = connection.exec_driver_sql(self._sql, self._parameters(parameters)).first()
        return None if row is None else row[0]


def fast_insert(table: Table, columns: Sequence[str], dialect: Dialect) -> DriverStatement:
    """An INSERT of ``columns`` of ``table``, with their bind processors."""
    processors = {name: table.c[name].type.bind_processor(dialect) for name in columns}
    statement = table.insert().values({name: bindparam(name) for name in columns})
    return DriverStatement(statement, dialect, processors)
