"""The messages as the pipeline sees them: transport-neutral, plain values, no broker objects."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

CONTENT_TYPE_JSON = "application/json"
PERSISTENT = 2

HEADER_CONTRACT_VERSION = "x-contract-version"
HEADER_SOURCE_MESSAGE_ID = "x-hub-source-message-id"
HEADER_UNIT = "x-hub-unit"
HEADER_REASON = "x-hub-reason"
HEADER_DETAIL = "x-hub-detail"
HEADER_ORIGINAL_EXCHANGE = "x-hub-original-exchange"
HEADER_ORIGINAL_ROUTING_KEY = "x-hub-original-routing-key"
HEADER_ORIGINAL_USER_ID = "x-hub-original-user-id"
HEADER_REJECTED_AT = "x-hub-rejected-at"
HEADER_REPLAYED_FROM_USER = "x-hub-replayed-from-user"
HEADER_PARTNER_CODE = "x-hub-partner-code"  # an egress dead letter: the code the partner refused with


# The value objects below are created several times per message: plain slotted dataclasses,
# because a frozen dataclass costs about seven times as much to build. Treat them as immutable.


@dataclass(slots=True)
class Properties:
    """The AMQP basic properties the contract speaks of; ``None`` where the publisher set none."""

    message_id: str | None = None
    content_type: str | None = None
    type: str | None = None
    timestamp: int | None = None
    user_id: str | None = None
    correlation_id: str | None = None
    delivery_mode: int | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Delivery:
    """One message taken from an ingress queue, not yet acknowledged."""

    partner: str
    exchange: str
    routing_key: str
    body: bytes
    properties: Properties
    redelivered: bool = False
    # When the hub's router took it off the ingress (ms since the epoch; hub.partitions): a signed
    # message's age is judged then. None: not routed (tools and tests), judged at processing time.
    received_ms: int | None = None


@dataclass(slots=True)
class Outbound:
    """One message the hub publishes; published with confirms and ``mandatory`` set."""

    exchange: str
    routing_key: str
    body: bytes
    properties: Properties
    # What ``body`` encodes, when the hub built it: the audit log reads it instead of decoding
    # ``body`` again. Never sent.
    payload: Any = None


def derived_message_id(source_partner: str, source_message_id: str, *parts: str) -> str:
    """A deterministic id for an output: the same input always yields the same output ids."""
    seed = "\x1f".join((source_partner, source_message_id, *parts)).encode()
    return "hub-" + hashlib.sha256(seed).hexdigest()[:32]


def dead_letter_of(
    delivery: Delivery, exchange: str, reason: str, detail: str, at: datetime, **more: str
) -> Outbound:
    """``delivery`` as a dead letter on ``exchange``: its body and properties as they came, plus the
    reason, the detail, where it first came to and when (and the headers ``more``), so a replay can
    send it back unchanged. Its ``user_id`` moves to a header: the broker refuses a ``user_id`` other
    than the publisher's own."""
    original = delivery.properties
    headers = {
        **original.headers,
        HEADER_REASON: reason,
        HEADER_DETAIL: detail,
        HEADER_ORIGINAL_EXCHANGE: delivery.exchange,
        HEADER_ORIGINAL_ROUTING_KEY: delivery.routing_key,
        HEADER_REJECTED_AT: at.isoformat(timespec="seconds"),
        **more,
    }
    if original.user_id:
        headers[HEADER_ORIGINAL_USER_ID] = original.user_id
    properties = replace(original, user_id=None, delivery_mode=PERSISTENT, headers=headers)
    return Outbound(exchange, delivery.routing_key, delivery.body, properties)
