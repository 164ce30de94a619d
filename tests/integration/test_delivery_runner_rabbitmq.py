"""The delivery runner against the real RabbitMQ, with a fake partner adapter that records every call.

Each test declares a partner of its own (a unique name, in the test's own vhost, deleted after it)
and checks from outside: the broker's queue depth (``queue.declare`` passive: the messages ready),
the dead-letter queue's messages, the audit rows in a SQLite store. Time-driven behaviour (the
breaker's cool-down, Retry-After) runs on a fake clock the test advances, never on wall time.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import select

from hub import app, replay
from hub.audit.chain import audit_log
from hub.audit.entries import AuditEntry
from hub.bus.egress_channel import EgressChannel
from hub.bus.topology import (
    Topology,
    build_topology,
    egress_dead_letter_exchange,
    egress_dead_letter_queue,
    egress_exchange,
    egress_queue,
)
from hub.bus.transport import Transport
from hub.bus.urls import parse_broker_url
from hub.commit import UnitOfWork
from hub.delivery.contract import EgressMessage, PartnerRefused, PartnerUnavailable
from hub.delivery.redact import redact
from hub.delivery.runner import Runner
from hub.envelope import (
    CONTENT_TYPE_JSON,
    HEADER_DETAIL,
    HEADER_ORIGINAL_EXCHANGE,
    HEADER_ORIGINAL_ROUTING_KEY,
    HEADER_PARTNER_CODE,
    HEADER_REASON,
    PERSISTENT,
    Outbound,
    Properties,
)
from hub.settings import Settings
from hub.settings.delivery import DeliveryPolicy
from tests import rabbit
from tests.clock import FakeClock
from tests.waiting import eventually

WAIT = 20.0
CANARY_NAME, CANARY_PHONE = "Nguyễn Thị Canary", "0912345678"
Script = Callable[[Sequence[EgressMessage]], None]  # raises to fail a call, returns to accept it


@dataclass
class FakeAdapter:
    """Implements hub.delivery.contract.Adapter; ``script`` decides each call's outcome."""

    partner: str
    script: Script = lambda group: None
    chunk: int = 2
    down: bool = False  # the probe's answer
    calls: list[list[str]] = field(default_factory=list)  # message ids of every call, in call order
    accepted: dict[str, list[str]] = field(default_factory=dict)  # dossier -> ids, in acceptance order
    overlaps: list[str] = field(default_factory=list)  # dossiers with two calls in flight at once
    probes: int = 0
    closed: bool = False
    _in_flight: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def groups(self, messages: Sequence[EgressMessage]) -> list[list[EgressMessage]]:
        return [list(messages[i : i + self.chunk]) for i in range(0, len(messages), self.chunk)]

    def deliver(self, group: Sequence[EgressMessage]) -> None:
        dossier = group[0].dossier
        with self._lock:
            if dossier in self._in_flight:
                self.overlaps.append(dossier)
            self._in_flight.add(dossier)
            self.calls.append([m.message_id for m in group])
        try:
            time.sleep(0.002)  # long enough for another call of the dossier to show if one came
            self.script(group)
            with self._lock:
                self.accepted.setdefault(dossier, []).extend(m.message_id for m in group)
        finally:
            with self._lock:
                self._in_flight.discard(dossier)

    def probe(self) -> None:
        self.probes += 1
        if self.down:
            raise PartnerUnavailable("http_503")

    def close(self) -> None:
        self.closed = True


