"""The delivery runner's link to the embedded broker: what hub.bus.egress_channel does on RabbitMQ,
over kombu's virtual transport, so `hub demo --http` can deliver egress in one process.

Unacknowledged messages return to the queue when the connection closes (hub.bus.memory), as on
RabbitMQ. Only the runner's thread may call it, except ``wake``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any

import kombu

from hub.bus.failures import broker_errors
from hub.bus.kombu_messages import kombu_publish, to_delivery
from hub.envelope import Delivery, Outbound

OnDelivery = Callable[[Delivery, int], None]  # a message and its delivery tag
DRAIN_SECONDS = 0.005  # how long one look at the queue waits: a wake is seen within it


class EmbeddedEgressChannel:
    """Consumes ``queue`` (``prefetch`` unacknowledged at most) and publishes dead letters."""

    def __init__(
        self, connect: Callable[[], kombu.Connection], queue: str, prefetch: int, partner: str
    ) -> None:
        self._connect, self._queue, self._prefetch, self._partner = connect, queue, prefetch, partner
        self._connection: kombu.Connection | None = None
        self._consumer: kombu.Consumer | None = None
        self._producer: kombu.Producer | None = None
        self._messages: dict[int, Any] = {}
        self._consuming = False
        self._woken = threading.Event()
        self._on_delivery: OnDelivery | None = None

    def open(self, on_delivery: OnDelivery) -> None:
        self._on_delivery = on_delivery
        with broker_errors("opening the egress queue"):
            connection = self._connection = self._connect()
            channel = connection.channel()
            channel.queue_declare(queue=self._queue, passive=True)
            self._producer = kombu.Producer(connection.channel())
            self._consumer = kombu.Consumer(
                channel,
                [kombu.Queue(self._queue, no_declare=True)],
                on_message=self._delivered,
                prefetch_count=self._prefetch,
                no_ack=False,
            )

    def resume(self) -> None:
        if not self._consuming and self._consumer is not None:
            self._consumer.consume()
            self._consuming = True

    def pause(self) -> None:
        if self._consuming and self._consumer is not None:
            self._consumer.cancel()
            self._consuming = False

    def ack(self, tags: Iterable[int]) -> None:
        for tag in tags:
            self._messages.pop(tag).ack()

    def publish(self, message: Outbound) -> None:
        assert self._producer is not None
        with broker_errors(f"publishing to {message.exchange}"):
            kombu_publish(self._producer, message, mandatory=False)

    def wait(self, seconds: float) -> None:
        """Until a message arrives, ``wake`` is called or ``seconds`` passed."""
        assert self._connection is not None
        deadline = time.monotonic() + seconds
        arrived = len(self._messages)
        while not self._woken.is_set() and len(self._messages) == arrived:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not self._consuming:
                self._woken.wait(min(left, DRAIN_SECONDS))
                continue
            with broker_errors("waiting"), suppress(TimeoutError):
                self._connection.drain_events(timeout=min(left, DRAIN_SECONDS))
        self._woken.clear()

    def wake(self) -> None:
        self._woken.set()

    def ready(self) -> int:
        assert self._connection is not None
        with broker_errors("counting the queue"):
            answer = self._connection.default_channel.queue_declare(queue=self._queue, passive=True)
        return int(answer.message_count)

    def close(self) -> None:
        """Every message not acknowledged goes back to the queue."""
        connection, self._connection = self._connection, None
        self._messages.clear()
        if connection is not None:
            connection.release()

    def _delivered(self, message: Any) -> None:
        assert self._on_delivery is not None
        self._messages[message.delivery_tag] = message
        self._on_delivery(to_delivery(self._partner, message), message.delivery_tag)
