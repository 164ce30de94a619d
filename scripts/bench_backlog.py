"""Benchmark: a backlog of inputs drained by one ``python -m hub run`` on PostgreSQL, and its memory
(issue 12: "a backlog of 100,000 inputs drained on PostgreSQL with the process's RSS at most 200 MB").

A fresh RabbitMQ vhost gets the hub's topology and ``--count`` flow-1 portal filings (the messages of
``bench_relay.py``: ``dossier.submitted``, all by post, one in three also asking the post to
collect), preloaded into ``ingress.portal`` without confirms until ``hub.ingress.portal`` holds them
all. Only then is one ``python -m hub run`` started, as in production, its store a fresh PostgreSQL
database (dropped at the end), its settings from the environment as ``bench_relay.py``'s worker
processes get them. From its launch the script reads ``VmRSS`` from ``/proc/<pid>/status`` every
0.5 s, and ``egress.onestop``'s depth (each filing makes one one-stop-shop copy) until it holds
every input's copy and no input is ready; then ``VmHWM`` (the kernel's peak RSS of the process), and
the process gets SIGTERM and must exit 0.

The rate counts the copies made from the moment the process consumes (``hub.workers`` has its
consumer and it holds the partitions) to the last, over that time: its start-up is not timed. The
script prints the rate, the RSS when draining starts and when it ends, the largest RSS sampled, the
peak (``VmHWM``), and whether the peak meets 200 MB (MiB: 1024 x 1024 bytes). It exits non-zero
only on errors (broker, store, process, a wrong count, a timeout), never because of a figure; the
vhost and database are deleted also on failure.

    python -m scripts.bench_backlog [--count 100000] [--timeout 480]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
        [--broker amqp://guest:guest@127.0.0.1:5672]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika

from connectors.portal.fake import PARTNER
from hub.app import topology
from hub.bus.topology import dead_letter_queue, egress_queue, ingress_queue
from hub.bus.transport import Transport
from scripts.bench_process import HubProcess, memory_kb, queue_counts, wait_consuming
from scripts.bench_relay import (
    POSTGRES_SERVER,
    POSTGRESQL,
    STOP_TIMEOUT,
    BenchError,
    broker_user,
    check_depths,
    fresh_store,
    fresh_vhost,
    portal_messages,
    preload,
    run_benchmark,
)

TARGET_RSS_MB = 200.0
SAMPLE_EVERY = 0.5  # seconds between RSS samples and depth looks
REPORT_EVERY = 15.0  # seconds between progress lines
KB_PER_MB = 1024
EGRESS = egress_queue("onestop")


@dataclass
class Memory:
    """The RSS samples of one process, in kB."""

    pid: int
    samples: list[int] = field(default_factory=list)

    def sample(self) -> int:
        rss = memory_kb(self.pid, "VmRSS")
        self.samples.append(rss)
        return rss


@dataclass(frozen=True)
class Drain:
    seconds: float
    relayed: int  # copies made while timed
    rss_start: int  # kB, when draining started
    rss_end: int
    rss_sampled: int  # the largest sample
    hwm: int  # VmHWM at the end


def drain(url: str, process: HubProcess, count: int, timeout: float) -> Drain:
    """Sample the process's RSS until ``egress.onestop`` holds ``count`` copies and no input is ready."""
    deadline = time.monotonic() + timeout
    memory = Memory(process.pid)
    wait_consuming(url, process, timeout)
    rss_start = memory.sample()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        early = queue_counts(channel, EGRESS)[0]
        started = reported = time.perf_counter()
        print(f"  consuming {started - process.launched:.1f} s after its launch ({early} relayed by then)")
        while not _all_relayed(channel, count):
            process.check_alive()
            if time.monotonic() >= deadline:
                raise BenchError(f"{queue_counts(channel, EGRESS)[0]} of {count} relayed after {timeout:g} s")
            time.sleep(SAMPLE_EVERY)
            rss = memory.sample()
            if time.perf_counter() - reported >= REPORT_EVERY:
                reported = time.perf_counter()
                relayed = queue_counts(channel, EGRESS)[0]
                print(f"  {reported - started:5.0f} s: {relayed} relayed, RSS {rss / KB_PER_MB:.0f} MB")
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    rss_end = memory.sample()
    hwm = memory_kb(process.pid, "VmHWM")
    return Drain(elapsed, count - early, rss_start, rss_end, max(memory.samples), hwm)


def _all_relayed(channel: Any, count: int) -> bool:
    relayed = queue_counts(channel, EGRESS)[0]
    if relayed > count:
        raise BenchError(f"{relayed} copies on {EGRESS} for {count} inputs")
    return relayed == count and queue_counts(channel, ingress_queue(PARTNER))[0] == 0


def measure(url: str, database: str, workdir: Path, arguments: argparse.Namespace, user: str) -> Drain:
    count = arguments.count
    started = time.perf_counter()
    messages = portal_messages(count, user)
    print(f"  {count} filings made in {time.perf_counter() - started:.1f} s")
    Transport(url).apply_topology(topology())
    first = messages[0]
    seconds = preload(url, messages, (first.exchange, first.routing_key), ingress_queue(PARTNER))
    print(f"  preloaded into {first.exchange} in {seconds:.1f} s")
    del messages  # this process's memory is not measured, but it shares the host's
    with HubProcess(url, database, workdir, user) as process:
        result = drain(url, process, count, arguments.timeout)
        process.stop(STOP_TIMEOUT)
    check_depths(url, {ingress_queue(PARTNER): 0, dead_letter_queue(PARTNER): 0, EGRESS: count}, timeout=10)
    return result


def report(result: Drain) -> None:
    def mb(kb: int) -> str:
        return f"{kb / KB_PER_MB:.0f} MB"

    peak = result.hwm / KB_PER_MB
    verdict = "meets" if peak <= TARGET_RSS_MB else "ABOVE"
    rate = result.relayed / result.seconds
    print(f"drained: {rate:.0f} inputs/s ({result.relayed} in {result.seconds:.1f} s)")
    print(
        f"RSS: {mb(result.rss_start)} when draining started, {mb(result.rss_end)} at the end, "
        f"{mb(result.rss_sampled)} the largest sample"
    )
    print(f"peak RSS (VmHWM) {peak:.0f} MB (target <= {TARGET_RSS_MB:.0f} MB: {verdict})")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=100_000, help="inputs preloaded (default 100000)")
    parser.add_argument(
        "--timeout", type=float, default=480.0, help="seconds allowed to start and drain (default 480)"
    )
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672", help="base AMQP URL")
    parser.add_argument(
        "--postgres",
        default=POSTGRES_SERVER,
        help=f"PostgreSQL server: a fresh database is created on it and dropped at the end "
        f"(default {POSTGRES_SERVER})",
    )
    arguments = parser.parse_args(argv)
    if arguments.count < 1:
        parser.error("--count must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    print(f"a backlog of {arguments.count} portal filings, one python -m hub run on PostgreSQL:")
    return run_benchmark(lambda: report(run(arguments)))


def run(arguments: argparse.Namespace) -> Drain:
    with (
        fresh_vhost(arguments.broker, f"bench-backlog-{uuid.uuid4().hex[:10]}") as url,
        tempfile.TemporaryDirectory(prefix="bench-backlog-") as workdir,
        fresh_store(POSTGRESQL, arguments.postgres, Path(workdir), "bench_backlog") as database,
    ):
        return measure(url, database, Path(workdir), arguments, broker_user(arguments.broker))


if __name__ == "__main__":
    sys.exit(main())
