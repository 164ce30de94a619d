"""The worker's metrics for what it settled, counted per batch: one increment per label set."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from hub import metrics
from hub.outcomes import Outcome


def observe_settled(settled: Sequence[tuple[Outcome, float]]) -> None:
    """Metrics for a settled batch of (outcome, when it was received), counted first: label
    look-ups cost more than increments."""
    now = time.monotonic()
    counts: Counter[tuple[Any, ...]] = Counter()
    for outcome, received in settled:
        partner = outcome.delivery.partner
        metrics.child(metrics.PROCESSING, partner).observe(now - received)
        if outcome.rejected:
            counts[(metrics.DEAD_LETTERED, partner, outcome.record.reason or "")] += 1
        elif outcome.duplicate:
            counts[(metrics.DUPLICATES, partner)] += 1
        elif outcome.deferral is None:  # a parked one is counted when it goes to the park
            counts[(metrics.FORWARDED, partner, outcome.route_kind or "")] += 1
            if outcome.contract_version is not None:
                counts[(metrics.BY_VERSION, partner, outcome.route_kind or "", outcome.contract_version)] += 1
            for flag in outcome.flags:
                counts[(metrics.FLAGGED, partner, flag)] += 1
            for output in outcome.outputs:
                counts[(metrics.PUBLISHED, output.exchange.split(".", 1)[-1], output.routing_key)] += 1
    for (metric, *labels), count in counts.items():
        metrics.child(metric, *labels).inc(count)


def set_parked(partners: Mapping[str, str], counts: Mapping[str, tuple[int, int]]) -> None:
    """``hub_parked_messages`` from the broker's counts of the park queues (queue -> partner)."""
    for queue, (messages, _consumers) in counts.items():
        metrics.child(metrics.PARKED_WAITING, partners[queue]).set(messages)
