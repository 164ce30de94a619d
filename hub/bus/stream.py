"""Reading a RabbitMQ stream (the canonical events' ``hub.events.log``) from its first offset, as a
consumer outside the worker does.

A stream tells no depth to wait for: the reading ends once no message came for ``idle_seconds``, or at
``limit_seconds`` whatever comes. A broker that refuses the user raises ``BrokerRefused``, any other
broker failure ``TransientError``. Through kombu: pika's consumer rejects what it buffered when
cancelled, and a stream answers a reject by closing the connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import kombu

from hub.bus.failures import broker_errors
from hub.bus.transport import kombu_connection
from hub.bus.urls import BrokerAddress

PREFETCH = 500  # a stream consumer must set one: the broker sends that many ahead of the acks


@dataclass(frozen=True)
class StreamMessage:
    message_id: str | None
    correlation_id: str | None
    routing_key: str
    headers: Mapping[str, Any]
    body: bytes


def read_stream(
    address: BrokerAddress, stream: str, idle_seconds: float, limit_seconds: float
) -> Iterator[StreamMessage]:
    """The messages of ``stream`` from its first offset, in order."""
    received: list[StreamMessage] = []

    def on_message(message: Any) -> None:
        properties, body = message.properties, message.body
        received.append(
            StreamMessage(
                properties.get("message_id"),
                properties.get("correlation_id"),
                str(message.delivery_info.get("routing_key", "")),
                dict(message.headers or {}),
                body.encode() if isinstance(body, str) else bytes(body),  # py-amqp: "" for empty
            )
        )
        message.ack()

    deadline = time.monotonic() + limit_seconds
    with broker_errors(f"reading {stream}", address), kombu_connection(address) as connection:
        channel = connection.channel()
        channel.basic_qos(0, PREFETCH, False)
        queue = kombu.Queue(stream, no_declare=True, consumer_arguments={"x-stream-offset": "first"})
        with kombu.Consumer(channel, [queue], on_message=on_message, no_ack=False):
            while (left := deadline - time.monotonic()) > 0:
                try:
                    connection.drain_events(timeout=min(left, idle_seconds))
                except TimeoutError:
                    return  # quiet: the end of the stream, as far as a reader can tell
                yield from received
                received.clear()
