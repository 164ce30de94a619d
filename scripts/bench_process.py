"""One ``python -m hub run`` process on a given store, for the benchmarks that time the hub as it runs in
production (``bench_latency``, ``bench_backlog``): started, waited for until it consumes, its memory
read from ``/proc``, stopped with SIGTERM."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pika

from hub.bus.topology import WORKERS_QUEUE
from scripts.bench_relay import BenchError, WorkerProcesses, hub_environment, partition_holders

CONSUMING_POLL = 0.1  # seconds between looks at whether the process consumes yet


class HubProcess(WorkerProcesses):
    """One ``python -m hub run`` with its store at ``database_url`` (stderr in ``workdir``); killed on
    leaving the block if still running."""

    def __init__(self, url: str, database_url: str, workdir: Path, user: str) -> None:
        super().__init__(url, 1, workdir, user)
        self._database_url = database_url

    def _environment(self, index: int) -> dict[str, str]:
        return hub_environment(self._url, self._database_url, self._user)

    @property
    def pid(self) -> int:
        return self._processes[0].pid


def queue_counts(channel: Any, queue: str) -> tuple[int, int]:
    """``queue``'s ready messages and consumers, from a passive declare."""
    method = channel.queue_declare(queue, passive=True).method
    return int(method.message_count), int(method.consumer_count)


def wait_consuming(url: str, process: HubProcess, timeout: float) -> float:
    """Wait until ``process`` consumes ``hub.workers`` and holds the partitions; the seconds since its
    launch. Raise if it ended or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        while queue_counts(channel, WORKERS_QUEUE)[1] < 1 or partition_holders(url) < 1:
            process.check_alive()
            if time.monotonic() >= deadline:
                raise BenchError(f"hub process: not consuming {timeout:g} s after its launch")
            time.sleep(CONSUMING_POLL)
    finally:
        connection.close()
    return time.perf_counter() - process.launched


def memory_kb(pid: int, field: str) -> int:
    """A memory figure of process ``pid`` from ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise BenchError(f"/proc/{pid}/status has no {field}")
