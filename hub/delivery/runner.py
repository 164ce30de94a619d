"""The delivery runner: ``egress.<partner>`` to the partner's HTTP service, one dossier at a time.

The runner's thread owns the broker connection (hub.bus.egress_channel). In a loop it admits the
messages the broker pushed (at most ``prefetch`` are held unacknowledged), sends each dossier's next
group through a pool of ``concurrency`` threads (hub.delivery.calls) as the rate limit allows,
settles the calls that ended, and waits on the connection meanwhile, so heartbeats are answered
however long a call takes. What it guarantees:

- one dossier's messages are sent in arrival order, never two calls of a dossier at once, and a
  later message never before an earlier one that is still failing (hub.delivery.lanes);
- a message is acknowledged only after the partner accepted its group, or after its dead letter
  was confirmed by the broker and its audit entry committed (a refusal, or an unreadable message);
- the partner unavailable: the group stays held and is tried again after a backoff (its
  ``Retry-After`` honoured, for every dossier); ``breaker_failures`` failures in a row open the
  breaker: no new messages are taken (those the broker still sends, within the prefetch window,
  wait in the channel in their order) and no call made until a probe after
  ``breaker_cooldown_seconds`` finds the partner back;
- a stop (SIGTERM) takes nothing new, lets the calls in flight end and settles them; what is still
  held returns to the queue when the connection closes. So does everything held when the
  connection breaks: the runner reconnects and the broker delivers it again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from hub import logs, metrics
from hub.backoff import Backoff, LogThrottle
from hub.delivery.audit import AuditSink, undelivered
from hub.delivery.calls import Calls, Result
from hub.delivery.contract import Adapter, PartnerRefused, PartnerUnavailable
from hub.delivery.http import RETRY_AFTER_CAP_SECONDS
from hub.delivery.lanes import Held, Lanes
from hub.delivery.letters import EgressReason, Malformed, dead_letter, egress_message
from hub.delivery.limits import Breaker, Clock, State, TokenBucket
from hub.envelope import Delivery, Outbound
from hub.errors import TransientError
from hub.health import Health
from hub.settings.delivery import DeliveryPolicy

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 0.25  # the loop looks at the clock at least this often
RECONNECT_FIRST_SECONDS, RECONNECT_MAX_SECONDS = 1.0, 30.0
REPORT_SECONDS = 5.0


class Channel(Protocol):
    """What the runner needs of the broker (hub.bus.egress_channel.EgressChannel)."""

    def open(self, on_delivery: Callable[[Delivery, int], None]) -> None: ...
    def resume(self) -> None: ...
    def pause(self) -> None: ...
    def ack(self, tags: Sequence[int]) -> None: ...
    def publish(self, message: Outbound) -> None: ...
    def wait(self, seconds: float) -> None: ...
    def wake(self) -> None: ...
    def ready(self) -> int: ...
    def close(self) -> None: ...


class Runner:
    """Delivers ``adapter.partner``'s egress under ``policy``; ``connect`` makes a new channel."""

    def __init__(
        self,
        adapter: Adapter,
        connect: Callable[[], Channel],
        policy: DeliveryPolicy,
        audit: AuditSink,
        *,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        health: Health | None = None,
    ) -> None:
        self.partner = adapter.partner
        self._adapter, self._connect, self._policy, self._audit = adapter, connect, policy, audit
        self._clock, self._rng = clock, rng
        self._health = health or Health()
        self._breaker = Breaker(policy.breaker_failures, policy.breaker_cooldown_seconds, clock)
        self._bucket = TokenBucket(policy.rate_per_second, clock)
        self._channel: Channel | None = None
        self._calls = Calls(adapter, policy.concurrency, self._wake)
        self._lanes = Lanes(policy, rng)
        self._arrived: list[tuple[Delivery, int]] = []
        self._consuming = False
        self.acknowledged = 0  # messages settled (delivered or dead-lettered), for the stop's log line

    # -- the outer loop: sessions, reconnecting ----------------------------------------------------
    def run(self, stop: threading.Event, until_empty: bool = False) -> None:
        """Deliver until ``stop`` is set (or, with ``until_empty``, until nothing is left to do).
        A broker that fails is reconnected to with backoff; a ``FatalError`` is raised."""
        backoff = Backoff(RECONNECT_FIRST_SECONDS, RECONNECT_MAX_SECONDS, self._rng)
        report = LogThrottle(log, REPORT_SECONDS)
        try:
            while not stop.is_set():
                try:
                    if self._session(stop, until_empty, backoff):
                        return
                except TransientError as error:
                    metrics.RETRIED.labels("connect").inc()
                    delay = backoff.next_delay()
                    report.warning("%s: %s; connecting again in %.1fs", self.partner, error, delay)
                    self._health.beat(delay)
                    stop.wait(delay)
        finally:
            self._calls.close()
            self._adapter.close()

    def _session(self, stop: threading.Event, until_empty: bool, backoff: Backoff) -> bool:
        """One connection's life; True when ``until_empty`` found nothing left."""
        channel = self._channel = self._connect()
        try:
            channel.open(self._received)
            self._consuming = False  # the loop consumes while the breaker is closed
            self._health.consuming(True)
            backoff.reset()
            return self._serve(channel, stop, until_empty)
        finally:
            self._health.consuming(False)
            self._end_session(channel)

    def _end_session(self, channel: Channel) -> None:
        """Let the calls in flight end; what they sent is acknowledged if the connection still
        can, and everything else held goes back to the queue as the connection closes."""
        try:
            for result in self._calls.drain():
                self._settle(result)
        except TransientError as error:  # the connection is gone: the broker delivers them again
            log.info("%s: %s; held messages return to the queue", self.partner, error)
        finally:
            channel.close()
            self._channel = None
            self._calls.drain()
            self._lanes = Lanes(self._policy, self._rng)
            self._arrived.clear()
            metrics.child(metrics.DELIVERY_HELD, self.partner).set(0)

    # -- one session's loop ------------------------------------------------------------------------
    def _serve(self, channel: Channel, stop: threading.Event, until_empty: bool) -> bool:
        while not stop.is_set():
            self._step(channel)
            if until_empty and self._nothing_left(channel):
                return True
            wait = self._wait_seconds()
            self._health.beat(wait)
            channel.wait(wait)
        self._finish(channel)
        return False

    def _finish(self, channel: Channel) -> None:
        """A stop: take nothing new, call nothing new, settle the calls in flight as they end
        (waiting on the connection, so its heartbeats go on however long they take)."""
        self._pause(channel)
        while len(self._calls):
            self._health.beat(MAX_WAIT_SECONDS)
            channel.wait(MAX_WAIT_SECONDS)
            for result in self._calls.finished():
                self._settle(result)

    def _step(self, channel: Channel) -> None:
        for result in self._calls.finished():
            self._settle(result)
        self._admit()
        self._dispatch()
        if self._breaker.closed:
            self._resume(channel)
        else:
            self._pause(channel)
        metrics.child(metrics.DELIVERY_HELD, self.partner).set(len(self._lanes))
        metrics.child(metrics.DELIVERY_BREAKER, self.partner).set(int(self._breaker.state))

    def _nothing_left(self, channel: Channel) -> bool:
        if self._arrived or len(self._lanes) or len(self._calls):
            return False
        # The broker first: what it counts as ready is not ours yet; what it already pushed to us
        # is no longer ready, and arrives during the short wait after.
        if channel.ready():
            return False
        channel.wait(0.05)
        return not self._arrived

    def _wait_seconds(self) -> float:
        """Until something may be done: a retry, the rate limit, the probe (a call's end wakes it)."""
        now, waits = self._clock(), [MAX_WAIT_SECONDS]
        retry = self._lanes.next_retry(now)
        if retry is not None:
            waits.append(retry - now)
        if self._breaker.closed:
            if self._calls.free() and any(True for _ in self._lanes.ready(now)):
                waits.append(self._bucket.wait())
        elif self._breaker.state is State.OPEN and not len(self._calls):
            waits.append(max(self._breaker.probe_in(), self._bucket.wait()))
        # Otherwise a call or the probe is out (half-open): its end wakes the loop. Waiting 0 s until
        # then held the interpreter the call's own thread needed.
        return max(0.0, min(waits))

    def _received(self, delivery: Delivery, tag: int) -> None:
        self._arrived.append((delivery, tag))

    def _wake(self) -> None:
        channel = self._channel
        if channel is not None:
            channel.wake()

    def _pause(self, channel: Channel) -> None:
        if self._consuming:
            channel.pause()
            self._consuming = False

    def _resume(self, channel: Channel) -> None:
        if not self._consuming:
            channel.resume()
            self._consuming = True

    # -- taking messages and sending them ----------------------------------------------------------
    def _admit(self) -> None:
        arrived, self._arrived = self._arrived, []
        for delivery, tag in arrived:
            try:
                self._lanes.add(Held(tag, delivery, egress_message(delivery)))
            except Malformed as error:
                self._dead_letter([(tag, delivery)], EgressReason.MALFORMED_EGRESS, error.detail, None)

    def _dispatch(self) -> None:
        if not self._breaker.closed:
            self._maybe_probe()
            return
        now = self._clock()
        for dossier in list(self._lanes.ready(now)):
            if not self._calls.free() or self._bucket.wait() > 0:
                return
            self._bucket.take()
            self._calls.deliver(dossier, self._lanes.take_group(dossier, self._adapter))

    def _maybe_probe(self) -> None:
        """Open, cooled down, nothing in flight and the rate limit (a partner's Retry-After) allowing a
        call: probe (half-open)."""
        breaker = self._breaker
        if breaker.state is State.OPEN and breaker.probe_in() <= 0 and not len(self._calls):
            if self._bucket.wait() > 0:
                return
            self._bucket.take()
            breaker.probing()
            self._calls.probe()

    # -- what became of a call ---------------------------------------------------------------------
    def _settle(self, result: Result) -> None:
        if result.probe:
            self._probed(result.error)
            return
        error = result.error
        metrics.child(metrics.DELIVERY_SECONDS, self.partner).observe(result.seconds)
        metrics.child(metrics.DELIVERY_CALLS, self.partner, _result_label(error)).inc()
        if error is None:
            self._accepted(result)
        elif isinstance(error, PartnerRefused):
            self._refused(result, error)
        else:
            self._unavailable(result, error)

    def _accepted(self, result: Result) -> None:
        self._breaker.succeeded()
        self._ack([held.tag for held in result.group])
        self._lanes.done(result.dossier, result.group)

    def _refused(self, result: Result, refusal: PartnerRefused) -> None:
        self._breaker.succeeded()  # the partner answered
        letters = [(held.tag, held.delivery) for held in result.group]
        self._dead_letter(letters, EgressReason.PARTNER_REFUSED, refusal.detail, refusal.code)
        self._lanes.done(result.dossier, result.group)

    def _unavailable(self, result: Result, error: Exception) -> None:
        retry_after = error.retry_after if isinstance(error, PartnerUnavailable) else None
        reason = error.reason if isinstance(error, PartnerUnavailable) else f"bug:{type(error).__name__}"
        delay = self._lanes.failed(result.dossier, self._clock(), retry_after)
        self._hold(retry_after)
        self._breaker.failed()
        metrics.child(metrics.DELIVERY_RETRIES, self.partner).inc()
        first = result.group[0].message
        log.warning(
            "%s unavailable (%s): %d message(s) of a dossier held, retried in %.1fs",
            self.partner,
            reason,
            len(result.group),
            delay,
            extra=logs.about(self.partner, first.message_id, first.kind, reason),
        )

    def _probed(self, error: Exception | None) -> None:
        if error is None or isinstance(error, PartnerRefused):
            log.info("%s answered the probe: breaker closed", self.partner)
            self._breaker.succeeded()
        else:
            self._hold(error.retry_after if isinstance(error, PartnerUnavailable) else None)
            self._breaker.failed()

    def _hold(self, retry_after: float | None) -> None:
        """No call, nor probe, before the partner's ``Retry-After``: its word holds for every dossier."""
        if retry_after is not None:
            self._bucket.hold_until(self._clock() + min(max(retry_after, 0.0), RETRY_AFTER_CAP_SECONDS))

    # -- the broker's side of settling ------------------------------------------------------------
    def _ack(self, tags: Sequence[int]) -> None:
        assert self._channel is not None
        self._channel.ack(tags)
        self.acknowledged += len(tags)

    def _dead_letter(
        self, letters: Sequence[tuple[int, Delivery]], reason: EgressReason, detail: str, code: str | None
    ) -> None:
        """Publish each dead letter (confirmed), commit their audit entries, then acknowledge."""
        assert self._channel is not None
        shown = detail if code is None else f"{code}: {detail}"
        for _tag, delivery in letters:
            self._channel.publish(dead_letter(delivery, reason, detail, code))
        self._audit([undelivered(delivery, str(reason), shown) for _tag, delivery in letters])
        self._ack([tag for tag, _delivery in letters])
        metrics.child(metrics.DELIVERY_DEAD_LETTERS, self.partner, str(reason)).inc(len(letters))
        for _tag, delivery in letters:
            log.warning(
                "%s: egress message dead-lettered (%s): %s",
                self.partner,
                reason,
                shown,
                extra=logs.about(self.partner, delivery.properties.message_id, delivery.routing_key, reason),
            )


def _result_label(error: Exception | None) -> str:
    if error is None:
        return "accepted"
    return "refused" if isinstance(error, PartnerRefused) else "unavailable"
