"""The initial tables: message ledger, dossier store, dossier data keys, audit log.

They are the tables ``metadata.create_all`` made before migrations existed, written out here
rather than imported from the hub's modules, which keep changing: this revision must create the
same tables forever. ``schema()`` is also what ``hub.store.migrate.adopt`` compares a database
made by ``create_all`` with.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op
from alembic.operations.ops import CreateIndexOp, CreateTableOp
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def schema() -> MetaData:
    """The tables this revision creates, on a metadata of their own."""
    tables = MetaData()
    Table(
        "message_log",
        tables,
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
        Index("ix_message_log_sender", "partner", "message_id"),
    )
    _dossier_tables(tables)
    _audit_tables(tables)
    return tables


def _dossier_tables(tables: MetaData) -> None:
    Table(
        "dossiers",
        tables,
        Column("code", String(64), primary_key=True),
        Column("unit", String(32), nullable=False),
        Column("initial_status", Integer, nullable=False),
        Column("result_by_post", Boolean, nullable=False),
        Column("recipient", LargeBinary),
    )
    Table(
        "dossier_steps",
        tables,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("code", String(64), nullable=False, index=True),
        Column("status", Integer, nullable=False),
        Column("at_ms", BigInteger, nullable=False),
    )
    Table(
        "postal_orders",
        tables,
        Column("number", String(80), primary_key=True),
        Column("code", String(64), nullable=False, index=True),
        Column("service", String(16), nullable=False),
        Column("attempt", Integer, nullable=False),
        Column("cod_amount", BigInteger, nullable=False),
        Column("last_code", Integer),
        Column("last_at", String(14)),
        Column("cancelled", Boolean, nullable=False),
    )
    Table(
        "dossier_keys",
        tables,
        Column("code", String(64), primary_key=True),
        Column("master_id", String(32), nullable=False),
        Column("wrapped", LargeBinary, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("destroyed_at", DateTime(timezone=True), nullable=True),
    )


def _audit_tables(tables: MetaData) -> None:
    Table(
        "audit_log",
        tables,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("recorded_at_ms", BigInteger, nullable=False),
        Column("entry", String(16), nullable=False),
        Column("partner", String(32), nullable=False),
        Column("kind", String(64)),
        Column("message_id", String(128)),
        Column("source_message_id", String(128)),
        Column("dossier", String(64), index=True),
        Column("schema_fingerprint", String(32)),
        Column("outcome", String(16), nullable=False),
        Column("reason", String(40)),
        Column("detail", String(500)),
        Column("body_sha256", String(64), nullable=False),
        Column("clear", Text),
        Column("sealed", LargeBinary),
        Column("key_ref", String(64), nullable=False),
        Column("citizen", String(64), index=True),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    )
    Table(
        "audit_head",
        tables,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", BigInteger, nullable=False),
        Column("hash", String(64), nullable=False),
    )


def upgrade() -> None:
    # The operations autogenerate would write for these tables: each table, then its indexes.
    for table in schema().sorted_tables:
        op.invoke(CreateTableOp.from_table(table))
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            op.invoke(CreateIndexOp.from_index(index))


def downgrade() -> None:
    for table in reversed(schema().sorted_tables):
        op.drop_table(table.name)
