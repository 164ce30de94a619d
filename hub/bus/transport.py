"""One interface over the two brokers the hub runs on: RabbitMQ (``amqp://``) and the embedded one."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from typing import Any

import kombu

from hub.bus import memory
from hub.bus.declare import Declared, apply_topology, require_queues
from hub.bus.egress_channel import EgressChannel
from hub.bus.embedded import KombuSession
from hub.bus.embedded_egress import EmbeddedEgressChannel
from hub.bus.failures import CONNECT_ERRORS, broker_errors
from hub.bus.kombu_messages import kombu_publish, to_delivery
from hub.bus.pika_session import PikaSession
from hub.bus.session import Consumers, Session
from hub.bus.topology import Topology
from hub.bus.urls import DEFAULT_USER, BrokerAddress, BrokerUrlError, Host, parse_broker_url
from hub.envelope import Delivery, Outbound

HEARTBEAT_SECONDS = 30
FETCH_SECONDS = 2.0
EMBEDDED_POLL_SECONDS = 0.005


class Transport:
    """A broker: RabbitMQ when ``url`` is an ``amqp://`` URL, else the embedded broker ``embedded``.

    kombu and pika are both given the address parsed from ``url`` (hub.bus.urls), never the URL
    itself, so they cannot read different vhosts or users from it.
    """

    def __init__(self, url: str | None, embedded: str = "hub") -> None:
        self.url = url
        self.embedded = embedded
        self.address: BrokerAddress | None = None if url is None else _address(url)

    @property
    def user(self) -> str:
        """The broker user the hub connects as: what RabbitMQ requires as a message's ``user_id``."""
        return DEFAULT_USER if self.address is None else self.address.user

    def connection(self, **options: Any) -> kombu.Connection:
        """A kombu connection; on RabbitMQ, connected to the first of the URL's hosts that answers."""
        if self.address is None:
            return kombu.Connection(
                "memory://",
                transport=memory.Transport,
                virtual_host=self.embedded,
                transport_options={"polling_interval": EMBEDDED_POLL_SECONDS},
            )
        if self.address.tls:
            return _first_answering(self.address, **options)
        return _connected(kombu_connection(self.address, **options), len(self.address.hosts))

    def session(self, consumers: Consumers, prefetch: int) -> Session:
        """A new session consuming ``consumers`` and publishing."""
        if self.address is None:
            return KombuSession(self.connection(), self.connection(), consumers, prefetch)
        return PikaSession(self.address, consumers, prefetch)

    def egress_channel(
        self, queue: str, prefetch: int, partner: str, exchanges: Sequence[str] = ()
    ) -> EgressChannel | EmbeddedEgressChannel:
        """The delivery runner's link to ``queue`` (hub.delivery.runner.Channel); on RabbitMQ it
        checks ``exchanges``, those it publishes dead letters to, exist."""
        if self.address is None:
            return EmbeddedEgressChannel(self.connection, queue, prefetch, partner)
        return EgressChannel(self.address, queue, prefetch, partner, exchanges)

    def apply_topology(self, topology: Topology) -> list[Declared]:
        with broker_errors("declaring the topology", self.address), self.connection() as connection:
            return apply_topology(connection, topology)

    def require_queues(self, names: list[str]) -> None:
        with broker_errors("checking the queues", self.address), self.connection() as connection:
            require_queues(connection, names)

    def publish_confirmed(self, messages: Sequence[Outbound]) -> None:
        """Publish ``messages`` one by one, each waiting for the broker's confirm (raises if refused).

        For partners' test tools and fakes, not for throughput: the worker pipelines its confirms.
        """
        options = {} if self.url is None else {"transport_options": {"confirm_publish": True}}
        with broker_errors("publishing", self.address), self.connection(**options) as connection:
            producer = kombu.Producer(connection.channel())
            for message in messages:
                kombu_publish(producer, message, mandatory=self.url is not None)

    def take(self, queue: str, limit: int, partner: str = "") -> list[Delivery]:
        """Take up to ``limit`` messages from ``queue`` now, acknowledging them (ops and tests)."""
        return self._get(queue, limit, partner, keep=False)

    def peek(self, queue: str, limit: int, partner: str = "") -> list[Delivery]:
        """Up to ``limit`` messages of ``queue``, left on it."""
        return self._get(queue, limit, partner, keep=True)

    def _get(self, queue: str, limit: int, partner: str, keep: bool) -> list[Delivery]:
        got: list[Delivery] = []
        with broker_errors("reading a queue", self.address), self.connection() as connection:
            channel = connection.channel()
            fetched = _fetch(connection, channel, queue, limit)
            got = [to_delivery(partner, message) for message in fetched]
            if fetched and not keep:
                _ack_all(fetched, on_rabbitmq=self.url is not None)
                _settle_before_closing(channel, queue)
            channel.close()  # what was not acknowledged returns to the queue
        return got

    def move(
        self, queue: str, limit: int, partner: str, convert: Callable[[Delivery], Outbound | None]
    ) -> list[Delivery]:
        """Publish ``convert(message)`` for each of up to ``limit`` messages of ``queue`` where it is
        not None, acknowledging each only after the broker confirmed its replacement; the others stay
        on the queue. The messages moved."""
        moved: list[Delivery] = []
        options = {} if self.url is None else {"transport_options": {"confirm_publish": True}}
        with broker_errors("moving messages", self.address), self.connection(**options) as connection:
            channel = connection.channel()
            producer = kombu.Producer(connection.channel())
            for message in _fetch(connection, channel, queue, limit):
                delivery = to_delivery(partner, message)
                replacement = convert(delivery)
                if replacement is None:
                    continue  # left unacknowledged: back on the queue when the channel closes
                kombu_publish(producer, replacement, mandatory=self.url is not None)
                message.ack()
                moved.append(delivery)
            _settle_before_closing(channel, queue)
            channel.close()
        return moved

    def depth(self, queue: str) -> int:
        """How many messages wait in ``queue``."""
        with broker_errors("reading a queue's depth", self.address), self.connection() as connection:
            return int(connection.channel().queue_declare(queue=queue, passive=True).message_count)


