"""The demo: the whole hub in one process, carrying a scripted day of the partners' traffic round by
round, on the embedded broker and a SQLite file, or on RabbitMQ; then checking that every message is
accounted for.

A round publishes what the script's partners send, waits until the hub settled it, and takes what
the hub put on the egress and dead-letter queues; the script reads the egress to write the next
round (the post answers the hub's orders, the one-stop-shop system answers the post), until it has
nothing more to send.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import SecretStr
from sqlalchemy import func, select

from hub import app
from hub.bus import memory
from hub.bus.topology import EVENTS_LOG, dead_letter_queue, egress_queue, ingress_queue
from hub.bus.urls import DEFAULT_USER, parse_broker_url
from hub.envelope import HEADER_REASON, Delivery, Outbound
from hub.errors import FatalError
from hub.outcomes import Disposition
from hub.settings import Settings
from hub.store.ledger import Tally, message_log
from hub.worker import Worker

SETTLE_TIMEOUT_SECONDS = 120.0  # per round
MAX_ROUNDS = 12
TAKE_LIMIT = 1_000_000
# RabbitMQ reports a stream's length with its statistics, every 5 s by default: wait that long or so.
STREAM_COUNT_WAIT_SECONDS = 15.0
STREAM_COUNT_POLL_SECONDS = 0.25
FLAGS_PREFIX = "flags: "  # how the ledger's detail lists an accepted input's flags

Verdict = tuple[str, str, str | None]  # (partner, outcome, reason): what became of one input
K = TypeVar("K")


@dataclass
class Expected:
    """What a script expects the hub to make of everything it published."""

    outcomes: Counter[Verdict] = field(default_factory=Counter)
    flags: Counter[tuple[str, str]] = field(default_factory=Counter)  # (partner, flag)


class Script(Protocol):
    """The partners' side of the demo."""

    @property
    def expected(self) -> Expected: ...

    def next_round(self, delivered: Mapping[str, Sequence[Delivery]]) -> Sequence[Outbound]:
        """What the partners publish next, having read ``delivered`` (partner -> what the hub put on
        its egress queue during the last round; empty before the first). Nothing: the day is over."""
        ...


class Carrier(Protocol):
    """How the partners' messages reach the hub and its egress reaches them."""

    def send(self, hub: app.Hub, messages: Sequence[Outbound]) -> None:
        """Bring ``messages`` to the hub, each confirmed by the broker when this returns."""
        ...

    def deliver(self, hub: app.Hub) -> dict[str, list[Delivery]]:
        """Deliver the egress of the partners it serves itself; what was on it, by partner (the
        other partners' egress the demo takes off the queues)."""
        ...

    def problems(self) -> list[str]:
        """Where what those partners received does not match their egress."""
        ...


class OverAmqp:
    """Every partner publishes to its ingress and reads its egress queue."""

    def send(self, hub: app.Hub, messages: Sequence[Outbound]) -> None:
        hub.transport.publish_confirmed(messages)

    def deliver(self, hub: app.Hub) -> dict[str, list[Delivery]]:
        return {}

    def problems(self) -> list[str]:
        return []


class DemoRefused(FatalError):
    """The broker holds messages the demo did not publish; it would count them, and never purges."""


@dataclass(frozen=True)
class Round:
    published: Counter[str]  # partner -> messages it published
    settled: bool  # the hub settled everything published so far in time
    taken: dict[str, int]  # queue -> messages the hub put there (egress and dead-letter queues)


