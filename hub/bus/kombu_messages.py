"""Translation between kombu messages and the hub's envelope, for both brokers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import kombu

from hub.envelope import Delivery, Outbound, Properties


def _timestamp(value: object) -> int | None:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, int):
        return value
    return None


def _bytes(body: object) -> bytes:
    # py-amqp gives an empty body as "" (a str): a claim probe has one, for instance.
    return body.encode() if isinstance(body, str) else bytes(body)  # type: ignore[call-overload]


def to_delivery(partner: str, message: Any) -> Delivery:
    """Translate a kombu message into the hub's transport-neutral delivery."""
    props: Mapping[str, Any] = message.properties
    info: Mapping[str, Any] = message.delivery_info
    return Delivery(
        partner=partner,
        exchange=str(info.get("exchange", "")),
        routing_key=str(info.get("routing_key", "")),
        body=_bytes(message.body),
        properties=Properties(
            message_id=props.get("message_id"),
            content_type=message.content_type or None,
            type=props.get("type"),
            timestamp=_timestamp(props.get("timestamp")),
            user_id=props.get("user_id"),
            correlation_id=props.get("correlation_id"),
            delivery_mode=props.get("delivery_mode"),
            headers=dict(message.headers or {}),
        ),
        redelivered=bool(info.get("redelivered", False)),
    )


def kombu_publish(
    producer: kombu.Producer, message: Outbound, *, mandatory: bool, confirm_timeout: float | None = None
) -> None:
    """Publish one message through kombu with the contract's properties, body untouched; with
    ``confirm_timeout``, a confirm that does not come within it fails the publish."""
    p = message.properties
    optional = {
        name: value
        for name, value in (
            ("message_id", p.message_id),
            ("correlation_id", p.correlation_id),
            ("type", p.type),
            ("timestamp", p.timestamp),
            ("user_id", p.user_id),
        )
        if value is not None
    }
    producer.publish(
        message.body,
        exchange=message.exchange,
        routing_key=message.routing_key,
        content_type=p.content_type,
        content_encoding="binary",
        delivery_mode=p.delivery_mode,
        headers=dict(p.headers),
        mandatory=mandatory,
        retry=False,
        confirm_timeout=confirm_timeout,
        **optional,
    )
