"""The broker topology as data: what ``hub topology apply`` declares (contract.md, "Broker topology").

For each partner ``p``:

- exchange ``ingress.p`` (topic), where the partner publishes, bound with ``#`` to
- queue ``hub.ingress.p`` (quorum), which the hub consumes; a message the broker itself gives up on
  (delivered more than ``DELIVERY_LIMIT`` times) is dead-lettered to
- exchange ``hub.dead.p`` (fanout) and queue ``hub.dead.p``, where the hub also puts what it rejects;
- exchange ``egress.p`` (topic), where the hub publishes with the message kind as routing key, bound
  with ``#`` to queue ``egress.p``, which the partner reads (or ``hub deliver p`` for a partner that
  speaks HTTP);
- exchange ``hub.dead.egress.p`` (fanout) and queue ``hub.dead.egress.p``, where ``hub deliver p``
  puts the egress messages the partner's service refused for good (hub.delivery).

Partitions (docs/contract.md, "Ordering and partitions"): ``hub.ingress.p`` has a single active
consumer, the router, which publishes each message to the direct exchange ``hub.partitions`` with the
number of its dossier's partition as routing key; queue ``hub.partition.N`` (quorum, single active
consumer) holds partition N for every partner, so one worker judges a dossier's messages in arrival
order whichever partner sent them. A message that must wait (a step before its dossier, or before
the statuses it needs) goes to exchange and queue ``hub.park.p``, whose per-queue TTL dead-letters it
back to ``hub.partitions`` under the same partition number. Workers register on ``hub.workers``, a
queue nothing is published to, whose consumer count tells each worker how many share the partitions.
What the broker itself gives up on in a partition goes through ``hub.dead`` (headers, by partner) to
``hub.dead.p``.

Plus the canonical ``hub.events`` exchange (topic), bound with ``#`` to the stream ``hub.events.log``,
which keeps every canonical event for ``EVENTS_RETENTION`` for replay and for new consumers (personal
fields sealed under the dossier's key: hub.event_seal).
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
SINGLE_ACTIVE: Mapping[str, Any] = {**QUORUM, "x-single-active-consumer": True}
PARTITIONS_EXCHANGE = "hub.partitions"
DEAD_EXCHANGE = "hub.dead"
WORKERS_QUEUE = "hub.workers"
DEFAULT_PARTITIONS = 8
DEFAULT_PARK_RETRY_MS = 5_000
HEADER_PARTNER = "x-hub-partner"  # set by the router on partition messages; partners cannot write there
# The same partner again, for the hub.dead headers exchange alone: RabbitMQ's headers exchange leaves
# binding arguments named x-... out of the match, so a binding on x-hub-partner matched every message
# (a partition's dead letter reached every partner's queue, and so did each rejected claim probe).
HEADER_DEAD_LETTER_PARTNER = "hub-partner"


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


def egress_dead_letter_exchange(partner: str) -> str:
    return f"hub.dead.egress.{partner}"


def egress_dead_letter_queue(partner: str) -> str:
    return f"hub.dead.egress.{partner}"


def partition_queue(number: int) -> str:
    return f"hub.partition.{number}"


def park_exchange(partner: str) -> str:
    return f"hub.park.{partner}"


def park_queue(partner: str) -> str:
    return f"hub.park.{partner}"


@dataclass(frozen=True)
class Exchange:
    name: str
    type: Literal["topic", "fanout", "direct", "headers"]
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
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Topology:
    exchanges: tuple[Exchange, ...]
    queues: tuple[Queue, ...]
    bindings: tuple[Binding, ...]

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)

    def exchange(self, name: str) -> Exchange:
        return next(e for e in self.exchanges if e.name == name)


def _partner_topology(partner: str, park_retry_ms: int) -> Topology:
    ingress_args = {
        **SINGLE_ACTIVE,
        "x-dead-letter-exchange": dead_letter_exchange(partner),
        "x-delivery-limit": DELIVERY_LIMIT,
    }
    return Topology(
        exchanges=(
            Exchange(ingress_exchange(partner), "topic"),
            Exchange(dead_letter_exchange(partner), "fanout"),
            Exchange(egress_exchange(partner), "topic"),
            Exchange(park_exchange(partner), "fanout"),
            Exchange(egress_dead_letter_exchange(partner), "fanout"),
        ),
        queues=(
            Queue(ingress_queue(partner), ingress_args),
            Queue(dead_letter_queue(partner), QUORUM),
            Queue(egress_queue(partner), QUORUM),
            Queue(park_queue(partner), _park_arguments(park_retry_ms)),
            Queue(egress_dead_letter_queue(partner), QUORUM),
        ),
        bindings=(
            Binding(ingress_exchange(partner), ingress_queue(partner), "#"),
            Binding(dead_letter_exchange(partner), dead_letter_queue(partner), "#"),
            Binding(egress_exchange(partner), egress_queue(partner), "#"),
            Binding(park_exchange(partner), park_queue(partner), "#"),
            Binding(egress_dead_letter_exchange(partner), egress_dead_letter_queue(partner), "#"),
            Binding(
                DEAD_EXCHANGE,
                dead_letter_queue(partner),
                "",
                {"x-match": "all", HEADER_DEAD_LETTER_PARTNER: partner},
            ),
        ),
    )


def _park_arguments(retry_ms: int) -> Mapping[str, Any]:
    """Messages wait ``retry_ms``, then go back to their partition. At-least-once dead-lettering
    (which needs reject-publish) so a parked message is never dropped on its way back."""
    return {
        **QUORUM,
        "x-message-ttl": retry_ms,
        "x-dead-letter-exchange": PARTITIONS_EXCHANGE,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def _partitions(count: int) -> Topology:
    arguments = {
        **SINGLE_ACTIVE,
        "x-dead-letter-exchange": DEAD_EXCHANGE,
        "x-delivery-limit": DELIVERY_LIMIT,
    }
    numbers = range(count)
    return Topology(
        exchanges=(Exchange(PARTITIONS_EXCHANGE, "direct"), Exchange(DEAD_EXCHANGE, "headers")),
        queues=(Queue(WORKERS_QUEUE, QUORUM), *(Queue(partition_queue(n), arguments) for n in numbers)),
        bindings=tuple(Binding(PARTITIONS_EXCHANGE, partition_queue(n), str(n)) for n in numbers),
    )


def build_topology(
    partners: Iterable[str], partitions: int = DEFAULT_PARTITIONS, park_retry_ms: int = DEFAULT_PARK_RETRY_MS
) -> Topology:
    """The whole topology for these partners, in declaration order (exchanges before bindings)."""
    parts = [_partitions(partitions), *(_partner_topology(p, park_retry_ms) for p in partners)]
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
                "arguments": dict(b.arguments),
            }
            for b in topology.bindings
        ],
    }