@dataclass(frozen=True)
class DemoReport:
    on_rabbitmq: bool
    rounds: list[Round]
    finished: bool  # the script had nothing more to send within MAX_ROUNDS
    settled: int
    tallies: list[Tally]
    flags: Counter[tuple[str, str]]  # (partner, flag) -> accepted inputs carrying it
    events_logged: int
    delivered: dict[str, list[Delivery]]  # partner -> what the hub put on its egress queue
    dead: dict[str, list[Delivery]]  # partner -> what the hub put on its dead-letter queue
    expected: Expected
    carrier_problems: list[str] = field(default_factory=list)

    @property
    def published(self) -> int:
        return sum(r.published.total() for r in self.rounds)

    def _count(self, outcome: str) -> int:
        return sum(t.messages for t in self.tallies if t.outcome == outcome)

    @property
    def forwarded(self) -> int:
        return self._count(Disposition.FORWARDED)

    @property
    def duplicates(self) -> int:
        return self._count(Disposition.DUPLICATE)

    @property
    def dead_lettered(self) -> int:
        return self._count(Disposition.DEAD_LETTERED)

    @property
    def outputs(self) -> int:
        return sum(t.outputs for t in self.tallies)

    @property
    def egress_depths(self) -> dict[str, int]:
        """How many messages each output queue received: the event log and every egress."""
        delivered = {egress_queue(partner): len(taken) for partner, taken in self.delivered.items()}
        return {EVENTS_LOG: self.events_logged, **delivered}

    @property
    def dead_letters(self) -> Counter[tuple[str, str]]:
        """(partner, reason) -> dead letters on the partner's dead-letter queue."""
        return Counter(
            (partner, str(d.properties.headers.get(HEADER_REASON, "?")))
            for partner, letters in self.dead.items()
            for d in letters
        )

    @property
    def outcomes(self) -> Counter[Verdict]:
        """What the ledger says became of the inputs; a reason only for a dead letter."""
        verdicts: Counter[Verdict] = Counter()
        for t in self.tallies:
            reason = t.reason if t.outcome == Disposition.DEAD_LETTERED else None
            verdicts[(t.partner, t.outcome, reason)] += t.messages
        return verdicts

    def problems(self) -> list[str]:
        """Where the figures do not add up; none when every message is accounted for."""
        published, rows = self.published, sum(t.messages for t in self.tallies)
        held = sum(self.egress_depths.values())
        checks = {
            "nothing was published: a day of no messages proves nothing": published > 0,
            f"the day did not end within {MAX_ROUNDS} rounds": self.finished
            or not all(r.settled for r in self.rounds),
            f"the hub settled {self.settled} of {published} messages in time": self.settled == published,
            f"the ledger has {rows} rows for {published} published messages": rows == published,
            f"the egress queues and the event log hold {held} messages, the ledger counts "
            f"{self.outputs} outputs": held == self.outputs,
        }
        in_ledger = Counter(
            {(p, str(r)): n for (p, o, r), n in self.outcomes.items() if o == Disposition.DEAD_LETTERED}
        )
        return [
            *(problem for problem, holds in checks.items() if not holds),
            *self.carrier_problems,
            *(
                f"{partner} {reason}: {want} dead letters in the ledger, {got} on the queue"
                for (partner, reason), (want, got) in _differences(in_ledger, self.dead_letters).items()
            ),
            *(
                f"{' '.join(filter(None, verdict))}: expected {want}, the ledger has {got}"
                for verdict, (want, got) in _differences(self.expected.outcomes, self.outcomes).items()
            ),
        ]

    @property
    def accounted_for(self) -> bool:
        """Every published message was forwarded, deduplicated or dead-lettered with the reason the
        script expected, and every output and dead letter is on its queue."""
        return not self.problems()


def _differences(want: Counter[K], got: Counter[K]) -> dict[K, tuple[int, int]]:
    return {
        key: (want[key], got[key])
        for key in sorted(want.keys() | got.keys(), key=str)
        if want[key] != got[key]
    }


def run_demo(
    settings: Settings,
    script: Script,
    database: Path,
    broker: str | None = None,
    carrier: Carrier | None = None,
) -> DemoReport:
    """Play ``script`` through the hub on RabbitMQ at ``broker`` (None: the embedded broker), with
    its ledger in the SQLite file ``database`` (recreated), the partners' traffic carried by
    ``carrier`` (by default all on AMQP); the egress and dead-letter queues must be empty before."""
    carrier = carrier or OverAmqp()
    database.unlink(missing_ok=True)
    embedded = f"demo-{uuid.uuid4().hex}"
    hub = app.build(_demo_settings(settings, database, broker), embedded=embedded)
    try:
        hub.transport.apply_topology(hub.topology)
        _require_empty(hub)
        events_before = hub.transport.depth(EVENTS_LOG)
        with _working(hub) as worker:
            play = _play(hub, worker, script, carrier)
        tallies = hub.ledger.tally()
        egress = sum(len(taken) for taken in play.delivered.values())
        expected_events = sum(t.outputs for t in tallies) - egress
        return DemoReport(
            on_rabbitmq=broker is not None,
            rounds=play.rounds,
            finished=play.finished,
            settled=worker.settled,
            tallies=tallies,
            flags=_flags(hub),
            events_logged=_events_logged(hub, events_before, expected_events, stream=broker is not None),
            delivered=play.delivered,
            dead=play.dead,
            expected=script.expected,
            carrier_problems=carrier.problems(),
        )
    finally:
        memory.forget_broker(embedded)


def broker_user(broker: str | None) -> str:
    """The user the partners publish as: the broker URL's (RabbitMQ refuses any other user_id)."""
    return parse_broker_url(broker).user if broker else DEFAULT_USER


def broker_label(broker: str | None) -> str:
    """The broker, without credentials."""
    if broker is None:
        return "the embedded broker"
    address = parse_broker_url(broker)
    return f"RabbitMQ at {','.join(str(host) for host in address.hosts)}, vhost {address.vhost}"


