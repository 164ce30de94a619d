"""Benchmark: how fast the hub relays portal messages, against a bare pika relay on the same broker.

Both relays move the same N valid portal ``dossier.submitted`` messages (about 900 bytes each) from
one quorum queue to another, with the same guarantee: an input is acknowledged only after its
output was confirmed by the broker. Only the relaying is timed; the inputs are preloaded first.

- raw pika relay: one SelectConnection consumes the input queue (manual acks, the hub's prefetch), a
  second one publishes each message to the output queue with pipelined publisher confirms, and the
  inputs are acked once their outputs' confirms arrived (a run at once when a confirm covers several,
  as the hub acks in runs). This is close to the least work the guarantee needs in Python, so it is
  the yardstick.
- hub pipeline: the hub's own topology and ``Worker`` (kombu consumer, validation and mapping, pika
  publisher with pipelined confirms, ledger group commit in SQLite, then the ack), from
  ``ingress.portal`` to ``egress.onestop``.

- hub pipeline, N worker processes (``--workers``, default ``1,2``; 1 is the in-process ``Worker``
  above): the way the hub scales, N ``python -m hub run`` processes sharing the partition queues
  (one routes ``hub.ingress.portal``, each judges its share of ``hub.partition.*``), each with its
  own SQLite ledger (SQLite files are not shared across processes; every message here is a new
  dossier, so no worker needs another's rows).
  Each N runs in a vhost of its own with the hub's topology, preloaded like the in-process phase.
  The processes are launched only after the preload (running, they would consume during it). The
  clock starts once ``hub.workers`` shows N consumers and N workers hold partitions (``rabbitmqctl
  list_consumers``), so the processes' start-up (imports, connecting) is not timed; whatever they
  relayed before then is read from the depth of ``egress.onestop`` at that moment and left out of
  the count the rate is computed on. The clock stops when ``egress.onestop`` holds every output and
  ``hub.ingress.portal`` holds no ready input; each process then gets SIGTERM and must exit 0 within
  20 s, after which ``hub.ingress.portal`` must still be empty (no input left unacknowledged and
  requeued), the dead-letter queue empty and ``egress.onestop`` hold exactly one output per input.
  The in-process phase, by contrast, times its worker's connecting too, a fraction of a second.

The raw relay and the in-process hub run in a fresh vhost on the local RabbitMQ (created with
``rabbitmqctl``), each N >= 2 in one more; all are deleted at the end, also on failure. The script
prints every rate and its ratio to the raw relay's; it exits non-zero only on errors, never because
a ratio is low.

The in-process hub's store is a SQLite file, or with ``--store postgresql`` a fresh database on the
``--postgres`` server, dropped at the end (the worker processes keep a SQLite file each).

    python -m scripts.bench_relay [--count 20000] [--workers 1,2] [--timeout 300]
                                   [--store sqlite|postgresql] [--postgres URL]
                                   [--broker amqp://guest:guest@127.0.0.1:5672]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pika
import psycopg
from pika.adapters.select_connection import IOLoop, SelectConnection
from pydantic import SecretStr

from connectors.portal.fake import PARTNER, FakePortal
from hub.app import build, topology
from hub.bus.pika_session import pika_properties
from hub.bus.topology import (
    DELIVERY_LIMIT,
    QUORUM,
    WORKERS_QUEUE,
    dead_letter_queue,
    egress_queue,
    ingress_queue,
)
from hub.bus.transport import Transport
from hub.envelope import Outbound
from hub.settings import AgencySettings, Settings
from hub.worker import Worker
from scripts.bench_shaped import run_shaped

AGENCY = "000.00.30.H30"
BENCH_UNIT = {  # one unit that owns the work, with the counter's contact a postal order needs
    "code": AGENCY,
    "name": "bench",
    "address": "Số 1 đường Trần Hưng Đạo",
    "phone": "0293387001",
    "province": "Thành phố Cần Thơ",
    "commune": "Phường Vị Thanh",
}
KIND = "dossier.submitted"
TARGET_RATIO = 0.35  # issue 12, flow 1 on SQLite (0.30 on PostgreSQL)
PREFETCH = Settings.model_fields["prefetch"].default
RAW_SOURCE = "bench.raw.in"
RAW_TARGET = "bench.raw.out"
DEPTH_POLL = 0.05
CLOSE_GRACE = 5.0
ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 20.0  # seconds the worker processes get to exit after SIGTERM
LOG_TAIL = 600  # characters of a failed worker process's stderr quoted in the error
SQLITE, POSTGRESQL = "sqlite", "postgresql"
STORES = (SQLITE, POSTGRESQL)
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


class BenchError(Exception):
    """The benchmark could not produce a figure (broker, timeout, or a wrong message count)."""


# -- the vhost ----------------------------------------------------------------------------------
def _rabbitmqctl(*arguments: str) -> None:
    try:
        subprocess.run(["rabbitmqctl", *arguments], check=True, capture_output=True, text=True, timeout=60)
    except subprocess.CalledProcessError as error:
        raise BenchError(f"rabbitmqctl {' '.join(arguments)}: {error.stderr.strip()}") from error


def create_vhost(base_url: str, name: str) -> str:
    """Create vhost ``name`` with full rights for the URL's user; return the URL into it."""
    parts = urlsplit(base_url)
    user = unquote(parts.username or "guest")
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    return urlunsplit(parts._replace(path="/" + quote(name, safe="")))


