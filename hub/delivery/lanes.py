"""The messages the runner holds, one lane per dossier, in arrival order.

A lane sends one group at a time: while its call is in flight, or while it waits to retry after
the partner was unavailable, nothing else of that dossier is sent, so a later message never
overtakes an earlier one that is still failing. A group leaves its lane when the partner accepted
it or refused it for good (dead-lettered); a refusal does not stop the dossier's later messages.
Lanes are the runner's state only: no I/O, no clock of their own.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from hub.delivery.contract import Adapter, EgressMessage
from hub.delivery.limits import RetryDelay
from hub.envelope import Delivery
from hub.settings.delivery import DeliveryPolicy


@dataclass(slots=True)
class Held:
    """A message taken off ``egress.<partner>`` and not yet acknowledged."""

    tag: int  # the broker's delivery tag
    delivery: Delivery  # as it came: what a dead letter keeps
    message: EgressMessage


@dataclass
class Lane:
    held: list[Held] = field(default_factory=list)
    busy: bool = False  # a call of this dossier is in flight
    retry_at: float = 0.0  # no call before this moment (the runner's clock)
    delay: RetryDelay | None = None  # made at the first failure


class AdapterBroke(RuntimeError):
    """The adapter's ``groups`` did not return the lane's first messages, in order: a bug."""


class Lanes:
    def __init__(self, policy: DeliveryPolicy, rng: random.Random | None = None) -> None:
        self._policy = policy
        self._rng = rng
        self._lanes: dict[str, Lane] = {}  # insertion order: the dossiers' first arrivals

    def __len__(self) -> int:
        """Messages held."""
        return sum(len(lane.held) for lane in self._lanes.values())

    def add(self, held: Held) -> None:
        self._lanes.setdefault(held.message.dossier, Lane()).held.append(held)

    def ready(self, now: float) -> Iterator[str]:
        """Dossiers that may send their next group now, oldest first."""
        for dossier, lane in self._lanes.items():
            if lane.held and not lane.busy and lane.retry_at <= now:
                yield dossier

    def next_retry(self, now: float) -> float | None:
        """The earliest moment after ``now`` a lane waiting to retry may try again; None when none
        waits. A lane that may send now only waits for a free call (whose end wakes the runner), the
        rate limit or the breaker: counting it would have the runner spin without waiting."""
        waiting = [
            lane.retry_at
            for lane in self._lanes.values()
            if lane.held and not lane.busy and lane.retry_at > now
        ]
        return min(waiting, default=None)

    def take_group(self, dossier: str, adapter: Adapter) -> list[Held]:
        """The dossier's next group, as the adapter splits its held messages; the lane is busy."""
        lane = self._lanes[dossier]
        groups = adapter.groups([held.message for held in lane.held])
        first = groups[0] if groups else []
        size = len(first)
        prefix = zip(first, lane.held[:size], strict=True) if size <= len(lane.held) else None
        if not size or prefix is None or any(a is not b.message for a, b in prefix):
            raise AdapterBroke(f"{adapter.partner}: groups() must start with the first held messages")
        lane.busy = True
        return lane.held[:size]

    def done(self, dossier: str, group: Sequence[Held]) -> None:
        """The group was accepted or dead-lettered: it leaves its lane, whose backoff starts over."""
        lane = self._lanes[dossier]
        del lane.held[: len(group)]
        lane.busy, lane.retry_at, lane.delay = False, 0.0, None
        if not lane.held:
            del self._lanes[dossier]

    def failed(self, dossier: str, now: float, retry_after: float | None) -> float:
        """The group stays first in its lane; the lane waits. The delay chosen."""
        lane = self._lanes[dossier]
        if lane.delay is None:
            policy = self._policy
            lane.delay = RetryDelay(policy.retry_base_seconds, policy.retry_max_seconds, self._rng)
        delay = lane.delay.next(retry_after)
        lane.busy, lane.retry_at = False, now + delay
        return delay
