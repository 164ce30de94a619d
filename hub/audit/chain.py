"""The audit log: entries numbered and hash-chained in the ledger's transaction.

Each row's ``hash`` is SHA-256 over the canonical serialisation of every other column, ``prev_hash``
(the previous row's hash) included, so changing, removing, inserting or reordering rows breaks the
chain at the first row touched. The canonical serialisation is built from column values that read
back identically on SQLite and PostgreSQL (integers, text, bytes as base64), so a chain verifies the
same from either.

The chain stays linear with several writers: a batch first takes the single ``audit_head`` row for
update (PostgreSQL locks the row; SQLite takes its database write lock), then numbers its entries
after the head and moves the head, all in the caller's transaction.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    select,
    update,
)

from hub.audit.entries import AuditEntry
from hub.crypto import Pseudonymizer, seal_json
from hub.store import DriverStatement, fast_insert, insert_ignoring_existing, metadata
from hub.store.keys import DataKeys

GENESIS = "0" * 64

audit_log = Table(
    "audit_log",
    metadata,
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

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

CHAINED = [str(c.name) for c in audit_log.columns if c.name != "hash"]  # plain str: orjson keys


def current_head(connection: Connection) -> tuple[int, str]:
    """The chain's head (sequence number, hash); (0, ``GENESIS``) before the chain was created."""
    query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    row = connection.execute(query).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


def lock_head(connection: Connection) -> tuple[int, str]:
    """Take the chain's head for the rest of the caller's transaction, and read it.

    A no-op write takes the lock before the read: on PostgreSQL the row lock, on SQLite the database
    write lock, so no other writer can read the same head, or append, until this one commits.
    """
    connection.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq))
    return current_head(connection)


def canonical_row(row: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash covers: every column but ``hash``, sorted, bytes as base64."""
    values = {name: row[name] for name in CHAINED}
    # The one binary column: bytes, a memoryview from some drivers, or base64 already (an export).
    sealed = values["sealed"]
    if isinstance(sealed, bytes | memoryview):
        values["sealed"] = base64.b64encode(sealed).decode()
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def row_hash(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_row(row)).hexdigest()


def sealing_context(key_ref: str, body_sha256: str) -> bytes:
    """What a sealed personal part is bound to: its key's owner and the message it came from."""
    return f"audit\x00{key_ref}\x00{body_sha256}".encode()


class AuditChain:
    def __init__(self, keys: DataKeys, pseudonyms: Pseudonymizer) -> None:
        self._keys = keys
        self._pseudonyms = pseudonyms
        self._inserts: dict[str, DriverStatement] = {}  # by dialect

    def create(self, connection: Connection) -> None:
        """The head row, once: the chain starts from ``GENESIS`` at sequence 0."""
        connection.execute(
            insert_ignoring_existing(connection, audit_head), [{"id": 1, "seq": 0, "hash": GENESIS}]
        )

    def append(self, connection: Connection, entries: Sequence[AuditEntry]) -> int:
        """Number, seal and chain ``entries`` after the head, in the caller's transaction; the new
        head's sequence number."""
        if not entries:
            return current_head(connection)[0]
        seq, previous = lock_head(connection)
        refs = [e.key_ref for e in entries if e.personal]
        keys = self._keys.for_dossiers(connection, refs, datetime.now(UTC))
        rows = []
        for entry in entries:
            seq += 1
            row = self._row(entry, seq, previous, keys.get(entry.key_ref))
            row["hash"] = previous = row_hash(row)
            rows.append(row)
        self._insert(connection).run_many(connection, rows)
        connection.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=previous))
        return seq

    def _insert(self, connection: Connection) -> DriverStatement:
        dialect = connection.dialect
        if dialect.name not in self._inserts:
            self._inserts[dialect.name] = fast_insert(audit_log, [c.name for c in audit_log.columns], dialect)
        return self._inserts[dialect.name]

    def _row(self, entry: AuditEntry, seq: int, previous: str, key: bytes | None) -> dict[str, Any]:
        sealed = None
        if entry.personal and key is not None:  # no key: the dossier was forgotten, keep nothing
            sealed = seal_json(key, dict(entry.personal), sealing_context(entry.key_ref, entry.body_sha256))
        return {
            "seq": seq,
            "recorded_at_ms": entry.recorded_at_ms,
            "entry": entry.entry,
            "partner": entry.partner,
            "kind": entry.kind,
            "message_id": entry.message_id,
            "source_message_id": entry.source_message_id,
            "dossier": entry.dossier,
            "schema_fingerprint": entry.schema_fingerprint,
            "outcome": entry.outcome,
            "reason": entry.reason,
            "detail": entry.detail,
            "body_sha256": entry.body_sha256,
            "clear": entry.clear,
            "sealed": sealed,
            "key_ref": entry.key_ref,
            "citizen": None if entry.citizen_id is None else self._pseudonyms.pseudonym(entry.citizen_id),
            "prev_hash": previous,
        }
