"""The HTTP gateway on the local RabbitMQ: what reaches the broker, as whom, once; pulls and leases.

Each test has its own vhost and a broker user of its own for the portal, so ``user_id`` is checked by
RabbitMQ itself; the messages are read back from the hub's ingress queue and the egress queue.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from hub import app
from hub.bus.topology import egress_exchange, egress_queue, ingress_queue
from hub.bus.transport import Transport
from hub.cli_gateway import ingress_kinds
from hub.envelope import Outbound, Properties
from hub.gateway import auth
from hub.gateway.app import application
from hub.gateway.assemble import Parts, build, close
from hub.settings import Settings
from hub.settings.gateway import GatewayPartner, GatewaySettings
from hub.store.database import make_engine
from hub.store.migrate import upgrade
from tests import rabbit
from tests.waiting import eventually

KEY = "portal-integration-key"
BODY = json.dumps({"MaHoSo": "000.00.30.H30-261201-0001", "HoTen": "Canary"}).encode()
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
URL = "/v1/messages/dossier.submitted"


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def portal_user(broker_url: str) -> Iterator[tuple[str, str]]:
    """A broker user of the test's own for the portal (rabbitmqctl: the management API may be off)."""
    user, password = f"gw-portal-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    if rabbit.reachable(15672):
        rabbit.create_user(user, password, rabbit.vhost_of(broker_url))
    else:
        _ctl("add_user", user, password)
        _ctl("set_permissions", "-p", rabbit.vhost_of(broker_url), user, ".*", ".*", ".*")
    yield user, password
    if rabbit.reachable(15672):
        rabbit.delete_user(user)
    else:
        _ctl("delete_user", user)


def gateway_settings(
    tmp_path: Path, broker_url: str, user: str, password: str, lease: float = 30.0
) -> Settings:
    partner = GatewayPartner(api_key_sha256=[auth.hash_key(KEY)])
    return Settings(
        broker_url=SecretStr(broker_url),
        database_url=SecretStr(f"sqlite:///{tmp_path / 'hub.sqlite3'}"),
        ingress_users={"portal": [user]},
        broker_passwords={user: SecretStr(password)},
        gateway=GatewaySettings(partners={"portal": partner}, lease_seconds=lease, broker_timeout_seconds=2),
    )


def assembled(settings: Settings) -> Parts:
    engine = make_engine(settings.database_url.get_secret_value())
    upgrade(engine)
    return build(settings, ingress_kinds(), engine)


@pytest.fixture
def transport(broker_url: str, tmp_path: Path) -> Transport:
    broker = Transport(broker_url)
    broker.apply_topology(app.topology(Settings(broker_url=SecretStr(broker_url))))
    return broker


@pytest.fixture
def parts(
    tmp_path: Path, broker_url: str, portal_user: tuple[str, str], transport: Transport
) -> Iterator[Parts]:
    built = assembled(gateway_settings(tmp_path, broker_url, *portal_user, lease=0.3))
    yield built
    close(built)


@pytest.fixture
def http(parts: Parts) -> Iterator[TestClient]:
    with TestClient(application(parts.gateway)) as client:
        yield client


def test_202_means_on_the_ingress_as_the_partners_own_user(
    http: TestClient, transport: Transport, portal_user: tuple[str, str]
) -> None:
    response = http.post(URL, content=BODY, headers=HEADERS | {"Idempotency-Key": "order-1"})
    assert response.status_code == 202, response.text
    (got,) = transport.take(ingress_queue("portal"), 10, "portal")
    p = got.properties
    assert (got.exchange, got.routing_key, got.body) == ("ingress.portal", "dossier.submitted", BODY)
    assert (p.message_id, p.type, p.user_id) == ("order-1", "dossier.submitted", portal_user[0])
    assert (p.content_type, p.delivery_mode) == ("application/json", 2)
    assert p.headers["x-contract-version"] == "1"
    assert abs(int(p.timestamp or 0) - time.time()) < 10


def test_a_repeat_is_not_published_again_and_a_conflict_not_at_all(
    http: TestClient, transport: Transport
) -> None:
    for _ in range(2):
        assert http.post(URL, content=BODY, headers=HEADERS | {"Idempotency-Key": "k"}).status_code == 202
    other = BODY.replace(b"0001", b"0002")
    assert http.post(URL, content=other, headers=HEADERS | {"Idempotency-Key": "k"}).status_code == 409
    assert [d.body for d in transport.take(ingress_queue("portal"), 10, "portal")] == [BODY]


def test_a_broker_that_does_not_answer_is_503(tmp_path: Path, portal_user: tuple[str, str]) -> None:
    closed = rabbit.url_as(*portal_user, "/").replace(f":{rabbit.AMQP_PORT}/", ":1/")
    parts = assembled(gateway_settings(tmp_path, closed, *portal_user))
    with TestClient(application(parts.gateway)) as client:
        response = client.post(URL, content=BODY, headers=HEADERS | {"Idempotency-Key": "down-1"})
    close(parts)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert parts.keys.digest_of("portal", "down-1") is None


def egress(transport: Transport, count: int) -> None:
    transport.publish_confirmed(
        [
            Outbound(
                egress_exchange("portal"),
                "DongBoHoSoMC",
                json.dumps({"MaHoSo": f"000.00.30.H30-261201-{n:04d}"}).encode(),
                Properties(
                    message_id=f"hub-{n:032x}",
                    content_type="application/json",
                    type="DongBoHoSoMC",
                    correlation_id=f"000.00.30.H30-261201-{n:04d}",
                    delivery_mode=2,
                    headers={"x-contract-version": "1"},
                ),
            )
            for n in range(count)
        ]
    )


def test_pull_and_ack_take_messages_off_for_good(http: TestClient, transport: Transport) -> None:
    egress(transport, 3)
    pulled = http.get("/v1/messages?limit=2", headers=HEADERS).json()["messages"]
    assert [m["message_id"] for m in pulled] == [f"hub-{n:032x}" for n in range(2)]
    assert pulled[0]["correlation_id"] == "000.00.30.H30-261201-0000"
    assert pulled[0]["body"] == {"MaHoSo": "000.00.30.H30-261201-0000"}
    ids = [m["id"] for m in pulled]
    assert http.post("/v1/messages/ack", json={"ids": ids}, headers=HEADERS).json()["acknowledged"] == ids
    left = transport.take(egress_queue("portal"), 10, "portal")
    assert [d.properties.message_id for d in left] == [f"hub-{2:032x}"]


def test_pulled_messages_never_acknowledged_come_back_after_the_lease(
    http: TestClient, transport: Transport, parts: Parts
) -> None:
    egress(transport, 2)
    first = http.get("/v1/messages?limit=10", headers=HEADERS).json()["messages"]
    assert len(first) == 2
    assert http.get("/v1/messages?limit=10", headers=HEADERS).json()["messages"] == []  # held, not ready
    eventually(parts.gateway.leases.expire, lambda released: released == 1, 5, "the lease to end", every=0.05)
    again = http.get("/v1/messages?limit=10", headers=HEADERS).json()["messages"]
    assert sorted(m["message_id"] for m in again) == sorted(m["message_id"] for m in first)
