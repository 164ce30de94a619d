"""The worker over the embedded broker: ack after confirm and commit, retries, graceful stop."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import replace

import pytest
from sqlalchemy import text

from connectors.onestop.fake import FakeOnestop
from connectors.portal.fake import FakePortal
from hub import app
from hub.audit.entries import AuditEntry
from hub.bus.session import Consumers, OnConfirm, OnDelivery, Session, Tag
from hub.bus.transport import Transport
from hub.commit import UnitOfWork
from hub.dossiers.records import Change
from hub.envelope import Delivery, Outbound
from hub.outcomes import LedgerRecord, Outcome
from hub.pipeline import Pipeline
from hub.settings import Settings
from hub.store.database import StoreUnavailable
from hub.store.ledger import Ledger
from tests.conftest import PROVINCE_UNIT
from tests.helpers import WAIT, PassThroughSession, eventually, filings, running


def test_bad_input_is_dead_lettered_and_the_worker_keeps_going(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    bad = [message for _, message in portal.bad_messages(PROVINCE_UNIT, settings.max_body_bytes)]
    good_before, good_after = filings(portal, 5), filings(portal, 5)
    with running(app.build(settings, embedded=embedded)) as run:
        run.hub.transport.publish_confirmed([*good_before, *bad, *good_after])
        assert run.worker.wait_settled(len(good_before) + len(bad) + len(good_after), WAIT)
        assert run.hub.transport.depth("egress.onestop") == 10
        assert run.hub.transport.depth("hub.dead.portal") == len(bad)
        assert run.hub.transport.depth("hub.ingress.portal") == 0
    assert run.hub.ledger.count() == 10 + len(bad)


class FlakyLedger(UnitOfWork):
    """A ledger whose first ``failures`` writes fail as if the database were down."""

    def __init__(self, work: UnitOfWork, failures: int) -> None:
        super().__init__(work.ledger, work.dossiers, work.audit)
        self.failures, self.attempts = failures, 0
        self.during_outage = threading.Event()

    def record(
        self,
        records: Sequence[LedgerRecord],
        changes: Sequence[Change] = (),
        entries: Sequence[AuditEntry] = (),
    ) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            if self.attempts == self.failures:
                self.during_outage.set()
            raise StoreUnavailable("database is down")
        super().record(records, changes, entries)


def test_nothing_is_acknowledged_before_its_ledger_row_commits(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    hub = app.build(settings, embedded=embedded)
    flaky = FlakyLedger(hub.work, failures=3)
    hub = replace(hub, work=flaky)
    with running(hub) as run:
        run.hub.transport.publish_confirmed(filings(portal, 4))
        assert flaky.during_outage.wait(WAIT)
        assert run.worker.settled == 0  # the outputs went out, the inputs stay unacknowledged
        assert run.worker.wait_settled(4, WAIT)
    assert flaky.attempts > 3
    assert flaky.ledger.count() == 4


class RefusingTransport(Transport):
    """The embedded broker, refusing the first ``refusals`` publishes as a broker's nack would."""

    def __init__(self, embedded: str, refusals: int) -> None:
        super().__init__(None, embedded)
        self.refusals = refusals

    def session(self, consumers: Consumers, prefetch: int) -> Session:
        return RefusingSession(super().session(consumers, prefetch), self)


class RefusingSession(PassThroughSession):
    def __init__(self, inner: Session, transport: RefusingTransport) -> None:
        super().__init__(inner)
        self._transport = transport
        self._on_confirm: OnConfirm | None = None

    def open(self, on_delivery: OnDelivery, on_confirm: OnConfirm) -> None:
        self._on_confirm = on_confirm
        super().open(on_delivery, on_confirm)

    def publish(self, token: int, messages: Sequence[Outbound]) -> None:
        if self._transport.refusals > 0:
            assert self._on_confirm is not None
            self._transport.refusals -= 1
            self._on_confirm(token, False)
            return
        super().publish(token, messages)


