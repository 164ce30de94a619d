"""The hub's SQL store (SQLAlchemy): SQLite embedded, PostgreSQL in production."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, MetaData, Table, bindparam
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

    def first_value(self, dbapi_connection: Any, parameters: dict[str, Any]) -> Any:
        """The first column of the first row, read on a driver connection of the caller's."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self._sql, self._parameters(parameters))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else row[0]

    def rows(self, dbapi_connection: Any, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, as tuples in the statement's column order, read on a driver connection."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self._sql, self._parameters(parameters))
            return list(cursor.fetchall())
        finally:
            cursor.close()


class ReadConnections:
    """One autocommit driver connection per thread, for a look-up made for every message: a pool
    checkout and SQLAlchemy's statement handling would cost more than the look-up itself. Autocommit,
    so each read sees the latest commits; a connection that failed is dropped and made anew."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()

    def get(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            pooled = self._engine.raw_connection()
            connection = pooled.driver_connection
            assert connection is not None
            pooled.detach()  # ours for good, not the pool's
            if self._engine.dialect.name == "sqlite":
                connection.isolation_level = None
            else:
                connection.autocommit = True
            self._local.connection = connection
        return connection

    @property
    def errors(self) -> type[Exception]:
        """The driver's base exception: what a failed look-up raises."""
        error: type[Exception] = self._engine.dialect.loaded_dbapi.Error
        return error

    def drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with contextlib.suppress(Exception):  # it failed already; closing is a courtesy
                connection.close()


def fast_insert(table: Table, columns: Sequence[str], dialect: Dialect) -> DriverStatement:
    """An INSERT of ``columns`` of ``table``, with their bind processors."""
    processors = {name: table.c[name].type.bind_processor(dialect) for name in columns}
    statement = table.insert().values({name: bindparam(name) for name in columns})
    return DriverStatement(statement, dialect, processors)
