"""The raw relay doing the hub's broker work, and nothing else: the ceiling of any hub ratio.

For each flow-1 input the hub does more on the broker than the raw relay's one consume and one
publish: it routes the input to its dossier's partition (a publish, a confirm and an ack), consumes it
there, and publishes every output of it (a canonical event to the ``hub.events.log`` stream and the
one-stop-shop's copy; for one input in three also a postal order and its event: 2.67 outputs per
input), acknowledging the partition's copy once all of them were confirmed. This relay does exactly
that on queues of the same types, with bodies of the input's size, in pika's SelectConnection with
pipelined confirms and acks in runs, and no processing at all. Its rate over the raw relay's, measured
in the same run, is the highest ratio the hub could reach if its own work cost nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import pika
from pika.adapters.select_connection import IOLoop, SelectConnection

from hub.bus.topology import DELIVERY_LIMIT, QUORUM

SOURCE = "bench.shaped.in"
PARTITION = "bench.shaped.partition"
EVENTS = "bench.shaped.events"
EGRESS = "bench.shaped.egress"
POSTAL = "bench.shaped.postal"
QUEUES = {
    SOURCE: {**QUORUM, "x-delivery-limit": DELIVERY_LIMIT},
    PARTITION: {**QUORUM, "x-delivery-limit": DELIVERY_LIMIT},
    EVENTS: {"x-queue-type": "stream"},
    EGRESS: dict(QUORUM),
    POSTAL: dict(QUORUM),
}
CLOSE_GRACE = 5.0


def outputs_of(number: int) -> tuple[str, ...]:
    """The queues input ``number`` (from 0) has outputs on, as flow 1's bench inputs do: every third
    asks the post to collect the paper originals, which adds a postal order and its event."""
    if number % 3 == 0:
        return (EVENTS, EGRESS, EVENTS, POSTAL)
    return (EVENTS, EGRESS)


class RunAcks:
    """Acks a consumer's deliveries in runs: up to the highest tag below which every one is done."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel
        self._pending: OrderedDict[int, bool] = OrderedDict()  # delivery tag -> done

    def received(self, tag: int) -> None:
        self._pending[tag] = False

    def done(self, tag: int) -> int:
        """Mark ``tag`` done, ack the run it completes; returns how many were acked."""
        self._pending[tag] = True
        last, count = 0, 0
        while self._pending:
            first, first_done = next(iter(self._pending.items()))
            if not first_done:
                break
            self._pending.popitem(last=False)
            last, count = first, count + 1
        if count:
            self._channel.basic_ack(last, multiple=count > 1)
        return count