@dataclass
class Rig:
    """A partner of the test's own on the test's vhost, a store for the audit, and a way to run."""

    url: str
    partner: str
    ledger: UnitOfWork
    transport: Transport = field(init=False)

    def __post_init__(self) -> None:
        self.transport = Transport(self.url)

    def publish(self, *messages: tuple[str, str, bytes]) -> list[str]:
        """(dossier, kind, body) each, in order; their message ids."""
        outbound = [
            Outbound(
                egress_exchange(self.partner),
                kind,
                body,
                Properties(
                    message_id=f"hub-{uuid.uuid4().hex}",
                    content_type=CONTENT_TYPE_JSON,
                    type=kind,
                    correlation_id=dossier,
                    delivery_mode=PERSISTENT,
                    headers={"x-contract-version": "1"},
                ),
            )
            for dossier, kind, body in messages
        ]
        self.transport.publish_confirmed(outbound)
        return [str(m.properties.message_id) for m in outbound]

    def ready(self, queue: str | None = None) -> int:
        return self.transport.depth(queue or egress_queue(self.partner))

    def runner(
        self, adapter: FakeAdapter, policy: DeliveryPolicy, clock: Callable[[], float] = time.monotonic
    ) -> Runner:
        address = parse_broker_url(self.url)
        dead = egress_dead_letter_exchange(self.partner)

        def connect() -> EgressChannel:
            return EgressChannel(address, egress_queue(self.partner), policy.prefetch, self.partner, [dead])

        def audit(entries: Sequence[AuditEntry]) -> None:
            self.ledger.record((), (), entries)

        return Runner(adapter, connect, policy, audit, clock=clock)

    @contextmanager
    def running(self, runner: Runner) -> Iterator[threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
        thread.start()
        try:
            yield stop
        finally:
            stop.set()
            thread.join(WAIT)
            assert not thread.is_alive(), "the runner did not stop"


@pytest.fixture
def rig(broker_url: str, tmp_path: Path) -> Rig:
    partner = f"p{uuid.uuid4().hex[:8]}"
    whole = build_topology([partner], partitions=1)
    mine = Topology(  # the partner's own entities only: the partitions are not the runner's business
        tuple(e for e in whole.exchanges if partner in e.name),
        tuple(q for q in whole.queues if partner in q.name),
        tuple(b for b in whole.bindings if partner in b.exchange),
    )
    Transport(broker_url).apply_topology(mine)
    settings = Settings(database_url=SecretStr(f"sqlite:///{tmp_path / 'hub.sqlite3'}"))
    return Rig(broker_url, partner, app.open_store(settings.database_url.get_secret_value(), settings))


def body(dossier: str, n: int) -> bytes:
    return json.dumps(
        {"MaHoSo": dossier, "n": n, "ChuHoSo": CANARY_NAME, "SoDienThoai": CANARY_PHONE}
    ).encode()


def quick(**changes: object) -> DeliveryPolicy:
    base = {"retry_base_seconds": 0.01, "retry_max_seconds": 0.05, "rate_per_second": None}
    return DeliveryPolicy.model_validate({**base, **changes})


def test_each_dossier_in_order_one_call_at_a_time_transient_failures_retried_nothing_lost(rig: Rig) -> None:
    dossiers = [f"D{i}" for i in range(4)]
    sent: dict[str, list[str]] = {d: [] for d in dossiers}
    for n in range(6):  # interleaved: D0 D1 D2 D3 D0 D1 ...
        ids = rig.publish(*((d, "progress", body(d, n)) for d in dossiers))
        for dossier, message_id in zip(dossiers, ids, strict=True):
            sent[dossier].append(message_id)
    attempts: dict[str, int] = {}

    def every_other_call_fails(group: Sequence[EgressMessage]) -> None:
        key = group[0].message_id
        attempts[key] = attempts.get(key, 0) + 1
        if attempts[key] < 3:
            raise PartnerUnavailable("http_503")

    adapter = FakeAdapter(rig.partner, every_other_call_fails, chunk=2)
    with rig.running(rig.runner(adapter, quick(concurrency=3, prefetch=10, breaker_failures=1000))):
        eventually(rig.ready, lambda n: n == 0, WAIT, "the egress queue drained")
        eventually(lambda: sum(map(len, adapter.accepted.values())), lambda n: n == 24, WAIT, "all accepted")
    assert adapter.accepted == sent  # every dossier in arrival order, each message once
    assert adapter.overlaps == []
    assert any(n >= 3 for n in attempts.values())
    assert rig.ready() == 0  # acknowledged: nothing came back when the runner closed


def test_a_message_is_acknowledged_only_after_the_partner_accepted_it(rig: Rig) -> None:
    first, second, _third = rig.publish(*(("D1", "progress", body("D1", n)) for n in range(3)))
    release = threading.Event()

    def second_waits(group: Sequence[EgressMessage]) -> None:
        if group[0].message_id == second:
            release.wait(WAIT)
            raise PartnerUnavailable("timeout")

    adapter = FakeAdapter(rig.partner, second_waits, chunk=1)
    runner = rig.runner(adapter, quick(retry_base_seconds=60, retry_max_seconds=60))
    with rig.running(runner) as stop:
        eventually(lambda: len(adapter.calls), lambda n: n == 2, WAIT, "the second call in flight")
        assert rig.ready() == 0  # all three held by the runner, one accepted
        stop.set()  # stopped while the second call is held
        release.set()
    assert adapter.accepted == {"D1": [first]}
    assert [ids[0] for ids in adapter.calls] == [first, second]  # the third never overtook the second
    assert rig.ready() == 2  # the unaccepted two are back, nothing lost
    assert adapter.closed


def test_a_runner_whose_connection_breaks_mid_batch_loses_nothing(rig: Rig) -> None:
    ids = rig.publish(*((f"D{n}", "progress", body(f"D{n}", n)) for n in range(5)))
    adapter = FakeAdapter(rig.partner, lambda group: (_ for _ in ()).throw(PartnerUnavailable("connect")))
    policy = quick(retry_base_seconds=60, retry_max_seconds=60, prefetch=5, breaker_failures=100)
    runner = rig.runner(adapter, policy)
    with rig.running(runner):
        eventually(lambda: len(adapter.calls), lambda n: n == 5, WAIT, "every message tried once")
        assert rig.ready() == 0  # all held, none acknowledged; each waits a minute to be retried
        adapter.script = lambda group: None
        rabbit.close_connections(rabbit.vhost_of(rig.url))  # the runner's connection dies mid-batch
        eventually(lambda: sum(map(len, adapter.accepted.values())), lambda n: n == 5, WAIT, "redelivered")
        eventually(rig.ready, lambda n: n == 0, WAIT, "acknowledged on the new connection")
    assert sorted(i for a in adapter.accepted.values() for i in a) == sorted(ids)


def test_retry_after_is_honoured_on_the_runners_clock(rig: Rig) -> None:
    clock = FakeClock()
    (message_id,) = rig.publish(("D1", "dossier", body("D1", 0)))
    answers = [PartnerUnavailable("http_429", retry_after=120.0)]

    def rate_limited_once(group: Sequence[EgressMessage]) -> None:
        if answers:
            raise answers.pop()

    adapter = FakeAdapter(rig.partner, rate_limited_once)
    with rig.running(rig.runner(adapter, DeliveryPolicy(rate_per_second=None), clock)):
        eventually(lambda: len(adapter.calls), lambda n: n == 1, WAIT, "the first call")
        clock.advance(119.0)
        time.sleep(0.6)  # the loop looks at the clock at least every 0.25 s
        assert len(adapter.calls) == 1
        clock.advance(1.5)
        eventually(lambda: adapter.accepted, lambda a: a == {"D1": [message_id]}, WAIT, "the retry")
        eventually(rig.ready, lambda n: n == 0, WAIT, "acknowledged")


def test_the_breaker_opens_stops_taking_messages_probes_and_resumes(rig: Rig) -> None:
    clock = FakeClock()
    rig.publish(*((f"D{n}", "dossier", body(f"D{n}", n)) for n in range(10)))
    adapter = FakeAdapter(rig.partner, lambda group: (_ for _ in ()).throw(PartnerUnavailable("http_503")))
    adapter.down = True
    policy = DeliveryPolicy(
        concurrency=1, prefetch=4, breaker_failures=3, breaker_cooldown_seconds=30, rate_per_second=None
    )
    with rig.running(rig.runner(adapter, policy, clock)):
        eventually(lambda: len(adapter.calls), lambda n: n == 3, WAIT, "three failed calls")
        eventually(rig.ready, lambda n: n == 6, WAIT, "six messages Ready, four held")
        time.sleep(0.6)
        assert (len(adapter.calls), adapter.probes, rig.ready()) == (3, 0, 6)  # open: no call, no take
        clock.advance(30)
        eventually(lambda: adapter.probes, lambda n: n == 1, WAIT, "the probe after the cool-down")
        time.sleep(0.6)
        assert (len(adapter.calls), rig.ready()) == (3, 6)  # the probe failed: open again
        adapter.down, adapter.script = False, lambda group: None
        clock.advance(30)
        eventually(lambda: sum(map(len, adapter.accepted.values())), lambda n: n == 10, WAIT, "all delivered")
        eventually(rig.ready, lambda n: n == 0, WAIT, "the queue drained")
    assert adapter.probes == 2


def test_a_refusal_is_dead_lettered_audited_and_replayed_to_the_egress(rig: Rig) -> None:
    refused_body = body("D1", 0)
    refused, accepted = rig.publish(("D1", "dossier", refused_body), ("D1", "progress", body("D1", 1)))
    (malformed,) = rig.publish(("D2", "dossier", b"{not json"))

    def refuse_the_dossier(group: Sequence[EgressMessage]) -> None:
        if group[0].message_id == refused:
            said = f"Số điện thoại {CANARY_PHONE} của {CANARY_NAME} không hợp lệ"
            raise PartnerRefused("http_422", redact(said, group[0].payload))

    adapter = FakeAdapter(rig.partner, refuse_the_dossier, chunk=1)
    dead_queue = egress_dead_letter_queue(rig.partner)
    with rig.running(rig.runner(adapter, quick())):
        eventually(lambda: rig.ready(dead_queue), lambda n: n == 2, WAIT, "two dead letters")
        eventually(rig.ready, lambda n: n == 0, WAIT, "the egress drained")
    assert adapter.accepted == {"D1": [accepted]}  # the refusal did not stop the dossier's next message
    letters = {d.properties.message_id: d for d in rig.transport.peek(dead_queue, 10, rig.partner)}
    assert set(letters) == {refused, malformed}
    headers = letters[refused].properties.headers
    assert headers[HEADER_REASON] == "partner_refused"
    assert headers[HEADER_PARTNER_CODE] == "http_422"
    assert headers[HEADER_ORIGINAL_EXCHANGE] == egress_exchange(rig.partner)
    assert headers[HEADER_ORIGINAL_ROUTING_KEY] == "dossier"
    assert letters[refused].body == refused_body
    assert letters[malformed].properties.headers[HEADER_REASON] == "malformed_egress"
    for letter in letters.values():
        shown = json.dumps(dict(letter.properties.headers), ensure_ascii=False, default=str)
        assert CANARY_PHONE not in shown, letter.properties.headers[HEADER_DETAIL]
        assert "Canary" not in shown

    with rig.ledger.engine.connect() as connection:
        rows = connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    assert {(r["message_id"], r["entry"], r["reason"]) for r in rows} == {
        (refused, "undelivered", "partner_refused"),
        (malformed, "undelivered", "malformed_egress"),
    }
    for row in rows:
        assert "Canary" not in json.dumps(dict(row), ensure_ascii=False, default=str)

    moved = replay.replay(
        rig.transport,
        rig.partner,
        operator="guest",
        chosen=replay.matching((), ("partner_refused",)),
        limit=10,
        egress=True,
    )
    assert [d.properties.message_id for d in moved] == [refused]
    (back,) = rig.transport.take(egress_queue(rig.partner), 10, rig.partner)
    assert (back.properties.message_id, back.body) == (refused, refused_body)
    assert not {HEADER_REASON, HEADER_PARTNER_CODE} & set(back.properties.headers)
    assert rig.ready(dead_queue) == 1  # the malformed one stays
    dead = {"partner": rig.partner, "reason": "partner_refused"}
    assert REGISTRY.get_sample_value("hub_delivery_dead_letters_total", dead) == 1
    refused_calls = {"partner": rig.partner, "result": "refused"}
    assert REGISTRY.get_sample_value("hub_delivery_calls_total", refused_calls) == 1


def test_calls_keep_within_the_concurrency_and_the_rate_limit(rig: Rig) -> None:
    clock = FakeClock()
    rig.publish(*((f"D{n}", "dossier", body(f"D{n}", n)) for n in range(8)))
    gate = threading.Event()

    def held_at_the_gate(group: Sequence[EgressMessage]) -> None:
        gate.wait(WAIT)

    adapter = FakeAdapter(rig.partner, held_at_the_gate)
    policy = DeliveryPolicy(concurrency=3, rate_per_second=4.0)
    with rig.running(rig.runner(adapter, policy, clock)):
        eventually(lambda: len(adapter.calls), lambda n: n == 3, WAIT, "three calls in flight")
        time.sleep(0.6)
        assert len(adapter.calls) == 3  # the pool is full (the bucket would allow a fourth)
        gate.set()
        eventually(lambda: len(adapter.calls), lambda n: n == 4, WAIT, "the bucket's last token")
        time.sleep(0.6)
        assert len(adapter.calls) == 4  # four tokens a second, and the clock stands still
        clock.advance(0.5)
        eventually(lambda: len(adapter.calls), lambda n: n == 6, WAIT, "two more tokens")
        time.sleep(0.6)
        assert len(adapter.calls) == 6
        clock.advance(10)  # nothing wakes the runner on a fake clock: it looks within MAX_WAIT_SECONDS
        eventually(lambda: sum(map(len, adapter.accepted.values())), lambda n: n == 8, WAIT, "all accepted")
        eventually(rig.ready, lambda n: n == 0, WAIT, "the queue drained")
    assert adapter.overlaps == []
    assert (
        REGISTRY.get_sample_value("hub_delivery_calls_total", {"partner": rig.partner, "result": "accepted"})
        == 8
    )


def test_a_paused_channel_keeps_what_arrives_in_order_and_returns_nothing_to_the_queue(rig: Rig) -> None:
    # A quorum queue puts a message rejected with requeue behind the later ones of its dossier, so a
    # pause (the breaker opening) that handed deliveries back would reorder a dossier's messages.
    ids = rig.publish(*(("D1", "progress", body("D1", n)) for n in range(6)))
    channel = EgressChannel(parse_broker_url(rig.url), egress_queue(rig.partner), 6, rig.partner)
    handed: list[tuple[str, bool]] = []
    channel.open(
        lambda delivery, tag: handed.append((str(delivery.properties.message_id), delivery.redelivered))
    )
    try:
        channel.resume()
        time.sleep(0.3)  # the broker sends all six; nothing reads them yet
        channel.pause()
        for _ in range(10):
            channel.wait(0.05)  # a wait returns once it read something: read them all
        assert handed == []
        assert rig.ready() == 0  # all six kept, unacknowledged
        channel.resume()
        deadline = time.monotonic() + WAIT
        while len(handed) < len(ids) and time.monotonic() < deadline:
            channel.wait(0.05)
        assert handed == [(message_id, False) for message_id in ids]  # in order, none requeued
    finally:
        channel.close()
    assert rig.ready() == 6


@dataclass
class ThrottledWhileDown(FakeAdapter):
    def probe(self) -> None:
        self.probes += 1
        if self.down:
            raise PartnerUnavailable("http_429", retry_after=120.0)


def test_the_breakers_probe_waits_for_the_partners_retry_after(rig: Rig) -> None:
    clock = FakeClock()
    rig.publish(("D1", "dossier", body("D1", 0)))
    throttled = PartnerUnavailable("http_429", retry_after=120.0)
    adapter = ThrottledWhileDown(rig.partner, lambda group: (_ for _ in ()).throw(throttled))
    adapter.down = True
    policy = DeliveryPolicy(breaker_failures=1, breaker_cooldown_seconds=30, rate_per_second=None)
    with rig.running(rig.runner(adapter, policy, clock)):
        eventually(lambda: len(adapter.calls), lambda n: n == 1, WAIT, "the throttled call")
        clock.advance(31)  # cooled down, but the portal asked for 120 s
        time.sleep(0.6)  # the loop looks at the clock at least every 0.25 s
        assert adapter.probes == 0
        clock.advance(90)
        eventually(lambda: adapter.probes, lambda n: n == 1, WAIT, "the probe after the Retry-After")
        clock.advance(35)  # cooled down again, but the probe was answered 429 with 120 s
        time.sleep(0.6)
        assert adapter.probes == 1
        adapter.down, adapter.script = False, lambda group: None
        clock.advance(90)
        eventually(lambda: adapter.probes, lambda n: n == 2, WAIT, "the second probe")
        eventually(lambda: sum(map(len, adapter.accepted.values())), lambda n: n == 1, WAIT, "delivered")
    assert len(adapter.calls) == 2
