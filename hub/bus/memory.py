"""The embedded in-memory broker: kombu's virtual transport, one isolated broker per virtual host.

kombu's own ``memory://`` keeps one global broker per process and drops unacknowledged messages when a
channel closes. The hub's embedded default must behave like RabbitMQ where it matters (unacked
messages come back), and tests need isolated brokers, so this transport keys the broker state by the
connection's virtual host and restores unacked messages on close.

It also does what the park needs of RabbitMQ (hub.bus.topology): a queue declared with
``x-message-ttl`` and ``x-dead-letter-exchange`` holds each message that long, then routes it through
that exchange with its routing key. Expiry is checked whenever a consumer polls, as consumers do
every few milliseconds.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from queue import Empty, Queue
from typing import Any, ClassVar

from kombu.transport import memory, virtual
from kombu.transport.virtual.exchange import ExchangeType


@dataclass(frozen=True)
class _Delay:
    seconds: float
    dead_letter_exchange: str
    waiting: deque[tuple[float, Any]] = field(default_factory=deque)  # (due, message), oldest first


@dataclass
class _Broker:
    state: Any = field(default_factory=virtual.BrokerState)
    queues: dict[str, Queue[Any]] = field(default_factory=dict)
    delays: dict[str, _Delay] = field(default_factory=dict)


_BROKERS: dict[str, _Broker] = {}


def _broker(virtual_host: str) -> _Broker:
    return _BROKERS.setdefault(virtual_host, _Broker())


def forget_broker(virtual_host: str) -> None:
    """Drop an embedded broker and everything in it (tests and the demo start clean)."""
    _BROKERS.pop(virtual_host, None)


class _HeadersExchange(ExchangeType):  # type: ignore[misc]
    """Declared, bound, never routed to: only RabbitMQ's own dead-lettering (delivery limits, which
    the embedded broker does not have) publishes through the hub's headers exchange."""

    def lookup(self, table: Any, exchange: str, routing_key: str, default: str) -> set[str]:
        return set()

    def deliver(self, message: Any, exchange: str, routing_key: str, **kwargs: Any) -> None:
        return None


class Channel(memory.Channel):  # type: ignore[misc]
    do_restore = True
    exchange_types: ClassVar[dict[str, Any]] = {**memory.Channel.exchange_types, "headers": _HeadersExchange}

    @property
    def queues(self) -> dict[str, Queue[Any]]:
        return _broker(self.connection.client.virtual_host).queues

    @queues.setter
    def queues(self, _value: object) -> None:
        """kombu resets the attribute on close; the broker's queues outlive channels."""

    def close(self) -> None:
        virtual.Channel.close(self)

    @property
    def _delays(self) -> dict[str, _Delay]:
        return _broker(self.connection.client.virtual_host).delays

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        super()._new_queue(queue, **kwargs)
        arguments = kwargs.get("arguments") or {}
        ttl, target = arguments.get("x-message-ttl"), arguments.get("x-dead-letter-exchange")
        if ttl is not None and target is not None and queue not in self._delays:
            self._delays[queue] = _Delay(ttl / 1000, target)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return queue in self.queues or queue in self._delays

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        delay = self._delays.get(queue)
        if delay is None:
            super()._put(queue, message, **kwargs)
        else:
            delay.waiting.append((time.monotonic() + delay.seconds, message))

    def _put_fanout(self, exchange: str, message: Any, routing_key: str, **kwargs: Any) -> None:
        # kombu's memory channel puts fanout messages straight into queues: through _put instead,
        # so a delay queue behind a fanout exchange (the park) delays them.
        for queue in self._lookup(exchange, routing_key):
            self._put(queue, message)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        self._expire()
        delay = self._delays.get(queue)
        if delay is None:
            return super()._get(queue, timeout)
        if not delay.waiting:
            raise Empty()
        return delay.waiting.popleft()[1]  # a basic.get on a delay queue, as an operator's peek

    def _size(self, queue: str) -> int:
        delay = self._delays.get(queue)
        return super()._size(queue) if delay is None else len(delay.waiting)

    def _expire(self) -> None:
        now = time.monotonic()
        for delay in self._delays.values():
            while delay.waiting and delay.waiting[0][0] <= now:
                message = delay.waiting.popleft()[1]
                routing_key = message["properties"]["delivery_info"]["routing_key"]
                for target in self._lookup(delay.dead_letter_exchange, routing_key):
                    super()._put(target, message)


class Transport(memory.Transport):  # type: ignore[misc]
    Channel = Channel
    driver_name = "hub-memory"

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.state = _broker(client.virtual_host).state
