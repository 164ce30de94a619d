"""What the gateway does with a message that passed its checks: publish once, remember the key.

Runs on a worker thread (the broker and store calls block). The order is the guarantee: the key is
recorded only after the broker confirmed the message, so a crash in between leaves no record, and
the client's retry publishes again with the same ``message_id``, which the hub's duplicate check
settles as a duplicate. A key on record with the same body answers at once, without publishing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from hub.bus.ingress import ingress_message
from hub.envelope import Outbound
from hub.gateway.idempotency import IdempotencyKeys
from hub.gateway.metrics import GatewayMetrics
from hub.gateway.problems import Problem

log = logging.getLogger("hub.gateway")


class Publisher(Protocol):
    def publish(self, message: Outbound) -> None: ...


@dataclass(frozen=True)
class PartnerDoor:
    """One partner's way onto its ingress: its broker user and the publisher logged in as it."""

    user: str
    publisher: Publisher


@dataclass(frozen=True)
class Posted:
    partner: str
    kind: str
    key: str
    body: bytes
    digest: str
    contract_version: str


@dataclass(frozen=True)
class Accepted:
    message_id: str
    published: bool  # False: a repeat of an accepted key, answered without publishing again


class MessageService:
    def __init__(
        self, doors: Mapping[str, PartnerDoor], keys: IdempotencyKeys, metrics: GatewayMetrics
    ) -> None:
        self._doors = doors
        self._keys = keys
        self._metrics = metrics

    def accept(self, posted: Posted) -> Accepted:
        recorded = self._keys.digest_of(posted.partner, posted.key)
        if recorded is not None:
            return self._repeat(posted, recorded)
        door = self._doors[posted.partner]
        door.publisher.publish(self._message(posted, door.user))
        self._metrics.published.labels(posted.partner).inc()
        recorded = self._keys.record(posted.partner, posted.key, posted.kind, posted.digest)
        if recorded != posted.digest:  # a concurrent request with this key and another body won
            log.warning("idempotency key raced with another body (partner %s)", posted.partner)
            self._conflict(posted)
        return Accepted(posted.key, published=True)

    def _repeat(self, posted: Posted, recorded: str) -> Accepted:
        if recorded != posted.digest:
            self._conflict(posted)
        self._metrics.repeats.labels(posted.partner).inc()
        return Accepted(posted.key, published=False)

    def _conflict(self, posted: Posted) -> None:
        self._metrics.conflicts.labels(posted.partner).inc()
        raise Problem(
            409,
            "idempotency_key_reused",
            "this Idempotency-Key was already accepted with another body",
            "Idempotency-Key",
        )

    @staticmethod
    def _message(posted: Posted, user: str) -> Outbound:
        return ingress_message(
            posted.partner,
            posted.kind,
            posted.body,
            message_id=posted.key,
            user_id=user,
            timestamp=int(time.time()),
            contract_version=posted.contract_version,
        )
