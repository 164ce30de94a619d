"""Declaring the topology on a broker: idempotent, and loud about entities that differ."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import kombu

from hub.bus.topology import Binding, Exchange, Queue, Topology
from hub.errors import TopologyConflict, TopologyMissing

_NOT_FOUND = 404
_PRECONDITION_FAILED = 406
_INEQUIVALENT_ARG = re.compile(r"inequivalent arg '([^']+)'")


@dataclass(frozen=True)
class Declared:
    """One entity of an apply: ``existed`` is false when this apply created it."""

    kind: Literal["exchange", "queue", "binding"]
    name: str
    existed: bool


def _code(error: BaseException) -> int | None:
    code = getattr(error, "code", None) or getattr(error, "reply_code", None)
    return code if isinstance(code, int) else None


class _Declarer:
    """Runs declarations on a channel, opening a fresh one after the broker closes it on error."""

    def __init__(self, connection: kombu.Connection) -> None:
        self._connection = connection
        self._channel: Any = connection.channel()

    def exists(self, declare_passively: Callable[[Any], object]) -> bool:
        try:
            declare_passively(self._channel)
        except self._connection.channel_errors as error:
            if _code(error) not in (_NOT_FOUND, None):
                raise
            self._channel = self._connection.channel()
            return False
        return True

    def declare(self, entity: str, declare: Callable[[Any], object]) -> None:
        try:
            declare(self._channel)
        except self._connection.channel_errors as error:
            text = str(error)
            match = _INEQUIVALENT_ARG.search(text)
            if _code(error) == _PRECONDITION_FAILED or match or "not equivalent" in text.lower():
                raise TopologyConflict(entity, match.group(1) if match else "arguments", text) from None
            raise

    def close(self) -> None:
        self._channel.close()


def _exchange(declarer: _Declarer, exchange: Exchange) -> Declared:
    existed = declarer.exists(
        lambda ch: ch.exchange_declare(exchange=exchange.name, type=exchange.type, passive=True)
    )
    declarer.declare(
        f"exchange {exchange.name!r}",
        lambda ch: ch.exchange_declare(
            exchange=exchange.name,
            type=exchange.type,
            durable=True,
            auto_delete=False,
            arguments=dict(exchange.arguments),
        ),
    )
    return Declared("exchange", exchange.name, existed)


def _queue(declarer: _Declarer, queue: Queue) -> Declared:
    existed = declarer.exists(lambda ch: ch.queue_declare(queue=queue.name, passive=True))
    declarer.declare(
        f"queue {queue.name!r}",
        lambda ch: ch.queue_declare(
            queue=queue.name,
            durable=True,
            exclusive=False,
            auto_delete=False,
            arguments=dict(queue.arguments),
        ),
    )
    return Declared("queue", queue.name, existed)


def _binding(declarer: _Declarer, binding: Binding) -> Declared:
    name = f"{binding.exchange} -> {binding.queue} ({binding.routing_key})"
    declarer.declare(
        f"binding {name}",
        lambda ch: ch.queue_bind(
            queue=binding.queue,
            exchange=binding.exchange,
            routing_key=binding.routing_key,
            arguments=dict(binding.arguments),
        ),
    )
    # AMQP cannot ask whether a binding exists; binding again is a no-op on the broker.
    return Declared("binding", name, existed=True)


def apply_topology(connection: kombu.Connection, topology: Topology) -> list[Declared]:
    """Declare every entity; raise ``TopologyConflict`` at the first one that differs."""
    declarer = _Declarer(connection)
    try:
        return [
            *(_exchange(declarer, e) for e in topology.exchanges),
            *(_queue(declarer, q) for q in topology.queues),
            *(_binding(declarer, b) for b in topology.bindings),
        ]
    finally:
        declarer.close()


def _declare_queue_passively(name: str, channel: Any) -> object:
    return channel.queue_declare(queue=name, passive=True)


def require_queues(connection: kombu.Connection, names: list[str]) -> None:
    """Raise ``TopologyMissing`` naming the first queue that does not exist."""
    declarer = _Declarer(connection)
    try:
        for name in names:
            if not declarer.exists(partial(_declare_queue_passively, name)):
                raise TopologyMissing(f"queue {name!r} does not exist; run `hub topology apply`")
    finally:
        declarer.close()
