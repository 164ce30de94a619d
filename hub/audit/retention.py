"""Erasure by crypto-shredding: forgetting a dossier destroys its data key.

The audit rows are never changed, so the chain still verifies; what they sealed can no longer be
opened by anyone, backups included, while the masked part still tells what happened and when. The
destroyed key stays as a tombstone (``hub.store.keys``), so later messages about a forgotten dossier
are recorded without their personal values.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, select

from hub.audit.chain import audit_log, lock_head
from hub.audit.entries import ACCESS_ENTRIES
from hub.audit.query import millis
from hub.store.keys import DataKeys, dossier_keys

EXPIRE_BATCH = 500  # keys destroyed per transaction, so a first run on a large backlog commits as it goes


def forget(engine: Engine, keys: DataKeys, dossier: str, now: datetime) -> bool:
    """Destroy the data key of ``dossier``; True when a live key existed (False: already forgotten,
    or it never held personal data). Keys of rejected messages that named no dossier (``msg:``) are
    not the dossier's: nothing links them to it."""
    with engine.begin() as connection:
        return keys.destroy(connection, dossier, now)


def expire(engine: Engine, keys: DataKeys, older_than_days: int, now: datetime) -> int:
    """Destroy the live data keys (of dossiers and of ``msg:`` rejections) whose last audit entry is
    older than ``older_than_days`` before ``now``; how many were destroyed."""
    cutoff_ms = millis(now - timedelta(days=older_than_days))
    destroyed = 0
    while True:
        with engine.begin() as connection:
            # Writers wait meanwhile: an entry committed between the look-up and the destruction
            # would be sealed under a key about to be destroyed.
            lock_head(connection)
            batch = _expired(connection, cutoff_ms)
            done = sum(keys.destroy(connection, code, now) for code in batch)
        destroyed += done
        # A batch that destroyed nothing would come back the same: stop rather than loop.
        if len(batch) < EXPIRE_BATCH or done == 0:
            return destroyed


def _expired(connection: Connection, cutoff_ms: int) -> list[str]:
    """Live key codes whose owner's last audit entry is before ``cutoff_ms``, at most a batch. Reading
    a dossier (``hub events open``) is no activity of its own: it does not keep the dossier longer."""
    last = (
        select(audit_log.c.key_ref, func.max(audit_log.c.recorded_at_ms).label("last_ms"))
        .where(audit_log.c.entry.not_in(ACCESS_ENTRIES))
        .group_by(audit_log.c.key_ref)
        .subquery()
    )
    query = (
        select(dossier_keys.c.code)
        .join(last, last.c.key_ref == dossier_keys.c.code)
        .where(dossier_keys.c.wrapped.is_not(None), last.c.last_ms < cutoff_ms)
        .order_by(dossier_keys.c.code)
        .limit(EXPIRE_BATCH)
    )
    return list(connection.execute(query).scalars())
