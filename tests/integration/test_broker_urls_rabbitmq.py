"""Broker URL spellings on the real RabbitMQ: ``hub topology apply`` (kombu) and ``hub run`` (pika)
use the same vhost for each. Named vhosts are made per test; the default vhost is shared, so it is
only connected to, never written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from connectors.portal.fake import FakePortal
from hub.bus.session import Consumers
from hub.bus.transport import Transport
from hub.bus.urls import parse_broker_url
from tests import rabbit
from tests.helpers import filings
from tests.integration.test_hub_run import hub_run
from tests.integration.test_rabbitmq import receive

BASE = f"amqp://{rabbit.USER}:{rabbit.PASSWORD}@{rabbit.HOST}:{rabbit.AMQP_PORT}"


@pytest.fixture
def rabbitmq() -> None:
    if not rabbit.reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672 under CI=true")
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")


@contextmanager
def vhost(name: str) -> Iterator[str]:
    """The vhost ``name``, made for the test; its URL in the canonical spelling."""
    url = rabbit.create_vhost(name)
    try:
        yield url
    finally:
        rabbit.delete_vhost(name)


def hub_command(url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "HUB_BROKER_URL": url}
    command = [sys.executable, "-m", "hub", *args]
    return subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)


@pytest.mark.usefixtures("rabbitmq")
@pytest.mark.parametrize(
    ("vhost_name", "path"),
    [("{id}", "/{id}"), ("/{id}", "/%2F{id}"), ("/{id}", "//{id}")],
    ids=["name", "escaped-slash-name", "kombu-slash-name"],
)
def test_topology_apply_and_hub_run_use_the_vhost_the_url_names(
    vhost_name: str, path: str, portal: FakePortal, tmp_path: Path
) -> None:
    test_id = f"hub-test-{uuid.uuid4().hex[:12]}"
    name, spelled = vhost_name.format(id=test_id), BASE + path.format(id=test_id)
    assert parse_broker_url(spelled).vhost == name
    with vhost(name) as canonical:
        applied = hub_command(spelled, "topology", "apply")
        assert applied.returncode == 0, applied.stderr.decode()
        assert {"hub.ingress.portal", "egress.onestop"} <= rabbit.queue_names(name)
        relays_a_filing(spelled, canonical, portal, tmp_path)


def relays_a_filing(run_url: str, broker_url: str, portal: FakePortal, tmp_path: Path) -> None:
    """`hub run` on ``run_url`` forwards a filing published on ``broker_url`` and stops cleanly."""
    [filing] = filings(portal, 1)
    Transport(broker_url).publish_confirmed([filing])
    process = hub_run(run_url, tmp_path)
    try:
        forwarded = receive(broker_url, "egress.onestop", count=1, timeout=30)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, stderr.decode()
    assert [m.headers["x-hub-source-message-id"] for m in forwarded] == [filing.properties.message_id]


@pytest.mark.usefixtures("rabbitmq")
@pytest.mark.parametrize("path", ["", "/", "//", "/%2F"])
def test_every_spelling_of_the_default_vhost_reaches_it_with_both_clients(path: str) -> None:
    url = BASE + path
    assert parse_broker_url(url).vhost == "/"
    transport = Transport(url)
    transport.require_queues([])  # kombu: connects and opens a channel, declares nothing
    session = transport.session(Consumers({}), prefetch=1)  # pika: connects, consumes nothing
    try:
        session.open(lambda _delivery, _tag: None, lambda _token, _ok: None)
    finally:
        session.close()


@pytest.mark.usefixtures("rabbitmq")
def test_a_session_closed_while_it_still_connects_neither_fails_nor_leaks_sockets() -> None:
    # With nothing to consume, open() returns once publishing works, while the consuming connection
    # is still being made: close() meets it at every stage of pika's handshake.
    transport = Transport(BASE + "/")
    descriptors = len(os.listdir("/proc/self/fd"))
    for _ in range(30):
        session = transport.session(Consumers({}), prefetch=1)
        session.open(lambda _delivery, _tag: None, lambda _token, _ok: None)
        session.close()
    assert len(os.listdir("/proc/self/fd")) <= descriptors
