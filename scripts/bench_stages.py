"""Benchmark: what one input costs the hub, stage by stage, next to what it costs the worker (issue 12).

For each store (SQLite, then PostgreSQL) the script makes N valid portal ``dossier.submitted``
inputs (flow 1, the same messages as ``scripts/bench_relay.py``) and runs two phases, each on a
fresh store and a fresh RabbitMQ vhost:

1. end to end: the hub's in-process ``Worker`` relays the N inputs, preloaded into
   ``ingress.portal``, to ``egress.onestop`` (as ``bench_relay.py`` does). Its wall time per input,
   from its first commit on (connecting and claiming partitions are no input's cost), is the figure
   the stages should add up to.
2. stages: the same objects the worker is wired with (``hub.app.build`` and ``Hub.worker``'s
   wiring), called in the worker's order on the same N inputs: ``Pipeline.process`` on each input,
   then its outputs published with pipelined confirms on the hub's own session, then, once a
   commit batch is confirmed, ``AuditEntries.of`` and ``UnitOfWork.record``. Each stage's functions are
   wrapped with a stopwatch from outside (``unittest.mock.patch``, wrapped loaders); no hub code
   changes. A stage's time excludes the stages timed inside it (the dossier load inside the
   translation, the sealing inside the commit).

The stages:

- envelope checks: ``hub.checks``' size, properties, user, contract version and kind checks;
- parse and validate: ``hub.checks.validate_body`` (JSON parse and the pydantic model);
- translate: the rest of ``Pipeline.process``: the connector's mapping and its subscribers', the
  egress outputs serialised, the ledger row built (body SHA-256);
- egress signing: the Ed25519 signature headers of each egress message (``sign_egress``, on by
  default), which the translation makes (not a stage the issue named: it is timed apart);
- Avro encode: ``Registry.encode`` of the canonical events;
- publish: ``Session.publish`` of the outputs (the hub's pika session, pipelined confirms), and the
  CPU the thread spends until their confirms are in (sending, reading the confirms). The wall time
  of that wait is printed apart and not counted: the worker spends it on the next inputs;
- duplicate look-up: the ledger's read of the forwarded ``message_id``s, one query for the inputs
  that arrived together (``Ledger.forwarded_bodies``, as the worker's prefetch does);
- dossier load: the dossier store's read, one query per batch (``DossierStore.load_many``), through
  the worker's book;
- event keys: the dossiers' data keys, read or created in one transaction per batch
  (``Pipeline.prefetch``), which seal the canonical events' personal fields;
- audit building: ``AuditEntries.of`` (payloads split into clear and personal parts);
- sealing and hashing: AES-GCM sealing of the audit's personal parts, the events' personal fields
  and recipients, new dossier keys wrapped, citizen pseudonyms, the chain's row hashes;
- commit: the rest of ``UnitOfWork.record``: the transaction writing ledger rows, dossiers, keys and
  audit entries.

The stage run commits in batches of the mean size the worker's own commits had in the end-to-end
phase (counted around its ``UnitOfWork.record``): a commit's cost per input depends on the batch.
"The rest" is the end-to-end time minus the stages: consuming and acknowledging the inputs (pika),
routing each input to its partition (a second publish and confirm, a second consume and ack),
the worker's bookkeeping, metrics and logs, and the I/O loop's ticks.

    python -m scripts.bench_stages [--count 5000] [--stores sqlite,postgresql]
        [--broker amqp://guest:guest@127.0.0.1:5672] [--postgres postgresql://127.0.0.1:5432/test]

Run it from the checkout's root (``-m``: it imports ``scripts.bench_relay``). It prints the figures
and exits non-zero only on errors (broker, store, a wrong count), never because of a figure.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import logging
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from unittest import mock
from urllib.parse import unquote, urlsplit

import psycopg
from pydantic import SecretStr

import connectors
from connectors.portal.fake import PARTNER
from hub import checks, event_seal
from hub.agencies import AgencyRegistry
from hub.app import Hub, audit_entries, build
from hub.audit import chain
from hub.audit.entries import AuditEntry
from hub.bus.session import Consumers
from hub.bus.topology import dead_letter_queue, egress_queue, ingress_queue
from hub.connector import Context
from hub.crypto import MasterKeyring, Pseudonymizer
from hub.dossiers.book import DossierBook
from hub.envelope import Delivery, Outbound
from hub.outcomes import Outcome
from hub.partitions import Router
from hub.pipeline import Pipeline
from hub.seen import SeenMessages
from hub.settings import AgencySettings, Settings
from hub.signatures import Signer
from hub.store import dossiers
from hub.store.keys import CachedKeys, DataKeys
from scripts.bench_relay import (
    BENCH_UNIT,
    KIND,
    BenchError,
    check_depths,
    fresh_store,
    fresh_vhost,
    portal_messages,
    preload,
)

P = ParamSpec("P")
R = TypeVar("R")

STAGES = (
    "envelope checks",
    "parse and validate",
    "translate",
    "egress signing",
    "Avro encode",
    "publish",
    "duplicate look-up",
    "dossier load",
    "event keys",
    "audit building",
    "sealing and hashing",
    "commit",
)
ENVELOPE_CHECKS = ("check_size", "check_properties", "check_user", "check_contract_version", "check_kind")
CONFIRM_POLL = 0.001  # seconds between the publish phase's looks at its confirms
CONFIRM_WAIT = "waiting for confirms"  # not a stage: the worker overlaps it with other inputs
SQLITE, POSTGRESQL = "sqlite", "postgresql"


# -- the stopwatch ------------------------------------------------------------------------------
@dataclass(slots=True)
class _Timing:
    stage: str
    started: float
    inner: float = 0.0  # seconds of the stages timed inside this one


class Stopwatch:
    """Seconds spent per stage, each stage's own: time in a stage timed inside it counts there."""

    def __init__(self) -> None:
        self.spent: defaultdict[str, float] = defaultdict(float)
        self._open: list[_Timing] = []

    def start(self, stage: str) -> None:
        self._open.append(_Timing(stage, time.perf_counter()))

    def stop(self) -> None:
        timing = self._open.pop()
        elapsed = time.perf_counter() - timing.started
        self.spent[timing.stage] += elapsed - timing.inner
        if self._open:
            self._open[-1].inner += elapsed

    def timed(self, stage: str, function: Callable[P, R]) -> Callable[P, R]:
        """``function``, its calls counted to ``stage``."""

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            self.start(stage)
            try:
                return function(*args, **kwargs)
            finally:
                self.stop()

        return wrapper

    def add(self, stage: str, seconds: float) -> None:
        self.spent[stage] += seconds

    def reset(self) -> None:
        self.spent.clear()


