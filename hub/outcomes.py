"""What became of one ingress message: its disposition, its ledger row, and the pipeline's outcome.

A bottom module, beside ``hub.envelope`` and ``hub.errors``: the pipeline makes outcomes, the worker
settles them, the store writes their ledger rows and the audit builds its entries from them, so it
imports none of those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hub.dossiers.records import Change
from hub.envelope import Delivery, Outbound
from hub.errors import Deferral


class Disposition(StrEnum):
    """What the hub did with an input: the ledger's and the audit log's ``outcome`` column, as is."""

    FORWARDED = "forwarded"
    DEAD_LETTERED = "dead_lettered"
    DUPLICATE = "duplicate"
    PARKED = "parked"


@dataclass(slots=True)  # one per message: slotted, not frozen, for speed (see hub.envelope)
class LedgerRecord:
    partner: str
    message_id: str | None
    kind: str | None
    dossier: str | None
    outcome: Disposition
    reason: str | None
    detail: str | None
    outputs: int
    body_sha256: str
    received_at: datetime


@dataclass(slots=True)  # one per message: slotted, not frozen, for speed (see hub.envelope)
class Outcome:
    """What to publish for one delivery, and the ledger row to commit before acknowledging it."""

    delivery: Delivery
    outputs: tuple[Outbound, ...]
    record: LedgerRecord
    route_kind: str | None = None
    changes: tuple[Change, ...] = ()  # to the dossier store, committed with ``record``
    flags: tuple[str, ...] = ()  # Flag names, counted by the worker
    # Parked: the message waits for its dossier or earlier steps (hub.partitions.park). ``reparked``:
    # it had waited before, so its ledger row and audit entry already exist.
    deferral: Deferral | None = None
    reparked: bool = False
    contract_version: str | None = None  # of a forwarded input: one its partner's accepted versions

    @property
    def rejected(self) -> bool:
        return self.record.outcome == Disposition.DEAD_LETTERED

    @property
    def duplicate(self) -> bool:
        return self.record.outcome == Disposition.DUPLICATE
