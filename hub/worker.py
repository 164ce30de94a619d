"""The worker loop: consume, process, publish with pipelined confirms, record, then acknowledge.

An input is acknowledged only after every output of it was confirmed by the broker and its ledger
row committed, so a crash at any point redelivers and never loses. Publishing happens on the
publisher's own connection, never on the consuming one.

Everything runs on one thread except the publisher's I/O: deliveries arrive through
``consumer.poll``, confirms come back through ``publisher.results``, and ledger rows are committed in
batches (group commit) at most ``COMMIT_INTERVAL`` after their outputs were confirmed.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from queue import Empty

from hub import metrics
from hub.bus.consumer import KombuConsumer, Tag
from hub.bus.publisher import Publisher
from hub.bus.transport import Transport
from hub.envelope import Delivery
from hub.errors import TransientError
from hub.pipeline import Outcome, Pipeline
from hub.settings import Settings
from hub.store.ledger import Ledger

log = logging.getLogger(__name__)

COMMIT_BATCH = 256
COMMIT_INTERVAL = 0.02
IDLE_POLL = 0.2
BUSY_POLL = 0.005


@dataclass
class _InFlight:
    tag: Tag
    outcome: Outcome
    received: float


class _Backoff:
    """Exponential delays between ``first`` and ``cap``, reset by a success."""

    def __init__(self, first: float, cap: float) -> None:
        self._first, self._cap, self._failures = first, cap, 0

    def next_delay(self) -> float:
        delay = min(self._cap, self._first * 2.0**self._failures)
        self._failures += 1
        return delay

    def reset(self) -> None:
        self._failures = 0


class Worker:
    """Runs the pipeline over the ingress queues ``queue_partners`` (queue name -> partner)."""

    def __init__(
        self,
        transport: Transport,
        pipeline: Pipeline,
        ledger: Ledger,
        queue_partners: Mapping[str, str],
        settings: Settings,
    ) -> None:
        self._transport = transport
        self._pipeline = pipeline
        self._ledger = ledger
        self._queue_partners = dict(queue_partners)
        self._settings = settings
        self._tokens = itertools.count(1)
        self._in_flight: dict[int, _InFlight] = {}
        self._confirmed: list[int] = []
        self._confirmed_since = 0.0
        self._retry_at: list[tuple[float, int]] = []
        self._publisher: Publisher | None = None
        self._accepting = False
        self._store_backoff = _Backoff(settings.retry_backoff_seconds, settings.retry_backoff_max_seconds)
        self._publish_backoff = _Backoff(settings.retry_backoff_seconds, settings.retry_backoff_max_seconds)
        self._store_retry_at = 0.0
        self._settled = 0
        self._settled_changed = threading.Condition()
        self.on_settled: Callable[[Outcome], None] | None = None

    # -- observing ----------------------------------------------------------------------------
    @property
    def settled(self) -> int:
        """How many inputs this worker has acknowledged."""
        return self._settled

    def wait_settled(self, count: int, timeout: float) -> bool:
        """Block until ``count`` inputs were acknowledged; false on timeout."""
        with self._settled_changed:
            return self._settled_changed.wait_for(lambda: self._settled >= count, timeout)

    # -- running ------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, reconnecting with backoff after broker failures."""
        backoff = _Backoff(self._settings.retry_backoff_seconds, self._settings.retry_backoff_max_seconds)
        while not stop.is_set():
            try:
                self._session(stop)
                backoff.reset()
            except TransientError as error:
                delay = backoff.next_delay()
                log.warning("broker session ended (%s); reconnecting in %.1fs", error, delay)
                stop.wait(delay)

    def _session(self, stop: threading.Event) -> None:
        consumer = self._transport.consumer(self._queue_partners, self._settings.prefetch, self._on_delivery)
        publisher = self._transport.publisher()
        try:
            publisher.start()
            self._publisher = publisher
            self._accepting = True
            consumer.start()
            metrics.CONNECTED.set(1)
            log.info("consuming %s", ", ".join(self._queue_partners))
            self._loop(consumer, stop)
            self._drain(consumer)
        finally:
            metrics.CONNECTED.set(0)
            self._abandon_in_flight()
            self._publisher = None
            consumer.close()
            publisher.close()

    def _loop(self, consumer: KombuConsumer, stop: threading.Event) -> None:
        while not stop.is_set():
            consumer.poll(BUSY_POLL if self._in_flight else IDLE_POLL)
            self._settle(consumer)

    def _drain(self, consumer: KombuConsumer) -> None:
        """Stop taking work, then settle what is in flight within the grace period.

        The consumer is not cancelled: deliveries that still arrive are left unacknowledged, so they
        hold the prefetch window shut and go back to the queue when the connection closes.
        """
        self._accepting = False
        deadline = time.monotonic() + self._settings.shutdown_grace_seconds
        while self._in_flight and time.monotonic() < deadline:
            consumer.poll(BUSY_POLL)
            self._settle(consumer, flush=True)
        if self._in_flight:
            log.warning(
                "%d inputs left unacknowledged at shutdown; the broker redelivers them", len(self._in_flight)
            )

    def _abandon_in_flight(self) -> None:
        # Unacknowledged inputs go back to the queue when the consuming connection closes.
        self._in_flight.clear()
        self._confirmed.clear()
        self._retry_at.clear()
        metrics.IN_FLIGHT.set(0)

    # -- one delivery -------------------------------------------------------------------------
    def _on_delivery(self, delivery: Delivery, tag: Tag) -> None:
        if not self._accepting or self._publisher is None:
            return  # shutting down: left unacknowledged, the broker requeues it on close
        metrics.RECEIVED.labels(delivery.partner).inc()
        outcome = self._pipeline.process(delivery)
        token = next(self._tokens)
        self._in_flight[token] = _InFlight(tag, outcome, time.monotonic())
        metrics.IN_FLIGHT.set(len(self._in_flight))
        self._publisher.publish(token, outcome.outputs)

    # -- settling -----------------------------------------------------------------------------
    def _settle(self, consumer: KombuConsumer, flush: bool = False) -> None:
        self._collect_confirms()
        self._requeue_due(consumer)
        if self._commit_due(flush):
            self._commit_and_ack(consumer)
        if self._publisher is not None and self._publisher.broken:
            raise TransientError("the publisher lost its connection")

    def _collect_confirms(self) -> None:
        assert self._publisher is not None
        results = self._publisher.results
        while True:
            try:
                token, ok = results.get_nowait()
            except Empty:
                return
            if token not in self._in_flight:
                continue  # from a publisher of an abandoned session
            if ok:
                if not self._confirmed:
                    self._confirmed_since = time.monotonic()
                self._confirmed.append(token)
                self._publish_backoff.reset()
            else:
                metrics.RETRIED.labels("publish").inc()
                self._retry_at.append((time.monotonic() + self._publish_backoff.next_delay(), token))

    def _requeue_due(self, consumer: KombuConsumer) -> None:
        """Inputs whose outputs failed go back to the queue after their backoff, to be redone."""
        if not self._retry_at:
            return
        now = time.monotonic()
        due = [token for at, token in self._retry_at if at <= now]
        self._retry_at = [(at, token) for at, token in self._retry_at if at > now]
        for token in due:
            consumer.requeue(self._in_flight.pop(token).tag)

    def _commit_due(self, flush: bool) -> bool:
        if not self._confirmed or time.monotonic() < self._store_retry_at:
            return False
        waited = time.monotonic() - self._confirmed_since
        return flush or len(self._confirmed) >= COMMIT_BATCH or waited >= COMMIT_INTERVAL

    def _commit_and_ack(self, consumer: KombuConsumer) -> None:
        done = [self._in_flight[token] for token in self._confirmed]
        try:
            self._ledger.record([item.outcome.record for item in done])
        except TransientError as error:
            # Fail closed: nothing is acked, so the prefetch window fills and consumption stops.
            metrics.RETRIED.labels("store").inc()
            delay = self._store_backoff.next_delay()
            self._store_retry_at = time.monotonic() + delay
            log.warning("store unavailable (%s); retrying the commit in %.1fs", error, delay)
            return
        self._store_backoff.reset()
        consumer.ack([item.tag for item in done])
        for token in self._confirmed:
            self._observe(self._in_flight.pop(token))
        self._confirmed.clear()
        metrics.IN_FLIGHT.set(len(self._in_flight))
        with self._settled_changed:
            self._settled += len(done)
            self._settled_changed.notify_all()

    def _observe(self, item: _InFlight) -> None:
        outcome = item.outcome
        partner = outcome.delivery.partner
        metrics.PROCESSING.labels(partner).observe(time.monotonic() - item.received)
        if outcome.rejected:
            metrics.DEAD_LETTERED.labels(partner, outcome.record.reason or "").inc()
        else:
            metrics.FORWARDED.labels(partner, outcome.route_kind or "").inc()
            for output in outcome.outputs:
                metrics.PUBLISHED.labels(output.exchange.split(".", 1)[-1], output.routing_key).inc()
        if self.on_settled is not None:
            self.on_settled(outcome)