# -- settings -----------------------------------------------------------------------------------
def settings_for(broker: str, database: str, user: str) -> Settings:
    """The settings of ``bench_relay.py``'s worker, on ``database``."""
    return Settings(
        broker_url=SecretStr(broker),
        database_url=SecretStr(database),
        agencies=[AgencySettings.model_validate(BENCH_UNIT)],
        default_ingress_users=[user],
    )


# -- phase 1: the worker end to end -------------------------------------------------------------
@dataclass(frozen=True)
class WorkerRun:
    startup: float  # seconds from starting the worker until its first commit (connecting, claiming)
    timed: int  # the inputs settled after the first commit
    seconds: float  # from the first commit until the last input was acknowledged
    commits: int  # its ledger transactions: the mean commit batch is inputs / commits

    @property
    def per_input(self) -> float:
        return self.seconds / self.timed


def run_worker(url: str, database: str, user: str, messages: Sequence[Outbound], timeout: float) -> WorkerRun:
    """Preload ``ingress.portal`` at broker ``url``; run the hub's worker (store ``database``) until
    it settled every input."""
    hub = build(settings_for(url, database, user))
    hub.transport.apply_topology(hub.topology)
    first = messages[0]
    preload(url, messages, (first.exchange, first.routing_key), ingress_queue(PARTNER))
    commits = itertools.count()
    record = hub.work.record

    def counted(*args: Any, **kwargs: Any) -> None:
        next(commits)
        record(*args, **kwargs)

    with mock.patch.object(hub.work, "record", counted):
        startup, timed, seconds = _settle_all(hub, len(messages), timeout)
    expected = {
        ingress_queue(PARTNER): 0,
        dead_letter_queue(PARTNER): 0,
        egress_queue("onestop"): len(messages),
    }
    check_depths(url, expected, timeout=10)
    return WorkerRun(startup, timed, seconds, next(commits))


