"""The topology as the broker reports it (management API), not as the hub meant it: the arguments
that make the guarantees hold on the broker's side (contract.md, "Broker topology")."""

from __future__ import annotations

from typing import Any

import connectors
from hub import app
from hub.bus.transport import Transport
from tests import rabbit
from tests.waiting import eventually

QUORUM = {"x-queue-type": "quorum"}
SINGLE_ACTIVE = {**QUORUM, "x-single-active-consumer": True}
PARTITIONS = [f"hub.partition.{n}" for n in range(8)]  # the default HUB_PARTITIONS
KINDS_PER_PARTNER = (
    "hub.ingress",
    "hub.dead",
    "egress",
    "hub.park",
    "hub.dead.egress",
)  # queue name prefixes
PARK_RETRY_MS = 5000  # the default HUB_PARK_RETRY_SECONDS


def test_the_broker_reports_quorum_queues_with_their_limits_and_the_events_stream_with_its_age(
    broker_url: str,
) -> None:
    Transport(broker_url).apply_topology(app.topology())
    vhost = rabbit.vhost_of(broker_url)
    partners = connectors.partners()
    expected = {
        "hub.events.log",
        "hub.workers",
        *PARTITIONS,
        *(
            f"{kind}.{p}"
            for p in partners
            for kind in ("hub.ingress", "hub.dead", "egress", "hub.park", "hub.dead.egress")
        ),
    }
    queues = eventually(
        lambda: rabbit.queues(vhost), lambda found: set(found) == expected, 10, "the queues listed"
    )

    def reported(name: str) -> tuple[str, dict[str, Any], bool, bool]:
        queue = queues[name]
        return queue["type"], queue["arguments"], queue["durable"], queue["auto_delete"]

    for partner in partners:
        assert reported(f"hub.ingress.{partner}") == (
            "quorum",
            {**SINGLE_ACTIVE, "x-delivery-limit": 20, "x-dead-letter-exchange": f"hub.dead.{partner}"},
            True,
            False,
        )
        parked = {
            **QUORUM,
            "x-message-ttl": PARK_RETRY_MS,
            "x-dead-letter-exchange": "hub.partitions",
            "x-dead-letter-strategy": "at-least-once",  # never dropped on the way back
            "x-overflow": "reject-publish",
        }
        assert reported(f"hub.park.{partner}") == ("quorum", parked, True, False)
        assert reported(f"hub.dead.{partner}") == ("quorum", QUORUM, True, False)
        assert reported(f"egress.{partner}") == ("quorum", QUORUM, True, False)
        # What an HTTP partner refused (hub deliver) waits there for an operator, never expires.
        assert reported(f"hub.dead.egress.{partner}") == ("quorum", QUORUM, True, False)
    for partition in PARTITIONS:
        assert reported(partition) == (
            "quorum",
            {**SINGLE_ACTIVE, "x-delivery-limit": 20, "x-dead-letter-exchange": "hub.dead"},
            True,
            False,
        )
    assert reported("hub.events.log") == (
        "stream",
        {"x-queue-type": "stream", "x-max-age": "7D"},
        True,
        False,
    )

    # What the broker gives up on reaches the partner's dead-letter queue.
    routes = {
        (b["source"], b["destination"], b["routing_key"]) for b in rabbit.bindings(vhost) if b["source"]
    }
    for partner in partners:
        assert rabbit.exchange(vhost, f"hub.dead.{partner}")["type"] == "fanout"
        assert (f"hub.dead.{partner}", f"hub.dead.{partner}", "#") in routes
        assert (f"ingress.{partner}", f"hub.ingress.{partner}", "#") in routes
        assert (f"egress.{partner}", f"egress.{partner}", "#") in routes
    assert ("hub.events", "hub.events.log", "#") in routes
    assert rabbit.exchange(vhost, "hub.partitions")["type"] == "direct"
    for number, partition in enumerate(PARTITIONS):
        assert ("hub.partitions", partition, str(number)) in routes
