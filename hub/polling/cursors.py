"""Where each feed's poller got to: table ``poll_cursors`` (hub.store.partner_state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from hub.store.partner_state import poll_cursors


@dataclass(frozen=True)
class SavedCursor:
    cursor: str  # the last document published with the broker's confirmation
    saved_at: datetime


class CursorStore:
    """The cursors of ``poll_cursors``, one row per feed."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def saved(self, feed: str) -> SavedCursor | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(poll_cursors.c.cursor, poll_cursors.c.saved_at).where(poll_cursors.c.feed == feed)
            ).first()
        if row is None:
            return None
        saved_at = row.saved_at if row.saved_at.tzinfo else row.saved_at.replace(tzinfo=UTC)  # SQLite
        return SavedCursor(row.cursor, saved_at)

    def load(self, feed: str) -> str | None:
        saved = self.saved(feed)
        return None if saved is None else saved.cursor

    def save(self, feed: str, cursor: str) -> None:
        values = {"cursor": cursor, "saved_at": datetime.now(UTC)}
        with self._engine.begin() as connection:
            moved = update(poll_cursors).where(poll_cursors.c.feed == feed).values(values)
            changed = connection.execute(moved)
            if changed.rowcount == 0:  # one poller per feed: no concurrent first insert to race
                connection.execute(insert(poll_cursors).values(feed=feed, **values))
