"""``hub poll postal`` against the fake post over HTTP and RabbitMQ: each tracking document of an order
the hub placed lands once on the hub's ingress queue, published as the postal broker user with the
contract's properties; the cursor moves only after the broker confirmed, so a crash in between
publishes the same ids again (duplicates for the hub, never doubles)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import Engine, insert, select

from connectors.fake_http import serving
from connectors.postal.fake_server import PostOffice, app
from connectors.postal.tracking import FEED, TrackingFeed
from hub import app as hub_app
from hub.bus.topology import ingress_queue
from hub.bus.transport import Transport
from hub.cli import main
from hub.envelope import Delivery
from hub.polling.as_partner import partner_transport
from hub.polling.cursors import CursorStore
from hub.polling.sweep import sweep
from hub.settings import Settings
from hub.settings.postal_http import PostalHttpSettings
from hub.store.dossiers import postal_orders
from hub.store.ledger import message_log
from hub.store.migrate import migrated_engine
from tests import rabbit
from tests.helpers import WAIT, running
from tests.integration.test_flows import ONLINE, exactly, sample_message
from tests.waiting import eventually

OURS = [f"000.00.30.H30-261201-000{n}/KQ" for n in range(1, 6)]
FOREIGN = "000.00.99.H99-261201-0001/TG"
QUEUE = ingress_queue("postal")


@dataclass
class Setup:
    office: PostOffice
    settings: Settings
    env: dict[str, str]
    user: str
    reader: Transport  # the test's own view of the broker, as guest
    database: str


@pytest.fixture
def setup(broker_url: str, tmp_path: Path) -> Iterator[Setup]:
    user, password = f"postal-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    rabbit.create_user(user, password, rabbit.vhost_of(broker_url))
    database = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    office = PostOffice()
    with serving(app(office)) as base_url, migrated_engine(database) as engine:
        _place_orders(engine)
        env = {
            "HUB_BROKER_URL": broker_url,
            "HUB_DATABASE_URL": database,
            "HUB_INGRESS_USERS": json.dumps({"postal": [user]}),
            "HUB_BROKER_PASSWORDS": json.dumps({user: password}),
            "HUB_POSTAL_HTTP__BASE_URL": base_url,
            "HUB_POSTAL_HTTP__CONSUMER_KEY": office.consumer_key,
            "HUB_POSTAL_HTTP__CONSUMER_SECRET": office.consumer_secret,
            "HUB_POSTAL_HTTP__POLL_PAGE_SIZE": "2",
            "HUB_POSTAL_HTTP__POLL_INTERVAL_SECONDS": "0.2",
        }
        settings = Settings(
            broker_url=SecretStr(broker_url),
            database_url=SecretStr(database),
            ingress_users={"postal": [user]},
            broker_passwords={user: SecretStr(password)},
            postal_http=PostalHttpSettings(
                base_url=base_url,
                consumer_key=SecretStr(office.consumer_key),
                consumer_secret=SecretStr(office.consumer_secret),
                poll_page_size=2,
            ),
        )
        reader = Transport(broker_url)
        reader.apply_topology(hub_app.topology(settings))
        yield Setup(office, settings, env, user, reader, database)
        office.close()
    rabbit.delete_user(user)


def _place_orders(engine: Engine) -> None:
    rows = [
        {
            "number": number,
            "code": number.split("/", 1)[0],
            "service": "DELIVER_RESULT",
            "attempt": 1,
            "cod_amount": 0,
            "cancelled": False,
        }
        for number in OURS
    ]
    with engine.begin() as connection:
        connection.execute(insert(postal_orders), rows)


def _documents(office: PostOffice) -> list[str]:
    """Three of the hub's orders' events (one with an ISO time), one foreign, one malformed; the ids
    of the hub's."""
    ours = [
        office.track(OURS[0], 12, "20261201080000"),
        office.track(OURS[0], 14, "2026-12-01T10:15:00+07:00"),
    ]
    office.track(FOREIGN, 3, "20261201090000")
    office.add_document({"Notes": "no order number"})
    ours.append(office.track(OURS[1], 14, "20261201110000"))
    return ours


def _queued(setup: Setup) -> list[Delivery]:
    return setup.reader.take(QUEUE, 100, "postal")