def test_a_refused_output_requeues_its_input_and_it_flows_later(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    hub = app.build(settings, embedded=embedded)
    hub = replace(hub, transport=RefusingTransport(embedded, refusals=2))
    messages = filings(portal, 3)
    with running(hub) as run:
        run.hub.transport.publish_confirmed(messages)
        assert run.worker.wait_settled(3, WAIT)
        outputs = run.hub.transport.take("egress.onestop", limit=10)
    sources = sorted(str(d.properties.headers["x-hub-source-message-id"]) for d in outputs)
    assert sources == sorted(str(m.properties.message_id) for m in messages)  # each exactly once
    assert hub.ledger.count() == 3


def test_unacknowledged_messages_come_back_when_a_connection_closes(
    embedded: str, portal: FakePortal
) -> None:
    transport = Transport(None, embedded)
    transport.apply_topology(app.topology())
    transport.publish_confirmed(filings(portal, 1))
    with transport.connection() as connection:
        queue = connection.SimpleQueue("hub.ingress.portal", no_ack=False)
        assert queue.get(timeout=WAIT) is not None  # received, never acknowledged
    assert transport.depth("hub.ingress.portal") == 1


def test_embedded_brokers_are_isolated(portal: FakePortal) -> None:
    first, second = Transport(None, "isolated-a"), Transport(None, "isolated-b")
    for transport in (first, second):
        transport.apply_topology(app.topology())
    first.publish_confirmed(filings(portal, 2))
    assert (first.depth("hub.ingress.portal"), second.depth("hub.ingress.portal")) == (2, 0)


def test_a_failing_handler_requeues_its_input_and_the_rest_flow(
    settings: Settings, embedded: str, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = filings(portal, 3)
    poison = messages[0].properties.message_id
    failures = {"left": 2}
    real_process = Pipeline.process

    def flaky_process(self: Pipeline, delivery: Delivery) -> Outcome:
        if delivery.properties.message_id == poison and failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("a bug")
        return real_process(self, delivery)

    monkeypatch.setattr(Pipeline, "process", flaky_process)
    with running(app.build(settings, embedded=embedded)) as run:
        run.hub.transport.publish_confirmed(messages)
        assert run.worker.wait_settled(3, WAIT)
        outputs = run.hub.transport.take("egress.onestop", limit=10)
    assert failures["left"] == 0
    assert sorted(str(d.properties.headers["x-hub-source-message-id"]) for d in outputs) == sorted(
        str(m.properties.message_id) for m in messages
    )


def test_a_message_that_always_fails_is_dead_lettered_processing_failed_and_audited(
    settings: Settings,
    embedded: str,
    portal: FakePortal,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    messages = filings(portal, 3)
    poison = messages[1].properties.message_id
    attempts = {"count": 0}
    real_process = Pipeline.process

    def buggy_process(self: Pipeline, delivery: Delivery) -> Outcome:
        if delivery.properties.message_id == poison:
            attempts["count"] += 1
            raise KeyError("a bug that quotes the message: Nguyễn Văn A")
        return real_process(self, delivery)

    monkeypatch.setattr(Pipeline, "process", buggy_process)
    quick = settings.model_copy(update={"poison_after": 3})
    with running(app.build(quick, embedded=embedded)) as run:
        run.hub.transport.publish_confirmed(messages)
        assert run.worker.wait_settled(3, WAIT)
        forwarded = run.hub.transport.take("egress.onestop", limit=10)
        [letter] = run.hub.transport.take("hub.dead.portal", limit=10, partner="portal")
    assert attempts["count"] == 3
    assert len(forwarded) == 2  # the others flowed meanwhile
    assert letter.properties.message_id == poison
    assert letter.properties.headers["x-hub-reason"] == "processing_failed"
    detail = str(letter.properties.headers["x-hub-detail"])
    assert detail == "processing failed 3 times (KeyError); replay once the hub is fixed"
    tallies = {(t.outcome, t.reason): t.messages for t in run.hub.ledger.tally()}
    assert tallies == {("forwarded", None): 2, ("dead_lettered", "processing_failed"): 1}
    assert "Nguyễn" not in caplog.text  # the error's type is logged, never its text


def test_a_store_outage_never_makes_a_message_poison(
    settings: Settings, embedded: str, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = filings(portal, 2)
    failures = {"left": 6}  # more than poison_after: an outage is not the message's fault
    real_process = Pipeline.process

    def store_down(self: Pipeline, delivery: Delivery) -> Outcome:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise StoreUnavailable("the store refused a read: OperationalError")
        return real_process(self, delivery)

    monkeypatch.setattr(Pipeline, "process", store_down)
    quick = settings.model_copy(update={"poison_after": 2})
    with running(app.build(quick, embedded=embedded)) as run:
        run.hub.transport.publish_confirmed(messages)
        assert run.worker.wait_settled(2, WAIT)
    assert failures["left"] == 0
    assert {(t.outcome, t.reason): t.messages for t in run.hub.ledger.tally()} == {("forwarded", None): 2}


class UnreadableLedger(Ledger):
    """A ledger whose first ``failures`` reads fail as if the database were down."""

    def __init__(self, ledger: Ledger, failures: int) -> None:
        super().__init__(ledger.engine)
        self.failures, self.reads = failures, 0

    def forwarded_body(self, partner: str, message_id: str) -> str | None:
        self._read()
        return super().forwarded_body(partner, message_id)

    def forwarded_bodies(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        self._read()  # the worker's read for the inputs that arrived together
        return super().forwarded_bodies(keys)

    def _read(self) -> None:
        self.reads += 1
        if self.reads <= self.failures:
            raise StoreUnavailable("database is down")


class CountingTransport(Transport):
    """The embedded broker, counting the requeues the worker asks of it."""

    def __init__(self, embedded: str) -> None:
        super().__init__(None, embedded)
        self.requeued = 0

    def session(self, consumers: Consumers, prefetch: int) -> Session:
        inner = super().session(consumers, prefetch)
        original = inner.requeue

        def requeue(tag: Tag) -> None:
            self.requeued += 1
            original(tag)

        inner.requeue = requeue  # type: ignore[method-assign]
        return inner


def test_a_store_outage_pauses_the_worker_and_requeues_nothing(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    quick = settings.model_copy(update={"retry_backoff_max_seconds": 0.1})
    hub = app.build(quick, embedded=embedded)
    unreadable = UnreadableLedger(hub.ledger, failures=20)
    counting = CountingTransport(embedded)
    hub = replace(hub, ledger=unreadable, transport=counting)
    messages = filings(portal, 5)
    with running(hub) as run:
        run.hub.transport.publish_confirmed(messages)
        assert run.worker.wait_settled(5, WAIT)
    assert unreadable.reads > 20  # the store was tried again until it answered
    assert counting.requeued == 0  # held in order meanwhile, never sent back to the queue
    outputs = hub.transport.take("egress.onestop", limit=20)
    assert sorted(str(d.properties.headers["x-hub-source-message-id"]) for d in outputs) == sorted(
        str(m.properties.message_id) for m in messages
    )
    assert unreadable.count() == 5


def test_a_dossier_read_the_store_refuses_pauses_the_worker_and_is_never_poison(
    settings: Settings, embedded: str
) -> None:
    quick = settings.model_copy(update={"retry_backoff_max_seconds": 0.1, "poison_after": 1})
    onestop = FakeOnestop(seed=5)
    (_, received), (_, step) = onestop.received_with_steps(PROVINCE_UNIT, (4,))
    with running(app.build(quick, embedded=embedded)) as run:
        run.hub.transport.publish_confirmed([onestop.message("dossier.received", received)])
        assert run.worker.wait_settled(1, WAIT)
        with run.hub.ledger.engine.begin() as connection:  # the dossier table goes away
            connection.execute(text("ALTER TABLE dossiers RENAME TO dossiers_away"))
        run.hub.transport.publish_confirmed([onestop.message("dossier.progress", step)])
        assert eventually(lambda: run.worker.paused)
        with run.hub.ledger.engine.begin() as connection:
            connection.execute(text("ALTER TABLE dossiers_away RENAME TO dossiers"))
        assert run.worker.wait_settled(2, WAIT)
        assert run.hub.transport.depth("hub.dead.onestop") == 0  # not processing_failed, however often
        assert not run.worker.paused
