"""The dossier tables: what the hub knows of each dossier, written with the ledger, read by code.

The recipient of a result by post is personal data: it is sealed (AES-GCM) under the dossier's data
key (``hub.store.keys``) and opened on load. A dossier whose key was destroyed loads without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from hub.crypto import open_json, seal_json
from hub.dossiers.records import (
    Change,
    Dossier,
    DossierOpened,
    Facts,
    FactsNoted,
    OrderCancelled,
    OrderPlaced,
    OrderTracked,
    PostalOrder,
    Recipient,
    StepRecorded,
)
from hub.dossiers.status import Step
from hub.store import insert_ignoring_existing, metadata
from hub.store.database import StoreUnavailable
from hub.store.keys import DataKeys

dossiers = Table(
    "dossiers",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("unit", String(32), nullable=False),
    Column("initial_status", Integer, nullable=False),
    Column("result_by_post", Boolean, nullable=False),
    Column("recipient", LargeBinary),  # sealed JSON of a Recipient
)

dossier_steps = Table(
    "dossier_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, index=True),
    Column("status", Integer, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

postal_orders = Table(
    "postal_orders",
    metadata,
    Column("number", String(80), primary_key=True),  # OrderNumber: <MaHoSo>/TG|KQ[/n]
    Column("code", String(64), nullable=False, index=True),
    Column("service", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("cod_amount", BigInteger, nullable=False),
    Column("last_code", Integer),
    Column("last_at", String(14)),
    Column("cancelled", Boolean, nullable=False),
)

# What reports need (hub.reports.figures), without personal data: one row per dossier, set by the
# connectors' translations through ``FactsNoted``. Times in milliseconds since the epoch.
dossier_facts = Table(
    "dossier_facts",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("procedure", String(64)),
    Column("channel", String(16)),
    Column("counter_role", String(16)),
    Column("result_route", String(16)),
    Column("filed_at", BigInteger),
    Column("accepted_at", BigInteger),
    Column("due_at", BigInteger),
    Column("result_ready_at", BigInteger),
    Column("handed_over_at", BigInteger),
    Column("closed_at", BigInteger),
    Column("collection", String(32)),
    Column("delivery_attempts", Integer),
    Column("delivered_attempt", Integer),
    Column("cod_collected_vnd", BigInteger),
    Column("paid_online_vnd", BigInteger, nullable=False),
)
FACT_NAMES = tuple(field.name for field in fields(Facts))

RECIPIENT = b"dossiers.recipient\x00"  # sealing context, with the dossier code

# Built once: building a statement per look-up costs more than running it.
_DOSSIER = select(dossiers).where(dossiers.c.code == bindparam("code"))
_STEPS = select(dossier_steps.c.at_ms, dossier_steps.c.status).where(
    dossier_steps.c.code == bindparam("code")
)
_ORDERS = select(postal_orders).where(postal_orders.c.code == bindparam("code"))


class DossierStore:
    def __init__(self, engine: Engine, keys: DataKeys) -> None:
        self._engine = engine
        self._keys = keys

    def apply(self, connection: Connection, changes: Sequence[Change]) -> None:
        """Write ``changes`` in the caller's transaction (the ledger's, before the ack), one
        statement per kind of change for the whole batch."""
        opened = [c for c in changes if isinstance(c, DossierOpened)]
        if opened:
            self._open(connection, opened)
        steps = [
            {"code": c.code, "status": c.step.status, "at_ms": c.step.at}
            for c in changes
            if isinstance(c, StepRecorded)
        ]
        if steps:
            connection.execute(dossier_steps.insert(), steps)
        placed = [{"code": c.code, **vars(c.order)} for c in changes if isinstance(c, OrderPlaced)]
        if placed:
            connection.execute(insert_ignoring_existing(connection, postal_orders), placed)
        tracked = [
            {"n": c.number, "last_code": c.status_code, "last_at": c.at}
            for c in changes
            if isinstance(c, OrderTracked)
        ]
        if tracked:
            connection.execute(update(postal_orders).where(postal_orders.c.number == bindparam("n")), tracked)
        cancelled = [{"n": c.number} for c in changes if isinstance(c, OrderCancelled)]
        if cancelled:
            connection.execute(
                update(postal_orders).where(postal_orders.c.number == bindparam("n")).values(cancelled=True),
                cancelled,
            )
        noted = [c for c in changes if isinstance(c, FactsNoted)]
        if noted:
            _note_facts(connection, noted)

    def _open(self, connection: Connection, opened: list[DossierOpened]) -> None:
        with_recipient = [c.code for c in opened if c.recipient is not None]
        keys = self._keys.for_dossiers(connection, with_recipient, datetime.now(UTC))
        rows = [
            {
                "code": c.code,
                "unit": c.unit,
                "initial_status": c.initial_status,
                "result_by_post": c.result_by_post,
                "recipient": _sealed(c, keys.get(c.code)),
            }
            for c in opened
        ]
        connection.execute(insert_ignoring_existing(connection, dossiers), rows)

    def load(self, code: str) -> Dossier | None:
        """The dossier ``code`` as committed; raises ``StoreUnavailable`` when the store cannot answer,
        so the worker waits for it instead of counting the outage against the message."""
        try:
            return self._load(code)
        except DBAPIError as error:
            raise StoreUnavailable(f"the store refused a dossier read: {type(error.orig).__name__}") from None

    def _load(self, code: str) -> Dossier | None:
        with self._engine.connect() as connection:
            row = connection.execute(_DOSSIER, {"code": code}).first()
            if row is None:
                return None
            steps = connection.execute(_STEPS, {"code": code})
            orders = connection.execute(_ORDERS, {"code": code})
            return Dossier(
                row.code,
                row.unit,
                row.initial_status,
                row.result_by_post,
                tuple(Step(*s) for s in steps),
                self._recipient(connection, code, row.recipient),
                tuple(_order(o._mapping) for o in orders),
            )

    def _recipient(self, connection: Connection, code: str, sealed: bytes | None) -> Recipient | None:
        key = None if sealed is None else self._keys.existing(connection, [code]).get(code)
        if sealed is None or key is None:
            return None  # none on record, or the dossier was forgotten
        return Recipient(**open_json(key, sealed, RECIPIENT + code.encode()))


def _sealed(change: DossierOpened, key: bytes | None) -> bytes | None:
    if change.recipient is None or key is None:
        return None  # no recipient, or a forgotten dossier: nothing personal is written
    # vars(), not asdict(): a flat record of strings needs no deep copy.
    return seal_json(key, vars(change.recipient), RECIPIENT + change.code.encode())


def _order(row: Any) -> PostalOrder:
    return PostalOrder(
        row["number"], row["service"], row["attempt"], row["cod_amount"],
        row["last_code"], row["last_at"], bool(row["cancelled"]),
    )  # fmt: skip


def _note_facts(connection: Connection, noted: list[FactsNoted]) -> None:
    """Each dossier's facts merged in order (a later value wins, payments add up), then one row
    made where none is and one update per dossier, batched by the columns they set."""
    merged: dict[str, dict[str, Any]] = {}
    paid: dict[str, int] = {}
    for change in noted:
        values = merged.setdefault(change.code, {})
        values.update({name: v for name in FACT_NAMES if (v := getattr(change.facts, name)) is not None})
        paid[change.code] = paid.get(change.code, 0) + change.paid_online_vnd
    connection.execute(
        insert_ignoring_existing(connection, dossier_facts),
        [{"code": code, "paid_online_vnd": 0} for code in merged],
    )
    batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for code, values in merged.items():
        batches.setdefault(tuple(sorted(values)), []).append({"c": code, "paid": paid[code], **values})
    for names, rows in batches.items():
        statement = (
            update(dossier_facts)
            .where(dossier_facts.c.code == bindparam("c"))
            .values(
                paid_online_vnd=dossier_facts.c.paid_online_vnd + bindparam("paid"),
                **{name: bindparam(name) for name in names},
            )
        )
        connection.execute(statement, rows)
