"""The worker's acknowledgement path against a broker the test plays by hand: it delivers, confirms or
refuses each input's outputs when the test says so, and records every ack and requeue with what the
store held at that moment. The real pipeline and ledger (SQLite) run behind the worker."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, select

from connectors.portal.fake import FakePortal
from hub import app
from hub.audit.chain import audit_log
from hub.audit.entries import AuditEntry
from hub.bus.session import Consumers, OnConfirm, OnCounts, OnDelivery, Session, Tag
from hub.bus.transport import Transport
from hub.commit import UnitOfWork
from hub.connector import dossier_code_key
from hub.dossiers.records import Change
from hub.envelope import Delivery, Outbound
from hub.outcomes import LedgerRecord, Outcome
from hub.partitions import Router
from hub.pipeline import Pipeline
from hub.settings import Settings
from hub.store.database import StoreUnavailable
from hub.store.dossiers import dossiers
from hub.store.keys import DataKeys
from hub.worker import Worker
from tests.conftest import PROVINCE_UNIT
from tests.helpers import filings
from tests.integration.guarantees import ledger_rows
from tests.waiting import eventually

WAIT = 10.0
ROUTER = Router({"portal": dossier_code_key}, 8)


@dataclass
class Acked:
    """One ack call, with what the store held when it was sent."""

    tags: list[Tag]
    rows: dict[str, list[str]]  # message id -> outcomes
    audit: list[tuple[str, str]]  # (entry, message id)
    dossiers: list[str]


def audit_and_dossiers(database_url: str) -> tuple[list[tuple[str, str]], list[str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            audit = connection.execute(select(audit_log.c.entry, audit_log.c.message_id)).all()
            codes = connection.execute(select(dossiers.c.code)).scalars().all()
    finally:
        engine.dispose()
    return sorted((str(e), str(m)) for e, m in audit), sorted(codes)


@dataclass
class ScriptedSession(Session):
    """A session whose broker is the test: commands run on the worker's thread, as pika's would."""

    database_url: str
    commands: queue.Queue[Callable[[], None]] = field(default_factory=queue.Queue)
    published: dict[int, list[Outbound]] = field(default_factory=dict)
    publishes: list[int] = field(default_factory=list)  # every publish's token, a refused one again
    acks: list[Acked] = field(default_factory=list)
    requeued: list[Tag] = field(default_factory=list)
    runs: int = 0  # run_until calls: the second is the drain
    soon_callbacks: list[Callable[[], None]] = field(default_factory=list)
    soon_asked: int = 0
    published_at_tick: dict[int, int] = field(default_factory=dict)
    ticks: int = 0
    closed: threading.Event = field(default_factory=threading.Event)
    _on_delivery: OnDelivery | None = None
    _on_confirm: OnConfirm | None = None

    # the Session the worker sees
    def open(self, on_delivery: OnDelivery, on_confirm: OnConfirm) -> None:
        self._on_delivery, self._on_confirm = on_delivery, on_confirm

    def run_until(self, done: Callable[[], bool], tick: Callable[[], None], interval: float) -> None:
        self.runs += 1
        while not done():
            try:
                command = self.commands.get(timeout=interval)
            except queue.Empty:
                command = None
            if command is not None:
                command()
            while self.soon_callbacks:  # as pika runs a timer due now: before the next read
                self.soon_callbacks.pop(0)()
            tick()
            self.ticks += 1

    def soon(self, callback: Callable[[], None]) -> None:
        self.soon_asked += 1
        self.soon_callbacks.append(callback)

    def publish(self, token: int, messages: Sequence[Outbound]) -> None:
        self.published_at_tick[token] = self.ticks
        self.published[token] = list(messages)
        self.publishes.append(token)

    def ack(self, tags: Collection[Tag]) -> None:
        state = audit_and_dossiers(self.database_url)
        self.acks.append(Acked(list(tags), ledger_rows(self.database_url), *state))

    def requeue(self, tag: Tag) -> None:
        self.requeued.append(tag)

    def queue_counts(self, queues: Sequence[str], then: OnCounts) -> None:
        then({})

    def close(self) -> None:
        self.closed.set()

    # the test's side
    def deliver(self, message: Outbound, tag: Tag) -> None:
        """``message`` as its partition delivers it, once the router passed it on."""
        sent = Delivery("portal", message.exchange, message.routing_key, message.body, message.properties)
        copy = ROUTER.route(sent)
        delivery = Delivery("", copy.exchange, copy.routing_key, copy.body, copy.properties)
        self.commands.put(lambda: self._deliver(delivery, tag))

    def deliver_together(self, messages: Sequence[Outbound], first_tag: int) -> None:
        """``messages`` in one go, as one read of the socket hands the worker several deliveries."""
        copies = [(self._partition_copy(m), first_tag + i) for i, m in enumerate(messages)]

        def run() -> None:
            for delivery, tag in copies:
                self._deliver(delivery, tag)

        self.commands.put(run)

    def _partition_copy(self, message: Outbound) -> Delivery:
        sent = Delivery("portal", message.exchange, message.routing_key, message.body, message.properties)
        copy = ROUTER.route(sent)
        return Delivery("", copy.exchange, copy.routing_key, copy.body, copy.properties)

    def _deliver(self, delivery: Delivery, tag: Tag) -> None:
        assert self._on_delivery is not None
        self._on_delivery(delivery, tag)

    def confirm(self, token: int, ok: bool = True) -> None:
        def run() -> None:
            assert self._on_confirm is not None
            self._on_confirm(token, ok)

        self.commands.put(run)

    def acked(self) -> list[Tag]:
        return [tag for ack in self.acks for tag in ack.tags]

    def wait_published(self, count: int) -> list[int]:
        tokens = eventually(
            lambda: list(self.published), lambda t: len(t) >= count, WAIT, f"{count} publishes"
        )
        return tokens[:count]

    def wait_requeued(self, count: int) -> None:
        eventually(lambda: len(self.requeued), lambda n: n >= count, WAIT, f"{count} requeues")

    def wait_ticks(self, count: int) -> None:
        """Until the worker has run ``count`` more ticks: time for anything due to happen."""
        start = self.ticks
        eventually(lambda: self.ticks, lambda t: t >= start + count, WAIT, f"{count} ticks", every=0.01)


class ScriptedTransport(Transport):
    def __init__(self, session: ScriptedSession) -> None:
        super().__init__(None)
        self.scripted = session

    def session(self, consumers: Consumers, prefetch: int) -> Session:
        return self.scripted


class FailingLedger(UnitOfWork):
    """The hub's ledger, whose writes fail (as if the database were down) while ``down`` is set."""

    def __init__(self, work: UnitOfWork) -> None:
        super().__init__(work.ledger, work.dossiers, work.audit)
        self.down = threading.Event()
        self.refused = 0

    def record(
        self,
        records: Sequence[LedgerRecord],
        changes: Sequence[Change] = (),
        entries: Sequence[AuditEntry] = (),
    ) -> None:
        if self.down.is_set():
            self.refused += 1
            raise StoreUnavailable("database is down")
        super().record(records, changes, entries)


