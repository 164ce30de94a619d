"""An index on the ledger's outcome and time, for `hub status`: the dead letters of the last hours by
reason are an index range, not a scan of every message the hub ever settled.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_message_log_outcome_received", "message_log", ["outcome", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_message_log_outcome_received", table_name="message_log")