def delete_vhost(name: str) -> None:
    try:
        _rabbitmqctl("delete_vhost", name)
    except (BenchError, subprocess.TimeoutExpired) as error:
        print(f"warning: could not delete vhost {name!r}: {error}", file=sys.stderr)


@contextmanager
def fresh_vhost(base_url: str, name: str) -> Iterator[str]:
    """A new vhost ``name`` for the block, deleted after it whatever happens; yields its URL."""
    try:
        yield create_vhost(base_url, name)
    finally:
        delete_vhost(name)


# -- messages and queues ------------------------------------------------------------------------
def portal_messages(count: int, user: str) -> list[Outbound]:
    """Valid, reproducible portal messages: all by post, every third also asking for collection."""
    portal = FakePortal(seed=2026, user=user)
    return [
        portal.message(KIND, portal.dossier_submitted(AGENCY, by_post=True, collect=i % 3 == 0))
        for i in range(count)
    ]


def wait_depth(channel: Any, queue: str, expected: int, timeout: float) -> None:
    """Wait until ``queue`` holds exactly ``expected`` ready messages."""
    deadline = time.monotonic() + timeout
    while True:
        depth = int(channel.queue_declare(queue, passive=True).method.message_count)
        if depth == expected:
            return
        if time.monotonic() >= deadline:
            raise BenchError(f"queue {queue!r} holds {depth} messages, expected {expected}")
        time.sleep(DEPTH_POLL)


def check_depths(url: str, expected: dict[str, int], timeout: float) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for queue, count in expected.items():
            wait_depth(channel, queue, count, timeout)
    finally:
        connection.close()


def preload(url: str, messages: Sequence[Outbound], route: tuple[str, str] | None, queue: str) -> float:
    """Publish ``messages`` (to ``route`` = exchange, key; else straight to ``queue``); wait until
    ``queue`` holds them all. Returns the seconds it took."""
    started = time.perf_counter()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for message in messages:
            exchange, key = route or ("", queue)
            channel.basic_publish(exchange, key, message.body, pika_properties(message))
        wait_depth(channel, queue, len(messages), timeout=60)
    finally:
        connection.close()
    return time.perf_counter() - started


