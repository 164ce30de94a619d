"""Which partition queues a worker should hold: its share, and the proof that it holds them.

Every worker subscribes to the partitions it claims; each partition queue has a single active
consumer, so a worker that subscribes where another already consumes only waits behind it (a
standby, which takes over if the other goes). A worker cannot ask RabbitMQ whether its own
subscription is the active one, so it sends a probe, a tiny message with its own id, through each
partition it claimed: the probe reaches whichever consumer is active, and a worker counts a
partition as held once its own probe came back to it. The share is the partitions divided by the
workers (consumers of ``hub.workers``), rounded up; a worker below its share claims partitions that
have no consumer at all, a worker above it hands the surplus over.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

HEADER_PROBE = "x-hub-probe"


@dataclass(frozen=True)
class Plan:
    claim: tuple[str, ...] = ()  # free partitions to subscribe to
    release: tuple[str, ...] = ()  # held partitions to hand over
    probe: tuple[str, ...] = ()  # claimed partitions not yet known to be held


class Claims:
    def __init__(self, partitions: Sequence[str]) -> None:
        self.me = uuid.uuid4().hex
        self._order = list(partitions)
        random.shuffle(self._order)  # workers starting together try different partitions first
        self.claimed: set[str] = set()
        self.held: set[str] = set()  # claimed, and our own probe came back through it

    def share(self, workers: int) -> int:
        return math.ceil(len(self._order) / max(1, workers))

    def plan(self, workers: int, consumers: Mapping[str, int]) -> Plan:
        """What to do now that ``workers`` workers run and the partitions have ``consumers`` (active
        ones: RabbitMQ counts only the active consumer of a single-active-consumer queue)."""
        share = self.share(workers)
        held = [q for q in self._order if q in self.held]
        if len(held) > share:
            return Plan(release=tuple(held[share:]))
        free = [q for q in self._order if q not in self.claimed and consumers.get(q, 1) == 0]
        return Plan(
            claim=tuple(free[: share - len(held)]),
            probe=tuple(q for q in self._order if q in self.claimed and q not in self.held),
        )

    def unclaimed(self) -> list[str]:
        return [q for q in self._order if q not in self.claimed]

    def probe_came_back(self, queue: str, probe: str) -> None:
        if probe == self.me and queue in self.claimed:
            self.held.add(queue)

    def released(self, queue: str) -> None:
        self.claimed.discard(queue)
        self.held.discard(queue)
