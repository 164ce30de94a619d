"""What the delivery-guarantee tests share: the hub wired to a broker and a store, and reading the
store's rows and the broker's queues from outside the hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import kombu
from pydantic import SecretStr
from sqlalchemy import create_engine, select

from hub.bus.claims import HEADER_PROBE
from hub.bus.topology import DEFAULT_PARTITIONS, partition_queue
from hub.bus.transport import Transport
from hub.envelope import HEADER_SOURCE_MESSAGE_ID, Delivery, Outbound
from hub.settings import Settings
from hub.store.database import make_engine
from hub.store.ledger import message_log
from tests import rabbit
from tests.conftest import sample_agencies


def wired(
    settings: Settings, broker_url: str, database_url: str | None = None, **changes: object
) -> Settings:
    """``settings`` on ``broker_url`` (and ``database_url``), with ``changes``."""
    update: dict[str, object] = {"broker_url": SecretStr(broker_url), **changes}
    if database_url is not None:
        update["database_url"] = SecretStr(database_url)
    return settings.model_copy(update=update)


def via_port(url: str, port: int) -> str:
    """``url`` with its port replaced: the same server through a proxy on 127.0.0.1:``port``."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def ledger_rows(database_url: str) -> dict[str, list[str]]:
    """The store's ``message_log`` as message id -> outcomes (one per row), read on a connection of
    the test's own, never the hub's."""
    engine = (
        make_engine(database_url) if database_url.startswith("postgresql") else create_engine(database_url)
    )
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(message_log.c.message_id, message_log.c.outcome)).all()
    finally:
        engine.dispose()
    found: dict[str, list[str]] = {}
    for message_id, outcome in rows:
        found.setdefault(str(message_id), []).append(str(outcome))
    return found


def ids(messages: Iterable[Outbound | Delivery]) -> list[str]:
    return [str(m.properties.message_id) for m in messages]


def sources(deliveries: Iterable[Delivery]) -> list[str]:
    """The ingress message ids the hub's outputs came from."""
    return [str(d.properties.headers[HEADER_SOURCE_MESSAGE_ID]) for d in deliveries]


def drain(url: str, queue: str) -> list[Delivery]:
    """Take every message waiting on ``queue`` (basic.get and ack)."""
    return Transport(url).take(queue, limit=100_000)


def ingress(vhost: str, partner: str = "portal") -> dict[str, Any]:
    """The inputs not yet settled, as the broker reports them: ``partner``'s ingress queue and every
    partition queue added up. The router acknowledges an ingress message once its copy is on its
    partition, so acknowledgements and redeliveries are counted on the partitions, where inputs are
    judged."""
    everything = rabbit.queues(vhost)
    partitions = [q for name, q in everything.items() if name.startswith("hub.partition.")]
    waiting = [everything[f"hub.ingress.{partner}"], *partitions]
    return {
        "messages_ready": sum(int(q.get("messages_ready", 0)) for q in waiting),
        "messages_unacknowledged": sum(int(q.get("messages_unacknowledged", 0)) for q in waiting),
        "message_stats": {
            stat: sum(rabbit.stat(q, stat) for q in partitions) for stat in ("ack", "redeliver", "deliver")
        },
    }


def take_waiting(url: str, limit: int, partner: str = "portal") -> list[Delivery]:
    """Every input not yet judged: on ``partner``'s ingress queue, or routed to a partition queue
    (where a worker's claim probe may still wait to expire: not an input)."""
    transport = Transport(url)
    queues = [f"hub.ingress.{partner}", *(partition_queue(n) for n in range(DEFAULT_PARTITIONS))]
    taken = [d for queue in queues for d in transport.take(queue, limit=limit)]
    return [d for d in taken if HEADER_PROBE not in d.properties.headers]


def hub_run(broker_url: str, database_url: str, **environment: str) -> subprocess.Popen[bytes]:
    """A ``hub run`` process on ``broker_url`` and ``database_url``, with ``environment`` added."""
    agencies = json.dumps([a.model_dump(mode="json") for a in sample_agencies()])
    env = {
        **os.environ,
        "HUB_BROKER_URL": broker_url,
        "HUB_DATABASE_URL": database_url,
        "HUB_AGENCIES": agencies,
        "HUB_DEFAULT_INGRESS_USERS": json.dumps([rabbit.USER]),  # the tests publish as guest
        **environment,
    }
    command = [sys.executable, "-m", "hub", "run"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def consumers(url: str, queue: str) -> int:
    """The consumers of ``queue`` now (a passive declare answers at once, unlike the statistics)."""
    with kombu.Connection(url) as connection:
        return int(connection.channel().queue_declare(queue=queue, passive=True).consumer_count)