def _ack_all(messages: Sequence[Any], on_rabbitmq: bool) -> None:
    """Acknowledge ``messages``, every delivery of their channel so far. On RabbitMQ with one
    ``multiple`` ack: RabbitMQ 3.10 loses single acks that a quorum queue's channel still buffers
    when it closes. One by one on the embedded broker, which ignores ``multiple``."""
    if on_rabbitmq:
        messages[-1].ack(multiple=True)
        return
    for message in messages:
        message.ack()


def _settle_before_closing(channel: Any, queue: str) -> None:
    """One round trip after the acks: RabbitMQ 3.10 drops acks a quorum queue's channel still
    buffers when it closes (hub.bus.session.UnsettledDeliveries), and would deliver them again."""
    channel.queue_declare(queue=queue, passive=True)


def _fetch(connection: kombu.Connection, channel: Any, queue: str, limit: int) -> list[Any]:
    """Up to ``limit`` of the messages ready in ``queue`` now, oldest first, not acknowledged.

    It consumes rather than gets: RabbitMQ refuses basic.get on single-active-consumer queues (the
    ingress and partition queues). While a worker consumes such a queue, nothing comes: the wait
    ends after ``FETCH_SECONDS``.
    """
    ready = min(limit, int(channel.queue_declare(queue=queue, passive=True).message_count))
    if ready <= 0:
        return []
    got: list[Any] = []
    consumer = kombu.Consumer(
        channel,
        [kombu.Queue(queue, no_declare=True)],
        on_message=got.append,
        prefetch_count=ready,
        no_ack=False,
    )
    deadline = time.monotonic() + FETCH_SECONDS
    with consumer:
        while len(got) < ready and (left := deadline - time.monotonic()) > 0:
            with suppress(TimeoutError):
                connection.drain_events(timeout=min(left, 0.2))
    return got[:ready]


def _connected(connection: kombu.Connection, hosts: int) -> kombu.Connection:
    try:
        # kombu moves to its next failover URL only when a connect fails inside ensure_connection,
        # and only as many times as allowed: once per host, without pause.
        connection.ensure_connection(max_retries=hosts - 1, interval_start=0)
    except BaseException:
        connection.release()
        raise
    return connection


def _first_answering(address: BrokerAddress, **options: Any) -> kombu.Connection:
    """Over TLS, one connection per host in turn, each checking the broker's certificate against its
    own host's name: kombu's failover list shares one ``ssl`` option among its hosts."""
    for host in address.hosts[:-1]:
        with suppress(*CONNECT_ERRORS):
            return _connected(_verifying(address, host, **options), 1)
    return _connected(_verifying(address, address.hosts[-1], **options), 1)


def _verifying(address: BrokerAddress, host: Host, **options: Any) -> kombu.Connection:
    one_host = replace(address, hosts=(host,))
    return kombu_connection(
        one_host, ssl={"server_hostname": host.name, "cert_reqs": ssl.CERT_REQUIRED}, **options
    )


def kombu_connection(address: BrokerAddress, **options: Any) -> kombu.Connection:
    """A kombu connection to ``address``, not yet connected; its hosts are kombu's failover URLs."""
    return kombu.Connection(address.kombu_url(), heartbeat=HEARTBEAT_SECONDS, **options)


def _address(url: str) -> BrokerAddress:
    try:
        return parse_broker_url(url)
    except BrokerUrlError as error:
        raise BrokerUrlError(f"broker URL: {error}") from None
