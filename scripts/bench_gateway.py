"""Benchmark of the HTTP gateway on the local RabbitMQ: throughput with confirms, latency at a steady rate.

A real ``hub gateway serve`` process (SQLite store in a temporary folder) publishes to a fresh vhost
with the hub's topology, as the portal's broker user (here ``guest``). Each request posts a 2 KB
filing with a new Idempotency-Key, so each is one publish confirmed by the broker and one row in
``gateway_requests``.

1. Throughput: N concurrent clients (``--clients``) post as fast as they are answered for
   ``--seconds``; requests per second answered 202.
2. Latency: an open loop sends ``--rate`` requests per second for ``--seconds``, each at its own
   scheduled time whatever the earlier ones do; latency is measured from that scheduled time to the
   answer (a late send counts against the gateway), p50/p99/max.

Runs in well under a minute with the defaults. Usage: ``.venv/bin/python scripts/bench_gateway.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr

from hub.app import topology
from hub.bus.transport import Transport
from hub.gateway.auth import hash_key
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "connectors" / "samples" / "portal.dossier.submitted.json"
KEY = "bench-portal-key-" + uuid.uuid4().hex
BODY_BYTES = 2048
BROKER = "amqp://guest:guest@127.0.0.1:5672"
STEADY_THREADS = 12  # in flight at most; more threads in this process slowed its own sends (the GIL)


def filing() -> bytes:
    """The portal's sample filing, padded with a note to 2 KB."""
    body = json.loads(SAMPLE.read_text(encoding="utf-8"))
    body["_bench_padding"] = ""
    size = len(json.dumps(body, ensure_ascii=False).encode())
    body["_bench_padding"] = "x" * max(0, BODY_BYTES - size)
    return json.dumps(body, ensure_ascii=False).encode()


def rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, timeout=60)


@contextmanager
def fresh_vhost() -> Iterator[str]:
    name = f"bench-gateway-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        url = f"{BROKER}/{name}"
        Transport(url).apply_topology(topology(Settings(broker_url=SecretStr(url))))
        yield url
    finally:
        rabbitmqctl("delete_vhost", name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gateway(url: str, folder: Path) -> Iterator[str]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("HUB_")}
    environment |= {
        "HUB_BROKER_URL": url,
        "HUB_INGRESS_USERS": json.dumps({"portal": ["guest"]}),
        "HUB_BROKER_PASSWORDS": json.dumps({"guest": "guest"}),
        "HUB_DATABASE_URL": f"sqlite:///{folder / 'gateway.sqlite3'}",
        "HUB_GATEWAY__PORT": str(port),
        "HUB_GATEWAY__PARTNERS": json.dumps({"portal": {"api_key_sha256": [hash_key(KEY)]}}),
        "HUB_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "hub", "gateway", "serve"], env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_listening(base)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wait_listening(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit("the gateway did not start")


def post(client: httpx.Client, body: bytes) -> int:
    """One filing with a new key (httpx's client is thread-safe: one pool of keep-alive connections)."""
    headers = {"X-Api-Key": KEY, "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}
    return client.post("/v1/messages/dossier.submitted", content=body, headers=headers).status_code


def throughput(client: httpx.Client, clients: int, seconds: float, body: bytes) -> tuple[int, int]:
    """(answered 202, other answers) within ``seconds``, ``clients`` threads posting back to back.

    Threads with httpx's blocking client: its asyncio client measured several times slower here."""
    deadline = time.monotonic() + seconds
    counts = Counter[bool]()
    lock = threading.Lock()

    def loop() -> None:
        while time.monotonic() < deadline:
            accepted = post(client, body) == 202
            with lock:
                counts[accepted] += 1

    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(loop)
    return counts[True], counts[False]


def steady(client: httpx.Client, rate: float, seconds: float, body: bytes) -> tuple[list[float], int]:
    """Latencies (s) from each request's scheduled time, and how many were not 202."""
    latencies: list[float] = []
    failures = Counter[bool]()

    def one(due: float) -> None:
        accepted = post(client, body) == 202
        latencies.append(time.monotonic() - due)  # list.append is atomic under the GIL
        failures[not accepted] += 1

    start = time.monotonic() + 0.2
    with ThreadPoolExecutor(STEADY_THREADS) as pool:
        for n in range(int(rate * seconds)):
            due = start + n / rate
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(one, due)
    return latencies, failures[True]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()
    body = filing()
    limits = httpx.Limits(max_connections=max(options.clients, STEADY_THREADS))
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_vhost() as url,
        gateway(url, Path(folder)) as base,
        httpx.Client(base_url=base, timeout=30, limits=limits) as client,
    ):
        throughput(client, STEADY_THREADS, 1.0, body)  # warm-up: connections to the broker and the store
        ok, other = throughput(client, options.clients, options.seconds, body)
        print(f"body {len(body)} bytes, {options.clients} concurrent clients, {options.seconds:.0f} s:")
        print(f"  {ok / options.seconds:8.0f} requests/s answered 202 (confirmed), {other} other answers")
        latencies, failures = steady(client, options.rate, options.seconds, body)
        print(
            f"steady {options.rate:.0f} requests/s for {options.seconds:.0f} s ({len(latencies)} requests):"
        )
        p50, p99 = (percentile(latencies, share) * 1000 for share in (0.5, 0.99))
        print(
            f"  p50 {p50:6.1f} ms, p99 {p99:6.1f} ms, max {max(latencies) * 1000:6.1f} ms, "
            f"mean {statistics.fmean(latencies) * 1000:6.1f} ms, {failures} not 202"
        )


if __name__ == "__main__":
    main()
