"""What the worker tells its observers: one small interface for the moments of its lifecycle, so the
worker holds no metrics calls of its own (in the spirit of dramatiq's middleware).

``WorkerMetrics`` is the observer ``hub run`` uses: it turns each moment into Prometheus series.
Settled inputs are counted per batch (one increment per label set): label look-ups cost more than
increments.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from hub import metrics
from hub.outcomes import Outcome


class WorkerObserver(Protocol):
    """The worker's lifecycle as it calls it, on its own thread; an observer must not block."""

    def connected(self, up: bool) -> None:
        """The broker session opened (true) or ended (false)."""

    def retried(self, cause: str) -> None:
        """Something is tried again: ``connect``, ``handler``, ``store`` or ``publish``."""

    def paused(self, cause: str, paused: bool) -> None:
        """New work is held back (true) or taken again (false) because ``cause`` is down."""

    def in_flight(self, count: int) -> None:
        """How many inputs are received and not yet acknowledged, waiting ones included."""

    def routed(self, partner: str) -> None:
        """An ingress message went to its dossier's partition."""

    def received(self, partner: str) -> None:
        """A partition's message is about to be judged."""

    def parked(self, partner: str) -> None:
        """An input went to wait in the park for its dossier or earlier steps (first time only)."""

    def settled(self, batch: Sequence[tuple[Outcome, float]]) -> None:
        """A batch was committed and acknowledged: (outcome, monotonic time it was received)."""

    def parked_waiting(self, partner: str, messages: int) -> None:
        """The broker's count of the messages in a partner's park queue."""


class WorkerMetrics:
    """The Prometheus series of the worker (hub.metrics)."""

    def connected(self, up: bool) -> None:
        metrics.CONNECTED.set(1 if up else 0)

    def retried(self, cause: str) -> None:
        metrics.child(metrics.RETRIED, cause).inc()

    def paused(self, cause: str, paused: bool) -> None:
        metrics.child(metrics.PAUSED, cause).set(1 if paused else 0)

    def in_flight(self, count: int) -> None:
        metrics.IN_FLIGHT.set(count)

    def routed(self, partner: str) -> None:
        metrics.child(metrics.ROUTED, partner).inc()

    def received(self, partner: str) -> None:
        metrics.child(metrics.RECEIVED, partner).inc()

    def parked(self, partner: str) -> None:
        metrics.child(metrics.PARKED, partner).inc()

    def parked_waiting(self, partner: str, messages: int) -> None:
        metrics.child(metrics.PARKED_WAITING, partner).set(messages)

    def settled(self, batch: Sequence[tuple[Outcome, float]]) -> None:
        now = time.monotonic()
        counts: Counter[tuple[Any, ...]] = Counter()
        for outcome, received in batch:
            partner = outcome.delivery.partner
            metrics.child(metrics.PROCESSING, partner).observe(now - received)
            counts.update(_settled_series(outcome))
        for (metric, *labels), count in counts.items():
            metrics.child(metric, *labels).inc(count)


def _settled_series(outcome: Outcome) -> list[tuple[Any, ...]]:
    """The counters (metric, *labels) one settled outcome adds one to."""
    partner = outcome.delivery.partner
    if outcome.rejected:
        return [(metrics.DEAD_LETTERED, partner, outcome.record.reason or "")]
    if outcome.duplicate:
        return [(metrics.DUPLICATES, partner)]
    if outcome.deferral is not None:  # a parked one is counted when it goes to the park
        return []
    kind = outcome.route_kind or ""
    series: list[tuple[Any, ...]] = [(metrics.FORWARDED, partner, kind)]
    if outcome.contract_version is not None:
        series.append((metrics.BY_VERSION, partner, kind, outcome.contract_version))
    series.extend((metrics.FLAGGED, partner, flag) for flag in outcome.flags)
    for output in outcome.outputs:
        series.append((metrics.PUBLISHED, output.exchange.split(".", 1)[-1], output.routing_key))
    return series
