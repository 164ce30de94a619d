"""The HTTP gateway's broker side: a partner's own user publishing with confirms, and pulls held as leases.

Each partner gets connections of its own, logged in as its broker user, so RabbitMQ itself vouches
for the ``user_id`` the gateway sets (the hub accepts nothing else on the partner's ingress). The
connections run without heartbeats: nobody services them between requests, and an idle connection
must not be closed by the broker for missed heartbeats. A dead one fails its next call, which the
gateway answers with 503 (the client retries with the same Idempotency-Key).

kombu connections are not thread-safe: a publisher lends each connection to one thread at a time
(a small pool), and the reader serialises its calls with a lock.
"""

from __future__ import annotations

import queue
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

import kombu

from hub.bus.failures import BROKER_ERRORS, CONNECT_ERRORS, broker_errors
from hub.bus.kombu_messages import kombu_publish, to_delivery
from hub.bus.urls import BrokerAddress
from hub.envelope import Delivery, Outbound


def open_connection(address: BrokerAddress, timeout: float, confirm: bool = False) -> kombu.Connection:
    """A connection to the first host of ``address`` that answers (each checking its own certificate
    name over TLS); raises the last host's error."""
    last: BaseException | None = None
    for host in address.hosts:
        one_host = replace(address, hosts=(host,))
        tls: Any = {"server_hostname": host.name, "cert_reqs": ssl.CERT_REQUIRED} if address.tls else False
        connection = kombu.Connection(
            one_host.kombu_url(),
            heartbeat=0,
            connect_timeout=timeout,
            ssl=tls,
            transport_options={"confirm_publish": confirm, "read_timeout": timeout},
        )
        try:
            # kombu's connect() waits and tries once more; the next host (or the client's retry) will do
            connection.ensure_connection(max_retries=0, interval_start=0)
            return connection
        except CONNECT_ERRORS as error:
            connection.release()
            last = error
    assert last is not None  # an address has at least one host
    raise last


class ConfirmingPublisher:
    """Publishes as one broker user, each message confirmed before ``publish`` returns."""

    def __init__(self, address: BrokerAddress, size: int, timeout: float) -> None:
        self._address = address
        self._timeout = timeout
        self._idle: queue.LifoQueue[kombu.Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    def publish(self, message: Outbound) -> None:
        """Publish ``message`` and wait for its confirm; ``TransientError`` (or ``BrokerRefused``) when
        the broker is unreachable, refuses or does not confirm in time."""
        with self._slots, broker_errors("publishing for the gateway", self._address):
            connection = self._lend()
            try:
                producer = kombu.Producer(connection.default_channel)
                kombu_publish(producer, message, mandatory=True, confirm_timeout=self._timeout)
            except BaseException:
                connection.release()  # in an unknown state: never lent again
                raise
            self._idle.put(connection)

    def _lend(self) -> kombu.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return open_connection(self._address, self._timeout, confirm=True)

    def close(self) -> None:
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return
            with suppress(*BROKER_ERRORS):
                connection.release()


@dataclass
class HeldChannel:
    """A channel holding pulled messages unacknowledged; closing it returns what is left to the queue."""

    channel: Any


class EgressReader:
    """Takes messages off a partner's egress queue without acknowledging them, then acks or releases."""

    def __init__(self, address: BrokerAddress, timeout: float) -> None:
        self._address = address
        self._timeout = timeout
        self._connection: kombu.Connection | None = None
        self._lock = threading.Lock()

    @contextmanager
    def _connected(self, doing: str) -> Iterator[kombu.Connection]:
        with self._lock, broker_errors(doing, self._address):
            if self._connection is None:
                self._connection = open_connection(self._address, self._timeout)
            try:
                yield self._connection
            except BROKER_ERRORS:
                self._drop()
                raise

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(*BROKER_ERRORS):
                connection.release()

    def pull(
        self, queue_name: str, limit: int, partner: str
    ) -> tuple[HeldChannel, list[tuple[int, Delivery]]]:
        """Up to ``limit`` messages ready on ``queue_name`` now, held on a new channel: (tag, message)."""
        with self._connected("pulling messages") as connection:
            channel = connection.channel()
            got: list[tuple[int, Delivery]] = []
            while len(got) < limit:
                raw = channel.basic_get(queue=queue_name, no_ack=False)
                if raw is None:
                    break
                got.append((int(raw.delivery_tag), to_delivery(partner, channel.message_to_python(raw))))
            return HeldChannel(channel), got

    def ack(self, held: HeldChannel, tags: list[int], queue_name: str) -> None:
        """Acknowledge ``tags`` on ``held``; one round trip after them, so none is lost on a close."""
        with self._connected("acknowledging messages"):
            for tag in tags:
                held.channel.basic_ack(delivery_tag=tag)
            held.channel.queue_declare(queue=queue_name, passive=True)

    def check(self, queue_name: str) -> None:
        """One round trip as the partner's user (a passive declare of ``queue_name``), opening the
        connection if need be: ``TransientError`` or ``BrokerRefused`` when the broker cannot serve it."""
        with self._connected("checking the broker") as connection:
            connection.default_channel.queue_declare(queue=queue_name, passive=True)

    def release(self, held: HeldChannel) -> None:
        """Close ``held``: its unacknowledged messages go back to their queue."""
        with self._lock, suppress(*BROKER_ERRORS):
            held.channel.close()

    def close(self) -> None:
        with self._lock:
            self._drop()
