"""The session on RabbitMQ: pika, one I/O loop, a consuming and a publishing connection.

Why pika here (architecture.md): kombu (py-amqp) waits for each publisher confirm before the next
publish, about 990 msg/s on this machine, while pipelined confirms reach about 6,400 msg/s. Running
the consumer on the same pika I/O loop as the publisher keeps the whole path on one thread: no
hand-off between threads per message, no lock, no fight for the GIL. ``scripts/bench_relay.py``
measures the result against a raw pika relay. kombu still declares the topology and serves the
embedded broker. Only this module and hub.bus.egress_channel (the delivery runner's blocking
connection) import pika.

Publishing never happens on the consuming connection.

Partitions are claimed by share, not all consumed (hub.bus.claims): every ``CLAIM_SECONDS`` the
session counts the workers and the partitions' consumers, subscribes to free partitions up to its
share, probes the ones it claimed to learn which it holds, and hands its surplus over, each one once
none of its deliveries is unsettled.
"""

from __future__ import annotations

import ast
import random
import re
import ssl
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import count, takewhile
from typing import Any

import pika
from pika.adapters.select_connection import IOLoop, SelectConnection
from pika.adapters.utils.connection_workflow import AMQPConnectionWorkflowFailed, AMQPConnectorPhaseErrorBase

from hub.bus.claims import HEADER_PROBE, Claims
from hub.bus.failures import refusal
from hub.bus.session import Consumers, OnConfirm, OnCounts, OnDelivery, Session, Tag, UnsettledDeliveries
from hub.bus.topology import PARTITIONS_EXCHANGE
from hub.bus.urls import BrokerAddress
from hub.envelope import Delivery, Outbound, Properties
from hub.errors import BrokerRefused, TransientError

HOST_TIMEOUT_SECONDS = 5.0  # a host that has not let a connection in within this is passed over
CONNECT_TIMEOUT_SECONDS = 2 * HOST_TIMEOUT_SECONDS  # to open a session's two connections, per host
CLOSE_TIMEOUT_SECONDS = 5.0
CLAIM_SECONDS = 2.0
PROBE_TTL_MS = "5000"
FIRST_CLAIM_SECONDS = 0.5  # workers started together register before any of them claims


@dataclass
class _Batch:
    """The outputs of one input, published together and settled together."""

    remaining: int
    message_ids: list[str]
    failed: bool = False


def connection_parameters(address: BrokerAddress) -> list[pika.ConnectionParameters]:
    """One set of parameters per host of ``address``, in the order to try them."""
    credentials = pika.PlainCredentials(address.user, address.password)
    return [
        pika.ConnectionParameters(
            host=host.name,
            port=host.port,
            virtual_host=address.vhost,
            credentials=credentials,
            socket_timeout=HOST_TIMEOUT_SECONDS,
            stack_timeout=HOST_TIMEOUT_SECONDS,
            ssl_options=pika.SSLOptions(ssl.create_default_context(), host.name) if address.tls else None,
        )
        for host in address.hosts
    ]


def _describe(error: BaseException) -> str:
    """What went wrong, host by host when pika tried several."""
    if isinstance(error, AMQPConnectionWorkflowFailed):
        return "; ".join(_describe(attempt) for attempt in error.exceptions)
    if isinstance(error, AMQPConnectorPhaseErrorBase) and error.exception is not None:
        return _describe(error.exception)
    return f"{type(error).__name__}: {error}"


# pika keeps only the repr of the broker's close when it reports a refused login or vhost.
_CLOSE_REPR = re.compile(r"^ConnectionClosedByBroker: \((\d+)\) (.*)$")


