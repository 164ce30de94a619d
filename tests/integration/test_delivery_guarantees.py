"""The hub's delivery guarantees on the real RabbitMQ, seen from outside the hub: the broker's queues
and counters (management API, basic.get) and the store's rows, never the worker's own counters.

An input is acknowledged only after each of its outputs was confirmed by the broker (not returned as
unroutable, not nacked, not merely sent) and its ledger row committed; a multiple acknowledgement
never covers an input still in flight. The store's outage is in test_delivery_guarantees_store.py,
the ``hub run`` process in test_delivery_guarantees_process.py, replays in
test_delivery_guarantees_replay.py and the topology in test_delivery_guarantees_topology.py.
"""

from __future__ import annotations

from typing import Any

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.transport import Transport
from hub.envelope import Outbound, Properties
from hub.errors import TransientError
from hub.settings import Settings
from tests import rabbit
from tests.conftest import PROVINCE_UNIT
from tests.helpers import filings, running
from tests.integration.guarantees import consumers, drain, ids, ingress, ledger_rows, sources, via_port, wired
from tests.proxy import Proxy
from tests.waiting import eventually

WAIT = 3 * rabbit.STATS_INTERVAL  # for a figure of the management API to show a change
AMQP_PORT = 5672
# Today a refused output's input is requeued, and the queue dead-letters a message delivered more
# than 20 times: retries spaced so that the management API's lag never gets near that.
RETRY: dict[str, object] = {"retry_backoff_seconds": 0.25, "retry_backoff_max_seconds": 2.0}


def database(settings: Settings) -> str:
    return settings.database_url.get_secret_value()


def attempts(vhost: str, exchange: str, at_least: int) -> None:
    """Wait until the broker counted ``at_least`` publishes into ``exchange``."""
    eventually(
        lambda: rabbit.exchange(vhost, exchange),
        lambda e: rabbit.stat(e, "publish_in") >= at_least,
        WAIT,
        f"{at_least} publishes into {exchange}",
    )


def held_unacknowledged(vhost: str, count: int) -> dict[str, Any]:
    """Wait until the management API shows the portal's inputs held, ``count`` of them at least (its
    figures lag; an input whose copy the router has not seen confirmed is held twice, on the ingress
    and on its partition), and check that none was ever acknowledged."""
    queue = eventually(
        lambda: ingress(vhost), lambda q: rabbit.held(q) >= count, WAIT, f"{count} inputs held"
    )
    assert rabbit.stat(queue, "ack") == 0, queue.get("message_stats")
    return queue


def settled(vhost: str, acks: int) -> dict[str, Any]:
    """Wait until the portal's ingress queue is empty, its inputs acknowledged ``acks`` times."""
    queue = eventually(
        lambda: ingress(vhost),
        lambda q: rabbit.held(q) == 0 and rabbit.stat(q, "ack") >= acks,
        WAIT,
        f"{acks} inputs acknowledged",
    )
    assert rabbit.stat(queue, "ack") == acks, queue["message_stats"]
    assert rabbit.held(rabbit.queue(vhost, "hub.dead.portal")) == 0  # none given up on
    return queue


def rows_for(settings: Settings, count: int) -> dict[str, list[str]]:
    return eventually(
        lambda: ledger_rows(database(settings)),
        lambda rows: len(rows) >= count,
        WAIT,
        f"{count} ledger rows",
    )


def test_a_returned_output_keeps_its_input_until_the_egress_is_bound_again(
    broker_url: str, settings: Settings, portal: FakePortal
) -> None:
    vhost = rabbit.vhost_of(broker_url)
    on_rabbit = wired(settings, broker_url, None, **RETRY)
    [filing] = filings(portal, 1)
    with running(app.build(on_rabbit)):
        rabbit.unbind(vhost, "egress.onestop", "egress.onestop", "#")
        Transport(broker_url).publish_confirmed([filing])
        attempts(vhost, "egress.onestop", at_least=2)  # returned as unroutable, tried again
        assert ledger_rows(database(on_rabbit)) == {}
        held_unacknowledged(vhost, 1)
        assert rabbit.held(rabbit.queue(vhost, "egress.onestop")) == 0

        rabbit.bind(vhost, "egress.onestop", "egress.onestop", "#")
        assert rows_for(on_rabbit, 1) == {str(filing.properties.message_id): ["forwarded"]}
        settled(vhost, acks=1)
    assert sources(drain(broker_url, "egress.onestop")) == ids([filing])