def _demo_settings(settings: Settings, database: Path, broker: str | None) -> Settings:
    """The fake partners publish as the broker's user, which every ingress accepts for the demo.

    The day plays in seconds and each round answers what the last one delivered, so no message of
    the day overtakes one it needs: a message that waits (its dossier never filed, say) would only
    wait for the end of its window. The window is 0, so it gets the dead letter it would get then.
    """
    return settings.model_copy(
        update={
            "broker_url": None if broker is None else SecretStr(broker),
            "database_url": SecretStr(f"sqlite:///{database}"),
            "ingress_users": {},
            "default_ingress_users": [broker_user(broker)],
            "park_window_seconds": 0,
        }
    )


def _require_empty(hub: app.Hub) -> None:
    queues = [make(p) for p in hub.connectors for make in (ingress_queue, egress_queue, dead_letter_queue)]
    waiting = {queue: depth for queue in queues if (depth := hub.transport.depth(queue))}
    if waiting:
        listed = ", ".join(f"{queue}: {depth}" for queue, depth in waiting.items())
        raise DemoRefused(
            f"the hub's queues are not empty ({listed}); the demo would count those messages and "
            "never purges a broker: run it on an empty vhost"
        )


@contextmanager
def _working(hub: app.Hub) -> Iterator[Worker]:
    """The hub's worker on its own thread, as `hub run` would run it; stopped on exit."""
    worker = hub.worker()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="hub-worker")
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join()


@dataclass
class _Play:
    delivered: dict[str, list[Delivery]]
    dead: dict[str, list[Delivery]]
    rounds: list[Round] = field(default_factory=list)
    finished: bool = False


def _play(hub: app.Hub, worker: Worker, script: Script, carrier: Carrier) -> _Play:
    """Round after round until the script has nothing more to send, a round does not settle in time
    or MAX_ROUNDS were played."""
    play = _Play({p: [] for p in hub.connectors}, {p: [] for p in hub.connectors})
    published = 0
    answered: dict[str, list[Delivery]] = {}
    for _ in range(MAX_ROUNDS):
        messages = script.next_round(answered)
        if not messages:
            play.finished = True
            break
        carrier.send(hub, messages)
        published += len(messages)
        settled = worker.wait_settled(published, SETTLE_TIMEOUT_SECONDS)
        carried = carrier.deliver(hub)
        answered = {
            p: _by_dossier(carried[p] if p in carried else _take(hub, egress_queue(p), p))
            for p in hub.connectors
        }
        dead = {p: _take(hub, dead_letter_queue(p), p) for p in hub.connectors}
        for partner in hub.connectors:
            play.delivered[partner] += answered[partner]
            play.dead[partner] += dead[partner]
        taken = {egress_queue(p): len(d) for p, d in answered.items()}
        taken |= {dead_letter_queue(p): len(d) for p, d in dead.items()}
        play.rounds.append(
            Round(Counter(m.exchange.removeprefix("ingress.") for m in messages), settled, taken)
        )
        if not settled:
            break
    return play


def _by_dossier(deliveries: list[Delivery]) -> list[Delivery]:
    """Grouped by dossier, each dossier's in the order the hub delivered them. The hub keeps a dossier's
    order, not the order between dossiers (that depends on timing), and the fake partners answer in
    the order they read: so the day is the same from run to run."""
    return sorted(deliveries, key=lambda delivery: delivery.properties.correlation_id or "")


def _take(hub: app.Hub, queue: str, partner: str) -> list[Delivery]:
    return hub.transport.take(queue, limit=TAKE_LIMIT, partner=partner)


def _flags(hub: app.Hub) -> Counter[tuple[str, str]]:
    """(partner, flag) -> accepted inputs carrying it, read off the ledger's details."""
    detail = message_log.c.detail
    query = (
        select(message_log.c.partner, detail, func.count())
        .where(detail.like(f"{FLAGS_PREFIX}%"))
        .group_by(message_log.c.partner, detail)
    )
    flags: Counter[tuple[str, str]] = Counter()
    with hub.ledger.engine.connect() as connection:
        for partner, listed, count in connection.execute(query):
            for flag in str(listed).removeprefix(FLAGS_PREFIX).split(", "):
                flags[(partner, flag)] += count
    return flags


def _events_logged(hub: app.Hub, before: int, expected: int, stream: bool) -> int:
    """How many canonical events this run added to the event log. On RabbitMQ the log is a stream,
    whose length the broker reports only with its statistics: wait, within a bound, until it shows
    the ``expected`` count; what it shows then is the answer."""
    deadline = time.monotonic() + (STREAM_COUNT_WAIT_SECONDS if stream else 0.0)
    while True:
        logged = hub.transport.depth(EVENTS_LOG) - before
        if logged >= expected or time.monotonic() >= deadline:
            return logged
        time.sleep(STREAM_COUNT_POLL_SECONDS)