def broker_replies(error: BaseException) -> Iterator[tuple[int, str]]:
    """The reply codes and texts with which the broker closed, within a failed attempt."""
    if isinstance(error, AMQPConnectionWorkflowFailed):
        for attempt in error.exceptions:
            yield from broker_replies(attempt)
    elif isinstance(error, AMQPConnectorPhaseErrorBase) and error.exception is not None:
        yield from broker_replies(error.exception)
    elif isinstance(error, pika.exceptions.ConnectionClosedByBroker | pika.exceptions.ChannelClosedByBroker):
        yield error.reply_code, error.reply_text
    elif isinstance(error, pika.exceptions.AMQPConnectionError) and error.args:
        match = _CLOSE_REPR.match(str(error.args[0]))
        if match:
            yield int(match[1]), str(ast.literal_eval(match[2]))


def pika_properties(message: Outbound) -> pika.BasicProperties:
    """The message's properties as pika publishes them."""
    p = message.properties
    return pika.BasicProperties(
        content_type=p.content_type,
        delivery_mode=p.delivery_mode,
        message_id=p.message_id,
        correlation_id=p.correlation_id,
        type=p.type,
        timestamp=p.timestamp,
        user_id=p.user_id,
        headers=dict(p.headers),
    )


def properties_from_pika(p: Any) -> Properties:
    return Properties(
        message_id=p.message_id,
        content_type=p.content_type,
        type=p.type,
        timestamp=p.timestamp,
        user_id=p.user_id,
        correlation_id=p.correlation_id,
        delivery_mode=p.delivery_mode,
        headers=p.headers or {},
    )


