"""The worker's connection: a broker that is away is waited for (counted, logged sparingly); one that
refuses the hub, or a store that refuses it, ends the worker with the refusal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from connectors.portal.fake import FakePortal
from hub import app
from hub.audit.entries import AuditEntry
from hub.bus.session import Consumers, OnConfirm, OnDelivery, Session
from hub.bus.topology import partition_queue
from hub.bus.transport import Transport
from hub.commit import UnitOfWork
from hub.dossiers.records import Change
from hub.errors import BrokerRefused, FatalError, StoreRefused, TransientError
from hub.outcomes import LedgerRecord
from hub.settings import Settings
from hub.worker import Worker
from tests.helpers import WAIT, PassThroughSession, filings

REFUSED = BrokerRefused("amqp://hub:****@h:5672/prod", "vhost 'prod' does not exist", "vhost prod not found")


class AwayTransport(Transport):
    """The embedded broker, whose next ``failures`` session opens fail as an unreachable broker's
    would, and whose opens after those raise ``then`` when set."""

    def __init__(self, embedded: str, failures: int, then: FatalError | None = None) -> None:
        super().__init__(None, embedded)
        self.failures, self.then = failures, then

    def session(self, consumers: Consumers, prefetch: int) -> Session:
        return AwaySession(super().session(consumers, prefetch), self)


class AwaySession(PassThroughSession):
    def __init__(self, inner: Session, transport: AwayTransport) -> None:
        super().__init__(inner)
        self._transport = transport

    def open(self, on_delivery: OnDelivery, on_confirm: OnConfirm) -> None:
        if self._transport.failures > 0:
            self._transport.failures -= 1
            raise TransientError("broker, while connecting: ConnectionRefusedError")
        if self._transport.then is not None:
            raise self._transport.then
        super().open(on_delivery, on_confirm)


def connect_retries() -> float:
    return REGISTRY.get_sample_value("hub_retries_total", {"cause": "connect"}) or 0.0


def run_until_it_ends(worker: Worker, seconds: float = WAIT) -> BaseException | None:
    """Run ``worker`` on a thread; what it raised, once it ended by itself within ``seconds``."""
    raised: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            worker.run(stop)
        except BaseException as error:  # handed to the test
            raised.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(seconds)
    ended = not thread.is_alive()
    stop.set()
    thread.join(seconds)
    assert ended, "the worker kept running"
    return raised[0] if raised else None


def test_a_broker_that_is_away_is_waited_for_counted_and_logged_sparingly(
    settings: Settings, embedded: str, portal: FakePortal, caplog: pytest.LogCaptureFixture
) -> None:
    hub = app.build(settings, embedded=embedded)
    hub = replace(hub, transport=AwayTransport(embedded, failures=4))
    hub.transport.apply_topology(hub.topology)
    hub.transport.publish_confirmed(filings(portal, 2))
    before = connect_retries()
    worker = hub.worker()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    with caplog.at_level(logging.WARNING, logger="hub.worker"):
        thread.start()
        try:
            assert worker.wait_settled(2, WAIT)
        finally:
            stop.set()
            thread.join(WAIT)
    assert connect_retries() - before == 4
    reconnecting = [r for r in caplog.records if "reconnecting" in r.getMessage()]
    assert len(reconnecting) == 1  # four attempts within the report interval: one line


def test_a_broker_refusal_on_a_reconnect_ends_the_worker(settings: Settings, embedded: str) -> None:
    hub = app.build(settings, embedded=embedded)
    hub = replace(hub, transport=AwayTransport(embedded, failures=2, then=REFUSED))
    hub.transport.apply_topology(hub.topology)
    before = connect_retries()
    assert run_until_it_ends(hub.worker()) is REFUSED
    assert connect_retries() - before == 2  # the passing failures were retried, the refusal not


class RefusingLedger(UnitOfWork):
    """A ledger whose database was dropped: reconnecting finds it missing."""

    def __init__(self, work: UnitOfWork) -> None:
        super().__init__(work.ledger, work.dossiers, work.audit)

    def record(
        self,
        records: Sequence[LedgerRecord],
        changes: Sequence[Change] = (),
        entries: Sequence[AuditEntry] = (),
    ) -> None:
        raise StoreRefused("postgresql+psycopg://hub:***@db/hub", "the database does not exist", "FATAL")


def test_a_store_refusal_ends_the_worker_with_nothing_acknowledged(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    hub = app.build(settings, embedded=embedded)
    hub = replace(hub, work=RefusingLedger(hub.work))
    hub.transport.apply_topology(hub.topology)
    hub.transport.publish_confirmed(filings(portal, 3))
    assert isinstance(run_until_it_ends(hub.worker()), StoreRefused)
    # Routed to their partitions, where none was acknowledged: all three wait there.
    queues = ["hub.ingress.portal", *(partition_queue(n) for n in range(settings.partitions))]
    assert sum(hub.transport.depth(queue) for queue in queues) == 3
