"""From one ingress delivery to its outcome: the outputs to publish and the ledger row to write.

``process`` never raises for a bad message: every ``Rejection`` becomes a dead-letter output to the
partner's ``hub.dead.<partner>`` exchange, carrying the original body and properties (for replay) and
the headers ``x-hub-reason`` and ``x-hub-detail`` (field path and rule, never a value).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from hub import CONTRACT_VERSION, checks, logs, versions
from hub.audit.personal import PersonalCatalogue
from hub.bus.topology import EVENTS_EXCHANGE, dead_letter_exchange, egress_exchange
from hub.connector import Connector, Context, Emit, Event, Flag, Result, Route, Subscription
from hub.dossiers.records import CHANGES, Change, DossierOpened
from hub.envelope import (
    CONTENT_TYPE_JSON,
    HEADER_CONTRACT_VERSION,
    HEADER_SOURCE_MESSAGE_ID,
    HEADER_UNIT,
    PERSISTENT,
    Delivery,
    Outbound,
    Properties,
    dead_letter_of,
    derived_message_id,
)
from hub.errors import Deferral, Reason, Rejection
from hub.event_seal import DossierKeys, EventSealer
from hub.outcomes import Disposition, LedgerRecord, Outcome
from hub.partitions import parked_at
from hub.schemas.registry import CONTENT_TYPE_AVRO, Registry
from hub.seen import NothingSeen, SeenView
from hub.settings import Settings

log = logging.getLogger(__name__)
MAX_SUBSCRIPTION_DEPTH = 4
Clock = Callable[[], datetime]


class Pipeline:
    def __init__(
        self,
        connectors: Mapping[str, Connector],
        settings: Settings,
        context: Context,
        registry: Registry,
        *,
        keys: DossierKeys,
        clock: Clock = lambda: datetime.now(UTC),
        seen: SeenView | None = None,
    ) -> None:
        """``keys``: the dossiers' data keys, which seal the personal fields of canonical events."""
        self._registry = registry
        self._keys = keys
        self._sealer = EventSealer(PersonalCatalogue(registry, {}))
        self.partners = tuple(connectors)
        self._seen = seen or NothingSeen()
        self._connectors = connectors
        self._subscriptions: dict[str, list[Subscription]] = {}
        for connector in connectors.values():
            for record, subscription in connector.subscriptions.items():
                self._subscriptions.setdefault(record, []).append(subscription)
        self._settings = settings
        self._context = context
        self._clock = clock
        self._verifier = settings.signature_verifier()
        self._signer = settings.egress_signer()
        self._versions = versions.accepted_versions(settings.contract_versions, connectors)
        self._retirements = versions.RetirementWarnings(connectors)

    def prefetch(self, dossiers: Collection[str]) -> None:
        """Before judging the inputs that arrived together: the data keys of the dossiers they name
        (``dossiers``: their partition keys; only well-formed dossier codes get a key)."""
        self._keys.prefetch([code for code in dossiers if checks.DOSSIER_CODE.match(code)])

    def process(self, delivery: Delivery) -> Outcome:
        try:
            route, version = self._route(delivery)
            if self._is_duplicate(delivery):
                return self._duplicate(delivery, route.kind)
            body, model_type = delivery.body, route.model_for(version)
            if delivery.properties.content_type == CONTENT_TYPE_AVRO:
                # A canonical body has its own schema versions: its native form is the first model's.
                body, model_type = checks.canonical_native_body(delivery, route, self._registry), route.model
            model = checks.validate_body(body, model_type)
            results = self._with_subscribers(route.translate(model, self._context))
        except Deferral as deferral:
            return self._park_or_refuse(delivery, route.kind, deferral)
        except Rejection as rejection:
            return self._dead_letter(delivery, rejection)
        # Openings first: a subscriber's change (an order placed) may come before its dossier's opening.
        changes = tuple(sorted((r for r in results if isinstance(r, CHANGES)), key=_not_an_opening))
        flags = tuple(sorted({r.name for r in results if isinstance(r, Flag)}))
        emits = [r for r in results if isinstance(r, Emit | Event)]
        outcome = self._forward(delivery, route, route.dossier_of(model), emits, flags)
        self._retirements.used(delivery.partner, route.kind, version, self._clock().date())
        return replace(outcome, changes=changes, contract_version=version)

    def poisoned(self, delivery: Delivery, error: str, attempts: int) -> Outcome:
        """A message the hub failed to process ``attempts`` times (``error``: the exception's type,
        never its text): dead-lettered ``processing_failed``, like any rejection."""
        detail = f"processing failed {attempts} times ({error}); replay once the hub is fixed"
        return self._dead_letter(delivery, Rejection(Reason.PROCESSING_FAILED, detail))

    def _park_or_refuse(self, delivery: Delivery, kind: str, deferral: Deferral) -> Outcome:
        """Park ``delivery`` until its dossier moves, unless it has waited the whole window."""
        now = self._clock()
        first = parked_at(delivery)
        window_ms = self._settings.park_window_seconds * 1000
        if (first or _millis(now)) + window_ms <= _millis(now):
            return self._dead_letter(delivery, Rejection(deferral.reason, deferral.detail))
        record = replace(
            self._record(delivery, kind, _dossier_hint(delivery.body), now, outputs=0),
            outcome=Disposition.PARKED,
            reason=str(deferral.reason),
            detail=deferral.detail[:500],
        )
        return Outcome(delivery, (), record, kind, deferral=deferral, reparked=first is not None)

    def _is_duplicate(self, delivery: Delivery) -> bool:
        """Whether the partner sent this message before and the hub forwarded it (contract.md,
        "Duplicates"); the same ``message_id`` with another body is ``conflicting_duplicate``."""
        forwarded = self._seen.body_hash(delivery.partner, delivery.properties.message_id or "")
        if forwarded is None:
            return False  # the common case: the body is hashed once, for the ledger row
        if forwarded != hashlib.sha256(delivery.body).hexdigest():
            raise Rejection(
                Reason.CONFLICTING_DUPLICATE,
                "properties.message_id: already used by another message of this partner",
            )
        return True

    def _duplicate(self, delivery: Delivery, kind: str) -> Outcome:
        """Acknowledged, recorded, not forwarded again."""
        record = self._record(delivery, kind, _dossier_hint(delivery.body), self._clock(), outputs=0)
        record.outcome = Disposition.DUPLICATE
        return Outcome(delivery, (), record, kind)

    def _route(self, delivery: Delivery) -> tuple[Route[Any], str]:
        """The route of ``delivery`` and its contract version, once the envelope passed its checks."""
        checks.check_size(delivery, self._settings.max_body_bytes)
        checks.check_properties(delivery)
        settings = self._settings
        checks.check_user(delivery, settings.accepted_users(delivery.partner), settings.replay_users)
        self._verifier.check(delivery, delivery.received_ms or _millis(self._clock()))
        accepted = self._versions[delivery.partner]
        version = checks.check_contract_version(delivery.properties.headers, accepted, delivery.partner)
        routes = self._connectors[delivery.partner].routes
        checks.check_kind(delivery.routing_key, routes, delivery.partner)
        return routes[delivery.routing_key], version

    def _forward(
        self,
        delivery: Delivery,
        route: Route[Any],
        dossier: str,
        emits: Sequence[Emit | Event],
        flags: tuple[str, ...],
    ) -> Outcome:
        now = self._clock()
        outputs = tuple(
            self._canonical(delivery, emit, index, now)
            if isinstance(emit, Event)
            else self._egress(delivery, emit, index, now)
            for index, emit in enumerate(emits)
        )
        record = self._record(delivery, route.kind, dossier, now, outputs=len(outputs))
        if flags:
            record.detail = "flags: " + ", ".join(flags)
        return Outcome(delivery, outputs, record, route.kind, flags=flags)

    def _with_subscribers(self, results: Sequence[Result], depth: int = 0) -> list[Result]:
        """Each canonical event followed by what the subscribing connectors make of it, theirs in
        turn expanded the same way (a collection requested, then the order sent to the post)."""
        if depth > MAX_SUBSCRIPTION_DEPTH:
            raise RuntimeError("subscriptions feed each other without end")
        expanded: list[Result] = []
        for result in results:
            expanded.append(result)
            if isinstance(result, Event):
                for subscription in self._subscriptions.get(result.record, ()):
                    expanded.extend(
                        self._with_subscribers(subscription(result.datum, self._context), depth + 1)
                    )
        return expanded

    def _egress(self, delivery: Delivery, emit: Emit, index: int, now: datetime) -> Outbound:
        source_id = delivery.properties.message_id or ""
        headers: dict[str, str] = {
            HEADER_CONTRACT_VERSION: CONTRACT_VERSION,
            HEADER_SOURCE_MESSAGE_ID: source_id,
        }
        if emit.unit is not None:
            headers[HEADER_UNIT] = emit.unit
        message_id = derived_message_id(delivery.partner, source_id, emit.partner, emit.kind, str(index))
        body, timestamp = _json(emit.body), int(now.timestamp())
        if self._signer is not None:
            headers.update(self._signer.headers(message_id, timestamp, body))
        return Outbound(
            exchange=egress_exchange(emit.partner),
            routing_key=emit.kind,
            body=body,
            properties=Properties(
                message_id=message_id,
                content_type=CONTENT_TYPE_JSON,
                type=emit.kind,
                timestamp=timestamp,
                correlation_id=emit.dossier,
                delivery_mode=PERSISTENT,
                headers=headers,
            ),
        )

    def _canonical(self, delivery: Delivery, event: Event, index: int, now: datetime) -> Outbound:
        """The canonical event in Avro, on ``hub.events``, named by record and fingerprint headers, its
        personal fields sealed under the dossier's key (the audit gets them clear, as ``payload``)."""
        source_id = delivery.properties.message_id or ""
        event_id = derived_message_id(delivery.partner, source_id, EVENTS_EXCHANGE, event.kind, str(index))
        header = {
            "event_id": event_id,
            "source_partner": delivery.partner.upper(),
            "source_message_id": source_id,
            "occurred_at": (delivery.properties.timestamp or int(now.timestamp())) * 1000,
        }
        datum = {"header": header, **event.datum}
        sealed = self._sealer.seal(event.record, event.dossier, datum, self._keys)
        body, schema_headers = self._registry.encode(event.record, sealed)
        return Outbound(
            exchange=EVENTS_EXCHANGE,
            routing_key=event.kind,
            body=body,
            payload=datum,
            properties=Properties(
                message_id=event_id,
                content_type=CONTENT_TYPE_AVRO,
                type=event.kind,
                timestamp=int(now.timestamp()),
                correlation_id=event.dossier,
                delivery_mode=PERSISTENT,
                headers={
                    HEADER_CONTRACT_VERSION: CONTRACT_VERSION,
                    HEADER_SOURCE_MESSAGE_ID: source_id,
                    **schema_headers,
                },
            ),
        )

    def _dead_letter(self, delivery: Delivery, rejection: Rejection) -> Outcome:
        now = self._clock()
        exchange = dead_letter_exchange(delivery.partner)
        output = dead_letter_of(delivery, exchange, str(rejection.reason), rejection.detail, now)
        original = delivery.properties
        log.info(
            "dead-lettered partner=%s message_id=%s reason=%s detail=%s",
            delivery.partner,
            original.message_id,
            rejection.reason,
            rejection.detail,
            extra=logs.about(
                delivery.partner,
                original.message_id,
                kind=delivery.routing_key[:64],
                reason=str(rejection.reason),
                detail=rejection.detail,
            ),
        )
        record = replace(
            self._record(delivery, delivery.routing_key[:64], _dossier_hint(delivery.body), now, outputs=0),
            outcome=Disposition.DEAD_LETTERED,
            reason=str(rejection.reason),
            detail=rejection.detail[:500],
        )
        return Outcome(delivery, (output,), record)

    def _record(
        self, delivery: Delivery, kind: str | None, dossier: str | None, now: datetime, outputs: int
    ) -> LedgerRecord:
        return LedgerRecord(
            partner=delivery.partner,
            message_id=_storable(delivery.properties.message_id),
            kind=kind,
            dossier=dossier,
            outcome=Disposition.FORWARDED,
            reason=None,
            detail=None,
            outputs=outputs,
            body_sha256=hashlib.sha256(delivery.body).hexdigest(),
            received_at=now,
        )


def _storable(message_id: str | None) -> str | None:
    """A message id as the ledger keeps it: at most 128 characters, control characters escaped (a
    rejected message's id may hold anything, and PostgreSQL refuses NUL in text)."""
    if not message_id:
        return None
    if message_id.isprintable():
        return message_id[:128]
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in message_id)[:128]


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _not_an_opening(change: Change) -> bool:
    return not isinstance(change, DossierOpened)


def _json(body: BaseModel | Mapping[str, Any]) -> bytes:
    if isinstance(body, BaseModel):
        return body.model_dump_json(exclude_none=True).encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _dossier_hint(body: bytes) -> str | None:
    """The dossier code of a rejected message when one can be read, so operators find it by dossier."""
    if len(body) > 64 * 1024:
        return None
    try:
        value = json.loads(body).get("MaHoSo")
    except (ValueError, AttributeError, RecursionError):
        return None
    if isinstance(value, str) and checks.DOSSIER_CODE.match(value):
        return value
    return None
