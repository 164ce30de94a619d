"""What the ledger's transaction writes to the audit store: chained entries, and a signed checkpoint
whenever the policy says one is due (every N entries or T seconds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from hub.audit.chain import AuditChain
from hub.audit.checkpoints import Checkpoint, CheckpointPolicy, CheckpointSigner
from hub.audit.entries import AuditEntry


@dataclass(frozen=True)
class AuditWriter:
    chain: AuditChain
    signer: CheckpointSigner
    policy: CheckpointPolicy

    def create(self, connection: Connection) -> None:
        self.chain.create(connection)

    def append(self, connection: Connection, entries: Sequence[AuditEntry]) -> None:
        if entries:
            self.chain.append(connection, entries)
            self.signer.write_if_due(connection, self.policy, datetime.now(UTC))

    def checkpoint(self, connection: Connection) -> Checkpoint | None:
        """Sign the head now (at shutdown); None when it has a checkpoint already."""
        return self.signer.write(connection, datetime.now(UTC))
