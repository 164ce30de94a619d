"""The ledger checker (reliability.md): after a fault healed and the hub drained, account for every
message the load sent, from the ledger (``message_log``) and from every queue.

- Effective ledger row: the final outcome of a message, ``forwarded`` or ``dead_lettered``; rows
  ``duplicate`` (a redelivery, deduplicated) and ``parked`` (it waited) are not.
- Lost: confirmed by the broker, yet no effective row. Each published message needs exactly one.
- Refused: a lawful message dead-lettered ``unknown_dossier`` or ``invalid_transition``; any other
  dead letter of the hub is counted too (the load sends nothing the contract refuses).
- Dead-lettered by the broker itself: a dead letter with ``x-death`` and no ``x-hub-reason``
  (RabbitMQ gave up after its delivery limit).
- Outputs: each forwarded input's outputs (its ledger row counts them) are on egress and on the
  events stream, each id once however often it was published; the partners' share is what the
  plan expects. Repeats are fine when they carry the same message id: counted, not failed.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass

import psycopg

from hub.bus.topology import EVENTS_LOG, dead_letter_queue, egress_queue
from hub.envelope import HEADER_REASON, HEADER_SOURCE_MESSAGE_ID
from tests.faults.broker import Received, read_stream, take_all
from tests.faults.load import Planned, Result

PARTNERS = ("portal", "onestop", "postal")
EFFECTIVE = frozenset({"forwarded", "dead_lettered"})
REFUSING = frozenset({"unknown_dossier", "invalid_transition"})
READ_SECONDS = 30.0
EFFECTIVE_KEYS = "SELECT partner, message_id FROM message_log WHERE outcome IN ('forwarded', 'dead_lettered')"

Key = tuple[str, str]  # (partner, message_id)


@dataclass(frozen=True)
class LedgerRow:
    partner: str
    message_id: str | None
    outcome: str
    reason: str | None
    outputs: int


def ledger_rows(database_url: str) -> list[LedgerRow]:
    with psycopg.connect(database_url, connect_timeout=5) as connection:
        query = "SELECT partner, message_id, outcome, reason, outputs FROM message_log ORDER BY id"
        return [LedgerRow(*row) for row in connection.execute(query)]


def ledger_count(database_url: str) -> int | None:
    """How many rows the ledger holds; None while the store does not answer."""
    try:
        with psycopg.connect(database_url, connect_timeout=1) as connection:
            row = connection.execute("SELECT count(*) FROM message_log").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else 0


def settled_keys(database_url: str) -> set[Key] | None:
    """The messages with an effective ledger row; None while the store does not answer."""
    try:
        with psycopg.connect(database_url, connect_timeout=1) as connection:
            rows = connection.execute(EFFECTIVE_KEYS)
            return {(partner, message_id) for partner, message_id in rows}
    except psycopg.Error:
        return None


@dataclass(frozen=True)
class Observed:
    """Everything the hub left behind: ledger rows, egress, the events stream, dead letters."""

    rows: list[LedgerRow]
    egress: list[Received]
    events: list[Received]
    dead: list[Received]


def observe(broker_url: str, database_url: str, planned: Iterable[Planned]) -> Observed:
    """Read the ledger, then take every egress and dead-letter queue and read the events stream."""
    rows = ledger_rows(database_url)
    egress = [m for p in PARTNERS for m in take_all(broker_url, egress_queue(p), READ_SECONDS)]
    dead = [m for p in PARTNERS for m in take_all(broker_url, dead_letter_queue(p), READ_SECONDS)]
    # The stream has no depth to wait for: the ledger says how many events there are (outputs of
    # forwarded rows beyond the partners' share).
    partner_share = sum(p.egress for p in planned)
    expected = sum(r.outputs for r in rows if r.outcome == "forwarded") - partner_share
    events = read_stream(broker_url, EVENTS_LOG, max(expected, 1), READ_SECONDS)
    return Observed(rows, egress, events, dead)


@dataclass
class Figures:
    """One fault run, accounted for. The first seven are the figures asked for."""

    scenario: str
    published: int  # messages the broker confirmed (each once, whatever its attempts)
    ledger_rows: int
    lost: int
    stuck: int  # messages still on the hub's ingress, partition and park queues at the end
    refused: int
    repeated_egress_ids: int  # egress copies beyond the first of the same message id
    parked_peak: int  # most messages waiting in the park queues at once
    recover_s: float  # from the fault's end to the hub working on every partition again (worst; inf: never)
    drain_s: float  # from the end of the load (or the fault, if later) to everything settled
    attempts_unknown: int  # publishes whose confirm the connection took with it (sent again)
    attempts_failed: int  # publishes refused or not possible (sent again)
    duplicate_rows: int
    effective_duplicates: int  # messages with more than one effective row
    dead_lettered: int  # the hub's dead letters of lawful messages, any reason
    broker_dead_letters: int
    missing_outputs: int
    stray_outputs: int  # outputs with a new id for an input already carried, or of no input sent
    stray_rows: int  # ledger rows of messages never sent
    hubs_alive: bool

    def line(self) -> str:
        return (
            f"{self.scenario:<30} published={self.published:>5} ledger_rows={self.ledger_rows:>5} "
            f"lost={self.lost} refused={self.refused} repeated_egress_ids={self.repeated_egress_ids:>3} "
            f"parked_peak={self.parked_peak:>3} recover_s={self.recover_s:4.1f} "
            f"| drain_s={self.drain_s:4.1f} "
            f"unknown={self.attempts_unknown} duplicates={self.duplicate_rows} stuck={self.stuck} "
            f"broker_dead={self.broker_dead_letters} missing_outputs={self.missing_outputs} "
            f"alive={'yes' if self.hubs_alive else 'NO'}"
        )

    def problems(self) -> list[str]:
        """What breaks the pass criteria; empty when the run is sound."""
        must_be_zero = (
            "lost", "refused", "effective_duplicates", "dead_lettered", "broker_dead_letters",
            "missing_outputs", "stray_outputs", "stray_rows",
        )  # fmt: skip
        found = [f"{name}={getattr(self, name)}" for name in must_be_zero if getattr(self, name)]
        if not self.hubs_alive:
            found.append("a hub process the test did not kill has died")
        if self.recover_s == math.inf:
            found.append("the hub did not work on every partition again within a minute of the fault")
        return found

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Timings:
    """What the run measured besides the ledger and the queues' contents."""

    parked_peak: int
    recover_s: float
    drain_s: float
    stuck: int = 0


