"""Waiting on an event with a deadline, by polling what can be observed of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    read: Callable[[], T], check: Callable[[T], bool], timeout: float, what: str, every: float = 0.2
) -> T:
    """Read ``read()`` every ``every`` seconds until ``check`` accepts it; fail naming ``what`` and the
    last value read when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {value!r}")
        time.sleep(every)
