"""Publishing with confirms: the interface the worker uses, and the embedded broker's implementation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from queue import SimpleQueue

import kombu

from hub.envelope import Outbound


class Publisher(ABC):
    """Publishes the outputs of one input as a batch named by ``token``.

    Once the broker has settled every message of a batch, ``(token, ok)`` appears on ``results``:
    ``ok`` is false when any message was nacked, returned as unroutable, or lost with the
    connection. ``publish`` never waits for confirms, so many batches are in flight at once.
    """

    results: SimpleQueue[tuple[int, bool]]

    @abstractmethod
    def start(self) -> None:
        """Connect; raise ``TransientError`` when the broker cannot be reached."""

    @property
    @abstractmethod
    def broken(self) -> bool:
        """True once the connection is lost; the owner must open a new publisher."""

    @abstractmethod
    def publish(self, token: int, messages: Sequence[Outbound]) -> None: ...

    @abstractmethod
    def close(self) -> None: ...


def kombu_publish(producer: kombu.Producer, message: Outbound, *, mandatory: bool) -> None:
    """Publish one message through kombu with the contract's properties, body untouched."""
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
        **optional,
    )


class KombuPublisher(Publisher):
    """Publishes on the embedded broker, where a publish is settled as soon as it returns."""

    def __init__(self, connection: kombu.Connection) -> None:
        self.results = SimpleQueue()
        self._connection = connection
        self._producer: kombu.Producer | None = None

    def start(self) -> None:
        self._producer = kombu.Producer(self._connection.channel())

    @property
    def broken(self) -> bool:
        return False

    def publish(self, token: int, messages: Sequence[Outbound]) -> None:
        assert self._producer is not None, "start() first"
        for message in messages:
            kombu_publish(self._producer, message, mandatory=False)
        self.results.put((token, True))

    def close(self) -> None:
        self._connection.release()
