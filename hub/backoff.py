"""Retry pacing: a capped exponential backoff with jitter, and a log line that cannot flood.

A backoff counts consecutive failures of one cause (the store, a publish, a handler, a connection)
and is reset by that cause's next success. Its exponent stops growing once the delay reaches the
cap, so an outage of any length (a million failures) never overflows a float.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable


class Backoff:
    """Delays of ``first * 2**failures`` seconds, capped at ``cap``, each drawn at random between
    half and all of that: the floor keeps a failure from being retried at once, the spread keeps
    workers that failed together from retrying together."""

    def __init__(self, first: float, cap: float, rng: random.Random | None = None) -> None:
        if first <= 0 or cap <= 0:
            raise ValueError("backoff delays must be positive")
        self._first, self._cap = first, cap
        # The smallest exponent that reaches the cap: counting further would change nothing.
        self._max_exponent = max(0, math.ceil(math.log2(cap) - math.log2(first)))
        self._failures = 0
        self._random = rng or random.Random()

    @property
    def failures(self) -> int:
        """Consecutive failures since the last success, counted up to where the cap is reached."""
        return self._failures

    def next_delay(self) -> float:
        """The delay before retrying after one more failure; always within [0, cap]."""
        ceiling = min(self._cap, math.ldexp(self._first, self._failures))
        self._failures = min(self._failures + 1, self._max_exponent)
        return self._random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._failures = 0


class LogThrottle:
    """Logs a warning at most once every ``every`` seconds; the next line says how many were held
    back, so a long outage leaves a few lines, not one per attempt."""

    def __init__(
        self, logger: logging.Logger, every: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._logger, self._every, self._clock = logger, every, clock
        self._last: float | None = None
        self._held = 0

    def due(self) -> int | None:
        """None while lines are held back (this one counted), else how many were held back since
        the last line: the caller logs its line now."""
        now = self._clock()
        if self._last is not None and now - self._last < self._every:
            self._held += 1
            return None
        held, self._last, self._held = self._held, now, 0
        return held

    def warning(self, message: str, *args: object) -> None:
        held = self.due()
        if held is None:
            return
        if held:
            message, args = f"{message} (%d more attempts since the last report)", (*args, held)
        self._logger.warning(message, *args)

    def reset(self) -> None:
        """After a success: the next failure is reported at once."""
        self._last, self._held = None, 0
