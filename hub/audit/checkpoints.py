"""Signed checkpoints of the audit chain: Ed25519 over (sequence number, head hash, time).

The hash chain proves that rows still agree with each other; it cannot tell a chain from a
consistent rewrite of it, nor a chain from its own shortened copy. A checkpoint can: whoever holds
only the public key can check that record ``seq`` had hash ``head_hash`` at ``at_ms``, and nobody
without the private key can make a new one. Checkpoints are written every so many records or
seconds (``CheckpointPolicy``) and at shutdown, and exported as JSON lines to a place the
database's administrators cannot rewrite, so a rewrite that also replaced the table is still caught.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import BigInteger, Column, Connection, LargeBinary, String, Table, select

from hub.audit.chain import current_head
from hub.store import insert_ignoring_existing, metadata

_LABEL = b"hub-audit-checkpoint\x00"
PUBLIC_KEY_BYTES = 32

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("head_hash", String(64), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", LargeBinary, nullable=False),
)


class CheckpointError(ValueError):
    """An exported checkpoint or a public key that cannot be read."""


def signed_message(seq: int, head_hash: str, at_ms: int) -> bytes:
    """The exact bytes a checkpoint signs: a label (no other signature can pass for one), then the
    fields in decimal and hex, NUL-separated, so no two checkpoints share a message."""
    return _LABEL + f"{seq}\x00{head_hash}\x00{at_ms}".encode("ascii")


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()[:16]


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key from standard base64 of its 32 raw bytes (what ``hub audit checkpoint`` prints)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError("a public key must be base64") from None
    if len(raw) != PUBLIC_KEY_BYTES:
        raise CheckpointError(f"a public key must be {PUBLIC_KEY_BYTES} bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def format_ms(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: str
    at_ms: int
    key_id: str
    signature: bytes
    # Informational in an export: a verifier trusts only the public keys it is given itself.
    public_key: bytes | None = field(default=None, compare=False)

    @property
    def signed_at(self) -> str:
        return format_ms(self.at_ms)

    def verifies(self, key: Ed25519PublicKey) -> bool:
        try:
            key.verify(self.signature, signed_message(self.seq, self.head_hash, self.at_ms))
        except InvalidSignature:
            return False
        return True

    def to_json(self) -> str:
        """One line of an export."""
        public = None if self.public_key is None else base64.b64encode(self.public_key).decode()
        document = {
            "seq": self.seq,
            "head_hash": self.head_hash,
            "at_ms": self.at_ms,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
            "public_key": public,
        }
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Checkpoint:
        try:
            document = json.loads(line)
            public = document.get("public_key")
            return cls(
                seq=_integer(document["seq"]),
                head_hash=str(document["head_hash"]),
                at_ms=_integer(document["at_ms"]),
                key_id=str(document["key_id"]),
                signature=base64.b64decode(document["signature"], validate=True),
                public_key=None if public is None else base64.b64decode(public, validate=True),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CheckpointError(
                "not a checkpoint: seq, head_hash, at_ms, key_id, signature expected"
            ) from None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Checkpoint:
        return cls(row["seq"], row["head_hash"], row["at_ms"], row["key_id"], bytes(row["signature"]))


@dataclass(frozen=True)
class CheckpointPolicy:
    """When a new checkpoint is due: every ``every`` records, or after ``seconds`` when the chain
    grew meanwhile (an idle chain needs no new checkpoint: its last one still covers it)."""

    every: int = 10_000
    seconds: float = 60.0

    def due(self, head_seq: int, last_checkpoint_seq: int, last_at: float, now: float) -> bool:
        """``last_at`` and ``now`` in seconds since the epoch."""
        if head_seq <= last_checkpoint_seq:
            return False
        return head_seq - last_checkpoint_seq >= self.every or now - last_at >= self.seconds


class CheckpointSigner:
    """Signs the chain's head with the private key from the settings (``audit_signing_key``)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    def __repr__(self) -> str:
        return f"CheckpointSigner(key_id={self.key_id})"

    def sign(self, seq: int, head_hash: str, at_ms: int) -> Checkpoint:
        signature = self._private_key.sign(signed_message(seq, head_hash, at_ms))
        return Checkpoint(seq, head_hash, at_ms, self.key_id, signature, raw_public_key(self.public_key))

    def write(self, connection: Connection, now: datetime) -> Checkpoint | None:
        """Sign and store the current head, in the caller's transaction; None when the chain is
        empty or its head already has a checkpoint (also one a concurrent writer just stored)."""
        seq, head_hash = current_head(connection)
        if seq == 0 or _has_checkpoint(connection, seq):
            return None
        checkpoint = self.sign(seq, head_hash, int(now.timestamp() * 1000))
        row = {
            "seq": checkpoint.seq,
            "head_hash": checkpoint.head_hash,
            "at_ms": checkpoint.at_ms,
            "key_id": checkpoint.key_id,
            "signature": checkpoint.signature,
        }
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING.
        statement = insert_ignoring_existing(connection, audit_checkpoints).returning(audit_checkpoints.c.seq)
        inserted = connection.execute(statement, row).first()
        return None if inserted is None else checkpoint

    def write_if_due(
        self, connection: Connection, policy: CheckpointPolicy, now: datetime
    ) -> Checkpoint | None:
        """``write`` when ``policy`` says a checkpoint is due. Two indexed reads: cheap enough to
        call after every group commit or on a timer."""
        return self.write_if_due_and_newest(connection, policy, now)[0]

    def write_if_due_and_newest(
        self, connection: Connection, policy: CheckpointPolicy, now: datetime
    ) -> tuple[Checkpoint | None, Checkpoint | None]:
        """``write_if_due``'s checkpoint, and the newest checkpoint in the store after it (whoever
        signed it; None while there is none)."""
        seq, _ = current_head(connection)
        last = last_checkpoint(connection)
        last_seq, last_at = (0, float("-inf")) if last is None else (last.seq, last.at_ms / 1000)
        if not policy.due(seq, last_seq, last_at, now.timestamp()):
            return None, last
        written = self.write(connection, now)
        return written, written or last


def last_checkpoint(connection: Connection) -> Checkpoint | None:
    query = select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)
    row = connection.execute(query).mappings().first()
    return None if row is None else Checkpoint.from_row(row)


def stored_checkpoints(connection: Connection) -> list[Checkpoint]:
    """Every checkpoint in the database, in sequence order (a few per hour: small)."""
    rows = connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).mappings()
    return [Checkpoint.from_row(row) for row in rows]


def export_checkpoints(
    connection: Connection, path: Path, public_keys: Iterable[Ed25519PublicKey] = ()
) -> int:
    """Write every stored checkpoint to ``path`` as JSON lines, each with its public key when it is
    one of ``public_keys``; the number written."""
    known = {key_id(key): raw_public_key(key) for key in public_keys}
    checkpoints = stored_checkpoints(connection)
    with path.open("w", encoding="ascii") as out:
        for checkpoint in checkpoints:
            with_key = replace(checkpoint, public_key=known.get(checkpoint.key_id))
            out.write(with_key.to_json() + "\n")
    return len(checkpoints)


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """The checkpoints of an export; blank lines are skipped, a malformed one names its line."""
    checkpoints = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(Checkpoint.from_json(line))
        except CheckpointError as error:
            raise CheckpointError(f"{path}, line {number}: {error}") from None
    return checkpoints


def _has_checkpoint(connection: Connection, seq: int) -> bool:
    query = select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == seq)
    return connection.execute(query).first() is not None


def _integer(value: Any) -> int:
    # bool is an int in Python; a checkpoint's numbers never are.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("an integer expected")
    return value
