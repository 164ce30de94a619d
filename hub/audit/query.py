"""Reading the audit log: a dossier's trail, the dossiers of a citizen ID, and an export an auditor can
verify offline.

Nothing here changes a row. Personal values stay masked unless the caller hands over the data keys;
a forgotten dossier (its data key destroyed) reads as ``FORGOTTEN`` and never fails the trail.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Row, func, or_, select

from hub import VIETNAM
from hub.audit.chain import audit_log, sealing_context
from hub.audit.checkpoints import Checkpoint, audit_checkpoints
from hub.audit.entries import SUBJECT_ACCESS, WHOLE_BODY
from hub.audit.personal import MASK, merge
from hub.crypto import KeyringError, Pseudonymizer, open_json
from hub.store.keys import DataKeys

FORGOTTEN = "[forgotten]"  # a personal value whose data key was destroyed
UNREADABLE = "[unreadable]"  # a sealed part that does not authenticate (altered, or a foreign key)
EXPORT_BATCH = 500


@dataclass(frozen=True)
class TrailItem:
    """One audit entry of a dossier, as an operator reads it."""

    seq: int
    time: datetime  # in Vietnam time, for display
    entry: str
    partner: str
    kind: str | None
    message_id: str | None
    source_message_id: str | None
    outcome: str
    reason: str | None
    detail: str | None
    # The payload with personal values masked (or revealed); a rejected input's unread body is MASK
    # (or its text); None when nothing of it was kept (too large).
    payload: Any
    # The personal values opened from the sealed part, by path (a rejected input's unread body under
    # ``$body``); empty unless revealed, and when nothing could be opened.
    personal: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "entry": self.entry,
            "partner": self.partner,
            "kind": self.kind,
            "message_id": self.message_id,
            "source_message_id": self.source_message_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
            "payload": self.payload,
        }


@dataclass(frozen=True)
class CitizenDossier:
    """A dossier in which a citizen ID appears, with the span and number of all its entries."""

    dossier: str | None  # None: entries naming the citizen but no dossier
    first_seen: datetime
    last_seen: datetime
    entries: int


def trail(engine: Engine, dossier: str, *, reveal_with: DataKeys | None = None) -> list[TrailItem]:
    """Every entry of ``dossier`` in time order (then chain order); personal values masked, or put
    back with the data keys ``reveal_with`` unwraps."""
    return _items(engine, audit_log.c.dossier == dossier, reveal_with)


def citizen_without_dossier(
    engine: Engine, pseudonym: str, *, reveal_with: DataKeys | None = None
) -> list[TrailItem]:
    """The entries that name the citizen of ``pseudonym`` but no dossier, in time order (then chain
    order), as ``trail`` gives them; the records of earlier subject access requests are not among them."""
    return _items(engine, _without_dossier(pseudonym), reveal_with)


def _without_dossier(pseudonym: str) -> ColumnElement[bool]:
    """Entries naming the citizen of ``pseudonym`` and no dossier; a subject access request is none of
    them: it is no data about a dossier, only the record of one answered."""
    named = (audit_log.c.citizen == pseudonym) & audit_log.c.dossier.is_(None)
    return named & (audit_log.c.entry != SUBJECT_ACCESS)


def _items(engine: Engine, where: ColumnElement[bool], reveal_with: DataKeys | None) -> list[TrailItem]:
    query = select(audit_log).where(where).order_by(audit_log.c.recorded_at_ms, audit_log.c.seq)
    with engine.connect() as connection:
        rows = list(connection.execute(query))
        keys = None if reveal_with is None else _keys_of(connection, reveal_with, rows)
    return [_item(row, keys) for row in rows]


def entry_count(engine: Engine, dossier: str) -> int:
    query = select(func.count()).select_from(audit_log).where(audit_log.c.dossier == dossier)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def search_citizen(engine: Engine, pseudonyms: Pseudonymizer, citizen_id: str) -> list[CitizenDossier]:
    """The dossiers whose entries name ``citizen_id`` (found by its pseudonym), oldest first."""
    pseudonym = pseudonyms.pseudonym(citizen_id)
    named = select(audit_log.c.dossier).where(
        audit_log.c.citizen == pseudonym, audit_log.c.dossier.is_not(None)
    )
    first, last = func.min(audit_log.c.recorded_at_ms), func.max(audit_log.c.recorded_at_ms)
    query = (
        select(audit_log.c.dossier, first, last, func.count())
        .where(or_(audit_log.c.dossier.in_(named.scalar_subquery()), _without_dossier(pseudonym)))
        .group_by(audit_log.c.dossier)
        .order_by(first, audit_log.c.dossier)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [CitizenDossier(code, vietnam_time(lo), vietnam_time(hi), int(n)) for code, lo, hi, n in rows]


def export(engine: Engine, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
    """The entries recorded in [since, until), in chain order, exactly as stored (bytes as base64), so
    that ``hub.audit.chain.row_hash`` of each gives its ``hash`` again."""
    query = (
        select(audit_log)
        .where(audit_log.c.recorded_at_ms >= millis(since), audit_log.c.recorded_at_ms < millis(until))
        .order_by(audit_log.c.seq)
    )
    with engine.connect() as connection:
        # yield_per streams the rows: an export of months must not sit in memory at once.
        result = connection.execution_options(yield_per=EXPORT_BATCH).execute(query)
        for row in result.mappings():
            yield stored(row)


def checkpoints(engine: Engine, first_seq: int, last_seq: int) -> list[dict[str, Any]]:
    """The checkpoints that vouch for entries ``first_seq``..``last_seq``: those from ``first_seq`` up
    to the first one at or after ``last_seq`` (all from ``first_seq`` when none reaches it yet), each
    as ``hub audit export-checkpoints`` writes it (signature as base64)."""
    seq = audit_checkpoints.c.seq
    with engine.connect() as connection:
        covering = connection.execute(select(func.min(seq)).where(seq >= last_seq)).scalar_one()
        query = select(audit_checkpoints).where(seq >= first_seq).order_by(seq)
        if covering is not None:
            query = query.where(seq <= covering)
        rows = connection.execute(query).mappings()
        return [json.loads(Checkpoint.from_row(row).to_json()) for row in rows]


def stored(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A row as JSON-able data, values as stored: bytes as standard base64."""
    return {
        str(name): base64.b64encode(bytes(value)).decode() if isinstance(value, bytes | memoryview) else value
        for name, value in row.items()
    }


