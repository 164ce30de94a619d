"""The embedded demo: the whole hub in one process on the in-memory broker and a SQLite file."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from hub import app
from hub.bus import memory
from hub.bus.topology import EVENTS_LOG, dead_letter_queue, egress_queue
from hub.envelope import HEADER_REASON, Delivery, Outbound
from hub.settings import Settings
from hub.store.ledger import Tally

SETTLE_TIMEOUT_SECONDS = 120.0
TAKE_LIMIT = 1_000_000


@dataclass(frozen=True)
class DemoReport:
    published: int
    settled: int
    tallies: list[Tally]
    events_logged: int
    delivered: dict[str, list[Delivery]]  # partner -> what the hub put on its egress queue
    dead: dict[str, list[Delivery]]  # partner -> what the hub put on its dead-letter queue

    @property
    def forwarded(self) -> int:
        return sum(t.messages for t in self.tallies if t.outcome == "forwarded")

    @property
    def outputs(self) -> int:
        return sum(t.outputs for t in self.tallies if t.outcome == "forwarded")

    @property
    def dead_lettered(self) -> int:
        return sum(t.messages for t in self.tallies if t.outcome == "dead_lettered")

    @property
    def egress_depths(self) -> dict[str, int]:
        """How many messages each output queue received: the event log and every egress."""
        delivered = {egress_queue(partner): len(taken) for partner, taken in self.delivered.items()}
        return {EVENTS_LOG: self.events_logged, **delivered}

    @property
    def dead_letters(self) -> dict[str, Counter[str]]:
        """Per partner, its dead letters counted by reason."""
        return {
            partner: Counter(str(d.properties.headers.get(HEADER_REASON, "?")) for d in letters)
            for partner, letters in self.dead.items()
        }

    @property
    def accounted_for(self) -> bool:
        """Every published message settled once, every output and dead letter is on its queue."""
        dead_on_queues = sum(len(letters) for letters in self.dead.values())
        return (
            self.settled == self.published == self.forwarded + self.dead_lettered
            and sum(self.egress_depths.values()) == self.outputs
            and dead_on_queues == self.dead_lettered
        )


def run_demo(settings: Settings, messages: Sequence[Outbound], database: Path) -> DemoReport:
    """Publish ``messages`` as the partners would, let the hub carry them, and report, taking what
    the hub delivered off the egress and dead-letter queues."""
    database.unlink(missing_ok=True)
    settings = settings.model_copy(
        update={"broker_url": None, "database_url": SecretStr(f"sqlite:///{database}")}
    )
    embedded = f"demo-{uuid.uuid4().hex}"
    hub = app.build(settings, embedded=embedded)
    try:
        settled = _carry(hub, messages)
        return DemoReport(
            published=len(messages),
            settled=settled,
            tallies=hub.ledger.tally(),
            events_logged=hub.transport.depth(EVENTS_LOG),
            delivered={p: _take(hub, egress_queue(p), p) for p in hub.connectors},
            dead={p: _take(hub, dead_letter_queue(p), p) for p in hub.connectors},
        )
    finally:
        memory.forget_broker(embedded)


def _carry(hub: app.Hub, messages: Sequence[Outbound]) -> int:
    """Run the worker until it settled ``messages`` (or timed out); how many it settled."""
    hub.transport.apply_topology(hub.topology)
    worker = hub.worker()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="hub-worker")
    thread.start()
    try:
        hub.transport.publish_confirmed(messages)
        worker.wait_settled(len(messages), SETTLE_TIMEOUT_SECONDS)
    finally:
        stop.set()
        thread.join()
    return worker.settled


def _take(hub: app.Hub, queue: str, partner: str) -> list[Delivery]:
    return hub.transport.take(queue, limit=TAKE_LIMIT, partner=partner)
