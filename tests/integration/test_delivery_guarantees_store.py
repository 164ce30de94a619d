"""A store outage on the real RabbitMQ and PostgreSQL, seen from outside the hub: the broker's queues
(management API) and the store's rows (read on the test's own connection).

The hub reaches PostgreSQL through a proxy (tests/proxy.py) that the test cuts at the worst moment:
as the hub sends its first ledger write, after it read the store, published the outputs and had them
confirmed. Inputs published during the outage find the store gone as they are read.

Whatever the worker does meanwhile (requeue with backoff today, pause in the design being built),
nothing may be acknowledged before its ledger row is committed, nothing may be lost, and once the
store is back every input is acknowledged once, with its row.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.transport import Transport
from hub.settings import Settings
from tests import rabbit
from tests.helpers import filings, running
from tests.integration.guarantees import drain, ids, ingress, ledger_rows, sources, via_port, wired
from tests.proxy import Proxy
from tests.waiting import eventually

BEFORE, DURING = 20, 10  # inputs published before the cut, and while the store is away
POSTGRES_PORT = 5432
FIRST_LEDGER_WRITE = b"INSERT INTO message_log"
# The outage lasts long enough for an acknowledgement to show in the management API's figures.
OUTAGE_SECONDS = 2 * rabbit.STATS_INTERVAL + 2
RECOVERY_SECONDS = 30.0


@dataclass
class Outage:
    broker_url: str
    vhost: str
    database_url: str  # direct, not through the proxy: the test's own view of the store
    sent: list[str]
    cut_at: float
    proxy: Proxy

    @property
    def total(self) -> int:
        return len(self.sent)


@pytest.fixture
def outage(broker_url: str, postgres_url: str, settings: Settings, portal: FakePortal) -> Iterator[Outage]:
    """The hub running on PostgreSQL through a proxy, cut as it writes its first ledger batch;
    ``DURING`` more inputs published once it is cut."""
    with Proxy(POSTGRES_PORT) as proxy:
        on_proxy = wired(
            settings,
            broker_url,
            via_port(postgres_url, proxy.port),
            retry_backoff_max_seconds=2.0,  # today's redeliveries stay well under the delivery limit
        )
        hub = app.build(on_proxy)
        before, during = filings(portal, BEFORE), filings(portal, DURING)
        with running(hub):
            proxy.cut_on(FIRST_LEDGER_WRITE)
            publisher = Transport(broker_url)
            publisher.publish_confirmed(before)
            assert proxy.cut_happened.wait(30), "the hub never wrote its ledger"
            cut_at = time.monotonic()
            publisher.publish_confirmed(during)
            yield Outage(
                broker_url, rabbit.vhost_of(broker_url), postgres_url, ids(before + during), cut_at, proxy
            )
            proxy.restore()  # so the worker's last checkpoint can be written as it stops


def observe_outage(outage: Outage, check: Any) -> int:
    """Call ``check(ingress queue)`` on every reading of the management API from the moment it shows
    every input until ``OUTAGE_SECONDS`` after the cut; how many readings were checked."""
    eventually(
        lambda: ingress(outage.vhost),
        lambda q: rabbit.held(q) == outage.total,
        3 * rabbit.STATS_INTERVAL,
        f"the broker to report the {outage.total} inputs",
    )
    readings = 0
    while time.monotonic() < outage.cut_at + OUTAGE_SECONDS or readings < 2:
        check(ingress(outage.vhost))
        readings += 1
        time.sleep(0.25)  # the next reading
    return readings


@pytest.mark.timeout(150)
def test_during_a_store_outage_nothing_is_acknowledged_and_after_it_every_input_once_with_its_row(
    outage: Outage,
) -> None:
    processed: list[int] = []

    def nothing_acknowledged(queue: dict[str, Any]) -> None:
        assert rabbit.held(queue) == outage.total, queue  # ready + unacknowledged: none acked, none lost
        assert rabbit.stat(queue, "ack") == 0, queue["message_stats"]
        # Inputs whose outputs went out before the cut are held by the worker, unacknowledged.
        processed.append(rabbit.held(rabbit.queue(outage.vhost, "egress.onestop")))
        assert queue.get("messages_unacknowledged", 0) >= processed[-1], queue
        assert ledger_rows(outage.database_url) == {}

    observe_outage(outage, nothing_acknowledged)
    assert max(processed) >= 1, "no input was processed before the cut"

    outage.proxy.restore()
    rows = eventually(
        lambda: ledger_rows(outage.database_url),
        lambda rows: len(rows) == outage.total,
        RECOVERY_SECONDS,
        "a ledger row for every input",
    )
    assert rows == {message_id: ["forwarded"] for message_id in outage.sent}  # each once
    settled = eventually(
        lambda: ingress(outage.vhost),
        lambda q: rabbit.held(q) == 0 and rabbit.stat(q, "ack") >= outage.total,
        3 * rabbit.STATS_INTERVAL,
        "every input acknowledged",
    )
    assert rabbit.stat(settled, "ack") == outage.total  # each acknowledged once
    assert rabbit.held(rabbit.queue(outage.vhost, "hub.dead.portal")) == 0  # none given up on
    outputs = drain(outage.broker_url, "egress.onestop")
    assert sorted(set(sources(outputs))) == sorted(outage.sent)
    assert len({d.properties.message_id for d in outputs}) == outage.total


@pytest.mark.timeout(90)
def test_a_store_outage_does_not_redeliver_inputs(outage: Outage) -> None:
    def no_redelivery(queue: dict[str, Any]) -> None:
        assert rabbit.stat(queue, "redeliver") == 0, queue["message_stats"]

    observe_outage(outage, no_redelivery)