def declare_raw_queues(url: str) -> None:
    """The raw relay's queues, of the same types as the hub's ingress and egress queues."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.queue_declare(
            RAW_SOURCE, durable=True, arguments={**QUORUM, "x-delivery-limit": DELIVERY_LIMIT}
        )
        channel.queue_declare(RAW_TARGET, durable=True, arguments=dict(QUORUM))
    finally:
        connection.close()


def delete_raw_queues(url: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.queue_delete(RAW_SOURCE)
        channel.queue_delete(RAW_TARGET)
    finally:
        connection.close()


# -- stores -------------------------------------------------------------------------------------
def add_store_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """``--store sqlite|postgresql`` and ``--postgres`` (the server a fresh database is made on)."""
    parser.add_argument("--store", choices=STORES, default=SQLITE, help=f"{what} (default {SQLITE})")
    parser.add_argument(
        "--postgres",
        default=POSTGRES_SERVER,
        help=f"PostgreSQL server for --store {POSTGRESQL}: a fresh database is created on it and dropped "
        f"at the end (default {POSTGRES_SERVER})",
    )


@contextmanager
def fresh_store(kind: str, postgres: str, workdir: Path, prefix: str) -> Iterator[str]:
    """The URL of an empty store of ``kind``: a SQLite file in ``workdir``, or a new PostgreSQL
    database ``<prefix>_<random>`` on ``postgres``'s server, dropped afterwards whatever happens."""
    if kind == SQLITE:
        yield f"sqlite:///{workdir / f'ledger-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(postgres)._replace(path=f"/{name}").geturl()
    finally:
        try:
            with psycopg.connect(postgres, autocommit=True, connect_timeout=10) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        except psycopg.Error as error:
            print(f"warning: could not drop database {name!r}: {error}", file=sys.stderr)


