"""The RabbitMQ session's loop when the broker goes (no broker needed: the I/O loop runs alone)."""

from __future__ import annotations

import pytest

from hub.bus.pika_session import PikaSession
from hub.bus.session import Consumers
from hub.bus.urls import parse_broker_url
from hub.errors import TransientError


def test_no_tick_runs_on_the_closed_channels_of_a_connection_that_just_went() -> None:
    """pika runs the timers due in the loop iteration that lost the connection: the worker's tick
    would act on closed channels and kill the process instead of reconnecting."""
    address = parse_broker_url("amqp://guest:guest@127.0.0.1:1/%2F")  # never connected to
    session = PikaSession(address, Consumers({}), prefetch=1)
    ticks: list[int] = []
    # The broker closing the connection and the worker's tick fall due in the same iteration.
    session._ioloop.call_later(0, lambda: session._fail("connection closed: (320, 'CONNECTION_FORCED')"))
    try:
        with pytest.raises(TransientError, match="CONNECTION_FORCED"):
            session.run_until(lambda: False, lambda: ticks.append(1), 0)
    finally:
        session.close()
    assert ticks == []
