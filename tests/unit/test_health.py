"""/healthz, /readyz and /metrics over real HTTP, from the state the worker and the store probe leave."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from connectors.portal.fake import FakePortal
from hub import app
from hub.errors import ConfigError
from hub.health import STALL_SECONDS, Health, HealthServer, StoreProbe
from hub.settings import Settings
from tests.clock import FakeClock
from tests.helpers import WAIT, filings, running
from tests.http_get import answer, get
from tests.proxy import closed_port
from tests.unit.test_worker_connect import AwayTransport
from tests.waiting import eventually


class Answering:
    """A store check that succeeds or fails as the test says."""

    def __init__(self) -> None:
        self.up = True

    def __call__(self) -> None:
        if not self.up:
            raise ConnectionError("store away")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stop() -> threading.Event:
    return threading.Event()


@pytest.fixture
def health(clock: FakeClock, stop: threading.Event) -> Health:
    return Health(stop, clock=clock)


@pytest.fixture
def port(health: Health) -> Iterator[int]:
    server = HealthServer(health, "127.0.0.1", closed_port())
    yield server.port
    server.stop()


def test_liveness_follows_the_loops_beat(health: Health, clock: FakeClock, port: int) -> None:
    assert answer(port, "/healthz") == (200, "alive (starting)")  # waiting for broker and store
    health.beat()
    assert answer(port, "/healthz") == (200, "alive")
    clock.now += STALL_SECONDS - 0.1
    assert answer(port, "/healthz") == (200, "alive")
    clock.now += 0.2
    assert answer(port, "/healthz") == (503, "worker loop stalled")
    health.beat()
    assert answer(port, "/healthz") == (200, "alive")


def test_a_backoff_wait_the_loop_announced_is_not_a_stall(
    health: Health, clock: FakeClock, port: int
) -> None:
    health.beat(sleeping=300)
    clock.now += 300 + STALL_SECONDS - 0.1
    assert answer(port, "/healthz") == (200, "alive")
    clock.now += 0.2
    assert answer(port, "/healthz") == (503, "worker loop stalled")


def test_readiness_needs_a_consuming_session_and_a_store_that_answers(
    health: Health, clock: FakeClock, stop: threading.Event, port: int
) -> None:
    store = Answering()
    probe = StoreProbe(store, clock=clock)
    assert answer(port, "/readyz") == (503, "starting")
    health.consuming(True)
    assert answer(port, "/readyz") == (503, "starting")  # the store is not watched yet
    health.watch_store(probe)
    assert answer(port, "/readyz") == (503, "starting")  # nor asked yet
    probe.probe_once()
    assert answer(port, "/readyz") == (200, "ready")
    store.up = False
    probe.probe_once()
    assert answer(port, "/readyz") == (503, "store unavailable")
    store.up = True
    probe.probe_once()
    assert answer(port, "/readyz") == (200, "ready")
    health.consuming(False)
    assert answer(port, "/readyz") == (503, "broker disconnected")
    health.consuming(True)
    assert answer(port, "/readyz") == (200, "ready")
    stop.set()
    assert answer(port, "/readyz") == (503, "stopping")
    assert answer(port, "/healthz")[0] == 200  # stopping is not dying


def test_a_probe_that_stops_answering_counts_as_a_store_unavailable(clock: FakeClock) -> None:
    probe = StoreProbe(Answering(), every=2, stale=10, clock=clock)
    assert probe.state() is None
    clock.now += 10.1
    assert probe.state() is False  # the first answer never came: hanging on a dead connection
    probe.probe_once()
    assert probe.state() is True
    clock.now += 10.1
    assert probe.state() is False  # the next ones never came


def test_the_store_probe_asks_the_database(tmp_path: Path) -> None:
    reachable = StoreProbe.of(create_engine(f"sqlite:///{tmp_path / 'probe.sqlite3'}")).start()
    unreachable = StoreProbe.of(create_engine(f"postgresql+psycopg://127.0.0.1:{closed_port()}/none"))
    try:
        assert eventually(reachable.state, lambda state: state is True, WAIT, "the probe's first answer")
        unreachable.probe_once()
        assert unreachable.state() is False
    finally:
        reachable.stop()
    assert not reachable._thread.is_alive()


def test_metrics_are_the_prometheus_exposition(health: Health, port: int) -> None:
    reply = get(port, "/metrics")
    assert reply.status == 200
    assert reply.content_type.startswith("text/plain; version=0.0.4")
    assert "# TYPE hub_processing_seconds histogram" in reply.body
    assert "hub_ready 0.0" in reply.body
    openmetrics = get(port, "/metrics", accept="application/openmetrics-text; version=1.0.0")
    assert openmetrics.content_type.startswith("application/openmetrics-text")
    assert openmetrics.body.endswith("# EOF\n")


def test_hub_ready_is_what_readyz_answers(health: Health, clock: FakeClock, port: int) -> None:
    probe = StoreProbe(Answering(), clock=clock)
    health.consuming(True)
    health.watch_store(probe)
    probe.probe_once()
    assert "\nhub_ready 1.0\n" in get(port, "/metrics").body
    health.consuming(False)
    assert "\nhub_ready 0.0\n" in get(port, "/metrics").body


def test_other_paths_are_not_found_and_head_has_no_body(port: int) -> None:
    assert get(port, "/").status == 404
    assert get(port, "/healthz/extra").status == 404
    head = get(port, "/healthz", method="HEAD")
    assert (head.status, head.body) == (200, "")
    assert answer(port, "/readyz?verbose=1")[0] == 503  # a query string names the same probe


def test_a_port_in_use_is_a_configuration_error(health: Health) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=r"HUB_METRICS_PORT: cannot serve on 127\.0\.0\.1:\d+"):
            HealthServer(health, "127.0.0.1", port)


def test_stop_closes_the_port(health: Health) -> None:
    server = HealthServer(health, "127.0.0.1", closed_port())
    port = server.port
    assert answer(port, "/healthz")[0] == 200
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        get(port, "/healthz")


def test_the_worker_tells_health_what_it_does(settings: Settings, embedded: str, portal: FakePortal) -> None:
    stop = threading.Event()
    health = Health(stop)
    hub = app.build(settings, embedded=embedded)
    server = HealthServer(health, "127.0.0.1", closed_port())
    try:
        assert answer(server.port, "/readyz") == (503, "starting")
        health.watch_store(StoreProbe.of(hub.ledger.engine).start())
        with running(hub, health) as run:
            eventually(lambda: answer(server.port, "/readyz"), lambda a: a[0] == 200, WAIT, "ready")
            run.hub.transport.publish_confirmed(filings(portal, 3))
            assert run.worker.wait_settled(3, WAIT)
            assert answer(server.port, "/healthz") == (200, "alive")
        assert answer(server.port, "/readyz") == (503, "broker disconnected")  # the session ended
    finally:
        server.stop()
        health.close()


def test_a_worker_stuck_in_a_store_call_is_not_alive(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    health = Health(stall_seconds=0.5)
    hub = app.build(settings, embedded=embedded)
    release, stuck = threading.Event(), threading.Event()
    record = hub.work.record

    def hanging(*args: object, **kwargs: object) -> None:
        stuck.set()
        release.wait(WAIT)  # a query on a connection that died without a word
        record(*args, **kwargs)  # type: ignore[arg-type]

    hub.work.record = hanging  # type: ignore[method-assign]
    server = HealthServer(health, "127.0.0.1", closed_port())
    try:
        with running(hub, health) as run:
            run.hub.transport.publish_confirmed(filings(portal, 1))
            assert stuck.wait(WAIT)
            eventually(lambda: answer(server.port, "/healthz"), lambda a: a[0] == 503, WAIT, "a stall")
            assert answer(server.port, "/healthz") == (503, "worker loop stalled")
            release.set()
            assert run.worker.wait_settled(1, WAIT)
            eventually(lambda: answer(server.port, "/healthz"), lambda a: a == (200, "alive"), WAIT, "a beat")
    finally:
        release.set()
        server.stop()


def test_a_reconnect_backoff_is_not_a_stall(settings: Settings, embedded: str) -> None:
    health = Health(stall_seconds=0.3)  # shorter than the backoff's first delay, 0.75 to 1.5 s
    waiting = settings.model_copy(update={"retry_backoff_seconds": 1.5})
    hub = replace(app.build(waiting, embedded=embedded), transport=AwayTransport(embedded, failures=1))
    health.watch_store(StoreProbe.of(hub.ledger.engine).start())
    server = HealthServer(health, "127.0.0.1", closed_port())
    liveness: list[tuple[int, str]] = []

    def readiness() -> tuple[int, str]:
        ready = answer(server.port, "/readyz")
        liveness.append(answer(server.port, "/healthz"))
        return ready

    try:
        with running(hub, health):
            eventually(readiness, lambda a: a == (503, "broker disconnected"), WAIT, "the failed attempt")
            eventually(readiness, lambda a: a == (200, "ready"), WAIT, "the reconnect", every=0.05)
    finally:
        server.stop()
        health.close()
    assert set(liveness) == {(200, "alive")}
