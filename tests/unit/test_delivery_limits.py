"""The delivery runner's pacing on a fake clock: the token bucket, the circuit breaker, the retry
delay (backoff with jitter, Retry-After honoured, both bounded), and the per-partner policy."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from hub.delivery.http import RETRY_AFTER_CAP_SECONDS
from hub.delivery.limits import Breaker, RetryDelay, State, TokenBucket
from hub.settings import Settings
from hub.settings.delivery import DeliveryPolicy, policy_for
from tests.clock import FakeClock


def test_the_bucket_allows_one_seconds_worth_then_paces_calls() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, clock)
    for _ in range(2):
        assert bucket.wait() == 0
        bucket.take()
    assert bucket.wait() == pytest.approx(0.5)
    clock.advance(0.5)
    assert bucket.wait() == 0
    bucket.take()
    clock.advance(3600)  # an idle hour saves no more than one second's worth
    for _ in range(2):
        bucket.take()
    assert bucket.wait() > 0


def test_a_slow_rate_still_lets_one_call_through() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0.1, clock)
    assert bucket.wait() == 0
    bucket.take()
    assert bucket.wait() == pytest.approx(10.0)


def test_no_rate_means_no_wait_but_a_hold_still_holds() -> None:
    clock = FakeClock()
    bucket = TokenBucket(None, clock)
    assert bucket.wait() == 0
    bucket.hold_until(clock.now + 30)
    assert bucket.wait() == pytest.approx(30)
    bucket.hold_until(clock.now + 5)  # an earlier moment never shortens a hold
    assert bucket.wait() == pytest.approx(30)
    clock.advance(30)
    assert bucket.wait() == 0


def test_the_breaker_opens_after_n_failures_in_a_row() -> None:
    clock = FakeClock()
    breaker = Breaker(3, 30.0, clock)
    breaker.failed()
    breaker.failed()
    breaker.succeeded()  # a success in between: the count starts over
    breaker.failed()
    breaker.failed()
    states = [breaker.state]
    breaker.failed()
    states.append(breaker.state)
    assert states == [State.CLOSED, State.OPEN]
    assert breaker.probe_in() == pytest.approx(30.0)


def test_an_open_breaker_probes_after_its_cooldown_and_closes_on_success() -> None:
    clock = FakeClock()
    breaker = Breaker(1, 30.0, clock)
    breaker.failed()
    clock.advance(10)
    breaker.failed()  # a call that was in flight when it opened: the cool-down runs from the opening
    clock.advance(19.9)
    assert breaker.probe_in() == pytest.approx(0.1)
    clock.advance(0.1)
    assert breaker.probe_in() == 0
    breaker.probing()
    assert breaker.state is State.HALF_OPEN
    breaker.succeeded()
    assert breaker.closed


def test_a_failed_probe_opens_the_breaker_for_another_cooldown() -> None:
    clock = FakeClock()
    breaker = Breaker(5, 30.0, clock)
    for _ in range(5):
        breaker.failed()
    clock.advance(30)
    breaker.probing()
    breaker.failed()
    assert breaker.state is State.OPEN
    assert breaker.probe_in() == pytest.approx(30.0)


def test_retry_delays_grow_with_jitter_and_stay_under_the_cap() -> None:
    delay = RetryDelay(1.0, 60.0, random.Random(4))
    delays = [delay.next(None) for _ in range(10_000)]
    for ceiling, got in zip((1, 2, 4, 8, 16, 32, 60), delays, strict=False):
        assert ceiling / 2 <= got <= ceiling
    assert max(delays) <= 60.0


def test_retry_after_is_honoured_but_bounded() -> None:
    delay = RetryDelay(1.0, 60.0, random.Random(5))
    assert delay.next(120.0) == 120.0  # longer than the backoff cap: the partner's word wins
    assert delay.next(0.5) >= 1.0  # shorter than the backoff: the backoff wins
    assert delay.next(10**9) == RETRY_AFTER_CAP_SECONDS
    assert delay.next(-5) <= 60.0


def test_a_success_starts_the_retry_delay_over() -> None:
    delay = RetryDelay(1.0, 60.0, random.Random(6))
    for _ in range(20):
        delay.next(None)
    delay.reset()
    assert delay.next(None) <= 1.0


def test_a_partners_policy_overrides_only_the_keys_it_sets() -> None:
    delivery = {"default": {"timeout_seconds": 20, "concurrency": 8}, "postal": {"concurrency": 2}}
    settings = Settings.model_validate({"delivery": delivery})
    postal, portal = settings.delivery_policy("postal"), settings.delivery_policy("portal")
    assert (postal.timeout_seconds, postal.concurrency) == (20, 2)
    assert (portal.timeout_seconds, portal.concurrency) == (20, 8)
    assert policy_for({}, "portal") == DeliveryPolicy()


def test_a_partners_policy_is_set_alone_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DELIVERY__POSTAL__CONCURRENCY", "3")
    assert Settings().delivery_policy("postal").concurrency == 3


def test_a_policy_refuses_unknown_keys_and_unbounded_values() -> None:
    with pytest.raises(ValidationError):
        DeliveryPolicy.model_validate({"concurency": 2})
    with pytest.raises(ValidationError):
        DeliveryPolicy(prefetch=0)
    with pytest.raises(ValidationError):
        DeliveryPolicy(retry_max_seconds=0)
