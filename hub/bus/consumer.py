"""Consuming ingress queues with kombu, the same code over RabbitMQ and the embedded broker."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextlib import suppress
from datetime import datetime
from functools import partial
from typing import Any

import kombu

from hub.bus.failures import broker_errors
from hub.envelope import Delivery, Properties

Tag = int | str  # a delivery tag: an int on RabbitMQ, a UUID string on the embedded broker
OnDelivery = Callable[[Delivery, Tag], None]


def _timestamp(value: object) -> int | None:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, int):
        return value
    return None


def to_delivery(partner: str, message: Any) -> Delivery:
    """Translate a kombu message into the hub's transport-neutral delivery."""
    props: Mapping[str, Any] = message.properties
    info: Mapping[str, Any] = message.delivery_info
    return Delivery(
        partner=partner,
        exchange=str(info.get("exchange", "")),
        routing_key=str(info.get("routing_key", "")),
        body=bytes(message.body),
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


class KombuConsumer:
    """Consumes several ingress queues on one channel; each queue belongs to one partner."""

    def __init__(
        self,
        connection: kombu.Connection,
        queue_partners: Mapping[str, str],
        prefetch: int,
        on_delivery: OnDelivery,
        multiple_acks: bool,
    ) -> None:
        self._connection = connection
        self._multiple_acks = multiple_acks
        self._unsettled: dict[Tag, Any] = {}  # in delivery order
        self._queue_partners = dict(queue_partners)
        self._prefetch = prefetch
        self._on_delivery = on_delivery
        self._consumers: list[kombu.Consumer] = []

    def start(self) -> None:
        with broker_errors("starting to consume"):
            self._consume()

    def _consume(self) -> None:
        self._connection.ensure_connection(max_retries=1)
        channel = self._connection.channel()
        for queue_name, partner in self._queue_partners.items():
            consumer = kombu.Consumer(
                channel,
                [kombu.Queue(queue_name, no_declare=True)],
                on_message=partial(self._deliver, partner),
                prefetch_count=self._prefetch,
                no_ack=False,
            )
            consumer.consume()
            self._consumers.append(consumer)

    def _deliver(self, partner: str, message: Any) -> None:
        self._unsettled[message.delivery_tag] = message
        self._on_delivery(to_delivery(partner, message), message.delivery_tag)

    def ack(self, tags: Collection[Tag]) -> None:
        """Acknowledge ``tags``: one ``multiple`` ack for the oldest run of them, single acks after.

        Besides saving frames, this matters on RabbitMQ 3.10 quorum queues: a burst of single acks
        is buffered by the broker's channel and partly lost if the connection closes right after,
        so those messages come back although their work was done.
        """
        with broker_errors("acknowledging"):
            last_of_run = None
            if self._multiple_acks:
                for tag in self._unsettled:
                    if tag not in tags:
                        break
                    last_of_run = tag
            if last_of_run is not None:
                self._unsettled[last_of_run].ack(multiple=True)
            for tag in tags:
                message = self._unsettled.pop(tag)
                if last_of_run is None or tag > last_of_run:  # type: ignore[operator]
                    message.ack()

    def requeue(self, tag: Tag) -> None:
        with broker_errors("requeueing"):
            self._unsettled.pop(tag).requeue()

    def poll(self, timeout: float) -> None:
        """Handle whatever arrives within ``timeout`` seconds (at most one batch of frames)."""
        with broker_errors("consuming"):
            with suppress(TimeoutError):
                self._connection.drain_events(timeout=timeout)
            self._connection.heartbeat_check()

    def close(self) -> None:
        self._unsettled.clear()
        self._consumers.clear()
        self._connection.release()
