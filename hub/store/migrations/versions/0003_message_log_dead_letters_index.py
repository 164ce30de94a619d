"""A partial index on the time of the ledger's dead-lettered rows, for `hub status`: the dead letters of
the last hours by reason are an index range, not a scan of every message the hub ever settled. Partial,
so that no other query can choose it (hub.store.ledger says why).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    dead_lettered = sa.text("outcome = 'dead_lettered'")
    op.create_index(
        "ix_message_log_dead_letters",
        "message_log",
        ["received_at"],
        sqlite_where=dead_lettered,
        postgresql_where=dead_lettered,
    )


def downgrade() -> None:
    op.drop_index("ix_message_log_dead_letters", table_name="message_log")
