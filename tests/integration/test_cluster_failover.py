"""Several hosts in HUB_BROKER_URL: the hub takes the first that answers, at start and on every
reconnect. A host that is down is a closed port, or a proxy in the test that goes away."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from urllib.parse import quote

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.transport import Transport
from tests import rabbit
from tests.helpers import filings
from tests.integration.test_broker_urls_rabbitmq import hub_command, relays_a_filing
from tests.integration.test_hub_run import hub_run
from tests.integration.test_rabbitmq import receive, vhost_of
from tests.proxy import Proxy, closed_port


def cluster_url(broker_url: str, first_port: int) -> str:
    """``broker_url``'s vhost on two hosts: 127.0.0.1:``first_port``, then the real broker."""
    hosts = f"{rabbit.HOST}:{first_port},{rabbit.HOST}:{rabbit.AMQP_PORT}"
    return f"amqp://{rabbit.USER}:{rabbit.PASSWORD}@{hosts}/{quote(vhost_of(broker_url), safe='')}"


def forwarded_ids(broker_url: str, wanted: str, timeout: float) -> list[str]:
    """Source ids of what reaches egress.onestop until ``wanted`` does (an input whose ack was lost
    with its host is forwarded again first), or ``timeout``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while wanted not in seen and (left := deadline - time.monotonic()) > 0:
        got = receive(broker_url, "egress.onestop", count=1, timeout=left)
        seen += [m.headers["x-hub-source-message-id"] for m in got]
    return seen


def test_a_first_host_that_is_down_is_passed_over_by_topology_apply_and_hub_run(
    broker_url: str, portal: FakePortal, tmp_path: Path
) -> None:
    cluster = cluster_url(broker_url, closed_port())
    applied = hub_command(cluster, "topology", "apply")
    assert applied.returncode == 0, applied.stderr.decode()
    assert "hub.ingress.portal" in rabbit.queue_names(vhost_of(broker_url))
    relays_a_filing(cluster, broker_url, portal, tmp_path)


def test_hub_run_fails_over_to_the_next_host_when_its_host_goes_away(
    broker_url: str, portal: FakePortal, tmp_path: Path
) -> None:
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    before, after = filings(portal, 2)
    with Proxy(rabbit.AMQP_PORT, rabbit.HOST) as first:
        process = hub_run(cluster_url(broker_url, first.port), tmp_path)
        try:
            transport.publish_confirmed([before])
            assert len(receive(broker_url, "egress.onestop", count=1, timeout=30)) == 1
            assert first.accepted >= 2  # the hub's consuming and publishing connections came this way
            first.cut()
            transport.publish_confirmed([after])
            forwarded = forwarded_ids(broker_url, str(after.properties.message_id), timeout=30)
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=15)
        finally:
            process.kill()
    assert process.returncode == 0, stderr.decode()
    assert after.properties.message_id in forwarded
    assert b"broker session ended" in stderr  # it was connected through the first host, then moved