@dataclass
class Harness:
    session: ScriptedSession
    ledger: FailingLedger
    worker: Worker
    stop: threading.Event
    thread: threading.Thread

    def holds_nothing(self) -> bool:
        """Whether the worker still holds, for later inputs, dossier changes or forwarded ids of
        inputs it has let go of (the book and the seen set are the worker's own)."""
        book, seen = self.worker._dossiers, self.worker._seen
        return not (book._held or book._codes or seen._held or seen._keys)

    def stop_and_join(self) -> None:
        self.stop.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return settings.model_copy(update={"retry_backoff_seconds": 0.02, "retry_backoff_max_seconds": 0.05})


def start(settings: Settings, embedded: str, hub: app.Hub | None = None) -> Harness:
    hub = hub or app.build(settings, embedded=embedded)
    session = ScriptedSession(settings.database_url.get_secret_value())
    ledger = FailingLedger(hub.work)
    worker = replace(hub, transport=ScriptedTransport(session), work=ledger).worker()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return Harness(session, ledger, worker, stop, thread)


@pytest.fixture
def harness(quick: Settings, embedded: str) -> Iterator[Harness]:
    running = start(quick, embedded)
    yield running
    running.stop_and_join()


def ids(*messages: Outbound) -> list[str]:
    return [str(m.properties.message_id) for m in messages]


