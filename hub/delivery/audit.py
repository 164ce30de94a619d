"""The audit entry of an egress message the runner dead-lettered (the partner refused it, or it
could not be sent at all), appended to the hash-chained audit log.

The message's ``out`` entry, written when the hub published it, already holds its payload (personal
values sealed); this entry refers to it by message id and body hash and keeps no payload: the reason,
and the partner's code and words as redacted by the adapter.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence

from hub.audit.entries import AuditEntry
from hub.envelope import HEADER_SOURCE_MESSAGE_ID, Delivery
from hub.outcomes import Disposition

ENTRY = "undelivered"  # the audit log's entry column: an output its receiver did not take
AuditSink = Callable[[Sequence[AuditEntry]], None]  # commits the entries, or raises TransientError


def undelivered(delivery: Delivery, reason: str, detail: str, now_ms: int | None = None) -> AuditEntry:
    properties = delivery.properties
    source = properties.headers.get(HEADER_SOURCE_MESSAGE_ID)
    return AuditEntry(
        recorded_at_ms=now_ms if now_ms is not None else int(time.time() * 1000),
        entry=ENTRY,
        partner=delivery.partner,
        kind=properties.type or delivery.routing_key or None,
        message_id=properties.message_id,
        source_message_id=None if source is None else str(source),
        dossier=properties.correlation_id or None,
        schema_fingerprint=None,
        outcome=Disposition.DEAD_LETTERED,
        reason=reason,
        detail=detail,
        body_sha256=hashlib.sha256(delivery.body).hexdigest(),
        clear=None,
        personal={},
        citizen_id=None,
    )
