"""The gateway put together from the settings, and its housekeeping (lease expiry, key retention)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from hub.bus.gateway_link import ConfirmingPublisher, EgressReader
from hub.bus.urls import BrokerAddress
from hub.errors import ConfigError, TransientError
from hub.gateway.app import application
from hub.gateway.auth import Authenticator
from hub.gateway.core import Gateway
from hub.gateway.idempotency import IdempotencyKeys
from hub.gateway.leases import Leases
from hub.gateway.metrics import GatewayMetrics
from hub.gateway.readiness import BROKER_PROBE_SECONDS, BROKER_STALE_SECONDS, Readiness, broker_check
from hub.gateway.service import MessageService, PartnerDoor
from hub.health import Probe, StoreProbe
from hub.settings import Settings

log = logging.getLogger("hub.gateway")

EXPIRY_SECONDS = 1.0  # how often leases past their time are released
RETENTION_SECONDS = 600.0  # how often old idempotency keys are forgotten


@dataclass
class Parts:
    gateway: Gateway
    publishers: list[ConfirmingPublisher]
    readers: list[EgressReader]
    keys: IdempotencyKeys
    retention: timedelta
    readiness: Readiness  # its probes run while the gateway is served


def partner_address(settings: Settings, partner: str) -> BrokerAddress:
    """The broker URL's hosts and vhost, logged in as ``partner``'s own broker user."""
    address = settings.broker_address()
    if address is None:
        raise ConfigError("the gateway needs a broker: set HUB_BROKER_URL=amqp://...")
    user = settings.ingress_users.get(partner, [partner])[0]
    password = settings.broker_passwords.get(user)
    if password is None:
        raise ConfigError(
            f"HUB_BROKER_PASSWORDS: no password for broker user {user!r}, which the gateway publishes "
            f"and reads as for partner {partner!r}"
        )
    return replace(address, user=user, password=password.get_secret_value())


def served_kinds(
    settings: Settings, ingress_kinds: Mapping[str, Collection[str]]
) -> dict[str, frozenset[str]]:
    """Partner -> the kinds it may post, for each partner the gateway settings list."""
    unknown = sorted(set(settings.gateway.partners) - set(ingress_kinds))
    if unknown:
        raise ConfigError(f"HUB_GATEWAY__PARTNERS: {', '.join(unknown)} is not a partner of the hub")
    return {partner: frozenset(ingress_kinds[partner]) for partner in settings.gateway.partners}


def build(settings: Settings, ingress_kinds: Mapping[str, Collection[str]], engine: Engine) -> Parts:
    """The gateway for ``settings``; ``ingress_kinds``: partner -> the kinds its ingress accepts."""
    options = settings.gateway
    allowed = served_kinds(settings, ingress_kinds)
    publishers, readers, doors, reading = [], [], {}, {}
    for partner in allowed:
        address = partner_address(settings, partner)
        publisher = ConfirmingPublisher(address, options.publish_connections, options.broker_timeout_seconds)
        reader = EgressReader(address, options.broker_timeout_seconds)
        publishers.append(publisher)
        readers.append(reader)
        doors[partner] = PartnerDoor(address.user, publisher)
        reading[partner] = reader
    metrics = GatewayMetrics()
    keys = IdempotencyKeys(engine)
    broker = Probe(broker_check(reading), BROKER_PROBE_SECONDS, BROKER_STALE_SECONDS, name="hub-broker-probe")
    readiness = Readiness(StoreProbe.of(engine), broker)
    gateway = Gateway(
        authenticator=Authenticator(options.partners, options.signature_max_skew_seconds),
        allowed_kinds=allowed,
        service=MessageService(doors, keys, metrics),
        leases=Leases(reading, options.lease_seconds, options.max_leases),
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        max_pull=options.max_pull,
        ready=readiness.reason,
        publishing=asyncio.Semaphore(options.publish_connections),
    )
    retention = timedelta(days=options.idempotency_retention_days)
    return Parts(gateway, publishers, readers, keys, retention, readiness)


async def _housekeeping(parts: Parts) -> None:
    since_retention = RETENTION_SECONDS  # forget old keys once at start too
    while True:
        with suppress(TransientError):  # a broker or store outage: tried again next round
            await run_in_threadpool(parts.gateway.leases.expire)
            if since_retention >= RETENTION_SECONDS:
                since_retention = 0.0
                forgotten = await run_in_threadpool(parts.keys.forget_older, parts.retention)
                log.info("forgot %d idempotency keys past their retention", forgotten)
        await asyncio.sleep(EXPIRY_SECONDS)
        since_retention += EXPIRY_SECONDS


def close(parts: Parts) -> None:
    """Stop the probes; release every lease (its messages back to their queues) and every connection."""
    parts.readiness.stop()
    parts.gateway.leases.release_all()
    for publisher in parts.publishers:
        publisher.close()
    for reader in parts.readers:
        reader.close()


def served(parts: Parts) -> Starlette:
    """The application with its housekeeping running while it is served."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        parts.readiness.start()
        task = asyncio.create_task(_housekeeping(parts))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            await run_in_threadpool(close, parts)

    return application(parts.gateway, lifespan)
