"""The session on the embedded broker (kombu's virtual transport), for the demo and unit tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from contextlib import suppress
from functools import partial
from typing import Any

import kombu

from hub.bus.failures import broker_errors
from hub.bus.kombu_messages import kombu_publish, to_delivery
from hub.bus.session import Consumers, OnConfirm, OnCounts, OnDelivery, Session, Tag, UnsettledDeliveries
from hub.envelope import Outbound


class KombuSession(Session):
    """Consumes with kombu; a publish is settled as soon as it returns, as the broker is in-process.

    One process holds the embedded broker, so this session consumes every partition itself.
    """

    def __init__(
        self,
        consuming: kombu.Connection,
        publishing: kombu.Connection,
        consumers: Consumers,
        prefetch: int,
    ) -> None:
        self._consuming = consuming
        self._publishing = publishing
        self._queue_partners = {**consumers.routers, **dict.fromkeys(consumers.partitions, "")}
        self._channel: Any = None
        self._prefetch = prefetch
        self._unsettled = UnsettledDeliveries(multiple_acks=False)  # the virtual transport ignores it
        self._messages: dict[Tag, Any] = {}
        self._consumers: list[kombu.Consumer] = []
        self._producer: kombu.Producer | None = None
        self._on_delivery: OnDelivery | None = None
        self._on_confirm: OnConfirm | None = None

    def open(self, on_delivery: OnDelivery, on_confirm: OnConfirm) -> None:
        self._on_delivery, self._on_confirm = on_delivery, on_confirm
        with broker_errors("starting to consume"):
            self._producer = kombu.Producer(self._publishing.channel())
            channel = self._channel = self._consuming.channel()
            for queue_name, partner in self._queue_partners.items():
                consumer = kombu.Consumer(
                    channel,
                    [kombu.Queue(queue_name, no_declare=True)],
                    on_message=partial(self._deliver, partner),
                    prefetch_count=self._prefetch,
                    no_ack=False,
                )
                consumer.consume()
                self._consumers.append(consumer)

    def _deliver(self, partner: str, message: Any) -> None:
        assert self._on_delivery is not None
        self._messages[message.delivery_tag] = message
        self._unsettled.add(message.delivery_tag)
        self._on_delivery(to_delivery(partner, message), message.delivery_tag)

    def run_until(self, done: Callable[[], bool], tick: Callable[[], None], interval: float) -> None:
        while not done():
            next_tick = time.monotonic() + interval
            while (left := next_tick - time.monotonic()) > 0:
                with broker_errors("consuming"), suppress(TimeoutError):
                    self._consuming.drain_events(timeout=left)
            tick()

    def publish(self, token: int, messages: Sequence[Outbound]) -> None:
        assert self._producer is not None
        assert self._on_confirm is not None
        with broker_errors("publishing"):
            for message in messages:
                kombu_publish(self._producer, message, mandatory=False)
        self._on_confirm(token, True)

    def ack(self, tags: Collection[Tag]) -> None:
        _, singles = self._unsettled.plan(tags)
        for tag in singles:
            self._messages.pop(tag).ack()

    def requeue(self, tag: Tag) -> None:
        self._unsettled.discard(tag)
        self._messages.pop(tag).requeue()

    def queue_counts(self, queues: Sequence[str], then: OnCounts) -> None:
        with broker_errors("counting messages"):
            answers = [self._channel.queue_declare(queue=q, passive=True) for q in queues if q]
        then({a.queue: (a.message_count, a.consumer_count) for a in answers})

    def close(self) -> None:
        self._messages.clear()
        self._unsettled.clear()
        self._consumers.clear()
        self._consuming.release()
        self._publishing.release()