def received() -> float:
    return REGISTRY.get_sample_value("hub_messages_received_total", {"partner": "portal"}) or 0.0


def test_an_input_is_acknowledged_once_confirmed_and_recorded_never_before(
    harness: Harness, portal: FakePortal
) -> None:
    [filing] = filings(portal, 1)
    session = harness.session
    before = received()
    session.deliver(filing, 1)
    [token] = session.wait_published(1)
    assert [m.exchange for m in session.published[token]] == ["hub.events", "egress.onestop"]
    assert received() == before + 1
    session.wait_ticks(20)  # several commit intervals
    assert session.acks == []  # published is not confirmed
    session.confirm(token)
    eventually(session.acked, lambda tags: tags == [1], WAIT, "the ack")
    [ack] = session.acks
    # The row, the audit entries and the dossier were in the store before the ack.
    assert ack.rows == {ids(filing)[0]: ["forwarded"]}
    outputs = [("out", str(m.properties.message_id)) for m in session.published[token]]
    assert ack.audit == sorted([("in", ids(filing)[0]), *outputs])
    assert ack.dossiers == [json.loads(filing.body)["MaHoSo"]]


def test_a_refused_output_is_published_again_after_its_backoff_and_its_input_never_requeued(
    harness: Harness, portal: FakePortal
) -> None:
    [filing] = filings(portal, 1)
    session = harness.session
    refusals = retries("publish")
    session.deliver(filing, 1)
    [token] = session.wait_published(1)
    first = [m.properties.message_id for m in session.published[token]]
    session.confirm(token, ok=False)
    eventually(lambda: paused("publish"), lambda value: value == 1, WAIT, "the worker paused")
    eventually(lambda: session.publishes, lambda tokens: tokens == [token, token], WAIT, "a new publish")
    assert [m.properties.message_id for m in session.published[token]] == first  # the same ids
    assert session.acks == []
    assert ledger_rows(session.database_url) == {}
    assert retries("publish") == refusals + 1  # one retry counted for the one refusal
    session.confirm(token)
    eventually(session.acked, lambda tags: tags == [1], WAIT, "the ack once confirmed")
    eventually(lambda: paused("publish"), lambda value: value == 0, WAIT, "the pause over once confirmed")
    assert session.requeued == []  # the delivery count never grew


