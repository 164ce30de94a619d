"""The gateway's readiness from its store and broker probes, as /readyz and hub_ready say it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.errors import TransientError
from hub.gateway.app import application
from hub.gateway.readiness import BROKER_STALE_SECONDS, Readiness, broker_check
from hub.health import Probe
from tests.clock import FakeClock
from tests.gateway_parts import FakePublisher, FakeReader, assemble, sqlite_engine


@dataclass
class Broker:
    """A reader's check on a broker that answers or not; the queues it was asked about."""

    down: bool = False
    asked: list[str] = field(default_factory=list)

    def check(self, queue_name: str) -> None:
        self.asked.append(queue_name)
        if self.down:
            raise TransientError("HUB_BROKER_URL (amqp://portal:****@127.0.0.1:1/%2F): the connection failed")


@dataclass
class Store:
    down: bool = False

    def __call__(self) -> None:
        if self.down:
            raise ConnectionError("store away")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


def test_the_broker_is_asked_as_each_partner_for_its_egress_queue_and_why_not_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hub.gateway")
    portal, onestop = Broker(), Broker(down=True)
    check = broker_check({"portal": portal, "onestop": onestop})
    for _ in range(2):
        with pytest.raises(TransientError):
            check()
    assert (portal.asked, onestop.asked) == (["egress.portal"] * 2, ["egress.onestop"] * 2)
    said = [record.getMessage() for record in caplog.records]
    assert said == [
        "gateway not ready: the broker does not serve onestop: "
        "HUB_BROKER_URL (amqp://portal:****@127.0.0.1:1/%2F): the connection failed"
    ]
    onestop.down = False
    check()
    assert caplog.records[-1].getMessage() == "the broker serves onestop again"


def test_ready_only_while_the_store_and_the_broker_answered_lately(tmp_path: Path, clock: FakeClock) -> None:
    store, broker = Store(), Broker()
    store_probe = Probe(store, clock=clock)
    broker_probe = Probe(broker_check({"portal": broker}), stale=BROKER_STALE_SECONDS, clock=clock)
    readiness = Readiness(store_probe, broker_probe)
    gateway = assemble(sqlite_engine(tmp_path), {"portal": FakePublisher()}, {"portal": FakeReader()})
    gateway = replace(gateway, ready=readiness.reason)
    http = TestClient(application(gateway))

    def probed() -> tuple[str, float]:
        store_probe.probe_once()
        broker_probe.probe_once()
        ready = http.get("/readyz")
        assert ready.status_code == (200 if ready.text == "ready\n" else 503)
        (gauge,) = [line for line in http.get("/metrics").text.splitlines() if line.startswith("hub_ready ")]
        return ready.text.strip(), float(gauge.split()[1])

    assert readiness.reason() == "starting"  # no probe answered yet
    assert probed() == ("ready", 1.0)
    broker.down = True
    assert probed() == ("broker unavailable", 0.0)
    store.down = True
    assert probed() == ("store unavailable", 0.0)
    store.down = broker.down = False
    assert probed() == ("ready", 1.0)  # back without a request having to try first
    clock.now += BROKER_STALE_SECONDS + 1  # both probes hang: their last answers grow old
    assert readiness.reason() == "store unavailable"
