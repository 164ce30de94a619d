"""Tracking documents as ``shipment.status`` messages, and the sweep's order of settling a page
(publish confirmed, then the cursor), against the fake post over HTTP and a SQLite store."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import Engine, insert

from connectors.fake_http import serving
from connectors.postal.fake_server import PostOffice, app
from connectors.postal.models import ShipmentStatus
from connectors.postal.tracking import FEED, TrackingFeed, contract_time, shipment_status, to_message
from hub.delivery.contract import PartnerUnavailable
from hub.envelope import Outbound
from hub.polling.cursors import CursorStore
from hub.polling.sweep import Skipped, sweep
from hub.settings.postal_http import PostalHttpSettings
from hub.store.dossiers import postal_orders
from hub.store.migrate import migrated_engine

OURS = [f"000.00.30.H30-261201-000{n}/KQ" for n in range(1, 6)]
FOREIGN = "000.00.99.H99-261201-0001/KQ"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}") as engine:
        with engine.begin() as connection:
            rows = [
                {"number": n, "code": n.split("/", 1)[0], "service": "DELIVER_RESULT", "attempt": 1}
                for n in OURS
            ]
            connection.execute(
                insert(postal_orders), [r | {"cod_amount": 0, "cancelled": False} for r in rows]
            )
        yield engine


@pytest.fixture
def office() -> PostOffice:
    return PostOffice()


@pytest.fixture
def feed(office: PostOffice, engine: Engine) -> Iterator[TrackingFeed]:
    with serving(app(office)) as url:
        settings = PostalHttpSettings(
            base_url=url,
            consumer_key=SecretStr(office.consumer_key),
            consumer_secret=SecretStr(office.consumer_secret),
            poll_page_size=2,
            timeout_seconds=1.0,
        )
        feed = TrackingFeed(settings, engine, "postal")
        yield feed
        feed.close()


class Broker:
    """Records what was published; fails on demand, as a broker that does not confirm."""

    def __init__(self) -> None:
        self.published: list[Outbound] = []
        self.refuse = False
        self.refuse_after: int | None = None  # calls that succeed before it refuses

    def publish(self, messages: Sequence[Outbound]) -> None:
        if self.refuse or self.refuse_after == 0:
            raise OSError("no confirm")
        if self.refuse_after is not None:
            self.refuse_after -= 1
        self.published += messages

    def ids(self) -> list[str | None]:
        return [message.properties.message_id for message in self.published]


def test_a_document_becomes_the_contracts_message() -> None:
    document = {
        "_id": {"$oid": "0000000000000000000000a1"},
        "CustomerCode": "HUB-SAMPLE",
        "OrderNumber": OURS[0],
        "ItemCode": "EB123456785VN",
        "StatusCode": "14",
        "StatusMessage": None,
        "EventTime": "2026-12-01T09:30:00+07:00",
        "POSID": 900100,
        "Notes": None,
        "CODAmount": 50000,
    }
    message = to_message(document, {OURS[0]}, "postal", 1_700_000_000)
    assert isinstance(message, Outbound)
    body = json.loads(message.body)
    assert body == {
        "OrderNumber": OURS[0],
        "ItemCode": "EB123456785VN",
        "StatusCode": 14,
        "StatusMessage": "",
        "EventTime": "20261201093000",
        "POSID": "900100",
        "Notes": "",
        "CODAmount": 50000,
    }
    ShipmentStatus.model_validate_json(message.body)  # the hub's own model accepts it
    properties = message.properties
    assert (message.exchange, message.routing_key) == ("ingress.postal", "shipment.status")
    assert (properties.message_id, properties.type, properties.user_id) == (
        "0000000000000000000000a1",
        "shipment.status",
        "postal",
    )
    assert properties.headers == {"x-contract-version": "1"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("20261201093000", "20261201093000"),
        ("2026-12-01T09:30:00", "20261201093000"),  # no offset: Vietnam time
        ("2026-12-01T02:30:00Z", "20261201093000"),
        ("2026-12-01 09:30:00.250+07:00", "20261201093000"),
        ("yesterday", "yesterday"),  # left for the hub's validation to name
    ],
)
def test_event_times_in_either_form_become_the_contracts(given: str, expected: str) -> None:
    assert contract_time(given) == expected


def test_a_missing_field_stays_missing_for_the_hub_to_name() -> None:
    body = shipment_status({"OrderNumber": OURS[0], "StatusCode": 14})
    assert "ItemCode" not in body
    assert body["Notes"] == ""


@pytest.mark.parametrize(
    "document",
    [
        "not an object",
        {"OrderNumber": OURS[0]},
        {"_id": {"$oid": ""}, "OrderNumber": OURS[0]},
        {"_id": {"$oid": "0a"}, "OrderNumber": 17},
    ],
)
def test_a_document_without_id_or_order_number_is_malformed_and_logged_without_data(
    document: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    assert to_message(document, set(OURS), "postal", 0) == Skipped("malformed")
    assert OURS[0] not in caplog.text
    assert "skipped" in caplog.text


def test_an_order_the_hub_did_not_place_is_skipped() -> None:
    document = {"_id": {"$oid": "0a"}, "OrderNumber": FOREIGN, "StatusCode": 14}
    assert to_message(document, set(OURS), "postal", 0) == Skipped("foreign_order")


def test_a_sweep_publishes_every_page_and_moves_the_cursor(
    feed: TrackingFeed, office: PostOffice, engine: Engine
) -> None:
    ids = [office.track(number, 14, "20261201093000") for number in OURS[:3]]
    office.track(FOREIGN, 14, "20261201093000")
    office.add_document({"Notes": "no order number"})
    broker, cursors = Broker(), CursorStore(engine)
    before = _skipped("foreign_order")

    swept = sweep(feed, broker.publish, cursors)

    assert broker.ids() == ids
    assert (swept.pages, swept.published, swept.skipped) == (3, 3, 2)
    assert _skipped("foreign_order") == before + 1
    last = office.documents[-1]["_id"]["$oid"]
    assert cursors.load(FEED) == last
    assert [call.query.get("lastId") for call in office.calls("tracking")] == [
        None,
        ids[1],
        office.documents[3]["_id"]["$oid"],
    ]
    assert len(office.calls("token")) == 1
    assert sweep(feed, broker.publish, cursors).published == 0  # nothing new after the cursor
    assert office.calls("tracking")[-1].query["lastId"] == last


def test_a_page_not_confirmed_leaves_the_cursor_and_is_published_again(
    feed: TrackingFeed, office: PostOffice, engine: Engine
) -> None:
    ids = [office.track(number, 14, "20261201093000") for number in OURS[:3]]
    broker, cursors = Broker(), CursorStore(engine)
    broker.refuse = True
    with pytest.raises(OSError, match="no confirm"):
        sweep(feed, broker.publish, cursors)
    assert cursors.load(FEED) is None
    broker.refuse = False
    sweep(feed, broker.publish, cursors)
    assert broker.ids() == ids
    assert cursors.load(FEED) == ids[-1]


def test_each_settled_page_moves_the_cursor_and_a_later_failure_keeps_it(
    feed: TrackingFeed, office: PostOffice, engine: Engine
) -> None:
    ids = [office.track(number, 14, "20261201093000") for number in OURS[:4]]
    broker, cursors = Broker(), CursorStore(engine)
    broker.refuse_after = 1
    with pytest.raises(OSError, match="no confirm"):
        sweep(feed, broker.publish, cursors)
    assert cursors.load(FEED) == ids[1]
    broker.refuse_after = None
    office.fail(503, endpoint="tracking")
    with pytest.raises(PartnerUnavailable, match="http_503"):
        sweep(feed, broker.publish, cursors)
    assert cursors.load(FEED) == ids[1]
    swept = sweep(feed, broker.publish, cursors)
    assert broker.ids() == ids
    assert swept.pages == 1


def _order_row(number: str) -> dict[str, object]:
    code = number.split("/", 1)[0]
    return {
        "number": number,
        "code": code,
        "service": "DELIVER_RESULT",
        "attempt": 1,
        "cod_amount": 0,
        "cancelled": False,
    }


def _skipped(reason: str) -> float:
    value = REGISTRY.get_sample_value("hub_poll_documents_skipped_total", {"feed": FEED, "reason": reason})
    return value or 0.0
