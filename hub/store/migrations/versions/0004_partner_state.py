"""The HTTP side's state: the tracking poller's cursors and the gateway's idempotency keys
(``hub.store.partner_state``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, DateTime, String

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "poll_cursors",
        Column("feed", String(64), primary_key=True),
        Column("cursor", String(128), nullable=False),
        Column("saved_at", DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "gateway_requests",
        Column("partner", String(32), primary_key=True),
        Column("idempotency_key", String(128), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("body_sha256", String(64), nullable=False),
        Column("accepted_at", DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_gateway_requests_accepted_at", "gateway_requests", ["accepted_at"])


def downgrade() -> None:
    op.drop_index("ix_gateway_requests_accepted_at", table_name="gateway_requests")
    op.drop_table("gateway_requests")
    op.drop_table("poll_cursors")
