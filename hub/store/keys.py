"""The dossier data keys, stored wrapped by a master key (see ``hub.crypto``).

A destroyed key keeps its row (``wrapped`` NULL, ``destroyed_at`` set) as a tombstone: it is never
recreated, so a forgotten dossier stays forgotten even when messages about it arrive later.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    LargeBinary,
    Row,
    String,
    Table,
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from hub.crypto import KeyringError, MasterKeyring, WrappedKey, new_data_key
from hub.store import insert_ignoring_existing, metadata
from hub.store.database import StoreUnavailable

ROTATE_BATCH = 500  # rows re-wrapped per round trip, so rotation never holds the whole table
CACHED_KEYS = 10_000  # dossiers whose key a worker keeps at hand (a partition's open dossiers)

dossier_keys = Table(
    "dossier_keys",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("master_id", String(32), nullable=False),
    Column("wrapped", LargeBinary, nullable=True),  # NULL once destroyed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("destroyed_at", DateTime(timezone=True), nullable=True),
)


class DataKeys:
    """Per-dossier data keys, read and written in the caller's transaction."""

    def __init__(self, keyring: MasterKeyring) -> None:
        self._keyring = keyring

    def for_dossiers(
        self, connection: Connection, codes: Iterable[str], now: datetime
    ) -> dict[str, bytes | None]:
        """The data key of each code, created for codes that have none; None for a destroyed key."""
        wanted = list(dict.fromkeys(codes))
        rows = _select(connection, wanted)
        have = {row.code for row in rows}
        missing = [code for code in wanted if code not in have]
        if missing:
            fresh = [self._new_row(code, now) for code in missing]
            connection.execute(insert_ignoring_existing(connection, dossier_keys), fresh)
            # Re-read rather than trust our own rows: a concurrent writer may have inserted first.
            rows = [*rows, *_select(connection, missing)]
        return self._unwrap(rows)

    def existing(self, connection: Connection, codes: Iterable[str]) -> dict[str, bytes | None]:
        """Like ``for_dossiers`` but never creates: a code without a key is absent from the result."""
        return self._unwrap(_select(connection, list(dict.fromkeys(codes))))

    def destroy(self, connection: Connection, code: str, now: datetime) -> bool:
        """Destroy the data key of ``code`` (crypto-shredding); True when a live key existed."""
        # A tombstone first, so a dossier forgotten before it had a key never gets one.
        tombstone = {
            "code": code,
            "master_id": self._keyring.active,
            "wrapped": None,
            "created_at": now,
            "destroyed_at": now,
        }
        connection.execute(insert_ignoring_existing(connection, dossier_keys), [tombstone])
        result = connection.execute(
            update(dossier_keys)
            .where(dossier_keys.c.code == code, dossier_keys.c.wrapped.is_not(None))
            .values(wrapped=None, destroyed_at=now)
        )
        return result.rowcount == 1

    def rotate(self, connection: Connection) -> int:
        """Re-wrap every live key not under the active master key; the sealed data is untouched."""
        rotated = 0
        while batch := _stale(connection, self._keyring.active):
            self._rewrap(connection, batch)
            rotated += len(batch)
        return rotated

    def _new_row(self, code: str, now: datetime) -> dict[str, Any]:
        wrapped = self._keyring.wrap(code, new_data_key())
        return {
            "code": code,
            "master_id": wrapped.master_id,
            "wrapped": wrapped.blob,
            "created_at": now,
            "destroyed_at": None,
        }

    def _unwrap(self, rows: Sequence[Row[Any]]) -> dict[str, bytes | None]:
        keys: dict[str, bytes | None] = {}
        failed: set[str] = set()
        for row in rows:
            if row.wrapped is None:
                keys[row.code] = None
                continue
            try:
                keys[row.code] = self._keyring.unwrap(row.code, WrappedKey(row.master_id, bytes(row.wrapped)))
            except KeyringError:
                failed.add(row.code)
        if failed:
            raise _unwrap_failure(rows, failed)
        return keys

    def _rewrap(self, connection: Connection, rows: Sequence[Row[Any]]) -> None:
        changes: list[dict[str, Any]] = []
        failed: set[str] = set()
        for row in rows:
            try:
                wrapped = self._keyring.rewrap(row.code, WrappedKey(row.master_id, bytes(row.wrapped)))
            except KeyringError:
                failed.add(row.code)
                continue
            changes.append({"key_code": row.code, "key_master": wrapped.master_id, "key_blob": wrapped.blob})
        if failed:
            raise _unwrap_failure(rows, failed)
        statement = (
            update(dossier_keys)
            # Still live: a key destroyed meanwhile must not come back.
            .where(dossier_keys.c.code == bindparam("key_code"), dossier_keys.c.wrapped.is_not(None))
            .values(master_id=bindparam("key_master"), wrapped=bindparam("key_blob"))
        )
        connection.execute(statement, changes)