class ShapedRelay:
    """Consumes ``SOURCE`` and ``PARTITION`` on two channels, publishes on a third with confirms."""

    def __init__(self, url: str, count: int, prefetch: int) -> None:
        self._parameters = pika.URLParameters(url)
        self._count, self._prefetch = count, prefetch
        self._ioloop = IOLoop()
        self._connection: Any = None
        self._channels: dict[str, Any] = {}
        self._acks: dict[str, RunAcks] = {}
        self._waiting: OrderedDict[int, tuple[str, int, list[int]]] = (
            OrderedDict()
        )  # seq -> (queue, tag, group)
        self._seq = 0
        self._relayed = 0
        self._started = 0.0
        self._elapsed: float | None = None
        self._closing = False
        self._error: str | None = None

    def run(self, timeout: float) -> float:
        self._started = time.perf_counter()
        self._connection = SelectConnection(
            self._parameters,
            on_open_callback=self._on_open,
            on_open_error_callback=lambda _c, error: self._finish(f"could not connect: {error!r}"),
            on_close_callback=lambda _c, _reason: self._ioloop.stop(),
            custom_ioloop=self._ioloop,
        )
        self._ioloop.call_later(timeout, lambda: self._finish(f"timed out after {timeout:g} s"))
        self._ioloop.start()
        if self._error is not None or self._elapsed is None:
            raise RuntimeError(f"shaped relay: {self._error or 'stopped early'} ({self._relayed} relayed)")
        return self._elapsed

    def _on_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_publish_channel)

    def _on_publish_channel(self, channel: Any) -> None:
        self._channels["publish"] = channel
        channel.confirm_delivery(self._on_confirm, callback=lambda _f: self._open_consumers())

    def _open_consumers(self) -> None:
        for queue in (SOURCE, PARTITION):
            self._connection.channel(on_open_callback=lambda c, q=queue: self._on_consume_channel(q, c))

    def _on_consume_channel(self, queue: str, channel: Any) -> None:
        self._channels[queue] = channel
        self._acks[queue] = RunAcks(channel)
        channel.basic_qos(
            prefetch_count=self._prefetch,
            callback=lambda _f: channel.basic_consume(queue, self._on_message, auto_ack=False),
        )

    def _on_message(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if self._closing:
            return
        source = method.routing_key  # both were published to a queue by name
        self._acks[source].received(method.delivery_tag)
        targets: Sequence[str] = (PARTITION,)
        if source == PARTITION:
            targets = outputs_of(int(properties.headers["n"]))
        group: list[int] = []
        publish = self._channels["publish"]
        for target in targets:
            publish.basic_publish("", target, body, properties)
            self._seq += 1
            group.append(self._seq)
            self._waiting[self._seq] = (source, method.delivery_tag, group)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        if not isinstance(method, pika.spec.Basic.Ack):
            self._finish(f"the broker nacked publish {method.delivery_tag}")
            return
        if method.multiple:  # every publish up to this one; the waiting ones are in publish order
            confirmed = []
            while self._waiting and next(iter(self._waiting)) <= method.delivery_tag:
                confirmed.append(self._waiting.popitem(last=False))
        else:
            confirmed = [(method.delivery_tag, self._waiting.pop(method.delivery_tag))]
        for seq, (source, tag, group) in confirmed:
            group.remove(seq)
            if not group:
                acked = self._acks[source].done(tag)
                if source == PARTITION:
                    self._relayed += acked
        if self._relayed >= self._count and self._elapsed is None:
            self._elapsed = time.perf_counter() - self._started
            self._finish(None)

    def _finish(self, error: str | None) -> None:
        if self._closing:
            return
        self._closing, self._error = True, error
        if self._connection is not None and self._connection.is_open:
            self._connection.close()
        self._ioloop.call_later(CLOSE_GRACE, self._ioloop.stop)


def declare(url: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for queue, arguments in QUEUES.items():
            channel.queue_declare(queue, durable=True, arguments=arguments)
    finally:
        connection.close()


def preload(url: str, bodies: Sequence[bytes]) -> None:
    """The inputs, each numbered in a header (the relay reads its output shape from it)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for number, body in enumerate(bodies):
            properties = pika.BasicProperties(delivery_mode=2, headers={"n": number})
            channel.basic_publish("", SOURCE, body, properties)
    finally:
        connection.close()


def depths(url: str) -> dict[str, int]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        return {
            queue: int(channel.queue_declare(queue, passive=True).method.message_count)
            for queue in (SOURCE, PARTITION, EGRESS, POSTAL)
        }
    finally:
        connection.close()


def run_shaped(url: str, bodies: Sequence[bytes], prefetch: int, timeout: float) -> float:
    """Preload, relay, check that every input went through both hops; returns the relay's seconds."""
    declare(url)
    preload(url, bodies)
    elapsed = ShapedRelay(url, len(bodies), prefetch).run(timeout)
    expected = {
        SOURCE: 0,
        PARTITION: 0,
        EGRESS: len(bodies),
        POSTAL: sum(1 for n in range(len(bodies)) if POSTAL in outputs_of(n)),
    }
    found = depths(url)
    if found != expected:
        raise RuntimeError(f"shaped relay: queues hold {found}, expected {expected}")
    return elapsed
