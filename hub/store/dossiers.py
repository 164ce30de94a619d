"""The dossier tables: what the hub knows of each dossier, written with the ledger, read by code.

The recipient of a result by post is personal data: it is sealed (AES-GCM) under the dossier's data
key (``hub.store.keys``) and opened on load. A dossier whose key was destroyed loads without it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
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
from hub.store import DriverStatement, ReadConnections, insert_ignoring_existing, metadata
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

# Built once: building a statement per look-up costs more than running it. The *_OF and _DOSSIERS
# forms read many dossiers at once (``load_many``).
_DOSSIER = select(
    dossiers.c.unit, dossiers.c.initial_status, dossiers.c.result_by_post, dossiers.c.recipient
).where(dossiers.c.code == bindparam("code"))
_STEPS = (
    select(dossier_steps.c.at_ms, dossier_steps.c.status)
    .where(dossier_steps.c.code == bindparam("code"))
    .order_by(dossier_steps.c.id)
)
_DOSSIERS = select(
    dossiers.c.code, dossiers.c.unit, dossiers.c.initial_status, dossiers.c.result_by_post,
    dossiers.c.recipient,
).where(dossiers.c.code.in_(bindparam("codes", expanding=True)))  # fmt: skip
_STEPS_OF = (
    select(dossier_steps.c.code, dossier_steps.c.at_ms, dossier_steps.c.status)
    .where(dossier_steps.c.code.in_(bindparam("codes", expanding=True)))
    .order_by(dossier_steps.c.id)
)
_ORDER_COLUMNS = (
    postal_orders.c.number, postal_orders.c.service, postal_orders.c.attempt, postal_orders.c.cod_amount,
    postal_orders.c.last_code, postal_orders.c.last_at, postal_orders.c.cancelled,
)  # fmt: skip
_ORDERS = select(*_ORDER_COLUMNS).where(postal_orders.c.code == bindparam("code"))
_ORDERS_OF = select(postal_orders.c.code, *_ORDER_COLUMNS).where(
    postal_orders.c.code.in_(bindparam("codes", expanding=True))
)


class DossierStore:
    def __init__(self, engine: Engine, keys: DataKeys) -> None:
        self._engine = engine
        self._keys = keys
        # A look-up made for most inputs, and for most of them the dossier is new: read on the
        # driver (hub.store.DriverStatement), one query when there is nothing to find.
        self._reads = ReadConnections(engine)
        self._dossier = DriverStatement(_DOSSIER, engine.dialect)
        self._steps = DriverStatement(_STEPS, engine.dialect)
        self._orders = DriverStatement(_ORDERS, engine.dialect)

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
        except self._reads.errors as error:  # the driver's own: no SQLAlchemy wrapper on this path
            self._reads.drop()
            raise StoreUnavailable(f"the store refused a dossier read: {type(error).__name__}") from None
        except DBAPIError as error:
            raise StoreUnavailable(f"the store refused a dossier read: {type(error.orig).__name__}") from None

    def _load(self, code: str) -> Dossier | None:
        reads, parameters = self._reads.get(), {"code": code}
        found = self._dossier.rows(reads, parameters)
        if not found:
            return None
        unit, initial_status, result_by_post, sealed = found[0]
        return Dossier(
            code,
            unit,
            initial_status,
            bool(result_by_post),
            tuple(Step(at_ms, status) for at_ms, status in self._steps.rows(reads, parameters)),
            None if sealed is None else self._recipient(code, bytes(sealed)),
            tuple(_order(row) for row in self._orders.rows(reads, parameters)),
        )

    def load_many(self, codes: Collection[str]) -> dict[str, Dossier]:
        """The committed dossiers among ``codes``, in three queries; raises ``StoreUnavailable``."""
        try:
            with self._engine.connect() as connection:
                return self._load_many(connection, list(codes))
        except DBAPIError as error:
            raise StoreUnavailable(f"the store refused a dossier read: {type(error.orig).__name__}") from None

    def _load_many(self, connection: Connection, codes: list[str]) -> dict[str, Dossier]:
        rows = {row[0]: row[1:] for row in connection.execute(_DOSSIERS, {"codes": codes})}
        if not rows:
            return {}
        found = list(rows)
        steps: dict[str, list[Step]] = {}
        for code, at_ms, status in connection.execute(_STEPS_OF, {"codes": found}):
            steps.setdefault(code, []).append(Step(at_ms, status))
        orders: dict[str, list[PostalOrder]] = {}
        for code, *order in connection.execute(_ORDERS_OF, {"codes": found}):
            orders.setdefault(code, []).append(_order(tuple(order)))
        sealed_codes = [code for code, row in rows.items() if row[3] is not None]
        keys = self._keys.existing(connection, sealed_codes) if sealed_codes else {}
        return {
            code: Dossier(
                code, unit, initial_status, bool(result_by_post),
                tuple(steps.get(code, ())),
                _opened(code, keys.get(code), sealed),
                tuple(orders.get(code, ())),
            )
            for code, (unit, initial_status, result_by_post, sealed) in rows.items()
        }  # fmt: skip

    def _recipient(self, code: str, sealed: bytes) -> Recipient | None:
        with self._engine.connect() as connection:
            key = self._keys.existing(connection, [code]).get(code)
        return _opened(code, key, sealed)


def _opened(code: str, key: bytes | None, sealed: bytes | None) -> Recipient | None:
    if sealed is None or key is None:
        return None  # none on record, or the dossier was forgotten
    return Recipient(**open_json(key, bytes(sealed), RECIPIENT + code.encode()))


def _sealed(change: DossierOpened, key: bytes | None) -> bytes | None:
    if change.recipient is None or key is None:
        return None  # no recipient, or a forgotten dossier: nothing personal is written
    # vars(), not asdict(): a flat record of strings needs no deep copy.
    return seal_json(key, vars(change.recipient), RECIPIENT + change.code.encode())


def _order(row: tuple[Any, ...]) -> PostalOrder:
    number, service, attempt, cod_amount, last_code, last_at, cancelled = row
    return PostalOrder(number, service, attempt, cod_amount, last_code, last_at, bool(cancelled))


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
