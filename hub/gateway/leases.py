"""Messages an HTTP-only partner pulled from its egress queue and has not acknowledged yet.

A pull takes messages off ``egress.<partner>`` on a channel of its own and holds them there,
unacknowledged: the broker still owns them. ``ack`` acknowledges them one by one; a lease that is
not fully acknowledged within ``lease_seconds`` is released (its channel closed), and what is left
goes back to the queue for the next pull. So a partner that never acknowledges loses nothing, and a
gateway that dies returns every lease with its connection. At most ``max_leases`` are held at once.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from hub.bus.gateway_link import HeldChannel
from hub.bus.topology import egress_queue
from hub.envelope import Delivery
from hub.gateway.problems import Problem


class Reader(Protocol):
    def pull(
        self, queue_name: str, limit: int, partner: str
    ) -> tuple[HeldChannel, list[tuple[int, Delivery]]]: ...
    def ack(self, held: HeldChannel, tags: list[int], queue_name: str) -> None: ...
    def release(self, held: HeldChannel) -> None: ...


@dataclass
class Lease:
    partner: str
    held: HeldChannel
    tags: dict[str, int]  # receipt id -> delivery tag, those not yet acknowledged
    expires: float


@dataclass(frozen=True)
class Pulled:
    receipt: str  # what the partner acknowledges with: "<lease>.<tag>"
    delivery: Delivery


class Leases:
    def __init__(
        self,
        readers: Mapping[str, Reader],
        lease_seconds: float,
        max_leases: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._readers = readers
        self._seconds = lease_seconds
        self._max = max_leases
        self._clock = clock
        self._leases: dict[str, Lease] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._leases)

    def pull(self, partner: str, limit: int) -> list[Pulled]:
        """Up to ``limit`` messages, leased; a 429 ``Problem`` when ``max_leases`` are held."""
        self.expire()
        if len(self._leases) >= self._max:
            raise Problem(429, "too_many_leases", "too many pulls await their acknowledgement", retry_after=1)
        held, got = self._readers[partner].pull(egress_queue(partner), limit, partner)
        if not got:
            self._readers[partner].release(held)
            return []
        name = secrets.token_hex(8)
        lease = Lease(partner, held, {f"{name}.{tag}": tag for tag, _ in got}, self._clock() + self._seconds)
        with self._lock:
            self._leases[name] = lease
        return [Pulled(f"{name}.{tag}", delivery) for tag, delivery in got]

    def ack(self, partner: str, receipts: Iterable[str]) -> tuple[list[str], list[str]]:
        """Acknowledge ``receipts`` of ``partner``'s leases: (acknowledged, unknown or expired)."""
        by_lease: dict[str, list[str]] = {}
        for receipt in receipts:
            by_lease.setdefault(receipt.partition(".")[0], []).append(receipt)
        done: list[str] = []
        unknown: list[str] = []
        for name, wanted in by_lease.items():
            acked = self._ack_lease(partner, name, wanted)
            done += acked
            unknown += [r for r in wanted if r not in acked]
        return done, unknown

    def _ack_lease(self, partner: str, name: str, wanted: list[str]) -> list[str]:
        with self._lock:
            lease = self._leases.get(name)
            if lease is None or lease.partner != partner:
                return []
            found = [r for r in dict.fromkeys(wanted) if r in lease.tags]
            tags = [lease.tags.pop(r) for r in found]
            finished = not lease.tags
            if finished:
                del self._leases[name]
        reader = self._readers[partner]
        if tags:
            reader.ack(lease.held, tags, egress_queue(partner))
        if finished:
            reader.release(lease.held)
        return found

    def expire(self) -> int:
        """Release every lease past its time; how many."""
        now = self._clock()
        with self._lock:
            due = [name for name, lease in self._leases.items() if lease.expires <= now]
            released = [self._leases.pop(name) for name in due]
        for lease in released:
            self._readers[lease.partner].release(lease.held)
        return len(released)

    def release_all(self) -> None:
        with self._lock:
            released, self._leases = list(self._leases.values()), {}
        for lease in released:
            self._readers[lease.partner].release(lease.held)