def test_a_refused_output_waits_for_its_backoff_before_it_is_published_again(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    slow = settings.model_copy(update={"retry_backoff_seconds": 60.0, "shutdown_grace_seconds": 0.3})
    running = start(slow, embedded)
    try:
        [filing] = filings(portal, 1)
        running.session.deliver(filing, 1)
        [token] = running.session.wait_published(1)
        running.session.confirm(token, ok=False)
        running.session.wait_ticks(40)
        assert running.session.publishes == [token]
        assert running.session.requeued == []
        assert running.session.acks == []
    finally:
        running.stop_and_join()
    assert running.session.acks == []  # nor at the stop: it goes back with the connection


def test_while_publishing_is_refused_a_new_delivery_waits_and_is_not_published(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    slow = settings.model_copy(update={"retry_backoff_seconds": 60.0, "shutdown_grace_seconds": 0.3})
    running = start(slow, embedded)
    try:
        first, second = filings(portal, 2)
        session = running.session
        session.deliver(first, 1)
        [token] = session.wait_published(1)
        session.confirm(token, ok=False)  # the broker refuses: the worker pauses, nothing waits yet
        eventually(lambda: paused("publish"), lambda value: value == 1, WAIT, "the worker paused")
        session.deliver(second, 2)
        session.wait_ticks(40)
        assert session.publishes == [token]  # the second waits in memory for the broker
        assert session.requeued == []
    finally:
        running.stop_and_join()


def test_during_a_store_outage_confirmed_inputs_stay_unacknowledged_then_are_acknowledged_once(
    harness: Harness, portal: FakePortal, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = filings(portal, 2)
    session = harness.session
    outages = retries("store")
    harness.ledger.down.set()
    session.deliver(first, 1)
    session.deliver(second, 2)
    tokens = session.wait_published(2)
    for token in tokens:
        session.confirm(token)
    eventually(lambda: harness.ledger.refused, lambda n: n >= 3, WAIT, "commits retried")
    assert session.acks == []
    assert session.requeued == []  # held, not sent back: their outputs went out already
    assert retries("store") >= outages + 3
    assert "store unavailable (StoreUnavailable); holding new work, retrying in 0.0s" in logged(caplog)
    harness.ledger.down.clear()
    eventually(session.acked, lambda tags: sorted(tags) == [1, 2], WAIT, "both acknowledged")
    assert len(session.acks) == 1  # one commit, one ack call
    assert session.acks[0].rows == {ids(first)[0]: ["forwarded"], ids(second)[0]: ["forwarded"]}
    session.wait_ticks(20)
    assert sorted(session.acked()) == [1, 2]  # once each


def patient(settings: Settings) -> Settings:
    return settings.model_copy(update={"retry_backoff_seconds": 60.0, "shutdown_grace_seconds": 0.3})


def test_the_store_is_retried_after_its_backoff_not_on_every_tick(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    running = start(patient(settings), embedded)
    try:
        running.ledger.down.set()
        [filing] = filings(portal, 1)
        running.session.deliver(filing, 1)
        [token] = running.session.wait_published(1)
        running.session.confirm(token)
        eventually(lambda: running.ledger.refused, lambda n: n >= 1, WAIT, "a refused commit")
        running.session.wait_ticks(40)
        assert running.ledger.refused == 1
    finally:
        running.stop_and_join()
    assert running.session.acks == []


def test_a_failing_handler_waits_for_its_backoff_before_the_requeue(
    settings: Settings, embedded: str, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Pipeline, delivery: Delivery) -> Outcome:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Pipeline, "process", broken)
    running = start(patient(settings), embedded)
    try:
        [filing] = filings(portal, 1)
        running.session.deliver(filing, 1)
        running.session.wait_ticks(40)
        assert running.session.requeued == []
    finally:
        running.stop_and_join()


def test_a_later_input_confirmed_first_is_acknowledged_without_the_earlier_one(
    harness: Harness, portal: FakePortal
) -> None:
    first, second = filings(portal, 2)
    session = harness.session
    session.deliver(first, 1)
    session.deliver(second, 2)
    earlier, later = session.wait_published(2)
    session.confirm(later)
    eventually(session.acked, lambda tags: tags == [2], WAIT, "the later input acknowledged")
    assert session.acks[0].rows == {ids(second)[0]: ["forwarded"]}
    session.confirm(earlier)
    eventually(session.acked, lambda tags: tags == [2, 1], WAIT, "the earlier one after it")


def test_inputs_confirmed_together_are_recorded_and_acknowledged_together(
    harness: Harness, portal: FakePortal
) -> None:
    messages = filings(portal, 3)
    session = harness.session
    for tag, message in enumerate(messages, start=1):
        session.deliver(message, tag)
    tokens = session.wait_published(3)
    for token in tokens:
        session.confirm(token)
    eventually(session.acked, lambda tags: sorted(tags) == [1, 2, 3], WAIT, "three acks")
    assert [sorted(ack.tags) for ack in session.acks] == [[1, 2, 3]]


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The worker's log lines, whole."""
    return [record.getMessage() for record in caplog.records if record.name == "hub.worker"]


def paused(cause: str) -> float:
    return REGISTRY.get_sample_value("hub_paused", {"cause": cause}) or 0.0


def retries(cause: str) -> float:
    return REGISTRY.get_sample_value("hub_retries_total", {"cause": cause}) or 0.0


def handler_retries() -> float:
    return retries("handler")


def test_a_failing_handler_requeues_its_input_without_publishing_or_acknowledging(
    harness: Harness, portal: FakePortal, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Pipeline, delivery: Delivery) -> Outcome:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Pipeline, "process", broken)
    retries = handler_retries()
    [filing] = filings(portal, 1)
    harness.session.deliver(filing, 1)
    eventually(lambda: harness.session.requeued, lambda tags: tags == [1], WAIT, "the requeue")
    assert harness.session.published == {}
    assert harness.session.acks == []
    # What operations see: the retry counted by cause, and a log line that names what failed.
    assert handler_retries() == retries + 1
    assert f"processing failed: partner=portal message_id={ids(filing)[0]} error=RuntimeError" in logged(
        caplog
    )


def test_a_stop_settles_what_is_in_flight_and_leaves_later_deliveries_alone(
    harness: Harness, portal: FakePortal
) -> None:
    first, late = filings(portal, 2)
    session = harness.session
    session.deliver(first, 1)
    [token] = session.wait_published(1)
    harness.stop.set()
    eventually(lambda: session.runs, lambda runs: runs == 2, WAIT, "the drain")
    session.deliver(late, 2)  # arrives while draining: not taken
    session.wait_ticks(10)
    assert not session.closed.is_set()  # still waiting for the confirm
    session.confirm(token)
    assert session.closed.wait(WAIT)
    assert session.acked() == [1]
    assert list(session.published) == [token]
    assert ledger_rows(session.database_url).keys() == set(ids(first))


def in_flight() -> float | None:
    return REGISTRY.get_sample_value("hub_in_flight_messages")


def test_a_stop_gives_up_on_unconfirmed_inputs_after_the_grace_period(
    quick: Settings, embedded: str, portal: FakePortal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.worker")
    running = start(quick.model_copy(update={"shutdown_grace_seconds": 0.3}), embedded)
    [filing] = filings(portal, 1)
    running.session.deliver(filing, 1)
    running.session.wait_published(1)
    eventually(in_flight, lambda n: n == 1, WAIT, "the in-flight gauge")
    assert REGISTRY.get_sample_value("hub_broker_connected") == 1
    assert (
        "consuming hub.ingress.portal, hub.ingress.onestop, hub.ingress.postal (routing them) "
        "and partitions by share"
    ) in logged(caplog)
    running.stop_and_join()
    assert REGISTRY.get_sample_value("hub_broker_connected") == 0
    assert running.session.closed.is_set()
    assert running.session.acks == []  # never confirmed: left to the broker to redeliver
    assert ledger_rows(running.session.database_url) == {}
    assert "1 inputs left unacknowledged at shutdown; the broker redelivers them" in logged(caplog)
    assert in_flight() == 0


def test_the_poison_rule_counts_only_the_hub_s_own_failures(
    quick: Settings, embedded: str, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: dict[str, Any] = {"left": 2}
    real = Pipeline.process

    def failing_twice(self: Pipeline, delivery: Delivery) -> Outcome:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("a bug")
        return real(self, delivery)

    monkeypatch.setattr(Pipeline, "process", failing_twice)
    running = start(quick.model_copy(update={"poison_after": 3}), embedded)
    try:
        [filing] = filings(portal, 1)
        session = running.session
        for tag in (1, 2):
            session.deliver(filing, tag)
            session.wait_requeued(tag)
        session.deliver(filing, 3)
        [token] = session.wait_published(1)
        assert [m.exchange for m in session.published[token]] == ["hub.events", "egress.onestop"]
        session.confirm(token)
        eventually(session.acked, lambda tags: tags == [3], WAIT, "the ack")
    finally:
        running.stop_and_join()
    assert ledger_rows(running.session.database_url) == {ids(filing)[0]: ["forwarded"]}


def test_a_rejected_message_fixed_and_sent_again_at_once_is_judged_on_its_own(
    harness: Harness, portal: FakePortal
) -> None:
    # The partner fixes a rejected message and sends it again with the same id before the hub has
    # recorded the rejection: only a forwarded message may make a later one a duplicate.
    [good] = filings(portal, 1)
    body = json.loads(good.body)
    del body["MaCoQuan"]
    bad = replace(good, body=json.dumps(body).encode())
    session = harness.session
    session.deliver(bad, 1)
    session.deliver(good, 2)
    rejected, fixed = session.wait_published(2)
    assert [m.exchange for m in session.published[rejected]] == ["hub.dead.portal"]
    assert [m.exchange for m in session.published[fixed]] == ["hub.events", "egress.onestop"]
    session.confirm(rejected)
    session.confirm(fixed)
    eventually(session.acked, lambda tags: sorted(tags) == [1, 2], WAIT, "both acknowledged")
    assert sorted(ledger_rows(session.database_url)[ids(good)[0]]) == ["dead_lettered", "forwarded"]


def test_what_an_input_held_for_later_inputs_is_let_go_once_it_is_settled(
    harness: Harness, portal: FakePortal
) -> None:
    first, second = filings(portal, 2)
    session = harness.session
    session.deliver(first, 1)
    session.deliver(second, 2)
    committed, refused = session.wait_published(2)
    assert not harness.holds_nothing()  # in flight: later inputs must see them
    session.confirm(committed)
    session.confirm(refused, ok=False)
    eventually(session.acked, lambda tags: tags == [1], WAIT, "the ack")
    eventually(lambda: session.publishes.count(refused), lambda n: n == 2, WAIT, "published again")
    assert not harness.holds_nothing()  # the refused one is still in flight: still seen
    session.confirm(refused)
    eventually(session.acked, lambda tags: sorted(tags) == [1, 2], WAIT, "both acknowledged")
    session.wait_ticks(5)
    assert harness.holds_nothing()


def test_the_inputs_that_arrived_together_are_looked_up_in_the_store_together(
    quick: Settings, embedded: str, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their dossiers and message ids take one query each, and their dossiers' data keys one
    transaction, not one per input (issue 12)."""
    hub = app.build(quick, embedded=embedded)
    calls: Counter[str] = Counter()
    for owner, name in [
        (hub.work.dossiers, "load"), (hub.work.dossiers, "load_many"),
        (hub.ledger, "forwarded_body"), (hub.ledger, "forwarded_bodies"),
        (DataKeys, "for_dossiers"),  # the events' data keys, read or made in a transaction
    ]:  # fmt: skip
        monkeypatch.setattr(owner, name, counted(calls, name, getattr(owner, name)))
    running = start(quick, embedded, hub)
    try:
        # Filings by post that ask for collection: each translation reads its dossier's orders.
        burst = [
            portal.message(
                "dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT, by_post=True, collect=True)
            )
            for _ in range(12)
        ]
        running.session.deliver_together(burst, 1)
        tokens = running.session.wait_published(len(burst))
        assert all(len(running.session.published[t]) == 4 for t in tokens)  # with the postal order
        assert calls == {"load_many": 1, "forwarded_bodies": 1, "for_dossiers": 1}
    finally:
        running.stop_and_join()


def counted(calls: Counter[str], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*arguments: Any) -> Any:
        calls[name] += 1
        return function(*arguments)

    return call


def test_the_inputs_that_arrived_together_are_judged_before_the_next_tick(
    harness: Harness, portal: FakePortal
) -> None:
    """One call back for the burst, once it was handed over: no input waits for the tick."""
    session = harness.session
    session.wait_ticks(1)
    asked = session.soon_asked
    session.deliver_together(filings(portal, 5), 1)
    tokens = session.wait_published(5)
    assert session.soon_asked == asked + 1
    assert len({session.published_at_tick[token] for token in tokens}) == 1  # in one go, between ticks
