"""A real ``hub run`` process: it starts, carries traffic, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.transport import Transport
from tests import rabbit
from tests.conftest import PROVINCE_UNIT, sample_agencies
from tests.helpers import filings
from tests.integration.guarantees import take_waiting
from tests.integration.test_rabbitmq import receive

MESSAGES = 3000
UNDER_LOAD = 500  # outputs seen before the SIGTERM


def hub_run(url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    agencies = json.dumps([a.model_dump(mode="json") for a in sample_agencies()])
    env = {
        **os.environ,
        "HUB_BROKER_URL": url,
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "HUB_AGENCIES": agencies,
        "HUB_PREFETCH": "100",
        "HUB_DEFAULT_INGRESS_USERS": json.dumps([rabbit.USER]),  # the test publishes as guest
    }
    command = [sys.executable, "-m", "hub", "run"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigterm_finishes_in_flight_work_and_loses_nothing(
    broker_url: str, portal: FakePortal, tmp_path: Path
) -> None:
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    sent = filings(portal, MESSAGES, unit=PROVINCE_UNIT)
    transport.publish_confirmed(sent)
    process = hub_run(broker_url, tmp_path)
    try:
        first = receive(broker_url, "egress.onestop", count=UNDER_LOAD, timeout=60)
        assert len(first) >= UNDER_LOAD
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, stderr.decode()
    assert b"stopped" in stderr
    assert b"egress messages are signed with the public development key" in stderr  # no key set
    forwarded = [m.headers["x-hub-source-message-id"] for m in first]
    forwarded += [
        d.properties.headers["x-hub-source-message-id"] for d in transport.take("egress.onestop", MESSAGES)
    ]
    waiting = [d.properties.message_id for d in take_waiting(broker_url, MESSAGES)]
    assert len(forwarded) == len(set(forwarded))
    assert not set(forwarded) & set(waiting), "an input was forwarded but not acknowledged"
    assert set(forwarded) | set(waiting) == {m.properties.message_id for m in sent}
