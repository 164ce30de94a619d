"""What the unit of work's transaction (hub.commit) writes to the audit store: chained entries, and a
signed checkpoint whenever the policy says one is due (every N entries or T seconds).

It also keeps the worker's two audit gauges: when it last appended records, and when the newest
checkpoint in the store was signed, by any worker (read at start and with every append), so their gap
says whether records stay without a checkpoint (HubAuditCheckpointTooOld)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from hub import metrics
from hub.audit.chain import AuditChain
from hub.audit.checkpoints import Checkpoint, CheckpointPolicy, CheckpointSigner, last_checkpoint
from hub.audit.entries import AuditEntry


@dataclass(frozen=True)
class AuditWriter:
    chain: AuditChain
    signer: CheckpointSigner
    policy: CheckpointPolicy

    def create(self, connection: Connection) -> None:
        self.chain.create(connection)
        _observe(last_checkpoint(connection))

    def append(self, connection: Connection, entries: Sequence[AuditEntry]) -> None:
        if entries:
            now = datetime.now(UTC)
            self.chain.append(connection, entries)
            _, newest = self.signer.write_if_due_and_newest(connection, self.policy, now)
            _observe(newest)
            # Before the commit: a failed one is retried, and the retry sets both again.
            metrics.AUDIT_LAST_RECORD.set(now.timestamp())

    def checkpoint(self, connection: Connection) -> Checkpoint | None:
        """Sign the head now (at shutdown); None when it has a checkpoint already."""
        checkpoint = self.signer.write(connection, datetime.now(UTC))
        _observe(checkpoint)
        return checkpoint


def _observe(checkpoint: Checkpoint | None) -> None:
    if checkpoint is not None:
        metrics.AUDIT_LAST_CHECKPOINT.set(checkpoint.at_ms / 1000)