def destroyed(connection: Connection, codes: Iterable[str]) -> dict[str, datetime]:
    """When the data key of each of ``codes`` was destroyed; codes with a live key or none are absent."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return {}
    query = select(dossier_keys.c.code, dossier_keys.c.destroyed_at).where(
        dossier_keys.c.code.in_(wanted), dossier_keys.c.wrapped.is_(None)
    )
    return {row.code: row.destroyed_at for row in connection.execute(query)}


class CachedKeys:
    """The data keys the pipeline seals canonical events with (hub.event_seal.DossierKeys).

    A dossier's key is read, or created, in a transaction of its own that commits before any event
    sealed under it is published: an event never names a key that a crash could lose. The most recent
    ``CACHED_KEYS`` keys stay in memory, so only a dossier new to this worker costs a round trip. A
    key forgotten while cached still seals new events, under a key the store no longer has: nobody can
    read them either.
    """

    def __init__(self, engine: Engine, keys: DataKeys, capacity: int = CACHED_KEYS) -> None:
        self._engine = engine
        self._keys = keys
        self._capacity = capacity
        self._cached: OrderedDict[str, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    def key_of(self, dossier: str) -> bytes | None:
        with self._lock:
            if dossier in self._cached:
                self._cached.move_to_end(dossier)
                return self._cached[dossier]
        return self._stored([dossier])[dossier]

    def prefetch(self, dossiers: Collection[str]) -> None:
        """Read or create the keys of ``dossiers`` not cached yet, in one transaction: the worker asks
        for the dossiers of the inputs that arrived together, so a burst of new dossiers costs one
        commit instead of one each."""
        with self._lock:
            missing = [code for code in dossiers if code not in self._cached]
        if missing:
            self._stored(missing[: self._capacity])

    def _stored(self, dossiers: list[str]) -> dict[str, bytes | None]:
        keys = self._read_or_create(dossiers)
        with self._lock:
            for dossier, key in keys.items():
                self._cached[dossier] = key
                self._cached.move_to_end(dossier)
            while len(self._cached) > self._capacity:
                self._cached.popitem(last=False)
        return keys

    def _read_or_create(self, dossiers: list[str]) -> dict[str, bytes | None]:
        try:
            with self._engine.begin() as connection:
                return self._keys.for_dossiers(connection, dossiers, datetime.now(UTC))
        except DBAPIError as error:
            # Only the type: a failed statement's text may quote the code. Always transient, as the
            # ledger's duplicate look-up: the worker waits, and its commit tells a wrong URL apart.
            raise StoreUnavailable(f"the store refused a key: {type(error.orig).__name__}") from None


def _select(connection: Connection, codes: list[str]) -> list[Row[Any]]:
    if not codes:
        return []
    columns = (dossier_keys.c.code, dossier_keys.c.master_id, dossier_keys.c.wrapped)
    return list(connection.execute(select(*columns).where(dossier_keys.c.code.in_(codes))))


def _stale(connection: Connection, active: str) -> list[Row[Any]]:
    columns = (dossier_keys.c.code, dossier_keys.c.master_id, dossier_keys.c.wrapped)
    query = (
        select(*columns)
        .where(dossier_keys.c.wrapped.is_not(None), dossier_keys.c.master_id != active)
        .order_by(dossier_keys.c.code)
        .limit(ROTATE_BATCH)
    )
    return list(connection.execute(query))


def _unwrap_failure(rows: Sequence[Row[Any]], failed: set[str]) -> KeyringError:
    # Master key ids help the operator (a key missing from the settings); codes and blobs stay out.
    masters = sorted({row.master_id for row in rows if row.code in failed})
    return KeyringError(
        f"{len(failed)} dossier data key(s) cannot be unwrapped (master key ids: {', '.join(masters)})"
    )
