"""What reports need of each dossier, without personal data (``hub.store.dossiers.dossier_facts``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Integer, String

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "dossier_facts",
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


def downgrade() -> None:
    op.drop_table("dossier_facts")