def vietnam_time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, VIETNAM)


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _keys_of(connection: Connection, keys: DataKeys, rows: list[Row[Any]]) -> dict[str, bytes | None]:
    refs = {row.key_ref for row in rows if row.sealed is not None}
    return keys.existing(connection, refs)


def _item(row: Row[Any], keys: Mapping[str, bytes | None] | None) -> TrailItem:
    payload, personal = (_masked(row), {}) if keys is None else _revealed(row, keys)
    return TrailItem(
        seq=int(row.seq),
        time=vietnam_time(row.recorded_at_ms),
        entry=row.entry,
        partner=row.partner,
        kind=row.kind,
        message_id=row.message_id,
        source_message_id=row.source_message_id,
        outcome=row.outcome,
        reason=row.reason,
        detail=row.detail,
        payload=payload,
        personal=personal,
    )


def _masked(row: Row[Any]) -> Any:
    if row.clear is not None:
        return json.loads(row.clear)
    return None if row.sealed is None else MASK


def _revealed(row: Row[Any], keys: Mapping[str, bytes | None]) -> tuple[Any, dict[str, Any]]:
    """The payload with its personal values back (markers where they cannot be read), and those
    values by path."""
    clear = None if row.clear is None else json.loads(row.clear)
    key = keys.get(row.key_ref)
    if row.sealed is None or key is None:
        # Masked values with nothing sealed: the key was already destroyed when the entry was written.
        if clear is None:
            return (None if row.sealed is None else FORGOTTEN), {}
        return _mark(clear, FORGOTTEN), {}
    try:
        personal = open_json(key, bytes(row.sealed), sealing_context(row.key_ref, row.body_sha256))
    except KeyringError:
        return (UNREADABLE if clear is None else _mark(clear, UNREADABLE)), {}
    if clear is None:
        body = _unread_body(personal)
        return body, {WHOLE_BODY: body}
    return merge(clear, personal), personal


def _mark(value: Any, marker: str) -> Any:
    """``value`` with every masked value in it replaced by ``marker``."""
    if value == MASK:
        return marker
    if isinstance(value, dict):
        return {key: _mark(item, marker) for key, item in value.items()}
    if isinstance(value, list):
        return [_mark(item, marker) for item in value]
    return value


def _unread_body(personal: Mapping[str, Any]) -> Any:
    """A rejected input's unread body: its JSON when it parses, else its text (it may be anything)."""
    text = base64.b64decode(str(personal.get(WHOLE_BODY, ""))).decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
