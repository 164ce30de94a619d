"""The message ledger: one row per ingress message the hub settled, and what became of it.

It holds ids, kinds, the dossier code, the outcome and the reason, never a body: the answer to
"what happened to message M / dossier X" without keeping personal data. Rows are written in
batches (group commit) before the inputs they describe are acknowledged.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.exc import DBAPIError

from hub.outcomes import Disposition, LedgerRecord
from hub.store import DriverStatement, ReadConnections, fast_insert, metadata
from hub.store.database import StoreUnavailable

message_log = Table(
    "message_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("partner", String(32), nullable=False),
    Column("message_id", String(128)),
    Column("kind", String(64)),
    Column("dossier", String(64), index=True),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(40)),
    Column("detail", String(500)),
    Column("outputs", Integer, nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_message_log_sender", "partner", "message_id"),  # the duplicate rule's look-up
)

# The rows `hub status` counts (recent dead letters), written as a literal: SQLite uses a partial index
# only for a query that states the index's condition as written.
DEAD_LETTERED = message_log.c.outcome == literal_column(f"'{Disposition.DEAD_LETTERED}'")
# Partial: it holds the dead letters only, and no other query can use it. As a plain (outcome,
# received_at) index it held every row, and the duplicate look-up grew slower with the ledger (a profile
# of 20,000 inputs put 44% of the worker's time there; 188 inputs/s instead of 520).
Index(
    "ix_message_log_dead_letters",
    message_log.c.received_at,
    sqlite_where=DEAD_LETTERED,
    postgresql_where=DEAD_LETTERED,
)


# Built once: building a statement per message costs more than running it.
_FORWARDED_BODY = (
    select(message_log.c.body_sha256)
    .where(
        message_log.c.partner == bindparam("partner"),
        message_log.c.message_id == bindparam("message_id"),
        message_log.c.outcome == Disposition.FORWARDED,
    )
    .limit(1)
)


_FORWARDED_BODIES = select(message_log.c.message_id, message_log.c.body_sha256).where(
    message_log.c.partner == bindparam("partner"),
    message_log.c.message_id.in_(bindparam("ids", expanding=True)),
    message_log.c.outcome == Disposition.FORWARDED,
)
_RECORD_FIELDS = [f.name for f in fields(LedgerRecord)]


@dataclass(frozen=True)
class Tally:
    partner: str
    kind: str | None
    outcome: str
    reason: str | None
    messages: int
    outputs: int


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = fast_insert(message_log, _RECORD_FIELDS, engine.dialect)
        self._forwarded_body = DriverStatement(_FORWARDED_BODY, engine.dialect)
        self._reads = ReadConnections(engine)

    def write(self, connection: Connection, records: Sequence[LedgerRecord]) -> None:
        """Insert ``records`` on ``connection``: the unit of work's transaction (hub.commit)."""
        rows = [{name: getattr(r, name) for name in _RECORD_FIELDS} for r in records]
        self._insert.run_many(connection, rows)

    def forwarded_body(self, partner: str, message_id: str) -> str | None:
        """The body SHA-256 of the message ``message_id`` from ``partner`` that the hub forwarded;
        None when it forwarded none. Raises ``StoreUnavailable`` when the store cannot answer."""
        parameters = {"partner": partner, "message_id": message_id}
        try:
            found = self._forwarded_body.first_value(self._reads.get(), parameters)
        except self._reads.errors as error:  # the driver's own: no SQLAlchemy wrapper on this path
            self._reads.drop()
            raise StoreUnavailable(f"the store refused a read: {type(error).__name__}") from None
        return None if found is None else str(found)

    def forwarded_bodies(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """``forwarded_body`` of many (partner, message_id) in one query per partner: the forwarded
        ones only. Raises ``StoreUnavailable`` when the store cannot answer."""
        found: dict[tuple[str, str], str] = {}
        by_partner: dict[str, list[str]] = {}
        for partner, message_id in keys:
            by_partner.setdefault(partner, []).append(message_id)
        try:
            with self.engine.connect() as connection:
                for partner, message_ids in by_partner.items():
                    rows = connection.execute(_FORWARDED_BODIES, {"partner": partner, "ids": message_ids})
                    found.update(((partner, message_id), body) for message_id, body in rows)
        except DBAPIError as error:
            raise StoreUnavailable(f"the store refused a read: {type(error.orig).__name__}") from None
        return found

    def tally(self) -> list[Tally]:
        """Messages and outputs by partner, kind, outcome and reason."""
        keys = (message_log.c.partner, message_log.c.kind, message_log.c.outcome, message_log.c.reason)
        query = (
            select(*keys, func.count(), func.coalesce(func.sum(message_log.c.outputs), 0))
            .group_by(*keys)
            .order_by(*keys)
        )
        with self.engine.connect() as connection:
            return [Tally(*row) for row in connection.execute(query)]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(message_log)).scalar_one())
