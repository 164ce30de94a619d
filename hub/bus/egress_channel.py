"""The delivery runner's link to RabbitMQ: one pika ``BlockingConnection`` consuming
``egress.<partner>`` with a prefetch window, acknowledging, and publishing dead letters with confirms.

Why pika's blocking connection here: the runner's thread owns the connection and waits on it
between its calls to the partner (``wait`` runs the I/O loop, so heartbeats are answered however
long a partner keeps the runner waiting), and ``basic_publish`` on a confirming channel returns
only once the broker confirmed, or raises when it refused or could not route. Throughput is the
partner's, not the broker's: one confirm wait per dead letter is plenty. Like ``hub run`` the
runner declares nothing: queues and exchanges are checked passively.

Only the runner's thread may call this object (pika connections are not thread-safe).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pika
from pika.exceptions import AMQPChannelError, AMQPConnectionError, AMQPError

from hub.bus.failures import refusal
from hub.bus.pika_session import connection_parameters, pika_properties, properties_from_pika
from hub.bus.urls import BrokerAddress
from hub.envelope import Delivery, Outbound
from hub.errors import TopologyMissing, TransientError

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30
NOT_FOUND = 404
OnDelivery = Callable[[Delivery, int], None]  # a message and its delivery tag


class EgressChannel:
    """Consumes ``queue`` (``prefetch`` unacknowledged at most) and publishes with confirms."""

    def __init__(
        self, address: BrokerAddress, queue: str, prefetch: int, partner: str, exchanges: Iterable[str] = ()
    ) -> None:
        self._address, self._queue, self._prefetch, self._partner = address, queue, prefetch, partner
        self._exchanges = tuple(exchanges)  # checked on opening: those it publishes to
        self._connection: Any = None
        self._channel: Any = None
        self._publisher: Any = None
        self._consumer_tag: str | None = None
        self._on_delivery: OnDelivery | None = None
        self._paused = False
        self._kept: list[tuple[Delivery, int]] = []  # arrived while paused, in arrival order

    def open(self, on_delivery: OnDelivery) -> None:
        """Connect and check the queue and the exchanges exist; ``resume`` starts consuming."""
        parameters = connection_parameters(self._address)
        for each in parameters:
            each.heartbeat = HEARTBEAT_SECONDS
        with self._errors("connecting"):
            self._connection = pika.BlockingConnection(parameters)
            self._channel = self._connection.channel()
            self._channel.basic_qos(prefetch_count=self._prefetch)
            self._publisher = self._connection.channel()
            self._publisher.confirm_delivery()
        self._require(self._queue, "queue_declare")
        for name in self._exchanges:
            self._require(name, "exchange_declare")
        self._on_delivery = on_delivery

    def resume(self) -> None:
        """Hand messages to the runner (again): first those that arrived while paused, in order."""
        if self._consumer_tag is None:
            with self._errors("consuming"):
                self._consumer_tag = self._channel.basic_consume(self._queue, self._delivered)
        self._paused = False
        kept, self._kept = self._kept, []
        for delivery, tag in kept:
            self._hand_over(delivery, tag)

    def pause(self) -> None:
        """Hand no more messages to the runner until ``resume``; what arrives meanwhile (the prefetch
        window bounds it) is kept here, unacknowledged, and returns to the queue if the connection
        closes. The consumer is not cancelled: on a cancel pika rejects the deliveries it buffered
        with requeue, and a quorum queue puts a rejected message behind the later messages of its
        dossier (a channel that closes returns them in their order)."""
        self._paused = True

    def ack(self, tags: Iterable[int]) -> None:
        with self._errors("acknowledging"):
            for tag in tags:
                self._channel.basic_ack(tag)

    def publish(self, message: Outbound) -> None:
        """Publish ``message`` mandatory and wait for the confirm; ``TransientError`` when the broker
        refused it or could not route it (nothing bound: ``hub topology apply``)."""
        with self._errors(f"publishing to {message.exchange}"):
            self._publisher.basic_publish(
                message.exchange, message.routing_key, message.body, pika_properties(message), mandatory=True
            )

    def wait(self, seconds: float) -> None:
        """Run the I/O loop for up to ``seconds``: deliveries arrive, heartbeats are answered."""
        with self._errors("waiting"):
            self._connection.process_data_events(time_limit=max(0.0, seconds))

    def wake(self) -> None:
        """End a ``wait`` early; the one method other threads may call."""
        connection = self._connection
        if connection is not None:
            with suppress(AMQPError):  # closed meanwhile: the waiting thread learns it anyway
                connection.add_callback_threadsafe(_nothing)

    def ready(self) -> int:
        """Messages ready in the queue (not yet delivered to any consumer)."""
        with self._errors("counting the queue"):
            return int(self._publisher.queue_declare(self._queue, passive=True).method.message_count)

    def close(self) -> None:
        """Close; every message not acknowledged goes back to the queue."""
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except AMQPError as error:  # closing a broken connection: nothing left to save
                log.debug("closing the egress connection: %s", type(error).__name__)

    def _delivered(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        delivery = Delivery(
            self._partner,
            method.exchange,
            method.routing_key,
            body,
            properties_from_pika(properties),
            method.redelivered,
        )
        if self._paused:
            self._kept.append((delivery, method.delivery_tag))
        else:
            self._hand_over(delivery, method.delivery_tag)

    def _hand_over(self, delivery: Delivery, tag: int) -> None:
        assert self._on_delivery is not None  # consuming starts in open()
        self._on_delivery(delivery, tag)

    def _require(self, name: str, declare: str) -> None:
        """A passive ``declare`` (queue or exchange) on a channel of its own: a 404 closes it."""
        with self._errors(f"checking {name}"):
            channel = self._connection.channel()
            try:
                getattr(channel, declare)(name, passive=True)
            except pika.exceptions.ChannelClosedByBroker as error:
                if error.reply_code == NOT_FOUND:
                    missing = f"{name} does not exist on the broker: run `hub topology apply`"
                    raise TopologyMissing(missing) from None
                raise
            channel.close()

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (AMQPConnectionError, AMQPChannelError, AMQPError, OSError) as error:
            code = getattr(error, "reply_code", None)
            text = str(getattr(error, "reply_text", "") or error)
            refused = refusal(self._address, code if isinstance(code, int) else None, text)
            if refused is not None:
                raise refused from None
            raise TransientError(
                f"HUB_BROKER_URL ({self._address.masked()}): while {doing}: {type(error).__name__}: {text}"
            ) from None


def _nothing() -> None:
    """What ``wake`` runs on the I/O thread: returning from the wait is the point."""
