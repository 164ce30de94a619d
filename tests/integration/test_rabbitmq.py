"""The hub against the real RabbitMQ, each test in its own vhost."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import kombu
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.transport import Transport
from hub.cli import main
from hub.envelope import Delivery
from hub.errors import TopologyConflict
from hub.exits import Exit
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import Settings
from tests import rabbit
from tests.conftest import PROVINCE_UNIT
from tests.helpers import WAIT, filings, running

EXAMPLE = Path(__file__).parents[2] / "connectors" / "samples" / "portal.dossier.submitted.json"


def on_rabbit(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"broker_url": SecretStr(url)})


def vhost_of(url: str) -> str:
    return unquote(urlsplit(url).path[1:])


def receive(url: str, queue: str, count: int, timeout: float) -> list[Any]:
    """Take up to ``count`` messages from ``queue``, waiting at most ``timeout`` seconds overall."""
    received: list[Any] = []
    deadline = time.monotonic() + timeout

    def take(_body: object, message: Any) -> None:
        received.append(message)

    with kombu.Connection(url) as connection:
        queues = [kombu.Queue(queue, no_declare=True)]
        channel = connection.channel()
        consumer = kombu.Consumer(channel, queues, prefetch_count=count, callbacks=[take])
        with consumer:
            while len(received) < count and (left := deadline - time.monotonic()) > 0:
                try:
                    connection.drain_events(timeout=left)
                except TimeoutError:
                    break
        if received:
            # Once the consumer is cancelled, one multiple ack and a round trip before closing, as
            # Transport.take does: RabbitMQ 3.10 dropped the acks a quorum queue's channel still
            # buffered at close, and the messages came back.
            received[-1].ack(multiple=True)
            channel.queue_declare(queue=queue, passive=True)
    return received


def read_stream(url: str, stream: str, timeout: float) -> list[Any]:
    """The messages of ``stream`` from its first offset that arrive in one read within ``timeout``."""
    received: list[Any] = []
    with kombu.Connection(url) as connection:
        channel = connection.channel()
        channel.basic_qos(0, 100, False)
        queue = kombu.Queue(stream, no_declare=True, consumer_arguments={"x-stream-offset": "first"})
        consumer = kombu.Consumer(channel, [queue], on_message=received.append, no_ack=False)
        with consumer, contextlib.suppress(TimeoutError):
            connection.drain_events(timeout=timeout)
    return received


def test_applying_the_topology_twice_changes_nothing(broker_url: str, portal: FakePortal) -> None:
    transport = Transport(broker_url)
    first = transport.apply_topology(app.topology())
    transport.publish_confirmed(filings(portal, 1))
    second = transport.apply_topology(app.topology())
    assert [d.name for d in first] == [d.name for d in second]
    assert not any(d.existed for d in first if d.kind != "binding")
    assert all(d.existed for d in second)
    assert transport.depth("hub.ingress.portal") == 1


def test_a_queue_with_other_arguments_is_named_with_the_argument(broker_url: str) -> None:
    with kombu.Connection(broker_url) as connection:
        connection.channel().queue_declare(queue="hub.dead.portal", durable=True, auto_delete=False)
    with pytest.raises(TopologyConflict) as caught:
        Transport(broker_url).apply_topology(app.topology())
    assert caught.value.entity == "queue 'hub.dead.portal'"
    assert caught.value.argument == "x-queue-type"


def test_an_exchange_of_another_type_stops_the_cli_with_a_clear_error(
    broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with kombu.Connection(broker_url) as connection:
        connection.channel().exchange_declare(
            exchange="ingress.portal", type="direct", durable=True, auto_delete=False
        )
    monkeypatch.setenv("HUB_BROKER_URL", broker_url)
    result = CliRunner().invoke(main, ["topology", "apply"])
    assert result.exit_code == Exit.TOPOLOGY_CONFLICT
    assert "exchange 'ingress.portal' already exists with a different 'type'" in result.output


def test_a_published_dossier_reaches_the_one_stop_shop_once_with_the_contract_properties(
    broker_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", broker_url)
    with running(app.build(on_rabbit(settings, broker_url))):
        published = CliRunner().invoke(
            main, ["publish", "--as", "portal", "--message-id", "m-1", "dossier.submitted", str(EXAMPLE)]
        )
        assert published.exit_code == 0, published.output
        (message,) = receive(broker_url, "egress.onestop", count=2, timeout=2.0)
    example = json.loads(EXAMPLE.read_text())
    p = message.properties
    assert message.delivery_info["routing_key"] == "dossier.submitted"
    assert p["type"] == "dossier.submitted"
    assert p["correlation_id"] == example["MaHoSo"]
    assert p["message_id"].startswith("hub-")
    assert p["delivery_mode"] == 2
    assert abs(p["timestamp"] - time.time()) < 60
    assert message.content_type == "application/json"
    signer = on_rabbit(settings, broker_url).egress_signer()
    assert signer is not None
    assert message.headers == {
        "x-contract-version": "1",
        "x-hub-source-message-id": "m-1",
        "x-hub-unit": PROVINCE_UNIT,
        "x-hub-key-id": signer.key_id,
        "x-hub-signature": message.headers["x-hub-signature"],  # tests/integration/test_signatures_*
    }
    assert json.loads(message.body) == example
    # The example asks for collection: its postal order is the stream's second event.
    event, order = read_stream(broker_url, "hub.events.log", timeout=2.0)
    assert order.headers["x-hub-schema"] == "hub.postal.v1.PostalOrderRequested"
    fingerprint = event.headers["x-hub-schema-fingerprint"]
    assert event.headers["x-hub-schema"] == "hub.dossier.v1.DossierSubmitted"
    datum = Registry.load(CATALOGUE).decode(event.body, fingerprint)
    assert (datum["dossier_code"], datum["header"]["source_message_id"]) == (example["MaHoSo"], "m-1")


@pytest.fixture
def intruder(broker_url: str) -> Iterator[str]:
    """A second broker user on the test's vhost: another partner's system, say."""
    name = f"intruder-{uuid.uuid4().hex[:8]}"
    rabbit.create_user(name, "intruder-pass", vhost_of(broker_url))
    yield broker_url.replace("guest:guest@", f"{name}:intruder-pass@")
    rabbit.delete_user(name)


def dead_reasons(deliveries: list[Delivery]) -> list[str]:
    return sorted(str(d.properties.headers["x-hub-reason"]) for d in deliveries)


def test_every_reason_lands_in_the_portal_dead_letter_queue_and_the_worker_keeps_going(
    broker_url: str, settings: Settings, portal: FakePortal, intruder: str
) -> None:
    bad = portal.bad_messages(PROVINCE_UNIT, settings.max_body_bytes)
    # RabbitMQ refuses a user_id that is not the connection's: the wrong user publishes as itself.
    others = [m for reason, m in bad if reason != "wrong_ingress"]
    hub = app.build(on_rabbit(settings, broker_url))
    with running(hub) as run:
        Transport(broker_url).publish_confirmed([*others, *filings(portal, 3)])
        as_intruder = FakePortal(user=urlsplit(intruder).username or "").message(
            "dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT)
        )
        Transport(intruder).publish_confirmed([as_intruder])
        assert run.worker.wait_settled(len(bad) + 3, WAIT)
    assert dead_reasons(hub.transport.take("hub.dead.portal", limit=100)) == sorted(str(r) for r, _ in bad)
    assert hub.transport.depth("egress.onestop") == 3


def test_the_broker_refuses_a_spoofed_user_id(broker_url: str, portal: FakePortal) -> None:
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    spoofed = FakePortal(user="portal").message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT))
    with pytest.raises(Exception, match="user_id"):
        transport.publish_confirmed([spoofed])
    assert transport.depth("hub.ingress.portal") == 0


def test_the_worker_comes_back_after_its_connections_are_closed(
    broker_url: str, settings: Settings, portal: FakePortal
) -> None:
    hub = app.build(on_rabbit(settings, broker_url))
    with running(hub) as run:
        Transport(broker_url).publish_confirmed(filings(portal, 5))
        assert run.worker.wait_settled(5, WAIT)
        rabbit.close_connections(vhost_of(broker_url))
        Transport(broker_url).publish_confirmed(filings(portal, 5))
        assert run.worker.wait_settled(10, 30)
    outputs = hub.transport.take("egress.onestop", limit=100)
    assert len({d.properties.headers["x-hub-source-message-id"] for d in outputs}) == 10


def test_operators_see_dead_letters_without_taking_them(
    broker_url: str, settings: Settings, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = [
        m
        for reason, m in portal.bad_messages(PROVINCE_UNIT, settings.max_body_bytes)
        if reason != "wrong_ingress"
    ]
    hub = app.build(on_rabbit(settings, broker_url))
    with running(hub) as run:
        Transport(broker_url).publish_confirmed(bad)
        assert run.worker.wait_settled(len(bad), WAIT)
    monkeypatch.setenv("HUB_BROKER_URL", broker_url)
    shown = CliRunner().invoke(main, ["dead-letters", "show", "portal", "--limit", "50"])
    assert shown.exit_code == 0, shown.output
    assert f"{len(bad)} waiting" in shown.output
    for reason in ("malformed_json", "unknown_agency", "validation_failed", "too_large"):
        assert reason in shown.output
    assert hub.transport.depth("hub.dead.portal") == len(bad)  # still there for a replay
