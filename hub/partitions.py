"""Partitioned ingress: which partition a message belongs to, and how it travels there and back.

The router (one active consumer per ingress queue) reads each message's dossier code through its
connector's ``partition_key`` and republishes it to ``hub.partitions`` with the partition number as
routing key, so every message of a dossier, whichever partner sent it, is judged by the one worker
that holds that partition, in arrival order. A direct exchange and a stable hash (CRC-32 of the
dossier code, modulo the partition count) do what the consistent-hash plugin would: the router must
read the body anyway, and a plain number keeps the embedded broker and RabbitMQ on one topology.

Republishing as the hub's own broker user loses the partner's ``user_id`` (RabbitMQ only lets a
publisher claim its own user), so the router moves it, the partner and the original routing key
into headers that only the hub can write (partners cannot publish to ``hub.partitions``); headers of
those names sent by a partner are dropped first. ``unwrap`` restores the message as the partner sent
it before the pipeline judges it.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import orjson

from hub.bus.topology import (
    HEADER_DEAD_LETTER_PARTNER,
    HEADER_PARTNER,
    PARTITIONS_EXCHANGE,
    ingress_exchange,
    park_exchange,
)
from hub.envelope import CONTENT_TYPE_JSON, Delivery, Outbound

HEADER_USER_ID = "x-hub-user-id"
HEADER_ROUTING_KEY = "x-hub-routing-key"
HEADER_PARKED_AT = "x-hub-parked-at"  # milliseconds since the epoch, when the message first waited
HEADER_PARK_REASON = "x-hub-park-reason"  # what it is dead-lettered with if it waits too long
HEADER_PARK_DETAIL = "x-hub-park-detail"  # field path and rule, never a value
# Milliseconds since the epoch, when the router took the message off its ingress: a signed message's
# age is judged then, not after it waited on a partition or in the park (hub.signatures).
HEADER_RECEIVED_AT = "x-hub-received-at"
ROUTED_HEADERS = frozenset(
    {HEADER_PARTNER, HEADER_DEAD_LETTER_PARTNER, HEADER_USER_ID, HEADER_ROUTING_KEY, HEADER_RECEIVED_AT}
)
HUB_ONLY_HEADERS = ROUTED_HEADERS | {HEADER_PARKED_AT, HEADER_PARK_REASON, HEADER_PARK_DETAIL}
MAX_KEY_BODY = 64 * 1024  # larger bodies are not parsed for their key: the pipeline refuses most

PartitionKey = Callable[[Mapping[str, Any]], str | None]


def partition_of(key: str, count: int) -> int:
    """The partition of ``key``: stable across processes and hosts (unlike ``hash``)."""
    return zlib.crc32(key.encode()) % count


class Router:
    """Turns an ingress delivery into its message on ``hub.partitions``."""

    def __init__(
        self, keys: Mapping[str, PartitionKey], count: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = dict(keys)
        self._count = count
        self._clock = clock

    def key(self, delivery: Delivery) -> str:
        """The dossier code when the body names one, else the correlation id (which a partner
        publishing canonical Avro may set to the dossier code), else the message id."""
        properties = delivery.properties
        found = self._body_key(delivery) if properties.content_type == CONTENT_TYPE_JSON else None
        return found or properties.correlation_id or properties.message_id or ""

    def _body_key(self, delivery: Delivery) -> str | None:
        keyer = self._keys.get(delivery.partner)
        if keyer is None or len(delivery.body) > MAX_KEY_BODY:
            return None
        try:
            body = orjson.loads(delivery.body)
        except orjson.JSONDecodeError:
            return None  # the pipeline dead-letters it; any partition will do
        return keyer(body) if isinstance(body, dict) else None

    def route(self, delivery: Delivery) -> Outbound:
        properties = delivery.properties
        headers = {k: v for k, v in properties.headers.items() if k not in HUB_ONLY_HEADERS}
        headers[HEADER_PARTNER] = headers[HEADER_DEAD_LETTER_PARTNER] = delivery.partner
        headers[HEADER_ROUTING_KEY] = delivery.routing_key
        headers[HEADER_RECEIVED_AT] = int(self._clock() * 1000)
        if properties.user_id is not None:
            headers[HEADER_USER_ID] = properties.user_id
        partition = partition_of(self.key(delivery), self._count)
        routed = replace(properties, user_id=None, headers=headers)
        return Outbound(PARTITIONS_EXCHANGE, str(partition), delivery.body, routed)


def unwrap(delivery: Delivery) -> Delivery | None:
    """The message as its partner sent it, from its copy on a partition; None when it did not come
    through the router (only the hub may publish to ``hub.partitions``)."""
    headers = delivery.properties.headers
    partner, routing_key = headers.get(HEADER_PARTNER), headers.get(HEADER_ROUTING_KEY)
    if not isinstance(partner, str) or not isinstance(routing_key, str):
        return None
    user_id = headers.get(HEADER_USER_ID)
    received_ms = headers.get(HEADER_RECEIVED_AT)
    kept = {k: v for k, v in headers.items() if k not in ROUTED_HEADERS}
    properties = replace(
        delivery.properties, user_id=user_id if isinstance(user_id, str) else None, headers=kept
    )
    return Delivery(
        partner,
        ingress_exchange(partner),
        routing_key,
        delivery.body,
        properties,
        delivery.redelivered,
        received_ms if isinstance(received_ms, int) and not isinstance(received_ms, bool) else None,
    )


def parked_at(delivery: Delivery) -> int | None:
    """When ``delivery`` first went to the park (ms), or None if it never did."""
    value = delivery.properties.headers.get(HEADER_PARKED_AT)
    return value if isinstance(value, int) else None


def park(delivery: Delivery, partition: int, reason: str, detail: str, now_ms: int) -> Outbound:
    """``delivery`` (as unwrapped) on its way to the park, from where it returns to ``partition``."""
    properties = delivery.properties
    headers = {k: v for k, v in properties.headers.items() if k not in HUB_ONLY_HEADERS}
    headers.update({
        HEADER_PARTNER: delivery.partner,
        HEADER_DEAD_LETTER_PARTNER: delivery.partner,
        HEADER_ROUTING_KEY: delivery.routing_key,
        HEADER_PARKED_AT: parked_at(delivery) or now_ms,
        HEADER_PARK_REASON: reason,
        HEADER_PARK_DETAIL: detail,
    })  # fmt: skip
    if delivery.received_ms is not None:
        headers[HEADER_RECEIVED_AT] = delivery.received_ms
    if properties.user_id is not None:
        headers[HEADER_USER_ID] = properties.user_id
    waiting = replace(properties, user_id=None, headers=headers)
    return Outbound(park_exchange(delivery.partner), str(partition), delivery.body, waiting)
