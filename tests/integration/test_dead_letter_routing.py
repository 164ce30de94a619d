"""What a partition dead-letters reaches its own partner's dead-letter queue, and nothing else does.

RabbitMQ's headers exchange leaves binding arguments named ``x-...`` out of the match: ``hub.dead``
bound on ``x-hub-partner`` sent a partition's dead letters, and every rejected claim probe, to all
three partners' queues.
"""

from __future__ import annotations

import time
from typing import Any

import pika
import pytest

from connectors.onestop.fake import FakeOnestop
from hub import app
from hub.bus.claims import HEADER_PROBE
from hub.bus.pika_session import pika_properties
from hub.bus.topology import PARTITIONS_EXCHANGE, dead_letter_queue, partition_queue
from hub.bus.transport import Transport
from hub.envelope import Delivery
from hub.partitions import Router
from tests.conftest import PROVINCE_UNIT

WAIT = 15.0
pytestmark = pytest.mark.timeout(60)


def depth(channel: Any, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def test_a_partitions_dead_letter_reaches_its_partner_only_and_a_probe_reaches_nobody(
    broker_url: str,
) -> None:
    Transport(broker_url).apply_topology(app.topology())
    onestop = FakeOnestop()
    sent = onestop.message("dossier.received", onestop.dossier_received(PROVINCE_UNIT))
    delivery = Delivery("onestop", sent.exchange, sent.routing_key, sent.body, sent.properties)
    routed = Router({"onestop": lambda body: body.get("MaHoSo")}, 8).route(delivery)
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        probe = pika.BasicProperties(headers={HEADER_PROBE: "a-worker"})
        channel.basic_publish(PARTITIONS_EXCHANGE, routed.routing_key, b"", probe)
        channel.basic_publish(PARTITIONS_EXCHANGE, routed.routing_key, routed.body, pika_properties(routed))
        arriving = channel.consume(partition_queue(int(routed.routing_key)), inactivity_timeout=WAIT)
        for rejected, (method, _properties, _body) in enumerate(arriving, 1):
            assert method is not None, "the two messages never reached their partition"
            channel.basic_reject(method.delivery_tag, requeue=False)  # as a delivery limit would
            if rejected == 2:
                break
        channel.cancel()
        deadline = time.monotonic() + WAIT
        while depth(channel, dead_letter_queue("onestop")) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        depths = {p: depth(channel, dead_letter_queue(p)) for p in ("portal", "onestop", "postal")}
    finally:
        connection.close()
    assert depths == {"portal": 0, "onestop": 1, "postal": 0}