def _settle_all(hub: Hub, count: int, timeout: float) -> tuple[float, int, float]:
    """Start ``hub``'s worker in a thread until it acknowledged ``count`` inputs: the seconds until
    its first commit, then the inputs settled after it and the seconds they took (start-up, the
    first commit included, is no input's cost)."""
    worker, stop = hub.worker(), threading.Event()
    errors: list[BaseException] = []
    thread = threading.Thread(target=_run, args=(worker.run, stop, errors), name="bench-worker", daemon=True)
    started = time.perf_counter()
    thread.start()
    try:
        settled = worker.wait_settled(1, timeout)
        first_commit, first = time.perf_counter(), worker.settled
        settled = settled and worker.wait_settled(count, timeout)
        ended = time.perf_counter()
    finally:
        stop.set()
        thread.join(timeout)
    if errors or not settled or first >= count:
        why = repr(errors[0]) if errors else f"timed out after {timeout:g} s" if not settled else "one commit"
        raise BenchError(f"worker: {why}")
    return first_commit - started, count - first, ended - first_commit


def _run(work: Callable[[threading.Event], None], stop: threading.Event, errors: list[BaseException]) -> None:
    try:
        work(stop)
    except BaseException as error:
        errors.append(error)


# -- phase 2: the stages ------------------------------------------------------------------------
class StageRun:
    """``Hub.worker``'s objects, with stopwatches around each stage's functions, driven in the
    worker's order: process each input, publish its outputs, and per commit batch (once confirmed)
    build the audit entries and record."""

    def __init__(self, hub: Hub, watch: Stopwatch) -> None:
        self.watch = watch
        self._work = hub.work
        dossiers, ledger = hub.work.dossiers, hub.ledger
        self._book = DossierBook(
            watch.timed("dossier load", dossiers.load), watch.timed("dossier load", dossiers.load_many)
        )
        self._seen = SeenMessages(
            watch.timed("duplicate look-up", ledger.forwarded_body),
            watch.timed("duplicate look-up", ledger.forwarded_bodies),
        )
        everyone = {partner: connectors.load(partner) for partner in connectors.partners()}
        self._router = Router({p: c.partition_key for p, c in everyone.items()}, hub.settings.partitions)
        context = Context(
            agencies=AgencyRegistry(hub.settings.agencies),
            dossiers=self._book,
            postal_customer_code=hub.settings.postal_customer_code,
        )
        keys = CachedKeys(hub.work.engine, DataKeys(hub.settings.keyring()))
        self._pipeline = Pipeline(everyone, hub.settings, context, hub.registry, keys=keys, seen=self._seen)
        self._audit = audit_entries(hub.registry)
        self._session = hub.transport.session(Consumers({}), hub.settings.prefetch)
        self._unconfirmed: set[int] = set()
        self._refused: list[int] = []
        self._tokens = itertools.count(1)

    @contextmanager
    def timing(self, hub: Hub) -> Iterator[None]:
        """The stopwatches in place and the session open, for the block."""
        watch = self.watch
        with ExitStack() as stack:
            for owner, name, stage in timed_functions(hub):
                stack.enter_context(mock.patch.object(owner, name, watch.timed(stage, getattr(owner, name))))
            self._session.open(lambda _delivery, _tag: None, self._on_confirm)
            stack.callback(self._session.close)
            yield

    def run(self, deliveries: Sequence[Delivery], batch: int) -> None:
        for start in range(0, len(deliveries), batch):
            self._batch(deliveries[start : start + batch])

    def _batch(self, deliveries: Sequence[Delivery]) -> None:
        self._prefetch(deliveries)
        held = [(next(self._tokens), self._process(delivery)) for delivery in deliveries]
        self._book.forget_prefetched()
        self._seen.forget_prefetched()
        self._publish(held)
        outcomes = [outcome for _, outcome in held]
        self.watch.start("audit building")
        entries: list[AuditEntry] = [e for outcome in outcomes for e in self._audit.of(outcome)]
        self.watch.stop()
        self.watch.start("commit")
        self._work.record([o.record for o in outcomes], [c for o in outcomes for c in o.changes], entries)
        self.watch.stop()
        for token, _ in held:  # committed: the store has them now
            self._book.release(token)
            self._seen.release(token)

    def _prefetch(self, deliveries: Sequence[Delivery]) -> None:
        """As the worker does for the inputs that arrived together: their dossiers and message ids
        in one query each, their dossiers' event keys in one transaction."""
        dossiers = {self._router.key(delivery) for delivery in deliveries}
        self._book.prefetch(dossiers)
        self._seen.prefetch({(d.partner, d.properties.message_id or "") for d in deliveries})
        self.watch.start("event keys")
        self._pipeline.prefetch(dossiers)
        self.watch.stop()

    def _process(self, delivery: Delivery) -> Outcome:
        self.watch.start("translate")  # what the stages timed inside it do not take
        outcome = self._pipeline.process(delivery)
        self.watch.stop()
        if outcome.record.outcome != "forwarded":
            raise BenchError(f"input {delivery.properties.message_id}: {outcome.record.outcome}")
        return outcome

    def _publish(self, held: Sequence[tuple[int, Outcome]]) -> None:
        """As the worker does: publish each input's outputs, hold its changes and message id (later
        inputs see them), then wait for the broker's confirms."""
        session, watch = self._session, self.watch
        for token, outcome in held:
            self._unconfirmed.add(token)
            watch.start("publish")
            session.publish(token, outcome.outputs)
            watch.stop()
            self._book.hold(token, outcome.changes)
            record = outcome.record
            self._seen.hold(token, outcome.delivery.partner, record.message_id or "", record.body_sha256)
        # Waiting is the broker's time, and the worker spends it on the next inputs: only the CPU
        # this thread spends meanwhile (sending the frames, reading the confirms) is the hub's.
        cpu, wall = time.thread_time(), time.perf_counter()
        session.run_until(lambda: not self._unconfirmed or bool(self._refused), lambda: None, CONFIRM_POLL)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        watch.add("publish", cpu)
        watch.add(CONFIRM_WAIT, wall - cpu)
        if self._refused:
            raise BenchError(f"the broker refused or returned the outputs of {len(self._refused)} inputs")

    def _on_confirm(self, token: int, ok: bool) -> None:
        self._unconfirmed.discard(token)
        if not ok:
            self._refused.append(token)


