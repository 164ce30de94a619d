"""The acknowledgement path inside the sessions, without a broker: which deliveries a multiple ack may
cover (``UnsettledDeliveries``), and how ``PikaSession`` turns the broker's confirms, nacks and
returns into one verdict per input (frames made with pika's own classes, channels that record)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pika
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pika.frame import Method
from pika.spec import Basic

from hub.bus.claims import HEADER_PROBE
from hub.bus.pika_session import PikaSession
from hub.bus.session import Consumers, Tag, UnsettledDeliveries
from hub.bus.urls import parse_broker_url
from hub.envelope import Delivery, Outbound, Properties

# -- UnsettledDeliveries ------------------------------------------------------------------------------


def unsettled(*tags: Tag, multiple: bool = True) -> UnsettledDeliveries:
    deliveries = UnsettledDeliveries(multiple_acks=multiple)
    for tag in tags:
        deliveries.add(tag)
    return deliveries


def test_the_oldest_run_of_settled_deliveries_is_one_multiple_ack() -> None:
    deliveries = unsettled(1, 2, 3, 4)
    assert deliveries.plan([2, 1]) == (2, [])
    assert deliveries.plan([3]) == (3, [])  # 1 and 2 are gone: 3 is now the oldest


def test_a_multiple_ack_never_covers_an_older_delivery_still_in_flight() -> None:
    deliveries = unsettled(1, 2, 3, 4)
    assert deliveries.plan([2, 3]) == (None, [2, 3])  # 1 is in flight: one by one
    assert deliveries.plan([1]) == (1, [])  # 2 and 3 were settled: 1 is a run of its own
    assert deliveries.plan([4]) == (4, [])


def test_only_the_run_from_the_oldest_is_multiple_the_rest_one_by_one() -> None:
    deliveries = unsettled(1, 2, 3, 4, 5)
    assert deliveries.plan([1, 2, 4, 5]) == (2, [4, 5])
    assert deliveries.plan([3]) == (3, [])


def test_a_requeued_delivery_no_longer_holds_the_run_back() -> None:
    deliveries = unsettled(1, 2, 3)
    deliveries.discard(1)  # requeued: the broker has it back
    assert deliveries.plan([2, 3]) == (3, [])


def test_after_a_clear_the_old_deliveries_hold_nothing_back() -> None:
    deliveries = unsettled(1, 2)
    deliveries.clear()  # a new connection: the old tags are gone with the old channel
    deliveries.add(3)
    assert deliveries.plan([3]) == (3, [])


def test_a_tag_the_session_does_not_hold_never_widens_a_multiple_ack() -> None:
    deliveries = unsettled(2, 3)
    deliveries.discard(9)  # not held: nothing to discard, no error
    assert deliveries.plan([1, 2]) == (2, [1])  # 1 (an old channel's, say) only on its own


def test_without_multiple_acks_every_tag_is_single_in_the_order_given() -> None:
    deliveries = unsettled("a", "b", "c", multiple=False)
    assert deliveries.plan(["b", "a"]) == (None, ["b", "a"])
    assert deliveries.plan(["c"]) == (None, ["c"])


@given(
    order=st.permutations(list(range(12))),
    settle=st.lists(st.sets(st.integers(0, 11), max_size=6), max_size=5),
)
def test_what_is_acknowledged_is_exactly_what_was_asked(order: list[int], settle: list[set[int]]) -> None:
    """Whatever the delivery order and the batches: a multiple ack acknowledges every outstanding
    delivery up to its tag, and that plus the singles is exactly the batch, nothing else."""
    deliveries = unsettled(*order)
    outstanding = list(order)
    for batch in settle:
        wanted = [tag for tag in batch if tag in outstanding]
        run_end, singles = deliveries.plan(wanted)
        covered = outstanding[: outstanding.index(int(run_end)) + 1] if run_end is not None else []
        assert sorted(covered + singles) == sorted(wanted)
        assert len(set(covered) | set(singles)) == len(wanted)
        outstanding = [tag for tag in outstanding if tag not in wanted]


# -- PikaSession's bookkeeping ------------------------------------------------------------------------


@dataclass
class RecordingChannel:
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def basic_publish(
        self, exchange: str, routing_key: str, body: bytes, properties: Any, mandatory: bool
    ) -> None:
        self.calls.append(("publish", exchange, routing_key, body, properties.message_id, mandatory))

    def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.calls.append(("ack", tag, multiple))

    def basic_nack(self, tag: int, requeue: bool = True) -> None:
        self.calls.append(("nack", tag, requeue))

    def basic_reject(self, tag: int, requeue: bool = True) -> None:
        self.calls.append(("reject", tag, requeue))

    def basic_cancel(self, consumer_tag: str) -> None:
        self.calls.append(("cancel", consumer_tag))


@dataclass
class Wired:
    session: PikaSession
    publishing: RecordingChannel
    consuming: RecordingChannel
    confirms: list[tuple[int, bool]]
    deliveries: list[tuple[Delivery, Tag]]

    def ack(self, tag: int, multiple: bool = False) -> None:
        self.session._on_broker_confirm(Method(1, Basic.Ack(delivery_tag=tag, multiple=multiple)))

    def nack(self, tag: int, multiple: bool = False) -> None:
        self.session._on_broker_confirm(Method(1, Basic.Nack(delivery_tag=tag, multiple=multiple)))

    def returned(self, message_id: str) -> None:
        method = Basic.Return(reply_code=312, reply_text="NO_ROUTE", exchange="egress.onestop")
        self.session._on_return(None, method, pika.BasicProperties(message_id=message_id), b"")

    def deliver(self, tag: int, redelivered: bool = False) -> None:
        method = Basic.Deliver(
            consumer_tag="c",
            delivery_tag=tag,
            redelivered=redelivered,
            exchange="ingress.portal",
            routing_key="k",
        )
        properties = pika.BasicProperties(message_id=f"in-{tag}", headers={"x-contract-version": "1"})
        self.session._deliver("hub.ingress.portal", "portal", None, method, properties, b"{}")


@pytest.fixture
def wired() -> Wired:
    """A PikaSession whose channels record what it sends and whose callbacks record what it reports,
    as ``open`` would leave it (no connection is made)."""
    address = parse_broker_url("amqp://guest:guest@127.0.0.1:1/%2F")
    session = PikaSession(address, Consumers({"hub.ingress.portal": "portal"}), 10)
    confirms: list[tuple[int, bool]] = []
    deliveries: list[tuple[Delivery, Tag]] = []
    on_confirm: Callable[[int, bool], None] = lambda token, ok: confirms.append((token, ok))  # noqa: E731
    session._on_confirm = on_confirm
    session._on_delivery = lambda delivery, tag: deliveries.append((delivery, tag))
    publishing, consuming = RecordingChannel(), RecordingChannel()
    session._publish_channel, session._consume_channel = publishing, consuming
    return Wired(session, publishing, consuming, confirms, deliveries)


def out(message_id: str) -> Outbound:
    return Outbound("egress.onestop", "dossier.submitted", b"{}", Properties(message_id=message_id))


def test_an_input_is_confirmed_once_every_output_is_acked_and_only_then(wired: Wired) -> None:
    wired.session.publish(7, [out("a"), out("b")])
    assert wired.publishing.calls == [
        ("publish", "egress.onestop", "dossier.submitted", b"{}", "a", True),  # mandatory: returns come back
        ("publish", "egress.onestop", "dossier.submitted", b"{}", "b", True),
    ]
    assert wired.confirms == []  # sent is not confirmed
    wired.ack(1)
    assert wired.confirms == []
    wired.ack(2)
    assert wired.confirms == [(7, True)]


def test_a_nack_of_any_output_fails_its_input(wired: Wired) -> None:
    wired.session.publish(7, [out("a"), out("b")])
    wired.nack(1)
    wired.ack(2)
    assert wired.confirms == [(7, False)]


def test_a_returned_output_fails_its_input_though_the_broker_acks_it(wired: Wired) -> None:
    wired.session.publish(7, [out("a"), out("b")])
    wired.returned("b")
    wired.ack(1)
    wired.ack(2)
    assert wired.confirms == [(7, False)]


def test_a_return_of_something_not_in_flight_changes_nothing(wired: Wired) -> None:
    wired.session.publish(7, [out("a")])
    wired.returned("other")
    wired.ack(1)
    assert wired.confirms == [(7, True)]


def test_a_multiple_ack_settles_every_earlier_publish_in_order(wired: Wired) -> None:
    wired.session.publish(1, [out("a")])
    wired.session.publish(2, [out("b"), out("c")])
    wired.session.publish(3, [out("d")])
    wired.ack(3, multiple=True)
    assert wired.confirms == [(1, True), (2, True)]
    wired.ack(4)
    assert wired.confirms == [(1, True), (2, True), (3, True)]


def test_a_multiple_nack_fails_every_input_it_covers_and_no_other(wired: Wired) -> None:
    wired.session.publish(1, [out("a")])
    wired.session.publish(2, [out("b")])
    wired.session.publish(3, [out("c")])
    wired.nack(2, multiple=True)
    wired.ack(3)
    assert wired.confirms == [(1, False), (2, False), (3, True)]


def test_a_confirm_for_a_tag_already_settled_is_ignored(wired: Wired) -> None:
    wired.session.publish(1, [out("a")])
    wired.ack(1)
    wired.ack(1)
    assert wired.confirms == [(1, True)]


def test_the_same_output_ids_published_again_are_judged_on_their_own(wired: Wired) -> None:
    wired.session.publish(1, [out("a")])
    wired.returned("a")
    wired.ack(1)
    wired.session.publish(2, [out("a")])  # the retry of the same input: the same derived ids
    wired.ack(2)
    assert wired.confirms == [(1, False), (2, True)]


def test_a_settled_publish_leaves_nothing_behind(wired: Wired) -> None:
    """The session lives as long as the connection: what it keeps per publish must go once settled."""
    wired.session.publish(1, [out("a"), out("b")])
    wired.session.publish(2, [out("c")])
    wired.returned("c")
    wired.ack(3, multiple=True)
    assert wired.confirms == [(1, True), (2, False)]
    assert (wired.session._batches, wired.session._id_tokens, dict(wired.session._tag_tokens)) == ({}, {}, {})


def test_an_input_without_outputs_is_confirmed_at_once(wired: Wired) -> None:
    wired.session.publish(5, [])
    assert wired.confirms == [(5, True)]
    assert wired.publishing.calls == []


def test_deliveries_reach_the_worker_with_their_tag(wired: Wired) -> None:
    wired.deliver(1)
    wired.deliver(2, redelivered=True)
    [(first, tag_1), (second, tag_2)] = wired.deliveries
    assert (tag_1, tag_2) == (1, 2)
    assert (first.partner, first.exchange, first.routing_key, first.body) == (
        "portal",
        "ingress.portal",
        "k",
        b"{}",
    )
    assert first.properties.message_id == "in-1"
    assert first.properties.headers == {"x-contract-version": "1"}
    assert (first.redelivered, second.redelivered) == (False, True)


def test_acks_cover_the_oldest_run_with_one_multiple_ack_and_never_a_requeued_or_older_input(
    wired: Wired,
) -> None:
    for tag in (1, 2, 3, 4, 5):
        wired.deliver(tag)
    wired.session.ack([4])
    wired.session.requeue(1)
    wired.session.ack([3, 2])
    wired.session.ack([5])
    assert wired.consuming.calls == [
        ("ack", 4, False),  # 1, 2, 3 still in flight
        ("nack", 1, True),
        ("ack", 3, True),  # 1 is back on the queue, 4 settled: 2 and 3 are the run
        ("ack", 5, True),
    ]


def test_a_failing_delivery_callback_is_surfaced_not_swallowed(wired: Wired) -> None:
    def broken(_delivery: Delivery, _tag: Tag) -> None:
        raise KeyError("bug")

    wired.session._on_delivery = broken
    wired.session._ioloop.stop = lambda: None  # no loop runs here
    wired.deliver(1)
    assert isinstance(wired.session._callback_error, KeyError)


# -- claimed partitions: probes and hand-over ----------------------------------------------------------
PARTITION = "hub.partition.3"


def on_partition(wired: Wired, tag: int, headers: dict[str, Any]) -> None:
    method = Basic.Deliver(
        consumer_tag="p", delivery_tag=tag, redelivered=False, exchange="hub.partitions", routing_key="3"
    )
    properties = pika.BasicProperties(message_id=f"in-{tag}", headers=headers)
    wired.session._deliver(PARTITION, "", wired.consuming, method, properties, b"{}")


def claimed(wired: Wired) -> Wired:
    wired.session._claims.claimed.add(PARTITION)
    wired.session._consumer_tags[PARTITION] = "p"
    return wired


def test_a_probe_that_comes_back_proves_the_partition_held_and_never_reaches_the_worker(wired: Wired) -> None:
    claims = claimed(wired).session._claims
    on_partition(wired, 7, {HEADER_PROBE: "another worker"})
    assert PARTITION not in claims.held  # the other worker's probe: it is not ours that came back
    on_partition(wired, 8, {HEADER_PROBE: claims.me})
    assert PARTITION in claims.held
    assert wired.deliveries == []
    # Rejected without requeue: no ack figure moves, and nothing waits to be settled.
    assert wired.consuming.calls == [("reject", 7, False), ("reject", 8, False)]
    wired.session._releasing.add(PARTITION)
    wired.session._cancel_released()
    assert wired.consuming.calls[-1] == ("cancel", "p")


def test_a_partition_is_handed_over_only_once_nothing_of_it_is_unsettled(wired: Wired) -> None:
    session = claimed(wired).session
    on_partition(wired, 1, {})
    on_partition(wired, 2, {})
    wired.deliver(3)  # the ingress router's: another queue
    session._releasing.add(PARTITION)
    session._cancel_released()
    session.ack([1])
    assert ("cancel", "p") not in wired.consuming.calls  # 2 is still in flight
    session.ack([3])
    assert ("cancel", "p") not in wired.consuming.calls  # settling another queue's changes nothing
    session.requeue(2)
    assert wired.consuming.calls[-1] == ("cancel", "p")
    assert session.claimed() == []
    assert PARTITION not in session._releasing
