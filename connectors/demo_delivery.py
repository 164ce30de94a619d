"""The delivery runner as `hub demo --http` runs it: once a round, until the egress queue is empty,
remembering what it settled in the queue's order (connectors.demo_http)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hub.app import Hub
from hub.audit.entries import AuditEntry
from hub.bus.topology import egress_dead_letter_exchange, egress_queue
from hub.delivery.contract import Adapter, EgressMessage
from hub.delivery.runner import Channel, Runner
from hub.envelope import Delivery, Outbound
from hub.settings.delivery import DeliveryPolicy

DELIVERY_CONCURRENCY = 8
# A fake that stays unavailable would keep the runner retrying: the round gives up after this.
DELIVERY_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Settled:
    deliveries: list[Delivery]  # what the runner acknowledged, delivered or dead-lettered, in queue order
    dead_letters: int  # of those, how many the partner refused
    emptied: bool  # the runner found the queue empty before the timeout


def deliver_egress(hub: Hub, adapter: Adapter) -> Settled:
    """Run the delivery runner on ``adapter.partner``'s egress queue until it is empty."""
    partner = adapter.partner
    policy = _demo_policy(hub.settings.delivery_policy(partner))
    record = _Record()

    def connect() -> Channel:
        queue, dead = egress_queue(partner), egress_dead_letter_exchange(partner)
        return _Recording(hub.transport.egress_channel(queue, policy.prefetch, partner, [dead]), record)

    def audit(entries: Sequence[AuditEntry]) -> None:
        hub.work.record((), (), entries)

    stop = threading.Event()
    timeout = threading.Timer(DELIVERY_TIMEOUT_SECONDS, stop.set)
    timeout.start()
    try:
        Runner(_KeptOpen(adapter), connect, policy, audit).run(stop, until_empty=True)
    finally:
        timeout.cancel()
    return Settled(record.in_queue_order(), record.dead_letters, not stop.is_set())


class _KeptOpen:
    """An adapter whose ``close`` at the runner's end leaves it open for the next round's runner."""

    def __init__(self, adapter: Adapter) -> None:
        self.partner = adapter.partner
        self._adapter = adapter

    def groups(self, messages: Sequence[EgressMessage]) -> list[list[EgressMessage]]:
        return self._adapter.groups(messages)

    def deliver(self, group: Sequence[EgressMessage]) -> None:
        self._adapter.deliver(group)

    def probe(self) -> None:
        self._adapter.probe()

    def close(self) -> None:
        """The adapter is closed with the fakes (``HttpPartners.__exit__``)."""


class _Record:
    """What a runner settled, remembered with the order it arrived in (the queue's)."""

    def __init__(self) -> None:
        self.arrival = itertools.count()
        self.arrived: dict[int, tuple[int, Delivery]] = {}  # delivery tag -> (arrival, delivery)
        self.settled: list[tuple[int, Delivery]] = []
        self.dead_letters = 0

    def in_queue_order(self) -> list[Delivery]:
        return [delivery for _, delivery in sorted(self.settled, key=lambda pair: pair[0])]


class _Recording:
    """A runner's channel that records what the runner acknowledged."""

    def __init__(self, channel: Channel, record: _Record) -> None:
        self._channel, self._record = channel, record

    def open(self, on_delivery: Callable[[Delivery, int], None]) -> None:
        def arrived(delivery: Delivery, tag: int) -> None:
            self._record.arrived[tag] = (next(self._record.arrival), delivery)
            on_delivery(delivery, tag)

        self._channel.open(arrived)

    def ack(self, tags: Sequence[int]) -> None:
        self._channel.ack(tags)
        self._record.settled += [self._record.arrived.pop(tag) for tag in tags]

    def publish(self, message: Outbound) -> None:
        self._channel.publish(message)  # the runner publishes nothing but dead letters
        self._record.dead_letters += 1

    def resume(self) -> None:
        self._channel.resume()

    def pause(self) -> None:
        self._channel.pause()

    def wait(self, seconds: float) -> None:
        self._channel.wait(seconds)

    def wake(self) -> None:
        self._channel.wake()

    def ready(self) -> int:
        return self._channel.ready()

    def close(self) -> None:
        self._record.arrived.clear()
        self._channel.close()


def _demo_policy(policy: DeliveryPolicy) -> DeliveryPolicy:
    """The fakes take calls as fast as they come: no rate limit, a few more at once."""
    return policy.model_copy(update={"rate_per_second": None, "concurrency": DELIVERY_CONCURRENCY})
