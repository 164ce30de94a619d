"""The runner's lanes (one per dossier, arrival order, one group at a time, held while failing) and
its reading of egress deliveries (an unreadable one is a malformed_egress dead letter)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from hub.delivery.contract import EgressMessage
from hub.delivery.lanes import AdapterBroke, Held, Lanes
from hub.delivery.letters import EgressReason, Malformed, dead_letter, egress_message
from hub.envelope import (
    HEADER_ORIGINAL_EXCHANGE,
    HEADER_ORIGINAL_ROUTING_KEY,
    HEADER_PARTNER_CODE,
    HEADER_REASON,
    Delivery,
    Properties,
)
from hub.settings.delivery import DeliveryPolicy


class Chunks:
    partner = "fake"

    def __init__(self, size: int = 2, reorder: bool = False) -> None:
        self.size, self.reorder = size, reorder

    def groups(self, messages: Sequence[EgressMessage]) -> list[list[EgressMessage]]:
        found = [list(messages[i : i + self.size]) for i in range(0, len(messages), self.size)]
        return [list(reversed(group)) for group in found] if self.reorder else found

    def deliver(self, group: Sequence[EgressMessage]) -> None: ...
    def probe(self) -> None: ...
    def close(self) -> None: ...


def delivery(dossier: str | None, n: int, body: bytes = b"{}", message_id: str | None = "m") -> Delivery:
    properties = Properties(
        message_id=None if message_id is None else f"{message_id}{n}", type="progress", correlation_id=dossier
    )
    return Delivery("fake", "egress.fake", "progress", body, properties)


def held(dossier: str, n: int) -> Held:
    found = delivery(dossier, n)
    return Held(n, found, egress_message(found))


def test_a_dossier_sends_one_group_at_a_time_in_arrival_order() -> None:
    lanes = Lanes(DeliveryPolicy())
    for n, dossier in enumerate("AABAA"):
        lanes.add(held(dossier, n))
    assert list(lanes.ready(0.0)) == ["A", "B"]
    group = lanes.take_group("A", Chunks())
    assert [h.tag for h in group] == [0, 1]
    assert list(lanes.ready(0.0)) == ["B"]  # A is busy
    lanes.done("A", group)
    assert [h.tag for h in lanes.take_group("A", Chunks())] == [3, 4]
    assert len(lanes) == 3


def test_a_failing_dossier_holds_its_later_messages_until_its_retry() -> None:
    lanes = Lanes(DeliveryPolicy(retry_base_seconds=10, retry_max_seconds=10), random.Random(1))
    for n in range(3):
        lanes.add(held("A", n))
    group = lanes.take_group("A", Chunks(size=1))
    delay = lanes.failed("A", 100.0, retry_after=None)
    assert 5.0 <= delay <= 10.0
    assert list(lanes.ready(100.0 + delay - 0.01)) == []
    assert lanes.next_retry(100.0) == pytest.approx(100.0 + delay)
    assert lanes.next_retry(100.0 + delay) is None  # due: no longer a retry to wait for
    assert [h.tag for h in lanes.take_group("A", Chunks(size=1))] == [h.tag for h in group] == [0]


def test_dossiers_that_may_send_now_are_no_retry_to_wait_for() -> None:
    # They wait only for a free call, the rate limit or the breaker; the runner's loop would spin
    # (waiting 0 s) if they counted as retries due now.
    lanes = Lanes(DeliveryPolicy())
    lanes.add(held("A", 0))
    lanes.add(held("B", 0))
    lanes.take_group("A", Chunks())
    assert list(lanes.ready(5.0)) == ["B"]
    assert lanes.next_retry(5.0) is None


def test_a_refused_group_leaves_and_the_dossier_goes_on() -> None:
    lanes = Lanes(DeliveryPolicy())
    lanes.add(held("A", 0))
    lanes.add(held("A", 1))
    lanes.done("A", lanes.take_group("A", Chunks(size=1)))
    assert [h.tag for h in lanes.take_group("A", Chunks(size=1))] == [1]


def test_groups_that_do_not_start_with_the_first_messages_in_order_are_an_adapter_bug() -> None:
    lanes = Lanes(DeliveryPolicy())
    lanes.add(held("A", 0))
    lanes.add(held("A", 1))
    with pytest.raises(AdapterBroke):
        lanes.take_group("A", Chunks(reorder=True))


def test_an_egress_delivery_is_read_with_its_dossier_kind_and_payload() -> None:
    message = egress_message(delivery("D1", 0, b'{"MaHoSo": "D1"}'))
    assert (message.message_id, message.kind, message.dossier, message.payload) == (
        "m0",
        "progress",
        "D1",
        {"MaHoSo": "D1"},
    )
    assert egress_message(delivery(None, 0)).dossier == ""  # no dossier: one shared lane


@pytest.mark.parametrize(
    ("found", "detail"),
    [
        (delivery("D1", 0, b"{not json"), "the body is not JSON"),
        (delivery("D1", 0, b"\xff\xfe"), "the body is not JSON"),
        (delivery("D1", 0, message_id=None), "property message_id is missing"),
    ],
)
def test_an_unreadable_egress_delivery_is_malformed(found: Delivery, detail: str) -> None:
    with pytest.raises(Malformed) as raised:
        egress_message(found)
    assert raised.value.detail == detail


def test_a_dead_letter_keeps_the_message_and_says_where_it_came_from() -> None:
    original = delivery("D1", 0, b'{"x": 1}')
    letter = dead_letter(original, EgressReason.PARTNER_REFUSED, "refused [redacted]", "http_422")
    assert letter.exchange == "hub.dead.egress.fake"
    assert (letter.body, letter.properties.message_id) == (original.body, "m0")
    headers = letter.properties.headers
    assert headers[HEADER_REASON] == "partner_refused"
    assert headers[HEADER_PARTNER_CODE] == "http_422"
    assert (headers[HEADER_ORIGINAL_EXCHANGE], headers[HEADER_ORIGINAL_ROUTING_KEY]) == (
        "egress.fake",
        "progress",
    )
