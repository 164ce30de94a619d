"""Audit entries: one for every input the hub settled (forwarded, duplicate or rejected) and one for
every message it published because of it, each with its payload split into clear and personal parts.

A rejected input's body may be anything, so all of it counts as personal. The personal parts are
sealed and the citizen ID pseudonymised when the entry is written (``hub.audit.chain``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hub.audit.personal import Paths, PersonalCatalogue, split
from hub.bus.topology import EVENTS_EXCHANGE
from hub.envelope import Delivery, Outbound
from hub.outcomes import Disposition, Outcome
from hub.schemas.registry import CONTENT_TYPE_AVRO, HEADER_FINGERPRINT, HEADER_SCHEMA, Registry

WHOLE_BODY = "$body"  # the personal part of a payload the hub could not read: all of it, base64
CANONICAL_CITIZEN_ID_PATHS = ("applicant.id_number",)  # the canonical events'; the partners' are handed in
EVENTS = "events"  # the partner column of canonical events
SUBJECT_ACCESS = "subject_access"  # the entry of an export of what the hub holds about a citizen
OPENED = "opened"  # the entry column of an access: someone read a dossier's sealed values through the hub
ACCESS_ENTRIES = (OPENED,)  # entries about reading, not about a message: they do not postpone erasure
_ENTRY_OF_INPUT = {
    Disposition.FORWARDED: "in",
    Disposition.DUPLICATE: "duplicate",
    Disposition.PARKED: "parked",
}


@dataclass(frozen=True)
class AuditEntry:
    """What the audit log records of one message, before the chain numbers and seals it."""

    recorded_at_ms: int
    entry: str  # in, duplicate, parked, rejected (an input) or out (a message the hub published)
    partner: str  # the sender of an input, the receiver of an output (``events`` for hub.events)
    kind: str | None
    message_id: str | None
    source_message_id: str | None
    dossier: str | None
    schema_fingerprint: str | None
    outcome: str  # forwarded, duplicate, parked, dead_lettered, published
    reason: str | None
    detail: str | None
    body_sha256: str
    clear: str | None  # canonical JSON of the payload with personal values masked; None: unreadable
    personal: Mapping[str, Any]  # path -> value: sealed when written, never stored in clear
    citizen_id: str | None  # stored only as a keyed pseudonym

    @property
    def key_ref(self) -> str:
        """Whose data key seals the personal part: the dossier's, else this message's own."""
        return self.dossier or f"msg:{self.partner}:{self.body_sha256[:40]}"


class AuditEntries:
    """Builds the entries of an outcome: knows the personal markings and how to read Avro."""

    def __init__(
        self, registry: Registry, catalogue: PersonalCatalogue, citizen_id_paths: Sequence[str]
    ) -> None:
        """``citizen_id_paths``: where the partners' messages carry a citizen's ID number."""
        self._registry = registry
        self._catalogue = catalogue
        self._citizen_id_paths = (*citizen_id_paths, *CANONICAL_CITIZEN_ID_PATHS)

    def of(self, outcome: Outcome) -> list[AuditEntry]:
        entries = [self._input(outcome)]
        if outcome.record.outcome == Disposition.FORWARDED:
            entries += [self._output(outcome, output) for output in outcome.outputs]
        return entries

    def _input(self, outcome: Outcome) -> AuditEntry:
        record, delivery = outcome.record, outcome.delivery
        readable = record.outcome != Disposition.DEAD_LETTERED
        payload = self._payload(delivery.partner, record.kind or "", delivery) if readable else None
        # A body over the size limit is not kept (its dead letter is); any other unread one is sealed.
        unread = {} if record.reason == "too_large" else _whole(delivery.body)
        clear, personal = payload if payload is not None else (None, unread)
        return AuditEntry(
            recorded_at_ms=_millis(record.received_at),
            entry=_ENTRY_OF_INPUT.get(record.outcome, "rejected"),
            partner=delivery.partner,
            kind=record.kind,
            message_id=record.message_id,
            source_message_id=record.message_id,
            dossier=record.dossier,
            schema_fingerprint=_fingerprint(delivery.properties.headers),
            outcome=record.outcome,
            reason=record.reason,
            detail=record.detail,
            body_sha256=record.body_sha256,
            clear=clear,
            personal=personal,
            citizen_id=self._citizen_id(personal),
        )

    def _output(self, outcome: Outcome, output: Outbound) -> AuditEntry:
        partner = EVENTS if output.exchange == EVENTS_EXCHANGE else output.exchange.removeprefix("egress.")
        payload = self._payload(partner, output.routing_key, output)
        clear, personal = payload if payload is not None else (None, _whole(output.body))
        properties = output.properties
        return AuditEntry(
            recorded_at_ms=_millis(outcome.record.received_at),
            entry="out",
            partner=partner,
            kind=output.routing_key,
            message_id=properties.message_id,
            source_message_id=outcome.record.message_id,
            dossier=properties.correlation_id,
            schema_fingerprint=_fingerprint(properties.headers),
            outcome="published",
            reason=None,
            detail=None,
            body_sha256=_sha256(output.body),
            clear=clear,
            personal=personal,
            citizen_id=self._citizen_id(personal),
        )

    def _payload(
        self, partner: str, kind: str, message: Delivery | Outbound
    ) -> tuple[str, dict[str, Any]] | None:
        """(clear canonical JSON, personal values) of a message the hub can read, else None."""
        headers = message.properties.headers
        if message.properties.content_type == CONTENT_TYPE_AVRO:
            payload = getattr(message, "payload", None)  # what the hub encoded, when it published it
            datum = payload or self._registry.decode(message.body, str(headers[HEADER_FINGERPRINT]))
            paths: Paths | None = self._catalogue.for_record(str(headers.get(HEADER_SCHEMA, "")))
        else:
            datum = orjson.loads(message.body)
            paths = self._catalogue.for_json(partner, kind)
        if paths is None:
            return None
        clear, personal = split(datum, paths)
        return canonical_json(clear), personal

    def _citizen_id(self, personal: Mapping[str, Any]) -> str | None:
        value = next((personal[path] for path in self._citizen_id_paths if path in personal), None)
        return value if isinstance(value, str) else None


def canonical_json(value: Any) -> str:
    """One spelling for a value: sorted keys, no spaces, UTF-8; times RFC 3339, bytes base64."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=_plain).decode()


def _plain(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _whole(body: bytes) -> dict[str, Any]:
    return {WHOLE_BODY: base64.b64encode(body).decode()}


def _fingerprint(headers: Mapping[str, Any]) -> str | None:
    value = headers.get(HEADER_FINGERPRINT)
    return None if value is None else str(value)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
