"""The worker: route, consume, process, publish with pipelined confirms, record, then acknowledge.

A worker plays two parts. As the router of an ingress queue it republishes each message to its
dossier's partition (hub.partitions) and acknowledges it once the broker confirmed the copy. As the
holder of partitions it judges their messages: an input is acknowledged only after every output of
it was confirmed by the broker and its ledger row committed, so a crash at any point redelivers and
never loses. Ledger rows are committed in batches (group commit): when ``COMMIT_BATCH`` inputs are
ready or ``COMMIT_INTERVAL`` after the first of them was.

Outages pause, they do not churn: while the store cannot be read or written, or the broker refuses
publishes, new deliveries wait in memory in arrival order (the broker's prefetch window bounds
them), nothing is requeued, and the worker resumes by itself when the dependency answers. So an
outage of any length never raises a message's delivery count. The session calls back on the
worker's thread, so nothing here is locked except the counter other threads may wait on.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from hub import logs
from hub.audit.entries import AuditEntries
from hub.backoff import Backoff, LogThrottle
from hub.bus.session import Consumers, Session, Tag
from hub.bus.topology import park_queue
from hub.bus.transport import Transport
from hub.commit import UnitOfWork
from hub.dossiers.book import DossierBook
from hub.envelope import Delivery, Outbound
from hub.errors import HubError, TransientError
from hub.health import Health
from hub.observe import WorkerMetrics, WorkerObserver
from hub.outcomes import Disposition, Outcome
from hub.partitions import Router, park, unwrap
from hub.pipeline import Pipeline
from hub.poison import PoisonCounts
from hub.seen import SeenMessages
from hub.settings import Settings

log = logging.getLogger(__name__)

COMMIT_BATCH = 256
COMMIT_INTERVAL = 0.02
TICK = 0.005
COUNT_PARKED_SECONDS = 5.0
RECONNECT_REPORT_SECONDS = 5.0  # a broker that stays away logs one line this often, not one per attempt


@dataclass(slots=True)
class _InFlight:
    tag: Tag
    outcome: Outcome | None  # None: routed (acked once confirmed) or failed (waits to be requeued)
    received: float
    outputs: Sequence[Outbound] = ()  # what was published for it, published again after a refusal
    routed: bool = False


class Worker:
    """Routes the ingress queues of ``consumers`` and judges the partitions it holds."""

    def __init__(
        self,
        transport: Transport,
        pipeline: Pipeline,
        ledger: UnitOfWork,
        consumers: Consumers,
        settings: Settings,
        *,
        router: Router,
        dossiers: DossierBook,
        seen: SeenMessages,
        audit: AuditEntries,
        health: Health | None = None,
        observer: WorkerObserver | None = None,
    ) -> None:
        self._health = health or Health()  # what /healthz and /readyz read (hub.health)
        self._observer = observer or WorkerMetrics()
        self._dossiers = dossiers
        self._seen = seen
        self._audit = audit
        self._transport = transport
        self._pipeline = pipeline
        self._ledger = ledger
        self._consumers = consumers
        self._router = router
        self._settings = settings
        self._tokens = itertools.count(1)
        self._in_flight: dict[int, _InFlight] = {}
        self._confirmed: list[int] = []
        self._confirmed_since = 0.0
        self._routed: list[Tag] = []  # routed inputs whose copy was confirmed: acked at the next tick
        self._retry_at: list[tuple[float, int]] = []
        self._waiting: deque[tuple[Delivery, Tag]] = deque()  # held while paused, in arrival order
        self._paused_until: dict[str, float] = {}  # cause (store, publish) -> when to try again
        self._session: Session | None = None
        self._accepting = False
        # One backoff per cause: a success of one must not shorten, nor a failure lengthen, another's.
        self._store_backoff = self._backoff()
        self._publish_backoff = self._backoff()
        self._handler_backoff = self._backoff()
        self._parked_counted_at = 0.0
        self._connect_backoff = self._backoff()
        self._connect_log = LogThrottle(log, RECONNECT_REPORT_SECONDS)
        self._settled = 0
        self._settled_changed = threading.Condition()
        self._failures = PoisonCounts()

    def _backoff(self) -> Backoff:
        return Backoff(self._settings.retry_backoff_seconds, self._settings.retry_backoff_max_seconds)

    # -- observing ----------------------------------------------------------------------------
    @property
    def settled(self) -> int:
        """How many inputs this worker has acknowledged (routed copies not counted)."""
        return self._settled

    @property
    def paused(self) -> bool:
        """Whether the worker holds new work back because the store or the broker is down."""
        return bool(self._paused_until)

    def wait_settled(self, count: int, timeout: float) -> bool:
        """Block until ``count`` inputs were acknowledged; false on timeout."""
        with self._settled_changed:
            return self._settled_changed.wait_for(lambda: self._settled >= count, timeout)

    # -- running ------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, reconnecting with backoff after broker failures.

        A ``FatalError`` (the broker refused the hub's user or vhost, the store its database) ends
        it, at start or on any reconnect: retrying cannot help, so it is raised for the caller to
        report and exit.
        """
        try:
            while not stop.is_set():
                try:
                    self._run_session(stop)
                except TransientError as error:
                    self._observer.retried("connect")
                    delay = self._connect_backoff.next_delay()
                    self._connect_log.warning(
                        "broker session ended (%s); reconnecting in %.1fs", error, delay
                    )
                    self._health.beat(sleeping=delay)
                    stop.wait(delay)
        finally:
            self._checkpoint_at_exit()

    def _checkpoint_at_exit(self) -> None:
        """A signed checkpoint over the last entries, so a truncated tail is caught after a stop."""
        try:
            checkpoint = self._ledger.checkpoint()
        except HubError as error:  # the store may be why the worker stops
            log.warning("no audit checkpoint at shutdown (%s)", error)
            return
        if checkpoint is not None:
            log.info("audit checkpoint at record %d", checkpoint.seq)

    def _run_session(self, stop: threading.Event) -> None:
        self._health.beat()
        session = self._transport.session(self._consumers, self._settings.prefetch)
        try:
            self._session = session
            self._accepting = True
            session.open(self._on_delivery, self._on_confirm)
            self._observer.connected(True)
            self._health.consuming(True)
            self._connect_backoff.reset()  # connected: the next outage starts from the first delay
            self._connect_log.reset()
            log.info(
                "consuming %s (routing them) and partitions by share", ", ".join(self._consumers.routers)
            )
            session.run_until(stop.is_set, self._tick, TICK)
            self._drain(session)
        finally:
            self._observer.connected(False)
            self._health.consuming(False)
            self._abandon_in_flight()
            self._session = None
            session.close()

    def _drain(self, session: Session) -> None:
        """Stop taking work, then settle what is in flight within the grace period.

        The consumers are not cancelled: deliveries that still arrive, and those held while paused,
        are left unacknowledged, so they go back to their queues when the connection closes.
        """
        self._accepting = False
        deadline = time.monotonic() + self._settings.shutdown_grace_seconds
        session.run_until(
            lambda: not self._in_flight or time.monotonic() > deadline, lambda: self._tick(flush=True), TICK
        )
        if self._in_flight:
            log.warning(
                "%d inputs left unacknowledged at shutdown; the broker redelivers them", len(self._in_flight)
            )

    def _abandon_in_flight(self) -> None:
        # Unacknowledged inputs go back to the queue when the consuming connection closes.
        self._in_flight.clear()
        self._confirmed.clear()
        self._routed.clear()
        self._retry_at.clear()
        self._waiting.clear()
        self._dossiers.release_all()
        self._seen.release_all()
        self._observer.in_flight(0)

    # -- callbacks from the session -----------------------------------------------------------
    def _on_delivery(self, delivery: Delivery, tag: Tag) -> None:
        if not self._accepting or self._session is None:
            return  # shutting down: left unacknowledged, the broker requeues it on close
        # Taken together with whatever else arrived in the same read, in arrival order: the store is
        # asked once for all of them (``_prefetch``), not once per input.
        if not self._waiting:
            self._session.soon(self._take_arrived)
        self._waiting.append((delivery, tag))

    def _take_arrived(self) -> None:
        if self._waiting and self._session is not None:
            self._take_waiting()

    def _take(self, delivery: Delivery, tag: Tag) -> bool:
        """Route or judge ``delivery``; false when the store is down and it must wait."""
        if delivery.partner:
            self._route(delivery, tag)
            return True
        return self._judge(delivery, tag)

    def _route(self, delivery: Delivery, tag: Tag) -> None:
        self._observer.routed(delivery.partner)
        routed = [self._router.route(delivery)]
        self._publish(_InFlight(tag, None, time.monotonic(), routed, routed=True))

    def _judge(self, copy: Delivery, tag: Tag) -> bool:
        delivery = unwrap(copy)
        if delivery is None:
            # Only the hub publishes to hub.partitions: this came from a misconfigured tool.
            message_id = copy.properties.message_id
            log.error("a message on a partition lacks the router's headers; dropped (message_id=%s)",
                      message_id, extra=logs.about(message_id=message_id))  # fmt: skip
            self._routed.append(tag)
            return True
        self._observer.received(delivery.partner)
        try:
            outcome = self._pipeline.process(delivery)
        except TransientError as error:  # the store, most often: wait for it, keep the order
            self._pause("store", self._store_backoff.next_delay(), error)
            return False
        except Exception as error:  # a bug, not the message's fault: retried, never lost
            self._handler_failed(delivery, tag, error)
            return True
        if outcome.deferral is not None:
            outcome = self._parked(outcome, copy)
        self._settle(tag, outcome)
        return True

    def _parked(self, outcome: Outcome, copy: Delivery) -> Outcome:
        """The outcome with its one output: the message on its way to the park, from where it
        returns to the partition it came from (the copy's routing key)."""
        assert outcome.deferral is not None
        now_ms = int(time.time() * 1000)
        waiting = park(outcome.delivery, int(copy.routing_key), outcome.record.reason or "",
                       outcome.record.detail or "", now_ms)  # fmt: skip
        if not outcome.reparked:
            self._observer.parked(outcome.delivery.partner)
        return replace(outcome, outputs=(waiting,))

    def _settle(self, tag: Tag, outcome: Outcome) -> None:
        """Publish ``outcome``'s outputs; the input is acknowledged once they are confirmed and its
        ledger row committed."""
        token = self._publish(_InFlight(tag, outcome, time.monotonic(), outcome.outputs))
        self._hold(token, outcome)

    def _publish(self, item: _InFlight) -> int:
        assert self._session is not None
        token = next(self._tokens)
        self._in_flight[token] = item
        self._session.publish(token, item.outputs)
        return token

    def _hold(self, token: int, outcome: Outcome) -> None:
        """Until committed, later inputs see this one's dossier changes and that it was forwarded."""
        self._dossiers.hold(token, outcome.changes)
        if outcome.record.outcome == Disposition.FORWARDED and outcome.record.message_id:
            self._seen.hold(
                token, outcome.delivery.partner, outcome.record.message_id, outcome.record.body_sha256
            )

    def _release(self, token: int) -> None:
        self._dossiers.release(token)
        self._seen.release(token)

    def _handler_failed(self, delivery: Delivery, tag: Tag, error: Exception) -> None:
        """Requeue after a backoff. A message that keeps failing for a reason of the hub's own (not a
        store or broker outage) is dead-lettered ``processing_failed`` after ``poison_after``
        attempts, with its ledger row and audit entry, so the rest flows and an operator sees it.

        Only the error's type is logged: its text may quote the message.
        """
        self._observer.retried("handler")
        log.error(
            "processing failed: partner=%s message_id=%s error=%s",
            delivery.partner, delivery.properties.message_id, type(error).__name__,
            extra=logs.about(delivery.partner, delivery.properties.message_id, kind=delivery.routing_key[:64],
                             error=type(error).__name__),
        )  # fmt: skip
        attempts = self._failures.count(delivery)
        if attempts >= self._settings.poison_after:
            self._failures.forget(delivery)
            self._settle(tag, self._pipeline.poisoned(delivery, type(error).__name__, attempts))
            return
        token = next(self._tokens)
        self._in_flight[token] = _InFlight(tag, None, time.monotonic())
        self._retry_at.append((time.monotonic() + self._handler_backoff.next_delay(), token))

    def _on_confirm(self, token: int, ok: bool) -> None:
        item = self._in_flight.get(token)
        if item is None:
            return
        if not ok:  # refused or unroutable: publish again later; the input stays unacknowledged
            delay = self._publish_backoff.next_delay()
            self._pause("publish", delay, None)
            self._retry_at.append((time.monotonic() + delay, token))
            return
        self._publish_backoff.reset()
        self._resume("publish")
        if item.routed:
            del self._in_flight[token]
            self._routed.append(item.tag)
            return
        if not self._confirmed:
            self._confirmed_since = time.monotonic()
        self._confirmed.append(token)

    # -- pausing ------------------------------------------------------------------------------
    def _pause(self, cause: str, delay: float, error: Exception | None) -> None:
        if cause not in self._paused_until:
            log.warning("%s unavailable (%s); holding new work, retrying in %.1fs",
                        cause, type(error).__name__ if error else "refused", delay)  # fmt: skip
            self._observer.paused(cause, True)
        self._observer.retried(cause)
        self._paused_until[cause] = time.monotonic() + delay

    def _resume(self, cause: str) -> None:
        if self._paused_until.pop(cause, None) is not None:
            log.info("%s available again; resuming", cause)
            self._observer.paused(cause, False)

    def _take_waiting(self) -> None:
        """Work through what arrived or waited, oldest first, while nothing holds it back. The store
        is tried again with the oldest delivery itself: if it is still down, that one stays first."""
        now = time.monotonic()
        if any(at > now for at in self._paused_until.values()):
            return
        try:
            self._prefetch()
        except TransientError as error:
            self._pause("store", self._store_backoff.next_delay(), error)
            return
        try:
            while self._waiting and self._accepting:
                delivery, tag = self._waiting[0]
                if not self._take(delivery, tag):
                    return
                self._waiting.popleft()  # the store answered: a commit that succeeds resumes the rest
        finally:
            self._dossiers.forget_prefetched()
            self._seen.forget_prefetched()

    def _prefetch(self) -> None:
        """What the store knows of the waiting inputs' dossiers and message ids, in one query each.
        Nothing commits until they are judged, so what it read stays true meanwhile."""
        inputs = [d for d in (unwrap(copy) for copy, _ in self._waiting if not copy.partner) if d is not None]
        if not inputs:
            return
        dossiers = {self._router.key(d) for d in inputs}
        self._dossiers.prefetch(dossiers)
        self._pipeline.prefetch(dossiers)
        self._seen.prefetch({(d.partner, d.properties.message_id) for d in inputs if d.properties.message_id})

    # -- settling -----------------------------------------------------------------------------
    def _tick(self, flush: bool = False) -> None:
        session = self._session
        assert session is not None
        self._health.beat()
        self._observer.in_flight(len(self._in_flight) + len(self._waiting))
        if self._routed:
            session.ack(self._routed)
            self._routed = []
        self._retry_due(session)
        if self._commit_due(flush):
            self._commit_and_ack(session)
        if self._waiting:
            self._take_waiting()
        self._count_parked(session)

    def _retry_due(self, session: Session) -> None:
        """Publish again what the broker refused; requeue what failed to process, after its backoff."""
        if not self._retry_at:
            return
        now = time.monotonic()
        due = [token for at, token in self._retry_at if at <= now]
        self._retry_at = [(at, token) for at, token in self._retry_at if at > now]
        for token in due:
            item = self._in_flight[token]
            if item.outputs:
                session.publish(token, item.outputs)
                continue
            self._release(token)
            del self._in_flight[token]
            session.requeue(item.tag)

    def _count_parked(self, session: Session) -> None:
        now = time.monotonic()
        if now - self._parked_counted_at < COUNT_PARKED_SECONDS:
            return
        self._parked_counted_at = now
        partners = {park_queue(p): p for p in self._pipeline.partners}
        session.queue_counts(list(partners), lambda counts: self._parked_counts(partners, counts))

    def _parked_counts(self, partners: Mapping[str, str], counts: Mapping[str, tuple[int, int]]) -> None:
        for queue, (messages, _consumers) in counts.items():
            self._observer.parked_waiting(partners[queue], messages)

    def _commit_due(self, flush: bool) -> bool:
        if not self._confirmed or time.monotonic() < self._paused_until.get("store", 0.0):
            return False
        waited = time.monotonic() - self._confirmed_since
        return flush or len(self._confirmed) >= COMMIT_BATCH or waited >= COMMIT_INTERVAL

    def _commit_and_ack(self, session: Session) -> None:
        done = [self._in_flight[token] for token in self._confirmed]
        try:
            outcomes = [item.outcome for item in done if item.outcome is not None]
            recorded = [o for o in outcomes if not o.reparked]  # a re-park's row exists already
            self._ledger.record(
                [o.record for o in recorded],
                [c for o in outcomes for c in o.changes],
                [e for o in recorded for e in self._audit.of(o)],
            )
        except TransientError as error:
            # Fail closed: nothing is acked, and new work waits until the store answers.
            self._pause("store", self._store_backoff.next_delay(), error)
            return
        self._store_backoff.reset()
        self._resume("store")
        self._handler_backoff.reset()  # inputs settle again: whatever failed their processing passed
        session.ack([item.tag for item in done])
        for token in self._confirmed:
            del self._in_flight[token]
            self._release(token)  # committed: the store has them now
        self._confirmed.clear()
        self._observer.settled([(item.outcome, item.received) for item in done if item.outcome is not None])
        with self._settled_changed:
            self._settled += len(done)
            self._settled_changed.notify_all()
