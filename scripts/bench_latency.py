"""Benchmark: the hub's latency from publish to egress at a steady input rate (issue 12: "p99 from
publish to egress at a steady 300 inputs/s: at most 50 ms").

A fresh RabbitMQ vhost with the hub's topology and a fresh store (``--store``: a SQLite file, or a
new PostgreSQL database dropped at the end) serve one ``python -m hub run`` process, started as in
production (a process, not the in-process ``Worker``: the benchmark's own publisher and consumer
threads would otherwise share the worker's interpreter and its GIL, and add their time to its
latency). Once it consumes (``hub.workers`` has its consumer and it holds the partitions), two threads
of this script run:

- the publisher publishes ``--rate`` x ``--seconds`` flow-1 portal filings (the messages of
  ``bench_relay.py``: ``dossier.submitted``, all by post, one in three also asking the post to
  collect) to ``ingress.portal``, each at its due time on an absolute schedule (the i-th at
  start + i / rate, so a late one does not delay the rest), with publisher confirms (one at a time,
  as a partner's system would). Its publish time is taken just before the publish, by message id;
- the consumer reads ``egress.onestop`` (every filing makes one one-stop-shop copy) and records the
  arrival time of each copy by its ``x-hub-source-message-id`` header, the input's message id.

Both clocks are this process's ``perf_counter``. The latency of an input is its copy's arrival minus
its publish: the hub's routing to a partition, judging, commit and egress publish with confirms, plus
the consumer's delivery. Every input counts, the first ones too. The script prints the count, the
rate achieved, the publisher's largest lag behind its schedule, p50/p90/p99/max in ms, and whether
p99 meets the target. It exits non-zero only on errors (broker, store, process, a missing or extra
copy, a timeout), never because of a figure; the vhost and database are deleted also on failure.

    python -m scripts.bench_latency [--rate 300] [--seconds 30] [--store sqlite|postgresql]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--timeout 120]
        [--broker amqp://guest:guest@127.0.0.1:5672]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika

from connectors.portal.fake import PARTNER
from hub.app import topology
from hub.bus.pika_session import pika_properties
from hub.bus.topology import dead_letter_queue, egress_queue
from hub.bus.transport import Transport
from hub.envelope import HEADER_SOURCE_MESSAGE_ID, Outbound
from scripts.bench_process import HubProcess, wait_consuming
from scripts.bench_relay import (
    STOP_TIMEOUT,
    BenchError,
    add_store_arguments,
    broker_user,
    check_depths,
    fresh_store,
    fresh_vhost,
    portal_messages,
    run_benchmark,
)

TARGET_P99_MS = 50.0
CONSUMER_PREFETCH = 1000
EVENTS_TICK = 0.1  # seconds the consumer's loop waits for frames before looking at its stop flag
EGRESS = egress_queue("onestop")
WINDOWS = 10


@dataclass
class Arrivals:
    """``egress.onestop`` read on a thread of its own: the arrival time of each input's copy."""

    url: str
    at: dict[str, float] = field(default_factory=dict)  # source message id -> perf_counter
    extra: int = 0  # copies without a source id, or a second copy of one
    errors: list[BaseException] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.url))
            try:
                channel = connection.channel()
                channel.basic_qos(prefetch_count=CONSUMER_PREFETCH)
                channel.basic_consume(EGRESS, self._on_message, auto_ack=True)
                self.ready.set()
                while not self.stop.is_set():
                    connection.process_data_events(time_limit=EVENTS_TICK)
            finally:
                connection.close()
        except BaseException as error:
            self.errors.append(error)
            self.ready.set()
            raise

    def _on_message(self, _channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        arrived = time.perf_counter()
        source = (properties.headers or {}).get(HEADER_SOURCE_MESSAGE_ID)
        if not isinstance(source, str) or source in self.at:
            self.extra += 1
            return
        self.at[source] = arrived

    def wait_for(self, count: int, process: HubProcess, timeout: float) -> None:
        """Wait until ``count`` copies arrived; raise if the consumer or the hub died, or at ``timeout``."""
        deadline = time.monotonic() + timeout
        while len(self.at) < count:
            if self.errors:
                raise BenchError(f"egress consumer: {self.errors[0]!r}")
            process.check_alive()
            if time.monotonic() >= deadline:
                raise BenchError(f"{len(self.at)} of {count} copies on {EGRESS} after {timeout:g} s")
            time.sleep(EVENTS_TICK)


@dataclass(frozen=True)
class Published:
    at: dict[str, float]  # message id -> perf_counter just before its publish
    rate: float  # inputs per second achieved, first to last publish
    lag: float  # the largest delay of a publish behind its due time, seconds


def publish_steadily(url: str, messages: Sequence[Outbound], rate: float) -> Published:
    """Publish ``messages`` with confirms, the i-th at start + i / ``rate`` (or at once when late)."""
    at: dict[str, float] = {}
    lag = 0.0
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        start = time.perf_counter()
        for index, message in enumerate(messages):
            due = start + index / rate
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            now = time.perf_counter()
            lag = max(lag, now - due)
            at[str(message.properties.message_id)] = now
            channel.basic_publish(
                message.exchange, message.routing_key, message.body, pika_properties(message), mandatory=True
            )
    finally:
        connection.close()
    times = sorted(at.values())
    achieved = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return Published(at, achieved, lag)


def latencies_ms(published: Published, arrivals: Arrivals) -> list[float]:
    missing = published.at.keys() - arrivals.at.keys()
    unknown = arrivals.at.keys() - published.at.keys()
    if missing or unknown or arrivals.extra:
        raise BenchError(
            f"copies on {EGRESS}: {len(missing)} inputs without one, {len(unknown)} of no input "
            f"published, {arrivals.extra} repeated or without a source id"
        )
    return [(arrivals.at[key] - sent) * 1000 for key, sent in published.at.items()]


def measure(url: str, database: str, workdir: Path, arguments: argparse.Namespace, user: str) -> None:
    count = round(arguments.rate * arguments.seconds)
    messages = portal_messages(count, user)
    Transport(url).apply_topology(topology())
    arrivals = Arrivals(url)
    consumer = threading.Thread(target=arrivals.run, name="bench-egress", daemon=True)
    with HubProcess(url, database, workdir, user) as process:
        startup = wait_consuming(url, process, arguments.timeout)
        print(f"  hub process consuming {startup:.1f} s after its launch")
        consumer.start()
        try:
            if not arrivals.ready.wait(arguments.timeout) or arrivals.errors:
                raise BenchError(f"egress consumer: not consuming ({arrivals.errors[:1]!r})")
            published = publish_steadily(url, messages, arguments.rate)
            arrivals.wait_for(count, process, arguments.timeout)
        finally:
            arrivals.stop.set()
            consumer.join(arguments.timeout)
        process.stop(STOP_TIMEOUT)
    check_depths(url, {dead_letter_queue(PARTNER): 0}, timeout=10)
    latencies = latencies_ms(published, arrivals)
    print_windows(published, arrivals)
    report(latencies, published)


def print_windows(published: Published, arrivals: Arrivals) -> None:
    """p50 and max per tenth of the publishing time: steady, or growing (the hub falling behind)."""
    first, last = min(published.at.values()), max(published.at.values())
    width = (last - first) / WINDOWS or 1.0
    windows: list[list[float]] = [[] for _ in range(WINDOWS)]
    for key, sent in published.at.items():
        windows[min(int((sent - first) / width), WINDOWS - 1)].append((arrivals.at[key] - sent) * 1000)
    cells = [f"{statistics.median(w):.0f}/{max(w):.0f}" for w in windows if w]
    print("  p50/max ms by tenth of the run: " + " ".join(cells))


def report(latencies: list[float], published: Published) -> None:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    p50, p90, p99 = cuts[49], cuts[89], cuts[98]
    verdict = "meets" if p99 <= TARGET_P99_MS else "ABOVE"
    print(
        f"{len(latencies)} inputs at {published.rate:.1f}/s achieved "
        f"(publisher at most {published.lag * 1000:.1f} ms behind its schedule)"
    )
    print(
        f"publish to egress: p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies):.1f} ms, mean {statistics.fmean(latencies):.1f} ms"
    )
    print(f"p99 {p99:.1f} ms (target <= {TARGET_P99_MS:.0f} ms: {verdict})")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=300.0, help="inputs per second (default 300)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of publishing (default 30)")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672", help="base AMQP URL")
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds allowed for the hub to start, and for the last copies after the last publish "
        "(default 120)",
    )
    add_store_arguments(parser, "the hub's store")
    arguments = parser.parse_args(argv)
    if arguments.rate <= 0 or arguments.seconds <= 0 or arguments.rate * arguments.seconds < 2:
        parser.error("--rate and --seconds must make at least 2 inputs")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    print(
        f"{arguments.rate:g} portal filings/s for {arguments.seconds:g} s, "
        f"one python -m hub run on {arguments.store}:"
    )
    return run_benchmark(lambda: run(arguments))


def run(arguments: argparse.Namespace) -> None:
    with (
        fresh_vhost(arguments.broker, f"bench-latency-{uuid.uuid4().hex[:10]}") as url,
        tempfile.TemporaryDirectory(prefix="bench-latency-") as workdir,
        fresh_store(arguments.store, arguments.postgres, Path(workdir), "bench_latency") as database,
    ):
        measure(url, database, Path(workdir), arguments, broker_user(arguments.broker))


if __name__ == "__main__":
    sys.exit(main())
