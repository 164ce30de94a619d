"""The router's partitioning, the copy on a partition, and the way to the park and back."""

from __future__ import annotations

import json
import zlib

import connectors
from hub.bus.ingress import ingress_message
from hub.bus.topology import PARTITIONS_EXCHANGE, park_exchange
from hub.envelope import Delivery, Outbound
from hub.partitions import (
    HEADER_PARK_REASON,
    HEADER_PARKED_AT,
    HEADER_RECEIVED_AT,
    HEADER_USER_ID,
    Router,
    park,
    parked_at,
    partition_of,
    unwrap,
)

COUNT = 8
DOSSIER = "000.00.30.H30-261129-0001"


def router() -> Router:
    return Router({p: connectors.load(p).partition_key for p in connectors.partners()}, COUNT)


def delivered(message: Outbound, **headers: object) -> Delivery:
    properties = message.properties
    properties.headers = {**properties.headers, **headers}
    partner = message.exchange.removeprefix("ingress.")
    return Delivery(partner, message.exchange, message.routing_key, message.body, properties)


def message(partner: str, kind: str, body: dict[str, object], user: str = "portal") -> Outbound:
    raw = json.dumps(body).encode()
    return ingress_message(partner, kind, raw, message_id=f"{partner}-1", user_id=user, timestamp=1)


def test_the_partition_of_a_key_is_stable_and_in_range() -> None:
    numbers = {partition_of(f"000.00.30.H30-261129-{n:04d}", COUNT) for n in range(200)}
    assert numbers == set(range(COUNT))  # 200 dossiers reach every partition
    # CRC-32 of the code, not hash(): the same on every host and in every process (documented).
    assert partition_of(DOSSIER, COUNT) == zlib.crc32(DOSSIER.encode()) % COUNT


def test_two_partners_messages_of_one_dossier_share_a_partition() -> None:
    steps = delivered(message("onestop", "dossier.progress", {"MaHoSo": DOSSIER, "TrangThaiHoSo": 4}))
    withdrawal = delivered(message("portal", "dossier.withdrawn", {"MaHoSo": DOSSIER}))
    tracking = delivered(message("postal", "shipment.status", {"OrderNumber": f"{DOSSIER}/KQ/2"}))
    routed = [router().route(d) for d in (steps, withdrawal, tracking)]
    assert {r.routing_key for r in routed} == {str(partition_of(DOSSIER, COUNT))}
    assert {r.exchange for r in routed} == {PARTITIONS_EXCHANGE}


def test_a_body_without_a_dossier_falls_back_to_the_correlation_then_the_message_id() -> None:
    bad = delivered(message("portal", "dossier.submitted", {"nothing": 1}))
    assert router().key(bad) == "portal-1"
    bad.properties.correlation_id = DOSSIER
    assert router().key(bad) == DOSSIER
    not_json = Delivery("portal", "ingress.portal", "dossier.submitted", b"\xff{", bad.properties)
    assert router().key(not_json) == DOSSIER


def test_the_copy_on_a_partition_unwraps_to_the_message_the_partner_sent() -> None:
    original = delivered(message("onestop", "dossier.progress", {"MaHoSo": DOSSIER}, user="onestop"))
    copy = router().route(original)
    assert copy.properties.user_id is None  # the hub republishes as itself
    assert copy.properties.headers[HEADER_USER_ID] == "onestop"
    back = unwrap(Delivery("", PARTITIONS_EXCHANGE, copy.routing_key, copy.body, copy.properties))
    assert back is not None
    assert (back.partner, back.exchange, back.routing_key) == (
        "onestop",
        "ingress.onestop",
        "dossier.progress",
    )
    assert back.properties.user_id == "onestop"
    assert back.properties.headers == {"x-contract-version": "1"}


def test_a_partner_cannot_forge_the_routers_headers() -> None:
    forged = delivered(
        message("portal", "dossier.submitted", {"MaHoSo": DOSSIER}, user="portal"),
        **{"x-hub-partner": "onestop", HEADER_USER_ID: "onestop", HEADER_PARKED_AT: 0},
    )
    copy = router().route(forged)
    back = unwrap(Delivery("", PARTITIONS_EXCHANGE, copy.routing_key, copy.body, copy.properties))
    assert back is not None
    assert (back.partner, back.properties.user_id) == ("portal", "portal")
    assert parked_at(back) is None  # a forged parking time would cut the waiting window short


def test_a_message_that_did_not_come_through_the_router_is_not_unwrapped() -> None:
    stray = delivered(message("portal", "dossier.submitted", {"MaHoSo": DOSSIER}))
    assert unwrap(stray) is None


def test_a_parked_message_keeps_its_first_parking_time_and_returns_to_its_partition() -> None:
    original = delivered(message("onestop", "dossier.progress", {"MaHoSo": DOSSIER}, user="onestop"))
    first = park(original, 3, "unknown_dossier", "MaHoSo: rule", now_ms=1_000)
    assert (first.exchange, first.routing_key) == (park_exchange("onestop"), "3")
    assert first.properties.headers[HEADER_PARK_REASON] == "unknown_dossier"
    back = unwrap(Delivery("", PARTITIONS_EXCHANGE, "3", first.body, first.properties))
    assert back is not None
    assert parked_at(back) == 1_000
    again = park(back, 3, "unknown_dossier", "MaHoSo: rule", now_ms=9_000)
    assert again.properties.headers[HEADER_PARKED_AT] == 1_000  # the window counts from the first time
    assert unwrap(Delivery("", PARTITIONS_EXCHANGE, "3", again.body, again.properties)) is not None


def test_the_router_stamps_when_it_received_a_message_and_the_park_keeps_it() -> None:
    """A signed message's age is judged when the hub took it off its ingress (hub.signatures)."""
    stamping = Router({"onestop": connectors.load("onestop").partition_key}, COUNT, clock=lambda: 1234.5)
    forged = delivered(message("onestop", "dossier.progress", {"MaHoSo": DOSSIER}), **{HEADER_RECEIVED_AT: 9})
    copy = stamping.route(forged)  # a partner cannot set the time itself: the router's replaces it
    back = unwrap(Delivery("", PARTITIONS_EXCHANGE, copy.routing_key, copy.body, copy.properties))
    assert back is not None
    assert back.received_ms == 1_234_500
    assert HEADER_RECEIVED_AT not in back.properties.headers  # not passed on to dead letters
    waiting = park(back, 3, "unknown_dossier", "MaHoSo: rule", now_ms=2_000_000)
    again = unwrap(Delivery("", PARTITIONS_EXCHANGE, "3", waiting.body, waiting.properties))
    assert again is not None
    assert again.received_ms == 1_234_500
