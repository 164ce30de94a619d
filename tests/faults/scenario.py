"""One fault run: the hub's processes, the load, a watch on the park, the fault, then the checker.

A test opens a ``FaultRun`` (which starts the hub and the load), injects its faults at fractions of
the load, each inside ``fault()`` (which measures the recovery from the moment it healed), and calls
``finish``, which waits until everything settled, reads the ledger and the queues, and returns the
figures.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from hub.bus.topology import (
    WORKERS_QUEUE,
    ingress_queue,
    park_queue,
    partition_queue,
)
from tests.faults import figures
from tests.faults.broker import QueueProbe
from tests.faults.checker import (
    PARTNERS,
    Figures,
    Timings,
    judge,
    ledger_count,
    observe,
    wait_settled,
)
from tests.faults.hubs import Hubs, apply_topology, hub_environment
from tests.faults.load import Generator, plan
from tests.faults.services import need, wait_for, wait_until
from tests.rabbit import vhost_of

PARTITIONS = 8  # the hub's default, which the runs keep
DOSSIERS = 600  # x 3 messages
PORTAL_FILINGS = 200
RATE = 150.0  # messages per second: a steady load, well under what one worker carries
START_SECONDS = 60.0
LOAD_SECONDS = 120.0  # the load's own time, plus outages
RECOVER_SECONDS = 60.0
SETTLE_SECONDS = 120.0
WATCH_SECONDS = 0.2

PARKS = [park_queue(p) for p in PARTNERS]
PARTITION_QUEUES = [partition_queue(n) for n in range(PARTITIONS)]
HUB_QUEUES = [*(ingress_queue(p) for p in PARTNERS), *PARTITION_QUEUES, *PARKS]


class ParkWatch:
    """Samples the park queues on a thread of its own: the most messages waiting at once."""

    def __init__(self, broker_url: str) -> None:
        self.peak = 0
        self._probe = QueueProbe(broker_url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="park-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            counts = self._probe.counts(PARKS)
            if counts is not None:
                self.peak = max(self.peak, sum(messages for messages, _ in counts.values()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._probe.close()


class FaultRun:
    """A hub of ``workers`` processes on the run's vhost and database, under a steady load."""

    def __init__(
        self, scenario: str, broker_url: str, database_url: str, tmp_path: Path, workers: int = 1
    ) -> None:
        need("rabbitmqctl")  # its queue listing counts unacknowledged messages too
        self.scenario = scenario
        self.broker_url = broker_url
        self.vhost = vhost_of(broker_url)
        self.database_url = database_url
        self._tmp = tmp_path
        self._workers = workers
        self._env = hub_environment(broker_url, database_url)
        self.hubs = Hubs(self._env, tmp_path)
        self.planned = plan(DOSSIERS, PORTAL_FILINGS)
        self.load = Generator(broker_url, self.planned, RATE)
        self._probe = QueueProbe(broker_url)
        self._watch: ParkWatch | None = None
        self._recoveries: list[float] = []
        self._last_heal = 0.0
        self.left: dict[str, str] = {}  # the hub's queues not drained at the end

    # -- setting up ---------------------------------------------------------------------------
    def __enter__(self) -> FaultRun:
        apply_topology(self._env)
        for _ in range(self._workers):
            self.hubs.start()
        self.wait_workers(self._workers)
        self._watch = ParkWatch(self.broker_url)
        self.load.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.load.join(0)
        if self._watch is not None:
            self._watch.stop()
        self._probe.close()
        self.hubs.close()

    def wait_workers(self, count: int) -> None:
        """Until ``count`` workers have registered on ``hub.workers``."""

        def registered() -> bool:
            counts = self._probe.counts([WORKERS_QUEUE])
            return counts is not None and counts[WORKERS_QUEUE][1] == count

        wait_until(registered, START_SECONDS, f"{count} workers registered")

    # -- during the load ----------------------------------------------------------------------
    def reach(self, fraction: float) -> None:
        """Until ``fraction`` of the load was confirmed."""
        wanted = int(fraction * len(self.planned))
        assert self.load.wait_confirmed(wanted, LOAD_SECONDS), f"the load stalled before {wanted} messages"

    @contextmanager
    def fault(self) -> Iterator[None]:
        """The body injects a fault and returns once it healed (the worker restarted, the server
        answering again). Then measure the seconds until every partition has an active consumer
        and the ledger grew past what it held before the fault: the hub works again everywhere. A
        hub that does not within ``RECOVER_SECONDS`` is reported by the figures, after the run."""
        before = wait_for(lambda: ledger_count(self.database_url), RECOVER_SECONDS, "the ledger answering")
        yield
        healed = time.monotonic()
        self._last_heal = max(self._last_heal, healed)
        self._recoveries.append(self._recovery(healed, before))

    def _recovery(self, healed: float, before: int) -> float:
        def working() -> bool:
            counts = self._probe.counts(PARTITION_QUEUES)  # a passive declare counts active consumers
            grown = (ledger_count(self.database_url) or 0) > before
            return grown and counts is not None and all(consumers for _, consumers in counts.values())

        try:
            return wait_until(working, RECOVER_SECONDS, "the hub working again") - healed
        except TimeoutError:
            return math.inf

    # -- after the load -----------------------------------------------------------------------
    def finish(self) -> Figures:
        """Wait until everything settled, account for every message, record the figures."""
        assert self.load.join(LOAD_SECONDS), f"the load did not finish: {self.load.error!r}"
        settling = max(time.monotonic(), self._last_heal)
        confirmed = {i for i, results in self.load.results().items() if "ok" in results}
        published = {(p.partner, p.message_id) for p in self.planned if p.message_id in confirmed}
        deadline = time.monotonic() + SETTLE_SECONDS
        wait_settled(self.database_url, published, SETTLE_SECONDS)
        self.left = self._wait_drained(deadline)
        drained = time.monotonic()
        assert self._watch is not None
        self._watch.stop()
        alive = all(hub.alive for hub in self.hubs.kept())
        observed = observe(self.broker_url, self.database_url, self.planned)
        stuck = sum(int(counts.split()[0]) for queue, counts in self.left.items() if queue in HUB_QUEUES)
        timings = Timings(self._watch.peak, max(self._recoveries, default=0.0), drained - settling, stuck)
        found = judge(
            self.scenario,
            planned=self.planned,
            attempts=self.load.results(),
            observed=observed,
            timings=timings,
            hubs_alive=alive,
        )
        figures.record(found, self._tmp)
        return found

    def _wait_drained(self, deadline: float) -> dict[str, str]:
        """Until the hub's queues hold nothing, not even unacknowledged deliveries (a late
        redelivery could still add a duplicate row); what they still hold at ``deadline``."""
        left: dict[str, str] = {}

        def empty() -> bool:
            left.clear()
            left.update(_hub_queues_left(self.vhost))
            return not left

        with contextlib.suppress(TimeoutError):  # what is left shows in the figures and the failure
            wait_until(empty, max(1.0, deadline - time.monotonic()), "the hub's queues drained")
        return left


def _hub_queues_left(vhost: str) -> dict[str, str]:
    """The hub's queues that hold messages: name -> "messages ready unacked consumers"."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers",
         "name", "messages", "messages_ready", "messages_unacknowledged", "consumers"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if listing.returncode != 0:
        return {"rabbitmqctl": listing.stderr.strip()[:200]}
    rows = [line.split("\t") for line in listing.stdout.splitlines()]
    return {row[0]: " ".join(row[1:]) for row in rows if row[0] in HUB_QUEUES and row[1] != "0"}
