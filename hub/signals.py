"""Stopping a long-running command (``hub run``, ``hub deliver``, ``hub poll``) on SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger("hub")


def stop_on_signals() -> threading.Event:
    """An event SIGTERM and SIGINT set: the command stops taking work and settles what is in flight."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
