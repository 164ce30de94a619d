"""Partitioned ingress on RabbitMQ: workers share the partitions, one consumer each at a time, a
stopped worker's partitions move to the others, and every dossier's messages keep their order."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from pydantic import SecretStr

from connectors.onestop.fake import FakeOnestop
from hub import app
from hub.bus.topology import dead_letter_queue, egress_queue, partition_queue
from hub.settings import Settings
from tests import rabbit
from tests.conftest import PROVINCE_UNIT
from tests.helpers import eventually, running

DOSSIERS = 60
PATH = (4, 5, 4)  # accepted, processing, supplement requested, processing again
WAIT = 60.0


def holders(vhost: str, partitions: int) -> dict[str, set[str]]:
    """Connection name -> the partitions whose active consumer it holds (the management API's view)."""
    held: dict[str, set[str]] = defaultdict(set)
    for number in range(partitions):
        queue = partition_queue(number)
        for consumer in rabbit.queue_consumers(vhost, queue):
            channel = consumer["channel_details"]  # an empty list while its channel closes
            if consumer["active"] and isinstance(channel, dict):
                held[channel["connection_name"]].add(queue)
    return held


def one_active_each(vhost: str, partitions: int) -> bool:
    """Every partition has exactly one active consumer."""
    for number in range(partitions):
        active = [c for c in rabbit.queue_consumers(vhost, partition_queue(number)) if c["active"]]
        if len(active) != 1:
            return False
    return True


@pytest.fixture
def on_rabbit(broker_url: str, postgres_url: str, settings: Settings) -> Settings:
    """Settings for workers sharing one vhost and one PostgreSQL database, as in production."""
    return settings.model_copy(
        update={"broker_url": SecretStr(broker_url), "database_url": SecretStr(postgres_url)}
    )


def test_two_workers_share_the_partitions_and_keep_each_dossiers_order(
    broker_url: str, on_rabbit: Settings
) -> None:
    vhost, partitions = rabbit.vhost_of(broker_url), on_rabbit.partitions
    onestop = FakeOnestop(seed=11)
    histories = [onestop.received_with_steps(PROVINCE_UNIT, PATH) for _ in range(DOSSIERS)]
    messages = [onestop.message(kind, body) for history in histories for kind, body in history]
    with running(app.build(on_rabbit)) as first, running(app.build(on_rabbit)) as second:
        assert eventually(lambda: len(holders(vhost, partitions)) == 2, WAIT), (
            "the partitions were not shared"
        )
        assert eventually(lambda: one_active_each(vhost, partitions))
        first.hub.transport.publish_confirmed(messages)
        assert eventually(lambda: first.worker.settled + second.worker.settled >= len(messages))
        assert first.worker.settled > 0
        assert second.worker.settled > 0
    transport = first.hub.transport
    assert transport.depth(dead_letter_queue("onestop")) == 0  # no step judged before its filing
    records: dict[str, list[tuple[str, int | None]]] = defaultdict(list)
    for output in transport.take(egress_queue("portal"), limit=10 * len(messages), partner="portal"):
        body = json.loads(output.body)
        records[str(output.properties.correlation_id)].append((output.routing_key, body.get("TrangThai")))
    expected = [("DongBoHoSoMC", None), *(("CapNhatTienDoHoSoMC", s) for s in (2, *PATH))]
    assert len(records) == DOSSIERS
    assert all(sequence == expected for sequence in records.values()), "a dossier's records out of order"


def test_a_stopped_workers_partitions_move_to_the_one_left(broker_url: str, on_rabbit: Settings) -> None:
    vhost, partitions = rabbit.vhost_of(broker_url), on_rabbit.partitions
    onestop = FakeOnestop(seed=12)
    with running(app.build(on_rabbit)) as staying:
        with running(app.build(on_rabbit)):
            assert eventually(lambda: len(holders(vhost, partitions)) == 2, WAIT)
        assert eventually(lambda: len(holders(vhost, partitions)) == 1 and one_active_each(vhost, partitions))
        messages = [
            onestop.message(kind, body)
            for _ in range(20)
            for kind, body in onestop.received_with_steps(PROVINCE_UNIT, (4,))
        ]
        staying.hub.transport.publish_confirmed(messages)
        assert staying.worker.wait_settled(len(messages), WAIT)
    assert staying.hub.transport.depth(dead_letter_queue("onestop")) == 0
