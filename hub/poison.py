"""Processing failures that are the hub's own (a bug), counted per message: after ``poison_after`` of
them a message is dead-lettered ``processing_failed`` instead of blocking its queue."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from hub.envelope import Delivery


class PoisonCounts:
    """Processing failures by message in this process, for the most recent ``LIMIT`` messages.

    Not RabbitMQ's ``x-delivery-count``: it also counts the redeliveries of an outage, which must
    never make a message poison. Across restarts, the queue's delivery limit is the last resort.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()

    def count(self, delivery: Delivery) -> int:
        """Record one more failure of ``delivery``; how many it has had."""
        key = self._key(delivery)
        local = self._counts.pop(key, 0) + 1
        self._counts[key] = local
        if len(self._counts) > self.LIMIT:
            self._counts.popitem(last=False)
        return local

    def forget(self, delivery: Delivery) -> None:
        self._counts.pop(self._key(delivery), None)

    @staticmethod
    def _key(delivery: Delivery) -> tuple[str, str]:
        return delivery.partner, delivery.properties.message_id or hashlib.sha256(delivery.body).hexdigest()