class PikaSession(Session):
    def __init__(self, address: BrokerAddress, consumers: Consumers, prefetch: int) -> None:
        self._address = address
        self._parameters = connection_parameters(address)
        self._queue_partners = dict(consumers.routers)
        self._presence = consumers.presence
        self._claims = Claims(consumers.partitions)
        self._consumer_tags: dict[str, str] = {}  # partition queue -> our consumer's tag
        self._releasing: set[str] = set()
        self._tag_queue: dict[int, str] = {}
        self._unsettled_in: Counter[str] = Counter()
        self._probe_channel: Any = None
        self._prefetch = prefetch
        self._ioloop = IOLoop()
        self._connections: list[SelectConnection] = []
        self._attempts = count()
        self._connecting: dict[int, Any] = {}  # pika's connection attempts under way, by number
        self._consume_channel: Any = None
        self._publish_channel: Any = None
        self._consumers_ready = 0
        self._failure: str | None = None
        self._refused: BrokerRefused | None = None  # a failure no retry can change
        self._callback_error: BaseException | None = None
        self._closing = False
        self._unsettled = UnsettledDeliveries(multiple_acks=True)
        self._next_tag = 0
        self._tag_tokens: OrderedDict[int, int] = OrderedDict()
        self._batches: dict[int, _Batch] = {}
        self._id_tokens: dict[str, int] = {}
        self._on_delivery: OnDelivery | None = None
        self._on_confirm: OnConfirm | None = None

    # -- opening ------------------------------------------------------------------------------
    def open(self, on_delivery: OnDelivery, on_confirm: OnConfirm) -> None:
        self._on_delivery, self._on_confirm = on_delivery, on_confirm
        self._connect(self._on_publish_channel)  # consuming starts once publishing can follow
        self._loop_until(self._opened, CONNECT_TIMEOUT_SECONDS * len(self._parameters), "connecting")
        if self._refused is not None:
            raise self._refused
        if self._failure is not None:
            raise TransientError(
                f"HUB_BROKER_URL ({self._address.masked()}): while connecting: {self._failure}"
            )

    def _connect(self, on_channel: Callable[[Any], None]) -> None:
        """Connect to the first host that answers, trying them in order."""
        number = next(self._attempts)
        on_done = partial(self._on_connected, number, on_channel)
        self._connecting[number] = SelectConnection.create_connection(
            self._parameters, on_done, custom_ioloop=self._ioloop
        )

    def _on_connected(self, number: int, on_channel: Callable[[Any], None], result: Any) -> None:
        del self._connecting[number]
        if isinstance(result, BaseException):
            if not self._closing:  # else: the session was given up, nothing to report
                self._on_open_error(result)
            return
        self._connections.append(result)
        if self._closing:  # connected just as the session was given up
            result.close()
            return
        result.add_on_close_callback(self._on_connection_closed)
        result.channel(on_open_callback=on_channel)

    def _opened(self) -> bool:
        expected = len(self._queue_partners) + (self._presence is not None)
        consuming = self._consumers_ready == expected and self._probe_channel is not None
        return self._failure is not None or (consuming and self._publish_channel is not None)

    def _on_open_error(self, error: BaseException) -> None:
        self._note_refusal(error)
        self._fail(_describe(error))

    def _note_refusal(self, error: BaseException) -> None:
        for code, text in broker_replies(error):
            self._refused = self._refused or refusal(self._address, code, text)

    def _on_consume_channel(self, channel: Any) -> None:
        channel.add_on_close_callback(self._on_channel_closed)
        channel.basic_qos(prefetch_count=self._prefetch, callback=lambda _frame: self._consume(channel))

    def _consume(self, channel: Any) -> None:
        self._consume_channel = channel
        channel.add_on_cancel_callback(self._on_cancelled)
        for queue, partner in self._queue_partners.items():
            channel.basic_consume(
                queue, partial(self._deliver, queue, partner), callback=lambda _frame: self._consumer_ready()
            )
        if self._presence is not None:  # counted by the others; nothing is ever published there
            channel.basic_consume(
                self._presence, self._never_delivered, callback=lambda _frame: self._consumer_ready()
            )
        channel.connection.channel(on_open_callback=self._on_probe_channel)

    def _on_probe_channel(self, channel: Any) -> None:
        channel.add_on_close_callback(self._on_channel_closed)
        self._probe_channel = channel
        if self._claims.unclaimed():
            self._ioloop.call_later(FIRST_CLAIM_SECONDS * random.uniform(1, 2), self._claim_round)

    @staticmethod
    def _never_delivered(channel: Any, method: Any, _properties: Any, _body: bytes) -> None:
        channel.basic_nack(method.delivery_tag, requeue=True)

    # -- claiming partitions (hub.bus.claims) --------------------------------------------------
    def _claim_round(self) -> None:
        if self._closing or self._failure is not None:
            return
        self.queue_counts([self._presence or "", *self._claims.unclaimed()], self._with_counts)
        self._ioloop.call_later(CLAIM_SECONDS * random.uniform(0.75, 1.25), self._claim_round)

    def _with_counts(self, counts: Mapping[str, tuple[int, int]]) -> None:
        if self._closing or self._failure is not None:
            return
        workers = counts.get(self._presence or "", (0, 1))[1]
        plan = self._claims.plan(workers, {queue: consumers for queue, (_, consumers) in counts.items()})
        for queue in plan.release:
            self._releasing.add(queue)
        self._cancel_released()
        for queue in plan.claim:
            self._claims.claimed.add(queue)
            self._consumer_tags[queue] = self._consume_channel.basic_consume(
                queue, partial(self._deliver, queue, "")
            )
        for queue in plan.probe:
            self._send_probe(queue)

    def _send_probe(self, queue: str) -> None:
        """A message with this session's id through ``queue``, to whichever consumer is active."""
        number = queue.rsplit(".", 1)[1]
        # It expires unread if this session stops first, so no tool ever finds it on the queue.
        probe = pika.BasicProperties(headers={HEADER_PROBE: self._claims.me}, expiration=PROBE_TTL_MS)
        self._publish_channel.basic_publish(PARTITIONS_EXCHANGE, number, b"", probe)
        self._next_tag += 1  # confirmed like any publish, and ignored: no token waits for it

    def _cancel_released(self) -> None:
        for queue in [q for q in self._releasing if self._unsettled_in[q] == 0]:
            self._releasing.discard(queue)
            self._claims.released(queue)
            self._consume_channel.basic_cancel(self._consumer_tags.pop(queue))

    def claimed(self) -> list[str]:
        """The partition queues this session consumes now, actively or waiting (tests, status)."""
        return sorted(self._claims.claimed)

    def queue_counts(self, queues: Sequence[str], then: OnCounts) -> None:
        """``then({queue: (messages, consumers)})`` once the broker answered for every queue."""
        wanted = [q for q in queues if q]
        counts: dict[str, tuple[int, int]] = {}
        if not wanted or self._probe_channel is None:
            then(counts)
            return

        def answered(queue: str, frame: Any) -> None:
            counts[queue] = (frame.method.message_count, frame.method.consumer_count)
            if len(counts) == len(wanted):
                then(counts)

        for queue in wanted:
            self._probe_channel.queue_declare(queue, passive=True, callback=partial(answered, queue))

    def _consumer_ready(self) -> None:
        self._consumers_ready += 1

    def _on_cancelled(self, _frame: Any) -> None:
        # The broker cancels a consumer whose queue was deleted: end the session, so the worker
        # reconnects with backoff and says which queue is missing, instead of idling unnoticed.
        self._fail("the broker cancelled a consumer (queue deleted?); run `hub topology apply`")

    def _on_publish_channel(self, channel: Any) -> None:
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(self._on_broker_confirm, callback=lambda _frame: self._publishing(channel))

    def _publishing(self, channel: Any) -> None:
        self._publish_channel = channel
        self._connect(self._on_consume_channel)

    # -- running ------------------------------------------------------------------------------
    def _loop_until(self, done: Callable[[], bool], seconds: float, doing: str) -> None:
        """Run the I/O loop until ``done()``, checking every 10 ms, for at most ``seconds``."""
        deadline = self._ioloop.call_later(seconds, lambda: self._fail(f"timed out {doing}"))

        def check() -> None:
            if done() or self._failure is not None:
                self._ioloop.stop()
            else:
                self._ioloop.call_later(0.01, check)

        self._ioloop.add_callback_threadsafe(check)
        self._ioloop.start()
        self._ioloop.remove_timeout(deadline)

    def run_until(self, done: Callable[[], bool], tick: Callable[[], None], interval: float) -> None:
        def on_timer() -> None:
            # pika runs the timers due in the loop iteration that saw the connection go, after stop():
            # the channels are closed by then, so a tick would fail on them.
            if self._failure is None:
                try:
                    tick()
                except BaseException as error:  # surfaced from run_until below
                    self._callback_error = error
            if self._callback_error or self._failure is not None or done():
                self._ioloop.stop()
            else:
                self._ioloop.call_later(interval, on_timer)

        self._ioloop.call_later(interval, on_timer)
        self._ioloop.start()
        if self._refused is not None:
            raise self._refused
        if self._failure is not None:
            # A callback that failed meanwhile (on a closed channel) failed because the broker went.
            raise TransientError(f"HUB_BROKER_URL ({self._address.masked()}): {self._failure}") from (
                self._callback_error
            )
        if self._callback_error is not None:
            raise self._callback_error

    def soon(self, callback: Callable[[], None]) -> None:
        # A timer due now runs before the loop polls the socket again: after every frame already read.
        def run() -> None:
            if self._failure is not None or self._callback_error is not None:
                return  # the connection went (see run_until): the tick's turn will not come either
            try:
                callback()
            except BaseException as error:  # surfaced from run_until
                self._callback_error = error
                self._ioloop.stop()

        self._ioloop.call_later(0, run)

    def _fail(self, why: str) -> None:
        if self._failure is None and not self._closing:
            self._failure = why
        self._ioloop.stop()

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        if not self._closing:
            self._note_refusal(reason)  # e.g. 403: the user may not read a queue or write an exchange
            self._fail(f"channel closed: {reason}")

    def _on_connection_closed(self, _connection: Any, reason: BaseException) -> None:
        if not self._closing:
            self._note_refusal(reason)
            self._fail(f"connection closed: {reason}")

    # -- consuming ----------------------------------------------------------------------------
    def _deliver(  # noqa: PLR0917  (pika's callback, with the queue and partner bound before it)
        self, queue: str, partner: str, channel: Any, method: Any, properties: Any, body: bytes
    ) -> None:
        assert self._on_delivery is not None
        if self._failure is not None:
            return  # frames read in the iteration that lost a connection: redelivered after it
        probe = (properties.headers or {}).get(HEADER_PROBE)
        if probe is not None:  # never the worker's: proof of which consumer is active
            self._claims.probe_came_back(queue, str(probe))
            # Rejected, not acknowledged: it leaves no trace in the queue's ack figures, and its
            # dead-lettering (hub.dead routes by partner; a probe names none) drops it.
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        self._unsettled.add(method.delivery_tag)
        self._tag_queue[method.delivery_tag] = queue
        self._unsettled_in[queue] += 1
        delivery = Delivery(
            partner,
            method.exchange,
            method.routing_key,
            body,
            properties_from_pika(properties),
            method.redelivered,
        )
        try:
            self._on_delivery(delivery, method.delivery_tag)
        except BaseException as error:  # pika would swallow it; surfaced from run_until
            self._callback_error = error
            self._ioloop.stop()

    def ack(self, tags: Collection[Tag]) -> None:
        run_end, singles = self._unsettled.plan(tags)
        if run_end is not None:
            self._consume_channel.basic_ack(run_end, multiple=True)
        for tag in singles:
            self._consume_channel.basic_ack(tag)
        self._settled(tags)

    def requeue(self, tag: Tag) -> None:
        self._unsettled.discard(tag)
        self._consume_channel.basic_nack(tag, requeue=True)
        self._settled([tag])

    def _settled(self, tags: Collection[Tag]) -> None:
        for tag in tags:
            queue = self._tag_queue.pop(int(tag), None)
            if queue is not None:
                self._unsettled_in[queue] -= 1
        if self._releasing:
            self._cancel_released()

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, token: int, messages: Sequence[Outbound]) -> None:
        assert self._on_confirm is not None
        if not messages:
            self._on_confirm(token, True)
            return
        ids = [m.properties.message_id or "" for m in messages]
        self._batches[token] = _Batch(remaining=len(messages), message_ids=ids)
        for message, message_id in zip(messages, ids, strict=True):
            self._publish_channel.basic_publish(
                message.exchange, message.routing_key, message.body, pika_properties(message), mandatory=True
            )
            self._next_tag += 1
            self._tag_tokens[self._next_tag] = token
            self._id_tokens[message_id] = token

    def _on_return(self, _channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        # A return precedes the confirm of the same message, so its batch is still outstanding.
        token = self._id_tokens.get(properties.message_id or "")
        if token is not None and token in self._batches:
            self._batches[token].failed = True

    def _on_broker_confirm(self, frame: Any) -> None:
        method = frame.method
        ok = isinstance(method, pika.spec.Basic.Ack)
        if method.multiple:
            tags = list(takewhile(lambda tag: tag <= method.delivery_tag, self._tag_tokens))
        else:
            tags = [method.delivery_tag]
        for tag in tags:
            token = self._tag_tokens.pop(tag, None)
            if token is not None:
                self._settle_one(token, ok)

    def _settle_one(self, token: int, ok: bool) -> None:
        assert self._on_confirm is not None
        batch = self._batches[token]
        batch.remaining -= 1
        batch.failed = batch.failed or not ok
        if batch.remaining > 0:
            return
        del self._batches[token]
        for message_id in batch.message_ids:
            self._id_tokens.pop(message_id, None)
        self._on_confirm(token, not batch.failed)

    # -- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        self._closing = True
        for connection in self._connections:
            if connection.is_open:
                connection.close()
        # A connection attempt under way is let finish (it ends within its hosts' timeouts) and its
        # connection closed, not aborted: pika asserts when aborted during the AMQP handshake, and
        # a dropped attempt would leak its socket on every reconnect.
        waiting = HOST_TIMEOUT_SECONDS * len(self._parameters) if self._connecting else CLOSE_TIMEOUT_SECONDS
        if not self._closed():
            self._loop_until(self._closed, waiting, "closing")
        self._ioloop.close()

    def _closed(self) -> bool:
        return not self._connecting and all(c.is_closed for c in self._connections)
