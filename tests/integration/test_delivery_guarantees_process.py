"""A real ``hub run`` process, judged from outside: it refuses to start without its queues, and a
SIGTERM in the middle of a batch settles what is in flight, loses nothing and exits 0 in time."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.transport import Transport
from hub.settings import Settings
from tests import rabbit
from tests.helpers import filings
from tests.integration.guarantees import (
    consumers,
    drain,
    hub_run,
    ids,
    ingress,
    ledger_rows,
    sources,
    take_waiting,
    via_port,
)
from tests.proxy import Proxy
from tests.waiting import eventually

POSTGRES_PORT = 5432
BACKLOG = 800
STORE_LATENCY = 0.02  # per reply from PostgreSQL: about 16 s of work for the backlog
GRACE = 10  # HUB_SHUTDOWN_GRACE_SECONDS
EXIT_WAIT = 30.0
INGRESS = ("hub.ingress.portal", "hub.ingress.onestop")


def test_hub_run_refuses_to_start_without_its_queues_and_consumes_nothing(
    broker_url: str, portal: FakePortal, tmp_path: Path
) -> None:
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    rabbit.delete_queue(rabbit.vhost_of(broker_url), "hub.ingress.postal")  # the last one it consumes
    transport.publish_confirmed(filings(portal, 1))
    process = hub_run(broker_url, f"sqlite:///{tmp_path / 'run.sqlite3'}")
    try:
        deadline = time.monotonic() + EXIT_WAIT
        while process.poll() is None and time.monotonic() < deadline:
            assert [consumers(broker_url, queue) for queue in INGRESS] == [0, 0]
        _, stderr = process.communicate(timeout=1)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hub run still running {EXIT_WAIT:.0f}s after it started without its queues")
    finally:
        process.kill()
    assert process.returncode not in (0, None)
    assert "queue 'hub.ingress.postal' does not exist" in stderr.decode(), stderr.decode()
    assert [consumers(broker_url, queue) for queue in INGRESS] == [0, 0]
    assert transport.depth("hub.ingress.portal") == 1  # never taken


@pytest.mark.timeout(180)
def test_sigterm_in_the_middle_of_a_batch_settles_what_is_in_flight_and_loses_nothing(
    broker_url: str, postgres_url: str, settings: Settings, portal: FakePortal
) -> None:
    vhost = rabbit.vhost_of(broker_url)
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    sent = filings(portal, BACKLOG)
    transport.publish_confirmed(sent)
    app.open_store(postgres_url, settings).engine.dispose()  # migrated at full speed
    with Proxy(POSTGRES_PORT) as proxy:
        proxy.slow_down(STORE_LATENCY)
        process = hub_run(
            broker_url,
            via_port(postgres_url, proxy.port),
            HUB_PREFETCH="100",
            HUB_SHUTDOWN_GRACE_SECONDS=str(GRACE),
        )
        try:
            eventually(
                lambda: (ingress(vhost), rabbit.queue(vhost, "egress.onestop")),
                lambda qs: qs[0].get("messages_unacknowledged", 0) > 0 and rabbit.held(qs[1]) > 0,
                6 * rabbit.STATS_INTERVAL,
                "inputs in flight and outputs published",
            )
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            _, stderr = process.communicate(timeout=EXIT_WAIT)
            stopped_after = time.monotonic() - signalled
        finally:
            process.kill()
    assert process.returncode == 0, stderr.decode()
    assert stopped_after < GRACE + 5, stopped_after

    rows = ledger_rows(postgres_url)
    waiting = ids(take_waiting(broker_url, BACKLOG))  # ready again: the consumers are gone
    forwarded = sources(drain(broker_url, "egress.onestop"))
    assert 0 < len(rows) < BACKLOG, "the SIGTERM did not come in the middle of the backlog"
    assert len(waiting) == len(set(waiting))
    assert not set(rows) & set(waiting), "an input was recorded and left on the queue"
    assert set(rows) | set(waiting) == set(ids(sent)), "an input was acknowledged without its ledger row"
    assert all(outcomes == ["forwarded"] for outcomes in rows.values())
    # What was in flight was settled, not dropped: every input whose output went out is recorded.
    unsettled = set(forwarded) - set(rows)
    assert not unsettled, f"{len(unsettled)} inputs forwarded and left on the queue: not drained"
    assert sorted(forwarded) == sorted(rows)
