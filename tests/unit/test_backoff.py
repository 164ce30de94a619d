"""The retry backoff never overflows, stays within its cap, and starts over after a success."""

from __future__ import annotations

import logging
import random

import pytest

from hub.backoff import Backoff, LogThrottle
from tests.clock import FakeClock


def test_a_million_consecutive_failures_neither_overflow_nor_leave_the_cap() -> None:
    backoff = Backoff(1.0, 30.0, random.Random(1))
    delays = [backoff.next_delay() for _ in range(10**6)]
    assert all(0 <= delay <= 30.0 for delay in delays)
    assert min(delays[10:]) >= 15.0  # capped, and jitter keeps at least half of the cap


def test_delays_grow_exponentially_within_their_jitter() -> None:
    backoff = Backoff(0.5, 30.0, random.Random(2))
    for ceiling in (0.5, 1, 2, 4, 8, 16, 30, 30):
        assert ceiling / 2 <= backoff.next_delay() <= ceiling


def test_a_success_starts_the_delays_over() -> None:
    backoff = Backoff(1.0, 30.0, random.Random(3))
    for _ in range(50):
        backoff.next_delay()
    backoff.reset()
    assert backoff.failures == 0
    assert 0.5 <= backoff.next_delay() <= 1.0


@pytest.mark.parametrize(("first", "cap"), [(60.0, 30.0), (1e-300, 1e300), (5e-324, 1.0)])
def test_extreme_settings_stay_within_the_cap(first: float, cap: float) -> None:
    backoff = Backoff(first, cap, random.Random(4))
    assert all(0 <= backoff.next_delay() <= cap for _ in range(5000))


def test_delays_are_spread_so_workers_that_failed_together_do_not_retry_together() -> None:
    backoffs = [Backoff(1.0, 30.0, random.Random(seed)) for seed in range(20)]
    for backoff in backoffs:
        for _ in range(6):
            backoff.next_delay()
    assert len({round(backoff.next_delay(), 6) for backoff in backoffs}) == 20


def test_the_throttle_logs_one_line_per_interval_and_counts_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(100.0)
    throttle = LogThrottle(logging.getLogger("test.throttle"), every=5.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        for _ in range(10):  # 10 attempts within 4.5 s: one line
            throttle.warning("broker down (%s)", "refused")
            clock.now += 0.5
        clock.now += 1.0
        throttle.warning("broker down (%s)", "refused")
    assert [r.getMessage() for r in caplog.records] == [
        "broker down (refused)",
        "broker down (refused) (9 more attempts since the last report)",
    ]


def test_after_a_reset_the_next_failure_is_reported_at_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(100.0)
    throttle = LogThrottle(logging.getLogger("test.throttle"), every=5.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        throttle.warning("down")
        throttle.warning("down")
        throttle.reset()
        throttle.warning("down again")
    assert [r.getMessage() for r in caplog.records] == ["down", "down again"]