# -- the raw relay ------------------------------------------------------------------------------
class RawRelay:
    """Relays ``count`` messages ``source`` -> ``target`` on two SelectConnections sharing one loop."""

    def __init__(self, url: str, source: str, target: str, count: int, prefetch: int) -> None:
        self._parameters = pika.URLParameters(url)
        self._source, self._target, self._count, self._prefetch = source, target, count, prefetch
        self._ioloop = IOLoop()
        self._connections: list[Any] = []
        self._ended_connections = 0
        self._consume_channel: Any = None
        self._publish_channel: Any = None
        self._qos_ready = self._confirms_ready = False
        self._unconfirmed: OrderedDict[int, int] = OrderedDict()  # publish seq -> input delivery tag
        self._published = self._acked = 0
        self._started = 0.0
        self._elapsed: float | None = None
        self._closing = False
        self._error: str | None = None

    def run(self, timeout: float) -> float:
        """Relay everything; return the seconds from connecting until the last input was acked."""
        self._started = time.perf_counter()
        for on_open in (self._on_consumer_open, self._on_publisher_open):
            connection = SelectConnection(
                self._parameters,
                on_open_callback=on_open,
                on_open_error_callback=self._on_open_error,
                on_close_callback=self._on_connection_closed,
                custom_ioloop=self._ioloop,
            )
            self._connections.append(connection)
        self._ioloop.call_later(timeout, lambda: self._finish(f"timed out after {timeout:g} s"))
        self._ioloop.start()
        if self._error is not None or self._elapsed is None:
            raise BenchError(f"raw relay: {self._error or 'stopped early'} ({self._acked} acked)")
        return self._elapsed

    # connecting
    def _on_consumer_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_consume_channel)

    def _on_consume_channel(self, channel: Any) -> None:
        self._consume_channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.basic_qos(prefetch_count=self._prefetch, callback=self._on_qos)

    def _on_qos(self, _frame: Any) -> None:
        self._qos_ready = True
        self._maybe_consume()

    def _on_publisher_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_publish_channel)

    def _on_publish_channel(self, channel: Any) -> None:
        self._publish_channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_mode)

    def _on_confirm_mode(self, _frame: Any) -> None:
        self._confirms_ready = True
        self._maybe_consume()

    def _maybe_consume(self) -> None:
        if self._qos_ready and self._confirms_ready:
            self._consume_channel.basic_consume(self._source, self._on_message, auto_ack=False)

    # relaying
    def _on_message(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if self._closing:
            return
        self._publish_channel.basic_publish("", self._target, body, properties, mandatory=True)
        self._published += 1
        self._unconfirmed[self._published] = method.delivery_tag

    def _on_confirm(self, frame: Any) -> None:
        """Ack the inputs whose outputs the broker confirmed: a run of them at once when it can."""
        method = frame.method
        if self._closing:
            return
        if not isinstance(method, pika.spec.Basic.Ack):
            self._finish(f"the broker nacked publish {method.delivery_tag}")
            return
        if method.multiple:
            # Every publish up to this tag is confirmed, so every input up to its input is done.
            last_input, done = 0, 0
            while self._unconfirmed and next(iter(self._unconfirmed)) <= method.delivery_tag:
                last_input = self._unconfirmed.popitem(last=False)[1]
                done += 1
            if done:
                self._ack_inputs(last_input, done)
        elif method.delivery_tag in self._unconfirmed:
            self._ack_inputs(self._unconfirmed.pop(method.delivery_tag), 1)
        if self._acked >= self._count and self._elapsed is None:
            self._elapsed = time.perf_counter() - self._started
            # A round trip on the consuming channel before closing: RabbitMQ 3.10 quorum queues
            # may lose a burst of acks still buffered in the channel when the connection closes.
            self._consume_channel.basic_qos(prefetch_count=self._prefetch, callback=self._on_acks_flushed)

    def _ack_inputs(self, delivery_tag: int, count: int) -> None:
        self._consume_channel.basic_ack(delivery_tag, multiple=count > 1)
        self._acked += count

    def _on_acks_flushed(self, _frame: Any) -> None:
        self._finish(None)

    def _on_return(self, _channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        self._finish(f"message {properties.message_id} was returned as unroutable")

    # ending
    def _on_open_error(self, _connection: Any, error: BaseException) -> None:
        self._connection_ended()
        self._finish(f"could not connect: {error!r}")

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        self._finish(f"channel closed: {reason!r}")

    def _on_connection_closed(self, _connection: Any, reason: BaseException) -> None:
        self._connection_ended()
        self._finish(f"connection closed: {reason!r}")

    def _connection_ended(self) -> None:
        self._ended_connections += 1
        if self._closing and self._ended_connections >= len(self._connections):
            self._ioloop.stop()

    def _finish(self, error: str | None) -> None:
        """Record the first error (or none), close both connections, stop the loop once they closed."""
        if self._closing:
            return
        self._closing = True
        self._error = error
        for connection in self._connections:
            if connection.is_open:
                connection.close()
            elif not connection.is_closed:
                self._connection_ended()  # still opening: abandoned with the loop
        if self._ended_connections >= len(self._connections):
            self._ioloop.stop()
        self._ioloop.call_later(CLOSE_GRACE, self._ioloop.stop)


def run_raw(url: str, messages: Sequence[Outbound], timeout: float) -> float:
    """Preload the raw input queue, relay it, check the counts; return the relay's seconds."""
    declare_raw_queues(url)
    seconds = preload(url, messages, None, RAW_SOURCE)
    print(f"  preloaded {len(messages)} into {RAW_SOURCE} in {seconds:.1f} s")
    elapsed = RawRelay(url, RAW_SOURCE, RAW_TARGET, len(messages), PREFETCH).run(timeout)
    check_depths(url, {RAW_SOURCE: 0, RAW_TARGET: len(messages)}, timeout=10)
    delete_raw_queues(url)
    return elapsed


# -- the hub pipeline ---------------------------------------------------------------------------
def hub_settings(url: str, workdir: Path, user: str, database: str | None = None) -> Settings:
    """The bench's settings, the store at ``database`` (default: a SQLite file in ``workdir``)."""
    return Settings(
        broker_url=SecretStr(url),
        database_url=SecretStr(database or f"sqlite:///{workdir / 'ledger.sqlite3'}"),
        agencies=[AgencySettings.model_validate(BENCH_UNIT)],
        default_ingress_users=[user],
    )


def run_hub(
    url: str,
    messages: Sequence[Outbound],
    workdir: Path,
    user: str,
    timeout: float,
    *,
    database: str | None = None,
) -> float:
    """Apply the topology, preload ``ingress.portal``, run a worker until all settled; its seconds."""
    hub = build(hub_settings(url, workdir, user, database))
    hub.transport.apply_topology(hub.topology)
    first = messages[0]
    seconds = preload(url, messages, (first.exchange, first.routing_key), ingress_queue(PARTNER))
    print(f"  preloaded {len(messages)} into {first.exchange} in {seconds:.1f} s")
    worker = hub.worker()
    stop = threading.Event()
    errors: list[BaseException] = []
    thread = threading.Thread(
        target=_run_worker, args=(worker, stop, errors), name="bench-worker", daemon=True
    )
    started = time.perf_counter()
    thread.start()
    try:
        settled = _wait_settled(worker, len(messages), thread, timeout)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        thread.join(timeout)
    if errors or not settled:
        cause = repr(errors[0]) if errors else f"timed out after {timeout:g} s"
        raise BenchError(f"hub pipeline: {cause} ({worker.settled} settled)")
    expected = {
        ingress_queue(PARTNER): 0,
        dead_letter_queue(PARTNER): 0,
        egress_queue("onestop"): len(messages),
    }
    check_depths(url, expected, timeout=10)
    return elapsed


def _run_worker(worker: Worker, stop: threading.Event, errors: list[BaseException]) -> None:
    try:
        worker.run(stop)
    except BaseException as error:
        errors.append(error)
        raise


def _wait_settled(worker: Worker, count: int, thread: threading.Thread, timeout: float) -> bool:
    """Wait for ``count`` settled inputs, giving up early when the worker thread died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive():
        if worker.wait_settled(count, min(1.0, deadline - time.monotonic())):
            return True
    return False


# -- the hub pipeline in worker processes -------------------------------------------------------
def worker_environment(url: str, database: Path, user: str) -> dict[str, str]:
    """The environment of one ``python -m hub run`` with its ledger in the SQLite file ``database``."""
    return hub_environment(url, f"sqlite:///{database}", user)


def hub_environment(url: str, database_url: str, user: str) -> dict[str, str]:
    """The environment of one ``python -m hub run``: this one's, minus any ``HUB_`` setting, plus the
    bench's (the same settings as the in-process worker's), its store at ``database_url``."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    environment.update(
        HUB_BROKER_URL=url,
        HUB_DATABASE_URL=database_url,
        HUB_AGENCIES=json.dumps([BENCH_UNIT], ensure_ascii=False),
        HUB_DEFAULT_INGRESS_USERS=json.dumps([user]),
        HUB_LOG_LEVEL="WARNING",
    )
    return environment


