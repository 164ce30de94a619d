"""The dossier tables: what the hub knows of each dossier, written with the ledger, read by code."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Boolean, Column, Connection, Engine, Integer, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.dossiers.records import Change, Dossier, DossierOpened, StepRecorded
from hub.dossiers.status import Step
from hub.store import metadata

dossiers = Table(
    "dossiers",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("unit", String(32), nullable=False),
    Column("initial_status", Integer, nullable=False),
    Column("result_by_post", Boolean, nullable=False),
)

dossier_steps = Table(
    "dossier_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, index=True),
    Column("status", Integer, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)


def apply_changes(connection: Connection, changes: Sequence[Change]) -> None:
    """Write ``changes`` in the caller's transaction (the ledger's, before the ack), one statement
    per table for the whole batch."""
    opened = [
        {
            "code": c.code,
            "unit": c.unit,
            "initial_status": c.initial_status,
            "result_by_post": c.result_by_post,
        }
        for c in changes
        if isinstance(c, DossierOpened)
    ]
    steps = [
        {"code": c.code, "status": c.step.status, "at_ms": c.step.at}
        for c in changes
        if isinstance(c, StepRecorded)
    ]
    if opened:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(dialect.insert(dossiers).on_conflict_do_nothing(index_elements=["code"]), opened)
    if steps:
        connection.execute(dossier_steps.insert(), steps)


class DossierStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load(self, code: str) -> Dossier | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(dossiers).where(dossiers.c.code == code)).first()
            if row is None:
                return None
            steps = connection.execute(
                select(dossier_steps.c.at_ms, dossier_steps.c.status).where(dossier_steps.c.code == code)
            )
            return Dossier(
                row.code, row.unit, row.initial_status, row.result_by_post, tuple(Step(*s) for s in steps)
            )