def judge(
    scenario: str,
    *,
    planned: list[Planned],
    attempts: Mapping[str, list[Result]],
    observed: Observed,
    timings: Timings,
    hubs_alive: bool,
) -> Figures:
    sent = {p.message_id: p for p in planned if p.message_id in attempts}
    published = {(sent[i].partner, i) for i, results in attempts.items() if "ok" in results}
    effective = Counter((r.partner, r.message_id or "") for r in observed.rows if r.outcome in EFFECTIVE)
    hub_dead = [d for d in observed.dead if d.headers.get(HEADER_REASON) is not None]
    refused_ids = {r.message_id for r in observed.rows if r.reason in REFUSING}
    refused_ids |= {d.message_id for d in hub_dead if d.headers.get(HEADER_REASON) in REFUSING}
    outputs = _outputs(sent, observed)
    all_results = [r for results in attempts.values() for r in results]
    return Figures(
        scenario=scenario,
        published=len(published),
        ledger_rows=len(observed.rows),
        lost=sum(1 for key in published if effective[key] == 0),
        stuck=timings.stuck,
        refused=len(refused_ids & set(sent)),
        repeated_egress_ids=len(observed.egress) - len({m.message_id for m in observed.egress}),
        parked_peak=timings.parked_peak,
        recover_s=round(timings.recover_s, 1),
        drain_s=round(timings.drain_s, 1),
        attempts_unknown=all_results.count("unknown"),
        attempts_failed=all_results.count("fail"),
        duplicate_rows=sum(1 for r in observed.rows if r.outcome == "duplicate"),
        effective_duplicates=sum(1 for count in effective.values() if count > 1),
        dead_lettered=len({d.message_id for d in hub_dead} & set(sent)),
        broker_dead_letters=sum(1 for d in observed.dead if d.headers.get(HEADER_REASON) is None),
        missing_outputs=outputs.missing,
        stray_outputs=outputs.stray,
        stray_rows=sum(1 for r in observed.rows if r.message_id not in sent),
        hubs_alive=hubs_alive,
    )


@dataclass(frozen=True)
class _OutputCount:
    missing: int
    stray: int


def _outputs(sent: Mapping[str, Planned], observed: Observed) -> _OutputCount:
    """Distinct output ids per input, against its forwarded row (all outputs) and the plan (the
    partners' share): a repeat with the same id counts once, one with a new id is stray."""
    egress = _distinct_by_source(observed.egress)
    events = _distinct_by_source(observed.events)
    missing = stray = 0
    forwarded = {r.message_id: r for r in observed.rows if r.outcome == "forwarded"}
    for message_id, row in forwarded.items():
        planned = sent.get(message_id or "")
        partners = planned.egress if planned else 0
        for expected, got in ((partners, len(egress[message_id or ""])),
                              (row.outputs - partners, len(events[message_id or ""]))):  # fmt: skip
            missing += max(0, expected - got)
            stray += max(0, got - expected)
    unknown = set(egress) | set(events)
    stray += sum(len(egress[s]) + len(events[s]) for s in unknown if s not in forwarded)
    return _OutputCount(missing, stray)


def _distinct_by_source(messages: Iterable[Received]) -> defaultdict[str, set[str | None]]:
    by_source: defaultdict[str, set[str | None]] = defaultdict(set)
    for message in messages:
        by_source[str(message.headers.get(HEADER_SOURCE_MESSAGE_ID, ""))].add(message.message_id)
    return by_source


def wait_settled(database_url: str, published: Collection[Key], timeout: float) -> bool:
    """Poll the ledger until every published message has an effective row; false on timeout."""
    deadline = time.monotonic() + timeout
    wanted = set(published)
    while time.monotonic() < deadline:
        settled = settled_keys(database_url)
        if settled is not None and wanted <= settled:
            return True
        time.sleep(0.25)
    return False