class WorkerProcesses:
    """``count`` ``python -m hub run`` processes, each with its own SQLite ledger and stderr log in
    ``workdir``; as a context manager, any still running at the end are killed."""

    def __init__(self, url: str, count: int, workdir: Path, user: str) -> None:
        self.count = count
        self.launched = 0.0  # perf_counter when the processes were started
        self._url, self._workdir, self._user = url, workdir, user
        self._processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Self:
        self.launched = time.perf_counter()
        for index in range(self.count):
            self._processes.append(self._launch(index))
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    def _launch(self, index: int) -> subprocess.Popen[bytes]:
        with self._log(index).open("wb") as log:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                [sys.executable, "-m", "hub", "run"],
                cwd=ROOT,
                env=self._environment(index),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def _environment(self, index: int) -> dict[str, str]:
        return worker_environment(self._url, self._workdir / f"ledger-{index}.sqlite3", self._user)

    def _log(self, index: int) -> Path:
        return self._workdir / f"worker-{index}.log"

    def _failure(self, index: int, what: str) -> str:
        tail = self._log(index).read_text(errors="replace")[-LOG_TAIL:].strip()
        return f"worker process {index} {what}" + (f"; its stderr ends: {tail}" if tail else "")

    def check_alive(self) -> None:
        """Raise if a process has ended (they run until told to stop)."""
        for index, process in enumerate(self._processes):
            if process.poll() is not None:
                raise BenchError(self._failure(index, f"ended early with exit code {process.returncode}"))

    def stop(self, timeout: float) -> None:
        """SIGTERM to each, then wait up to ``timeout`` s in all; raise unless every one exited 0."""
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        problems: list[str] = []
        for index, process in enumerate(self._processes):
            try:
                code = process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                problems.append(self._failure(index, f"still running {timeout:g} s after SIGTERM"))
                continue
            if code != 0:
                problems.append(self._failure(index, f"exited with code {code} after SIGTERM"))
        if problems:
            raise BenchError("; ".join(problems))


def _queue_counts(channel: Any, queue: str) -> tuple[int, int]:
    """``queue``'s ready messages and consumers, from a passive declare."""
    method = channel.queue_declare(queue, passive=True).method
    return int(method.message_count), int(method.consumer_count)


def _poll(done: Callable[[], bool], workers: WorkerProcesses, deadline: float, what: str) -> None:
    """Poll ``done`` every ``DEPTH_POLL`` s until true; raise when a process ended or at ``deadline``."""
    while not done():
        workers.check_alive()
        if time.monotonic() >= deadline:
            raise BenchError(f"hub worker processes: timed out waiting for {what}")
        time.sleep(DEPTH_POLL)