def _poll_once(setup: Setup) -> str:
    result = CliRunner().invoke(main, ["poll", "postal", "--once"], env=setup.env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_each_hub_document_is_published_once_as_the_postal_user(setup: Setup) -> None:
    ids = _documents(setup.office)

    said = _poll_once(setup)

    assert "3 published, 2 skipped" in said
    got = _queued(setup)
    assert [message.properties.message_id for message in got] == ids
    for message in got:
        properties = message.properties
        assert message.routing_key == properties.type == "shipment.status"
        assert properties.user_id == setup.user
        assert properties.content_type == "application/json"
        assert properties.delivery_mode == 2
        assert properties.headers.get("x-contract-version") == "1"
        assert isinstance(properties.timestamp, int)
    second = json.loads(got[1].body)
    assert (second["OrderNumber"], second["StatusCode"], second["EventTime"]) == (
        OURS[0],
        14,
        "20261201101500",
    )
    with migrated_engine(setup.database) as engine:
        assert CursorStore(engine).load(FEED) == setup.office.documents[-1]["_id"]["$oid"]
    # Three pages of two; then a sweep with nothing new asks once, after the cursor.
    assert "0 published" in _poll_once(setup)
    assert _queued(setup) == []


class CrashingCursors(CursorStore):
    """The process dies after the broker confirmed a page and before its cursor was saved."""

    def save(self, feed: str, cursor: str) -> None:
        raise KeyboardInterrupt


def test_a_crash_before_the_cursor_is_saved_republishes_the_same_ids(setup: Setup) -> None:
    ids = _documents(setup.office)
    transport = partner_transport(setup.settings, "postal")
    with migrated_engine(setup.database) as engine:
        feed = TrackingFeed(setup.settings.postal_http, engine, transport.user)
        try:
            with pytest.raises(KeyboardInterrupt):
                sweep(feed, transport.publish_confirmed, CrashingCursors(engine))
            assert CursorStore(engine).load(FEED) is None
            sweep(feed, transport.publish_confirmed, CursorStore(engine))
        finally:
            feed.close()
    published = [message.properties.message_id for message in _queued(setup)]
    assert published == ids[:2] + ids  # the first page twice, under the same ids: duplicates


def test_the_loop_stops_cleanly_on_sigterm(setup: Setup, tmp_path: Path) -> None:
    ids = _documents(setup.office)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | setup.env
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "poll", "postal"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Several sweeps run in this time (every 0.2 s): the ids are still there once each.
        eventually(lambda: len(setup.office.calls("tracking")), lambda n: n >= 6, 20, "several sweeps")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "stopped" in stdout
    assert [message.properties.message_id for message in _queued(setup)] == ids
    password = json.loads(setup.env["HUB_BROKER_PASSWORDS"])[setup.user]
    assert password not in stderr
    assert setup.office.consumer_secret not in stderr


def test_a_page_the_broker_cannot_route_leaves_the_cursor(setup: Setup) -> None:
    _documents(setup.office)
    with setup.reader.connection() as connection:
        connection.channel().queue_delete(QUEUE)  # ingress.postal routes nowhere now
    result = CliRunner().invoke(main, ["poll", "postal", "--once"], env=setup.env)
    assert result.exit_code == 1, result.output
    assert "polling postal.tracking failed (broker); the cursor stays" in result.output
    with migrated_engine(setup.database) as engine:
        assert CursorStore(engine).saved(FEED) is None


def test_a_document_polled_twice_reaches_the_unit_once(broker_url: str, settings: Settings) -> None:
    """End to end with the hub's worker: a collection order placed by an online filing, its tracking
    document published twice (a crash before the cursor was saved), one pickup.status for the unit."""
    office = PostOffice()
    with serving(app(office)) as base_url:
        postal_http = PostalHttpSettings(
            base_url=base_url,
            consumer_key=SecretStr(office.consumer_key),
            consumer_secret=SecretStr(office.consumer_secret),
        )
        on_rabbit = settings.model_copy(
            update={"broker_url": SecretStr(broker_url), "postal_http": postal_http}
        )
        with running(hub_app.build(on_rabbit)) as run:
            Transport(broker_url).publish_confirmed([sample_message("portal", "dossier.submitted", "p-1")])
            assert run.worker.wait_settled(1, WAIT)
            oid = office.track(f"{ONLINE}/TG", 6, "2026-11-29T16:00:00+07:00", StatusMessage="Đã thu gom")
            office.track(FOREIGN, 6, "20261129160000")
            _sweep_with_a_crash_then_again(on_rabbit)
            assert run.worker.wait_settled(3, WAIT)  # the filing, the document twice
    assert _outcomes(on_rabbit, oid) == ["forwarded", "duplicate"]
    filed, pickup = exactly(broker_url, "egress.onestop", 2)
    assert (filed.properties["type"], pickup.properties["type"]) == ("dossier.submitted", "pickup.status")
    assert json.loads(pickup.body)["TrangThai"] == "COLLECTED"


def _sweep_with_a_crash_then_again(settings: Settings) -> None:
    transport = partner_transport(settings, "postal")
    with migrated_engine(settings.database_url.get_secret_value()) as engine:
        feed = TrackingFeed(settings.postal_http, engine, transport.user)
        try:
            with pytest.raises(KeyboardInterrupt):
                sweep(feed, transport.publish_confirmed, CrashingCursors(engine))
            assert sweep(feed, transport.publish_confirmed, CursorStore(engine)).published == 1
        finally:
            feed.close()


def _outcomes(settings: Settings, message_id: str) -> list[str]:
    """What the hub's ledger says became of each message with ``message_id``, in order."""
    query = select(message_log.c.outcome).where(message_log.c.message_id == message_id)
    with migrated_engine(settings.database_url.get_secret_value()) as engine, engine.connect() as connection:
        return list(connection.scalars(query.order_by(message_log.c.id)))
