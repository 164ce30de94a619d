"""What the HTTP side of the hub remembers between runs.

- ``poll_cursors``: the last tracking document a poller published with the broker's confirmation
  (Vietnam Post pages on by ``lastId``), one row per feed;
- ``gateway_requests``: the idempotency keys the HTTP gateway accepted, with the body's hash, so a
  re-used key with another body is a conflict (409), and the same one a harmless repeat.

Neither holds a message body or personal data.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table

from hub.store import metadata

poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("feed", String(64), primary_key=True),  # e.g. "postal.tracking"
    Column("cursor", String(128), nullable=False),  # the last document's id ($oid)
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

gateway_requests = Table(
    "gateway_requests",
    metadata,
    Column("partner", String(32), primary_key=True),
    Column("idempotency_key", String(128), primary_key=True),  # = the message_id published
    Column("kind", String(64), nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Index("ix_gateway_requests_accepted_at", "accepted_at"),  # retention sweeps by age
)
