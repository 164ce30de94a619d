"""The broker topology as data: what ``hub topology apply`` declares (contract.md, "Broker topology").

For each partner ``p``:

- exchange ``ingress.p`` (topic), where the partner publishes, bound with ``#`` to
- queue ``hub.ingress.p`` (quorum), which the hub consumes; a message the broker itself gives up on
  (delivered more than ``DELIVERY_LIMIT`` times) is dead-lettered to
- exchange ``hub.dead.p`` (fanout) and queue ``hub.dead.p``, where the hub also puts what it rejects;
- exchange ``egress.p`` (topic), where the hub publishes with the message kind as routing key, bound
  with ``#`` to queue ``egress.p``, which the partner reads.

Plus the canonical ``hub.events`` exchange (topic), bound with ``#`` to the stream ``hub.events.log``,
which keeps every canonical event for ``EVENTS_RETENTION`` for replay and for new consumers.
Exchanges and queues live in separate name spaces in RabbitMQ, so ``egress.p`` names both an
exchange and the queue behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EVENTS_EXCHANGE = "hub.events"
EVENTS_LOG = "hub.events.log"
EVENTS_RETENTION = "7D"
DELIVERY_LIMIT = 20
QUORUM: Mapping[str, Any] = {"x-queue-type": "quorum"}


def ingress_exchange(partner: str) -> str:
    return f"ingress.{partner}"


def ingress_queue(partner: str) -> str:
    return f"hub.ingress.{partner}"


def dead_letter_exchange(partner: str) -> str:
    return f"hub.dead.{partner}"


def dead_letter_queue(partner: str) -> str:
    return f"hub.dead.{partner}"


def egress_exchange(partner: str) -> str:
    return f"egress.{partner}"


def egress_queue(partner: str) -> str:
    return f"egress.{partner}"


@dataclass(frozen=True)
class Exchange:
    name: str
    type: Literal["topic", "fanout", "direct"]
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Queue:
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Binding:
    exchange: str
    queue: str
    routing_key: str


@dataclass(frozen=True)
class Topology:
    exchanges: tuple[Exchange, ...]
    queues: tuple[Queue, ...]
    bindings: tuple[Binding, ...]

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)

    def exchange(self, name: str) -> Exchange:
        return next(e for e in self.exchanges if e.name == name)


def _partner_topology(partner: str) -> Topology:
    ingress_args = {
        **QUORUM,
        "x-dead-letter-exchange": dead_letter_exchange(partner),
        "x-delivery-limit": DELIVERY_LIMIT,
    }
    return Topology(
        exchanges=(
            Exchange(ingress_exchange(partner), "topic"),
            Exchange(dead_letter_exchange(partner), "fanout"),
            Exchange(egress_exchange(partner), "topic"),
        ),
        queues=(
            Queue(ingress_queue(partner), ingress_args),
            Queue(dead_letter_queue(partner), QUORUM),
            Queue(egress_queue(partner), QUORUM),
        ),
        bindings=(
            Binding(ingress_exchange(partner), ingress_queue(partner), "#"),
            Binding(dead_letter_exchange(partner), dead_letter_queue(partner), "#"),
            Binding(egress_exchange(partner), egress_queue(partner), "#"),
        ),
    )


def build_topology(partners: Iterable[str]) -> Topology:
    """The whole topology for these partners, in declaration order (exchanges before bindings)."""
    parts = [_partner_topology(p) for p in partners]
    events_log = Queue(EVENTS_LOG, {"x-queue-type": "stream", "x-max-age": EVENTS_RETENTION})
    return Topology(
        exchanges=(Exchange(EVENTS_EXCHANGE, "topic"), *(e for t in parts for e in t.exchanges)),
        queues=(events_log, *(q for t in parts for q in t.queues)),
        bindings=(Binding(EVENTS_EXCHANGE, EVENTS_LOG, "#"), *(b for t in parts for b in t.bindings)),
    )


def rabbitmq_definitions(topology: Topology, vhost: str = "/") -> dict[str, Any]:
    """The topology in RabbitMQ's definitions format (``rabbitmqctl import_definitions``)."""
    return {
        "exchanges": [
            {
                "name": e.name,
                "vhost": vhost,
                "type": e.type,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": dict(e.arguments),
            }
            for e in topology.exchanges
        ],
        "queues": [
            {
                "name": q.name,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": dict(q.arguments),
            }
            for q in topology.queues
        ],
        "bindings": [
            {
                "source": b.exchange,
                "vhost": vhost,
                "destination": b.queue,
                "destination_type": "queue",
                "routing_key": b.routing_key,
                "arguments": {},
            }
            for b in topology.bindings
        ],
    }
