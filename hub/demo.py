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
from hub.bus.topology import EVENTS_LOG, dead_letter_queue, egress_queue
from hub.envelope import HEADER_REASON, Outbound
from hub.settings import Settings
from hub.store.ledger import Tally

SETTLE_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class DemoReport:
    published: int
    settled: int
    tallies: list[Tally]
    egress_depths: dict[str, int]
    dead_letters: dict[str, Counter[str]]

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
    def accounted_for(self) -> bool:
        """Every published message settled once, every output and dead letter is on its queue."""
        dead_on_queues = sum(sum(c.values()) for c in self.dead_letters.values())
        return (
            self.settled == self.published == self.forwarded + self.dead_lettered
            and sum(self.egress_depths.values()) == self.outputs
            and dead_on_queues == self.dead_lettered
        )


def run_demo(settings: Settings, messages: Sequence[Outbound], database: Path) -> DemoReport:
    """Publish ``messages`` as the partners would, let the hub carry them, and report."""
    database.unlink(missing_ok=True)
    settings = settings.model_copy(
        update={"broker_url": None, "database_url": SecretStr(f"sqlite:///{database}")}
    )
    hub = app.build(settings, embedded=f"demo-{uuid.uuid4().hex}")
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
    partners = list(hub.connectors)
    return DemoReport(
        published=len(messages),
        settled=worker.settled,
        tallies=hub.ledger.tally(),
        egress_depths={
            queue: hub.transport.depth(queue) for queue in [EVENTS_LOG, *map(egress_queue, partners)]
        },
        dead_letters={p: _reasons(hub, dead_letter_queue(p)) for p in partners},
    )


def _reasons(hub: app.Hub, queue: str) -> Counter[str]:
    taken = hub.transport.take(queue, limit=100_000)
    return Counter(str(d.properties.headers.get(HEADER_REASON, "?")) for d in taken)
