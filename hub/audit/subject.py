"""Subject access: everything the hub holds about one citizen, with every personal value opened, and a
record of the access itself in the audit chain (docs/privacy.md, "Access").

The citizen's dossiers are found as ``hub audit search`` finds them: by the keyed pseudonym of the ID
number that the audit entries carry, never by the number itself. For each, the export gives the
dossier store's record (status, steps, postal orders, the sealed recipient opened), the personal
values of its audit entries by path, and its trail as ``hub audit trail --reveal`` shows it. A
forgotten dossier (its data key destroyed) is listed as erased: what happened stays told, no value of
it can be opened any more.

The access entry holds no personal data: the citizen ID only as its pseudonym (the ``citizen``
column, like any entry naming a citizen), the dossier codes and counts in clear, and the SHA-256 of the
export, so a copy handed out can be matched to its entry.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from hub import VIETNAM
from hub.audit.chain import AuditChain
from hub.audit.checkpoints import CheckpointSigner
from hub.audit.entries import SUBJECT_ACCESS, AuditEntry, canonical_json
from hub.audit.query import TrailItem, citizen_without_dossier, millis, search_citizen, trail
from hub.crypto import Pseudonymizer
from hub.dossiers.records import Dossier
from hub.store.dossiers import DossierStore
from hub.store.keys import DataKeys, destroyed

HUB = "hub"  # the partner column of an entry the hub writes on its own account
EXPORTED = "exported"  # its outcome column


@dataclass(frozen=True)
class SubjectExport:
    """The export of one citizen's data, and its figures for the access entry."""

    export_id: str
    document: dict[str, Any]
    dossiers: tuple[str, ...]
    erased: int
    values: int

    def text(self) -> str:
        """The export as written out: canonical JSON and a newline (one spelling, so the SHA-256 of the
        file handed out is the access entry's)."""
        return canonical_json(self.document) + "\n"


def gather(engine: Engine, keys: DataKeys, pseudonyms: Pseudonymizer, citizen_id: str) -> SubjectExport:
    """Everything the hub holds about ``citizen_id``, personal values opened with ``keys``."""
    codes = tuple(hit.dossier for hit in search_citizen(engine, pseudonyms, citizen_id) if hit.dossier)
    with engine.connect() as connection:
        erased = destroyed(connection, codes)
    store = DossierStore(engine, keys)
    dossiers = [
        _dossier(code, store.load(code), trail(engine, code, reveal_with=keys), erased.get(code))
        for code in codes
    ]
    others = citizen_without_dossier(engine, pseudonyms.pseudonym(citizen_id), reveal_with=keys)
    export_id = str(uuid.uuid4())
    document = {
        "export_id": export_id,
        "generated_at": datetime.now(VIETNAM).isoformat(),
        "citizen_id": citizen_id,
        "dossiers": dossiers,
        "entries_without_dossier": [_entry(item) for item in others],
    }
    values = sum(_count(d) for d in dossiers) + sum(len(item.personal) for item in others)
    return SubjectExport(export_id, document, codes, len(erased), values)


def record(
    engine: Engine, chain: AuditChain, signer: CheckpointSigner, export: SubjectExport, citizen_id: str
) -> int:
    """Append the access entry of ``export`` to the audit chain and sign the new head (no worker may
    append, and so sign, for a while); the entry's sequence number."""
    entry = AuditEntry(
        recorded_at_ms=millis(datetime.now(UTC)),
        entry=SUBJECT_ACCESS,
        partner=HUB,
        kind=None,
        message_id=export.export_id,
        source_message_id=None,
        dossier=None,
        schema_fingerprint=None,
        outcome=EXPORTED,
        reason=None,
        detail=f"{len(export.dossiers)} dossiers ({export.erased} erased), {export.values} personal values",
        body_sha256=hashlib.sha256(export.text().encode()).hexdigest(),
        clear=canonical_json({"dossiers": list(export.dossiers)}),
        personal={},
        citizen_id=citizen_id,  # stored as its pseudonym only
    )
    with engine.begin() as connection:
        chain.create(connection)  # a store no worker opened yet has no head row
        seq = chain.append(connection, [entry])
        signer.write(connection, datetime.now(UTC))
    return seq


def _dossier(
    code: str, dossier: Dossier | None, items: Sequence[TrailItem], erased_at: datetime | None
) -> dict[str, Any]:
    return {
        "code": code,
        "erased": erased_at is not None,
        "erased_at": None if erased_at is None else _utc(erased_at).astimezone(VIETNAM).isoformat(),
        "record": None if dossier is None else _record(dossier),
        "trail": [_entry(item) for item in items],
    }


def _record(dossier: Dossier) -> dict[str, Any]:
    """What the dossier store keeps: the recipient is None when there is none or it was erased."""
    return {
        "unit": dossier.unit,
        "initial_status": dossier.initial_status,
        "status": dossier.status,
        "result_by_post": dossier.result_by_post,
        "steps": [{"status": s.status, "at": _vietnam_ms(s.at)} for s in sorted(dossier.steps)],
        "postal_orders": [vars(order) for order in dossier.orders],
        "recipient": None if dossier.recipient is None else vars(dossier.recipient),
    }


def _entry(item: TrailItem) -> dict[str, Any]:
    """A trail entry as ``hub audit trail --reveal --json`` gives it, with its personal values by path."""
    return {**item.as_json(), "personal": dict(item.personal)}


def _count(dossier: dict[str, Any]) -> int:
    recipient = (dossier["record"] or {}).get("recipient") or {}
    return len(recipient) + sum(len(entry["personal"]) for entry in dossier["trail"])


def _vietnam_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, VIETNAM).isoformat()


def _utc(moment: datetime) -> datetime:
    # SQLite gives the stored time back without its zone; it was written in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
