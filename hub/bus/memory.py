"""The embedded in-memory broker: kombu's virtual transport, one isolated broker per virtual host.

kombu's own ``memory://`` keeps one global broker per process and drops unacknowledged messages when a
channel closes. The hub's embedded default must behave like RabbitMQ where it matters (unacked
messages come back), and tests need isolated brokers, so this transport keys the broker state by the
connection's virtual host and restores unacked messages on close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from queue import Queue
from typing import Any

from kombu.transport import memory, virtual


@dataclass
class _Broker:
    state: Any = field(default_factory=virtual.BrokerState)
    queues: dict[str, Queue[Any]] = field(default_factory=dict)


_BROKERS: dict[str, _Broker] = {}


def _broker(virtual_host: str) -> _Broker:
    return _BROKERS.setdefault(virtual_host, _Broker())


def forget_broker(virtual_host: str) -> None:
    """Drop an embedded broker and everything in it (tests and the demo start clean)."""
    _BROKERS.pop(virtual_host, None)


class Channel(memory.Channel):  # type: ignore[misc]
    do_restore = True

    @property
    def queues(self) -> dict[str, Queue[Any]]:
        return _broker(self.connection.client.virtual_host).queues

    @queues.setter
    def queues(self, _value: object) -> None:
        """kombu resets the attribute on close; the broker's queues outlive channels."""

    def close(self) -> None:
        virtual.Channel.close(self)


class Transport(memory.Transport):  # type: ignore[misc]
    Channel = Channel
    driver_name = "hub-memory"

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.state = _broker(client.virtual_host).state