def timed_functions(hub: Hub) -> list[tuple[Any, str, str]]:
    """(owner, name, stage) of each function timed by patching it: the hub looks each up by name at
    every call (a module's function, a class's method, the registry's bound ``encode``)."""
    return [
        *((checks, name, "envelope checks") for name in ENVELOPE_CHECKS),
        (checks, "validate_body", "parse and validate"),
        (Signer, "headers", "egress signing"),  # sign_egress is on by default
        (hub.registry, "encode", "Avro encode"),
        (event_seal, "seal_value", "sealing and hashing"),  # the canonical events' personal fields
        (chain, "seal_json", "sealing and hashing"),  # the audit entries' personal parts
        (chain, "row_hash", "sealing and hashing"),
        (dossiers, "seal_json", "sealing and hashing"),  # the recipient of a new dossier
        (MasterKeyring, "wrap", "sealing and hashing"),  # a new dossier's data key
        (Pseudonymizer, "pseudonym", "sealing and hashing"),  # the citizen ID
    ]


def deliveries_of(messages: Sequence[Outbound]) -> list[Delivery]:
    """The inputs as the worker judges them: taken off ``ingress.portal`` by its router just now."""
    now_ms = int(time.time() * 1000)
    return [
        Delivery(PARTNER, m.exchange, m.routing_key, m.body, m.properties, received_ms=now_ms)
        for m in messages
    ]


def stage_seconds(
    settings: Settings, messages: Sequence[Outbound], warmup: int, batch: int
) -> tuple[dict[str, float], float]:
    """Each stage's seconds over ``messages`` (after ``warmup`` of them, not counted), and the
    stage run's own wall time."""
    hub = build(settings)
    hub.transport.apply_topology(hub.topology)
    watch = Stopwatch()
    run = StageRun(hub, watch)
    inputs = deliveries_of(messages)
    with run.timing(hub):
        run.run(inputs[:warmup], batch)
        watch.reset()
        started = time.perf_counter()
        run.run(inputs[warmup:], batch)
        elapsed = time.perf_counter() - started
    hub.ledger.engine.dispose()
    return dict(watch.spent), elapsed