def partition_holders(url: str) -> int:
    """How many channels (one per worker) hold the active consumer of some partition queue."""
    vhost = unquote(urlsplit(url).path[1:]) or "/"
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_consumers", "-p", vhost, "--no-table-headers",
         "queue_name", "channel_pid", "active"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    holders = set()
    for line in listed.splitlines():
        queue, channel, active = [*line.split("\t"), "", "", ""][:3]
        if queue.startswith("hub.partition.") and active.strip() == "true":
            holders.add(channel)
    return len(holders)


def _all_relayed(channel: Any, count: int) -> bool:
    relayed = _queue_counts(channel, egress_queue("onestop"))[0]
    if relayed > count:
        raise BenchError(f"hub worker processes: {relayed} outputs for {count} inputs")
    return relayed == count and _queue_counts(channel, ingress_queue(PARTNER))[0] == 0


def time_processes(url: str, workers: WorkerProcesses, count: int, timeout: float) -> tuple[float, int]:
    """From the moment all ``workers`` consume ``ingress.portal`` until ``count`` outputs are in
    ``egress.onestop`` and no input is ready: the seconds, and how many outputs came in them."""
    deadline = time.monotonic() + timeout
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        registered = f"{workers.count} consumers on {WORKERS_QUEUE}"
        _poll(
            lambda: _queue_counts(channel, WORKERS_QUEUE)[1] >= workers.count, workers, deadline, registered
        )
        sharing = f"the partitions shared by {workers.count} workers"
        _poll(lambda: partition_holders(url) >= workers.count, workers, deadline, sharing)
        started = time.perf_counter()
        early = _queue_counts(channel, egress_queue("onestop"))[0]
        _poll(lambda: _all_relayed(channel, count), workers, deadline, f"{count} outputs")
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    startup = started - workers.launched
    print(f"  all consuming {startup:.1f} s after launch, {early} relayed by then (not timed)")
    return elapsed, count - early


def run_hub_processes(
    url: str, messages: Sequence[Outbound], count: int, workdir: Path, *, user: str, timeout: float
) -> float:
    """Apply the topology, preload ``ingress.portal``, relay it with ``count`` worker processes;
    return the rate (outputs per second while all of them consumed)."""
    Transport(url).apply_topology(topology())
    first = messages[0]
    seconds = preload(url, messages, (first.exchange, first.routing_key), ingress_queue(PARTNER))
    print(f"  preloaded {len(messages)} into {first.exchange} in {seconds:.1f} s")
    with WorkerProcesses(url, count, workdir, user) as workers:
        elapsed, timed = time_processes(url, workers, len(messages), timeout)
        workers.stop(STOP_TIMEOUT)
    if timed < 1:
        raise BenchError("hub worker processes: all relayed before the last one consumed; raise --count")
    expected = {
        ingress_queue(PARTNER): 0,
        dead_letter_queue(PARTNER): 0,
        egress_queue("onestop"): len(messages),
    }
    check_depths(url, expected, timeout=10)
    return timed / elapsed


# -- the run ------------------------------------------------------------------------------------
BENCH_ERRORS: tuple[type[Exception], ...] = (
    BenchError, pika.exceptions.AMQPError, psycopg.Error, OSError, subprocess.SubprocessError,
)  # fmt: skip


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the vhost and the database are still deleted


def broker_user(broker: str) -> str:
    """The user of the ``--broker`` URL: the one the benchmarks' messages claim to come from."""
    return unquote(urlsplit(broker).username or "guest")


def run_benchmark(work: Callable[[], object], also: tuple[type[Exception], ...] = ()) -> int:
    """The benchmarks' common frame: warnings only (pika's errors reach ``work`` and are reported
    once), SIGTERM as an exit (so what ``work`` created is still deleted), an error printed and 1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        work()
    except (*BENCH_ERRORS, *also) as error:
        print(f"error: {error!r}", file=sys.stderr)
        return 1
    return 0


def worker_counts(text: str) -> list[int]:
    """``--workers``: comma-separated worker counts, each at least 1, duplicates dropped."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of counts: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"worker counts must be at least 1: {text!r}")
    return list(dict.fromkeys(counts))


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20000, help="messages per relay (default 20000)")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672", help="base AMQP URL")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per phase")
    parser.add_argument(
        "--workers",
        type=worker_counts,
        default=[1, 2],
        help="hub worker counts to measure: 1 = in-process Worker, N > 1 = N processes (default 1,2)",
    )
    add_store_arguments(parser, "the in-process hub's store")
    arguments = parser.parse_args(argv)
    if arguments.count < 1:
        parser.error("--count must be at least 1")
    return arguments


