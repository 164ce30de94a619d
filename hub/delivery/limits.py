"""The pacing of one partner's calls, on an injected clock: a token bucket (calls started per second),
a circuit breaker, and the retry delay after the partner was unavailable.

Nothing here sleeps or touches the network: the runner asks "may I call now, and if not, when?" and
waits on the broker's I/O loop meanwhile (hub.delivery.runner), so tests drive these with a fake clock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from enum import IntEnum

from hub.backoff import Backoff
from hub.delivery.http import RETRY_AFTER_CAP_SECONDS

Clock = Callable[[], float]  # seconds, monotonic


class TokenBucket:
    """``rate`` calls per second, with a burst of one second's worth (at least one call); None: no
    limit. ``hold_until`` stops every call until a moment (a partner's Retry-After)."""

    def __init__(self, rate: float | None, clock: Clock = time.monotonic) -> None:
        self._rate, self._clock = rate, clock
        self._capacity = max(1.0, rate or 1.0)
        self._tokens = self._capacity
        self._updated = clock()
        self._held_until = 0.0

    def wait(self) -> float:
        """Seconds until a call may start (0: now)."""
        now = self._clock()
        held = max(0.0, self._held_until - now)
        if self._rate is None:
            return held
        self._refill(now)
        return max(held, (1.0 - self._tokens) / self._rate)

    def take(self) -> None:
        """A call starts (only after ``wait`` said 0)."""
        if self._rate is not None:
            self._refill(self._clock())
            self._tokens -= 1.0

    def hold_until(self, moment: float) -> None:
        self._held_until = max(self._held_until, moment)

    def _refill(self, now: float) -> None:
        assert self._rate is not None
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now


class State(IntEnum):
    """The breaker's states, as the gauge ``hub_delivery_breaker_state`` shows them."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class Breaker:
    """Closed: calls go; ``failures`` consecutive failed calls open it. Open: no call, for
    ``cooldown`` seconds; then ``probe_due`` says the runner may probe (half-open): a success closes
    it, a failure opens it again for another cool-down."""

    def __init__(self, failures: int, cooldown: float, clock: Clock = time.monotonic) -> None:
        self._limit, self._cooldown, self._clock = failures, cooldown, clock
        self._failures = 0
        self._opened_at: float | None = None
        self._state = State.CLOSED

    @property
    def state(self) -> State:
        return self._state

    @property
    def closed(self) -> bool:
        return self._state is State.CLOSED

    def succeeded(self) -> None:
        """A call or the probe was answered (accepted or refused: the partner is there)."""
        self._failures, self._opened_at, self._state = 0, None, State.CLOSED

    def failed(self) -> None:
        """A call or the probe found the partner unavailable. Calls that were in flight when the
        breaker opened change nothing: the cool-down runs from the opening."""
        if self._state is State.OPEN:
            return
        self._failures = min(self._failures + 1, self._limit)
        if self._state is State.HALF_OPEN or self._failures >= self._limit:
            self._opened_at, self._state = self._clock(), State.OPEN

    def probe_in(self) -> float:
        """Open: seconds until the probe is due (0: due now). Other states: 0."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._cooldown - self._clock())

    def probing(self) -> None:
        """The probe starts: half-open until it answers."""
        self._state = State.HALF_OPEN


class RetryDelay:
    """A dossier's delay before its next try: capped exponential backoff with jitter
    (hub.backoff.Backoff), but never shorter than what the partner asked (Retry-After, at most
    ``RETRY_AFTER_CAP_SECONDS``)."""

    def __init__(self, first: float, cap: float, rng: random.Random | None = None) -> None:
        self._backoff = Backoff(first, cap, rng)

    def next(self, retry_after: float | None) -> float:
        delay = self._backoff.next_delay()
        if retry_after is None:
            return delay
        return max(delay, min(max(retry_after, 0.0), RETRY_AFTER_CAP_SECONDS))

    def reset(self) -> None:
        self._backoff.reset()
