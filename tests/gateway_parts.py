"""A gateway assembled around fakes of the broker (pure tests) or given parts (integration tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.testclient import TestClient

from hub.bus.gateway_link import HeldChannel
from hub.envelope import Delivery, Outbound, Properties
from hub.errors import TransientError
from hub.gateway import auth
from hub.gateway.app import application
from hub.gateway.core import Gateway
from hub.gateway.idempotency import IdempotencyKeys
from hub.gateway.leases import Leases, Reader
from hub.gateway.metrics import GatewayMetrics
from hub.gateway.service import MessageService, PartnerDoor, Publisher
from hub.settings.gateway import GatewayPartner
from hub.store.database import make_engine
from hub.store.partner_state import gateway_requests
from tests.clock import FakeClock

KEY = "portal-test-key-0123456789"
OTHER_KEY = "onestop-test-key-9876543210"
SECRET = "portal-hmac-secret"
KINDS = {
    "portal": frozenset({"dossier.submitted", "dossier.withdrawn"}),
    "onestop": frozenset({"dossier.status"}),
}


def credentials() -> dict[str, GatewayPartner]:
    return {
        "portal": GatewayPartner(api_key_sha256=[auth.hash_key(KEY)], hmac_secret=SecretStr(SECRET)),
        "onestop": GatewayPartner(api_key_sha256=[auth.hash_key(OTHER_KEY)]),
    }


@dataclass
class FakePublisher:
    sent: list[Outbound] = field(default_factory=list)
    down: bool = False

    def publish(self, message: Outbound) -> None:
        if self.down:
            raise TransientError("HUB_BROKER_URL (amqp://portal:****@127.0.0.1:1/%2F): the connection failed")
        self.sent.append(message)


@dataclass
class FakeReader:
    """An egress queue in memory: pulled messages held per channel, returned on release."""

    ready: list[Delivery] = field(default_factory=list)
    held: dict[int, Delivery] = field(default_factory=dict)
    acked: list[Delivery] = field(default_factory=list)
    next_tag: int = 0

    def pull(
        self, queue_name: str, limit: int, partner: str
    ) -> tuple[HeldChannel, list[tuple[int, Delivery]]]:
        got: list[tuple[int, Delivery]] = []
        while self.ready and len(got) < limit:
            self.next_tag += 1
            self.held[self.next_tag] = self.ready.pop(0)
            got.append((self.next_tag, self.held[self.next_tag]))
        return HeldChannel([tag for tag, _ in got]), got

    def ack(self, held: HeldChannel, tags: list[int], queue_name: str) -> None:
        self.acked += [self.held.pop(tag) for tag in tags]

    def release(self, held: HeldChannel) -> None:
        self.ready += [self.held.pop(tag) for tag in held.channel if tag in self.held]


def egress_delivery(number: int) -> Delivery:
    return Delivery(
        "portal",
        "egress.portal",
        "DongBoHoSoMC",
        b'{"MaHoSo": "000.00.30.H30-261201-%04d"}' % number,
        Properties(
            message_id=f"hub-{number:032x}", type="DongBoHoSoMC", correlation_id="X", headers={"a": 1}
        ),
    )


def sqlite_engine(folder: Path) -> Engine:
    engine = make_engine(f"sqlite:///{folder / 'gateway.sqlite3'}")
    gateway_requests.create(engine)
    return engine


def assemble(
    engine: Engine,
    publishers: dict[str, Publisher],
    readers: dict[str, Reader],
    *,
    clock: FakeClock | None = None,
    max_body_bytes: int = 4096,
    max_leases: int = 8,
) -> Gateway:
    metrics = GatewayMetrics()
    doors = {partner: PartnerDoor(partner, publisher) for partner, publisher in publishers.items()}
    return Gateway(
        authenticator=auth.Authenticator(credentials(), 300.0),
        allowed_kinds=KINDS,
        service=MessageService(doors, IdempotencyKeys(engine), metrics),
        leases=Leases(readers, 30.0, max_leases, clock or FakeClock(time.monotonic())),
        metrics=metrics,
        max_body_bytes=max_body_bytes,
        max_pull=50,
        ready=lambda: None,
    )


def client(gateway: Gateway) -> Iterator[TestClient]:
    with TestClient(application(gateway)) as test_client:
        yield test_client


def posting_headers(key: str = "order-1", api_key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Idempotency-Key": key, "Content-Type": "application/json"}