def fill(broker_url: str, queue: str) -> int:
    """Publish to ``queue`` until the broker refuses (its length limit reached); how many it took.
    A quorum queue takes one more than its limit before it refuses."""
    transport = Transport(broker_url)
    for count in range(10):
        filler = Outbound("", queue, b"{}", Properties(message_id=f"filler-{count}"))
        try:
            transport.publish_confirmed([filler])
        except TransientError:
            return count
    raise AssertionError(f"{queue} never refused a publish")


def test_a_nacked_output_keeps_its_input_until_the_queue_has_room_then_it_goes_once(
    broker_url: str, settings: Settings, portal: FakePortal
) -> None:
    vhost = rabbit.vhost_of(broker_url)
    on_rabbit = wired(settings, broker_url, None, **RETRY)
    [filing] = filings(portal, 1)
    with running(app.build(on_rabbit)):
        rabbit.set_policy(
            vhost, "full", r"^egress\.onestop$", {"max-length": 1, "overflow": "reject-publish"}
        )
        fillers = fill(broker_url, "egress.onestop")
        Transport(broker_url).publish_confirmed([filing])
        attempts(vhost, "egress.onestop", at_least=2)  # nacked, tried again
        assert ledger_rows(database(on_rabbit)) == {}
        held_unacknowledged(vhost, 1)
        assert rabbit.held(rabbit.queue(vhost, "egress.onestop")) == fillers

        Transport(broker_url).take("egress.onestop", limit=fillers)  # room again
        assert rows_for(on_rabbit, 1) == {str(filing.properties.message_id): ["forwarded"]}
        settled(vhost, acks=1)
    assert sources(drain(broker_url, "egress.onestop")) == ids([filing])  # exactly once


def test_an_output_counts_only_once_the_broker_confirms_it(
    broker_url: str, settings: Settings, portal: FakePortal
) -> None:
    """The broker has the output, but its confirm has not reached the hub: the input stays."""
    vhost = rabbit.vhost_of(broker_url)
    [filing] = filings(portal, 1)
    with Proxy(AMQP_PORT) as proxy:
        through_proxy = wired(settings, via_port(broker_url, proxy.port))
        with running(app.build(through_proxy)):
            eventually(
                lambda: consumers(broker_url, "hub.ingress.portal"), lambda n: n == 1, WAIT, "a consumer"
            )
            # The worker opens its publishing connection first, then the consuming one.
            publishing, _consuming = eventually(
                proxy.open_connections, lambda numbers: len(numbers) == 2, WAIT, "the worker's connections"
            )
            proxy.hold_replies(publishing)
            try:
                Transport(broker_url).publish_confirmed([filing])
                eventually(
                    lambda: rabbit.queue(vhost, "egress.onestop"),
                    lambda q: rabbit.held(q) == 1,
                    WAIT,
                    "the output on the broker",
                )
                assert ledger_rows(database(through_proxy)) == {}
                queue = held_unacknowledged(vhost, 1)
                assert queue.get("messages_unacknowledged", 0) >= 1
            finally:
                proxy.release_replies(publishing)
            assert rows_for(through_proxy, 1) == {str(filing.properties.message_id): ["forwarded"]}
            settled(vhost, acks=1)


def test_a_multiple_ack_never_covers_an_earlier_input_still_in_flight(
    broker_url: str, settings: Settings, portal: FakePortal
) -> None:
    """The first input's order to the post is returned while the two after it go through: their
    acknowledgement must not take the first one with it."""
    vhost = rabbit.vhost_of(broker_url)
    slow_retry = wired(settings, broker_url, retry_backoff_seconds=3.0, retry_backoff_max_seconds=3.0)
    first = portal.message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT, collect=True))
    later = filings(portal, 2)  # nothing for the post
    with running(app.build(slow_retry)):
        rabbit.unbind(vhost, "egress.postal", "egress.postal", "#")
        Transport(broker_url).publish_confirmed([first, *later])
        assert rows_for(slow_retry, 2) == {message_id: ["forwarded"] for message_id in ids(later)}
        # The management API's figures lag, each kind on its own clock: wait for both to show.
        queue = eventually(
            lambda: ingress(vhost),
            lambda q: rabbit.stat(q, "ack") >= 2 and rabbit.held(q) == 1,
            WAIT,
            "the later two acknowledged and the first still held, ready or unacknowledged",
        )
        assert rabbit.stat(queue, "ack") == 2, queue["message_stats"]
        assert ledger_rows(database(slow_retry)).keys() == set(ids(later))

        rabbit.bind(vhost, "egress.postal", "egress.postal", "#")
        assert rows_for(slow_retry, 3)[str(first.properties.message_id)] == ["forwarded"]
        settled(vhost, acks=3)
    assert sources(drain(broker_url, "egress.postal")) == ids([first])
