"""A broker session: one connected period of a worker, consuming and publishing with confirms.

The worker gives a session two callbacks and drives it with ``run_until``; the session calls
back on the worker's own thread, so the worker needs no locks:

- ``on_delivery(delivery, tag)`` for each message taken from an ingress queue;
- ``on_confirm(token, ok)`` once every message published under ``token`` was settled by the broker
  (``ok`` is false when any was nacked, returned as unroutable, or lost with the connection).

Publishing happens on a connection of its own, never on the consuming one. A lost connection ends
``run_until`` with ``TransientError``; unacknowledged deliveries then return to their queues.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hub.bus.topology import WORKERS_QUEUE, ingress_queue, partition_queue
from hub.envelope import Delivery, Outbound

Tag = int | str  # a delivery tag: an int on RabbitMQ, a UUID string on the embedded broker
OnDelivery = Callable[[Delivery, Tag], None]
OnConfirm = Callable[[int, bool], None]
OnCounts = Callable[[Mapping[str, tuple[int, int]]], None]  # queue -> (messages, consumers)


@dataclass(frozen=True)
class Consumers:
    """What a session consumes: ingress queues to route (queue -> partner; deliveries carry the
    partner), partition queues (deliveries carry the partner ``""``: the router's headers say it),
    and the queue whose consumers count the workers (None: this session takes every partition)."""

    routers: Mapping[str, str]
    partitions: Sequence[str] = ()
    presence: str | None = None
    all_queues: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        named = (*self.routers, *self.partitions, *([self.presence] if self.presence else []))
        object.__setattr__(self, "all_queues", named)


def worker_consumers(partners: Iterable[str], partitions: int, on_rabbitmq: bool) -> Consumers:
    """What a worker consumes: the partners' ingress queues, to route them, and every partition
    (shared by all partners), claimed among the workers through the presence queue on RabbitMQ."""
    routers = {ingress_queue(partner): partner for partner in partners}
    presence = WORKERS_QUEUE if on_rabbitmq else None
    return Consumers(routers, [partition_queue(n) for n in range(partitions)], presence)


class Session(ABC):
    @abstractmethod
    def open(self, on_delivery: OnDelivery, on_confirm: OnConfirm) -> None:
        """Connect and start consuming; raises ``TransientError`` when the broker cannot be reached."""

    @abstractmethod
    def run_until(self, done: Callable[[], bool], tick: Callable[[], None], interval: float) -> None:
        """Handle broker events, calling ``tick`` about every ``interval`` seconds, until ``done()``."""

    def soon(self, callback: Callable[[], None]) -> None:  # noqa: B027  (optional: the tick is the fallback)
        """Call ``callback`` on the session's thread once the deliveries already read from the socket
        were handed over, so a burst is handled together without waiting for the next tick. A
        session that cannot tell leaves it to the tick: this default does nothing."""

    @abstractmethod
    def publish(self, token: int, messages: Sequence[Outbound]) -> None:
        """Publish ``messages`` without waiting; ``on_confirm(token, ...)`` follows."""

    @abstractmethod
    def ack(self, tags: Collection[Tag]) -> None: ...

    @abstractmethod
    def requeue(self, tag: Tag) -> None: ...

    @abstractmethod
    def queue_counts(self, queues: Sequence[str], then: OnCounts) -> None:
        """Ask the broker how many messages and consumers ``queues`` have; ``then`` gets them."""

    @abstractmethod
    def close(self) -> None:
        """Close both connections; unacknowledged deliveries go back to their queues."""


class UnsettledDeliveries:
    """Delivery tags in delivery order, to acknowledge a run of them with one ``multiple`` ack.

    Besides saving frames, this matters on RabbitMQ 3.10 quorum queues: a burst of single acks is
    buffered by the broker's channel and partly lost if the connection closes right after, so those
    messages would come back although their work was done.
    """

    def __init__(self, multiple_acks: bool) -> None:
        self._multiple_acks = multiple_acks
        self._tags: dict[Tag, None] = {}

    def add(self, tag: Tag) -> None:
        self._tags[tag] = None

    def discard(self, tag: Tag) -> None:
        self._tags.pop(tag, None)

    def clear(self) -> None:
        self._tags.clear()

    def plan(self, tags: Collection[Tag]) -> tuple[Tag | None, list[Tag]]:
        """How to settle ``tags``: the last tag of the oldest run of them, to acknowledge with
        ``multiple``, and the rest, to acknowledge one by one."""
        wanted = set(tags)
        run: list[Tag] = []
        if self._multiple_acks:
            for tag in self._tags:
                if tag not in wanted:
                    break
                run.append(tag)
        for tag in wanted:
            self._tags.pop(tag, None)
        in_run = set(run)
        return (run[-1] if run else None), [tag for tag in tags if tag not in in_run]