def report_ratio(label: str, rate: float, raw_rate: float) -> None:
    ratio = rate / raw_rate
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"ratio {label}/raw: {ratio:.2f} (target >= {TARGET_RATIO:.2f}: {verdict})")


def measure_shaped(url: str, messages: Sequence[Outbound], raw_rate: float, timeout: float) -> None:
    """The raw relay doing the hub's broker work (scripts/bench_shaped.py): the ratio's ceiling."""
    print("raw pika relay in the hub's shape (a partition hop, 2.67 outputs per input, no processing):")
    rate = len(messages) / run_shaped(url, [m.body for m in messages], PREFETCH, timeout)
    print(f"raw pika relay in the hub's shape: {rate:.0f} inputs/s")
    print(f"ratio shaped/raw: {rate / raw_rate:.2f} (the highest ratio the hub's broker work allows)")


def measure_in_process(
    url: str, messages: Sequence[Outbound], user: str, timeout: float, store: tuple[str, str]
) -> float:
    """The in-process hub on ``store`` = (kind, PostgreSQL server URL)."""
    print(f"hub pipeline (Worker: ingress.portal -> egress.onestop, {store[0]} store):")
    with (
        tempfile.TemporaryDirectory(prefix="bench-relay-") as workdir,
        fresh_store(store[0], store[1], Path(workdir), "bench_relay") as database,
    ):
        hub_rate = len(messages) / run_hub(url, messages, Path(workdir), user, timeout, database=database)
    print(f"hub pipeline: {hub_rate:.0f} msg/s")
    return hub_rate


def measure_processes(
    broker: str, vhost: str, messages: Sequence[Outbound], count: int, *, user: str, timeout: float
) -> float:
    print(f"hub pipeline, {count} worker processes (python -m hub run: ingress.portal -> egress.onestop):")
    with (
        fresh_vhost(broker, vhost) as url,
        tempfile.TemporaryDirectory(prefix="bench-relay-") as workdir,
    ):
        rate = run_hub_processes(url, messages, count, Path(workdir), user=user, timeout=timeout)
    print(f"hub pipeline, {count} worker processes: {rate:.0f} msg/s")
    return rate


def benchmark(arguments: argparse.Namespace, user: str, vhost: str) -> None:
    """The raw relay, then the in-process hub (when 1 is among ``--workers``) in vhost ``vhost``;
    then each N > 1 of ``--workers`` in a vhost of its own."""
    count, timeout, workers = arguments.count, arguments.timeout, arguments.workers
    messages = portal_messages(count, user)
    mean_body = statistics.fmean(len(m.body) for m in messages)
    print(f"{count} portal {KIND} messages, mean body {mean_body:.0f} bytes, prefetch {PREFETCH}")
    with fresh_vhost(arguments.broker, vhost) as url:
        print("raw pika relay (SelectConnection consumer + pipelined confirms):")
        raw_rate = count / run_raw(url, messages, timeout)
        print(f"raw pika relay: {raw_rate:.0f} msg/s")
        measure_shaped(url, messages, raw_rate, timeout)
        if 1 in workers:
            store = (arguments.store, arguments.postgres)
            report_ratio("hub", measure_in_process(url, messages, user, timeout, store), raw_rate)
    for n in (n for n in workers if n > 1):
        rate = measure_processes(arguments.broker, f"{vhost}-w{n}", messages, n, user=user, timeout=timeout)
        report_ratio(f"hub({n} workers)", rate, raw_rate)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    vhost = f"bench-relay-{uuid.uuid4().hex[:10]}"
    return run_benchmark(lambda: benchmark(arguments, broker_user(arguments.broker), vhost))


if __name__ == "__main__":
    sys.exit(main())