# -- the table ----------------------------------------------------------------------------------
def print_table(
    title: str, per_stage: dict[str, float], count: int, worker: WorkerRun, stage_wall: float
) -> None:
    """µs per input of each stage, their sum, the rest, and the worker's end-to-end figure."""
    total_us = worker.per_input * 1e6
    print(title)
    print(f"{'stage':<24}  {'µs/input':>8}  {'share':>6}")
    print(f"{'-' * 24}  {'-' * 8}  {'-' * 6}")
    for stage in STAGES:
        _row(stage, per_stage.get(stage, 0.0) / count * 1e6, total_us)
    summed = sum(per_stage.get(stage, 0.0) for stage in STAGES) / count * 1e6
    print(f"{'-' * 24}  {'-' * 8}  {'-' * 6}")
    _row("sum of the stages", summed, total_us)
    _row("the rest", total_us - summed, total_us)
    _row("worker, end to end", total_us, total_us)
    print(
        f"  worker: {1 / worker.per_input:.0f} inputs/s over the {worker.timed} settled after its first"
        f" commit ({worker.startup:.2f} s after its start, not counted)\n"
        f"  stage run: {stage_wall / count * 1e6:.0f} µs/input in all, of which"
        f" {per_stage.get(CONFIRM_WAIT, 0.0) / count * 1e6:.0f} waiting for confirms (not counted)",
        flush=True,
    )


def _row(label: str, micros: float, total: float) -> None:
    print(f"{label:<24}  {micros:>8.1f}  {micros / total:>5.0%}")


# -- the run ------------------------------------------------------------------------------------
def measure(
    kind: str, arguments: argparse.Namespace, messages: Sequence[Outbound], user: str, workdir: Path
) -> None:
    count, warmup = len(messages) - arguments.warmup, arguments.warmup
    base = f"bench-stages-{uuid.uuid4().hex[:8]}"
    with (
        fresh_vhost(arguments.broker, base) as url,
        fresh_store(kind, arguments.postgres, workdir, "bench_stages") as database,
    ):
        worker = run_worker(url, database, user, messages[warmup:], arguments.timeout)
    batch = round(count / worker.commits)  # the stage run commits in the worker's mean batch
    with (
        fresh_vhost(arguments.broker, base + "-s") as url,
        fresh_store(kind, arguments.postgres, workdir, "bench_stages") as database,
    ):
        per_stage, stage_wall = stage_seconds(settings_for(url, database, user), messages, warmup, batch)
    title = f"{'SQLite' if kind == SQLITE else 'PostgreSQL'}: {count} inputs, commit batches of {batch}"
    print_table(title, per_stage, count, worker, stage_wall)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=5000, help="timed inputs per store (default 5000)")
    parser.add_argument(
        "--warmup", type=int, default=200, help="inputs run first in the stage run, not timed"
    )
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672", help="base AMQP URL")
    parser.add_argument(
        "--postgres",
        default="postgresql://127.0.0.1:5432/test",
        help="a database on the server to create fresh ones on",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds the worker gets to settle all")
    arguments = parser.parse_args(argv)
    arguments.stores = [s.strip() for s in arguments.stores.split(",") if s.strip()]
    if not set(arguments.stores) <= {SQLITE, POSTGRESQL} or not arguments.stores:
        parser.error("--stores: sqlite, postgresql or both")
    if arguments.count < 1 or arguments.warmup < 0:
        parser.error("--count must be at least 1, --warmup at least 0")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    logging.getLogger("hub.versions").setLevel(logging.ERROR)  # the bench's inputs use a retiring version
    user = unquote(urlsplit(arguments.broker).username or "guest")
    messages = portal_messages(arguments.count + arguments.warmup, user)
    mean_body = statistics.fmean(len(m.body) for m in messages)
    print(
        f"portal {KIND}, mean body {mean_body:.0f} bytes;"
        f" {platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-stages-") as workdir:
            for kind in arguments.stores:
                measure(kind, arguments, messages, user, Path(workdir))
    except (BenchError, OSError, psycopg.Error) as error:
        print(f"error: {error!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
