"""Signed checkpoints of the audit chain.

The table of ``hub.audit.checkpoints``, in a revision of its own: databases made by
``create_all`` before checkpoints existed are adopted at 0001 and get the table here.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, LargeBinary, String

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("head_hash", String(64), nullable=False),
        Column("at_ms", BigInteger, nullable=False),
        Column("key_id", String(32), nullable=False),
        Column("signature", LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
