"""What the fault runs ask RabbitMQ: queue depths and consumers, and every message left on a queue.

Plain pika on connections of their own (never the hub's): a probe survives the broker going away
(it answers None and connects again next time), a reader takes a whole queue.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import kombu
import pika
import pika.exceptions

BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)
READ_PREFETCH = 500
STREAM_IDLE_SECONDS = 2.0


@dataclass(frozen=True)
class Received:
    """A message read from a queue, as the checker needs it."""

    queue: str
    message_id: str | None
    headers: dict[str, Any]


def _parameters(url: str) -> pika.URLParameters:
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.socket_timeout = 2
    return parameters


class QueueProbe:
    """Messages ready and consumers of queues, by passive declares on a connection of its own."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: Any = None
        self._channel: Any = None

    def counts(self, queues: Sequence[str]) -> dict[str, tuple[int, int]] | None:
        """queue -> (messages ready, consumers); None while the broker does not answer."""
        try:
            if self._channel is None:
                self._connection = pika.BlockingConnection(_parameters(self._url))
                self._channel = self._connection.channel()
            counts = {}
            for queue in queues:
                method = self._channel.queue_declare(queue, passive=True).method
                counts[queue] = (int(method.message_count), int(method.consumer_count))
        except BROKER_ERRORS:
            self.close()
            return None
        return counts

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(*BROKER_ERRORS):  # going anyway
                connection.close()


def take_all(url: str, queue: str, timeout: float) -> list[Received]:
    """Every message ready on ``queue``, taken off it (acknowledged)."""
    connection = pika.BlockingConnection(_parameters(url))
    try:
        channel = connection.channel()
        ready = int(channel.queue_declare(queue, passive=True).method.message_count)
        return _consume(connection, channel, queue, ready, timeout)
    finally:
        _close(connection)


def read_stream(url: str, stream: str, distinct: int, timeout: float) -> list[Received]:
    """The messages of ``stream`` from its first offset, until ``distinct`` message ids were seen or
    the stream stayed quiet for ``STREAM_IDLE_SECONDS`` (a stream tells no depth to wait for).

    Through kombu: pika's consumer rejects what it buffered when cancelled, and a stream refuses
    rejects by closing the connection.
    """
    got: list[Received] = []
    ids: set[str | None] = set()

    def on_message(message: Any) -> None:
        got.append(Received(stream, message.properties.get("message_id"), dict(message.headers or {})))
        ids.add(got[-1].message_id)
        message.ack()

    deadline = time.monotonic() + timeout
    with kombu.Connection(url) as connection:
        channel = connection.channel()
        channel.basic_qos(0, READ_PREFETCH, False)
        queue = kombu.Queue(stream, no_declare=True, consumer_arguments={"x-stream-offset": "first"})
        with kombu.Consumer(channel, [queue], on_message=on_message, no_ack=False):
            while len(ids) < distinct and (left := deadline - time.monotonic()) > 0:
                try:
                    connection.drain_events(timeout=min(left, STREAM_IDLE_SECONDS))
                except TimeoutError:
                    break  # quiet: what is missing shows in the figures
    return got


def _close(connection: Any) -> None:
    if connection.is_open:
        connection.close()


def _consume(connection: Any, channel: Any, queue: str, count: int, timeout: float) -> list[Received]:
    """Up to ``count`` messages of ``queue``, each acknowledged, within ``timeout``."""
    got: list[Received] = []
    if count <= 0:
        return got

    def on_message(_channel: Any, method: Any, properties: Any, _body: bytes) -> None:
        got.append(Received(queue, properties.message_id, dict(properties.headers or {})))
        channel.basic_ack(method.delivery_tag)

    channel.basic_qos(prefetch_count=READ_PREFETCH)
    tag = channel.basic_consume(queue, on_message)
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.2)
    channel.basic_cancel(tag)
    # One round trip, so the acks are settled before the connection closes (quorum queues on 3.10).
    channel.queue_declare(queue, passive=True)
    return got
