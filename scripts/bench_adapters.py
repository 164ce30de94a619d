"""Benchmark: the portal's HTTP adapter behind the delivery runner, against the fake portal.

What runs, all in this process: the objects ``hub deliver portal`` builds (the adapter from
``connectors.portal.http.build_adapter(settings)``, the portal's ``DeliveryPolicy`` from the settings,
an ``EgressChannel`` on ``egress.portal``, a SQLite ledger for the audit of dead letters, and
``hub.delivery.runner.Runner``), against ``FakePortalServer`` served by ``connectors.fake_http.serving``
and answering every request ``--delay`` seconds late (its ``slow`` switch). Each run gets a RabbitMQ
vhost of its own (made through the management API, deleted after it, also on failure) holding the
portal's part of the topology; its messages are published to ``egress.portal`` before the runner
starts, untimed.

The messages: dossiers, each one ``DongBoHoSoMC`` then 2 to 14 ``CapNhatTienDoHoSoMC`` records
(seeded), in the order 8 dossiers open at once would produce them (each message comes from one of 8
open dossiers picked at random; a finished dossier is replaced by a new one), so a dossier's records
sit close enough in the queue for the runner to send up to 10 of them in one call.

1. Throughput: ``--count`` messages for each ``--prefetch`` and ``--concurrency`` value, no rate
   limit. The prefetch bounds what the runner holds: it sets how many dossiers can have a call in
   flight, and how many of a dossier's records are there to be sent together.
   - seconds: from the runner's start (connecting included) until it returned with nothing left to
     do (``until_empty``: every message acknowledged and the broker counting none ready). The script
     then checks that the broker counts ``egress.portal`` empty and that the fake holds every dossier
     and every record, in the order sent;
   - msg/s: messages / seconds;
   - HTTP calls: the requests the fake recorded, logins included; calls/s: HTTP calls / seconds;
   - msg/call: messages / service calls (logins left out): what the chunking of progress saves;
   - CPU %: this process's CPU time / seconds. The fake, the runner and its call threads share one
     interpreter lock: near 100 % per core used means the figure is this process's limit, not the
     portal's 20 ms.

2. Faults: ``--fault-count`` messages at concurrency ``--fault-concurrency``, prefetch 50, with
   short failure settings (retries after 0.1 s doubled up to 1 s, the breaker opening after 5
   failed calls in a row and cooling down 0.5 s, a 1 s read timeout). Each fault starts at the
   fake's 10th request, except the refusals, which hold from the start:
   - 503 x30: the next 30 requests (any path, logins and probes too) answered 503. Once the breaker
     is open, each probe takes one of them: a burst counted in requests lasts about one cool-down
     per probe, where a real one would last for a time;
   - timeouts: the next 4 requests get no answer until the client's read timeout gives up;
   - 429 x10: the next 10 requests answered 429 with ``Retry-After: 1`` (a call or probe waits it out);
   - session expiry: every session is forgotten (once);
   - malformed x5: the next 5 requests answered 200 with an HTML page;
   - refusals: 5 dossiers refused with a data error (error_code -1), all their messages;
   - outage: the fake server stops, and after ``--outage`` seconds starts again on the same port,
     having forgotten its sessions (connections refused meanwhile: the breaker opens, probes, closes).

   Columns:
   - HTTP calls: requests the fake recorded (logins and the breaker's probes, which are logins,
     included; none while it was down);
   - faulty: the fake's answers that were no success: an HTTP status other than 200, or a body that
     is not JSON with ``error_code`` 0 (data errors, expired sessions);
   - retries: the increase of ``hub_delivery_retries_total{partner="portal"}``: calls that found the
     portal unavailable (probes are not counted);
   - dead: messages on ``hub.dead.egress.portal`` once the runner returned (the broker's count);
   - delivered: messages acknowledged after the portal accepted them (acknowledged minus dead);
   - as sent: dossiers not refused whose records the fake holds exactly as sent (none lost,
     repeated or reordered), out of those dossiers;
   - fault s: from the fault's start to its end, the last faulty answer (for the outage, the moment
     the fake listens again if that is later);
   - recover s: from the fault's end until the runner returned with the queue empty, as above;
   - total s: the whole run.

Figures are printed, never asserted; the script exits non-zero when a run did not finish in
``--timeout`` seconds or a message went missing.

    python scripts/bench_adapters.py [--count 2000] [--concurrency 1,4,16] [--prefetch 50,200]
        [--delay 0.02] [--fault-count 200] [--fault-concurrency 4] [--outage 3] [--timeout 40]
        [--seed 10] [--skip-throughput] [--skip-faults]
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import random
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from prometheus_client import REGISTRY
from pydantic import SecretStr

from connectors.fake_http import serving
from connectors.portal.fake_server import FakePortalServer
from connectors.portal.http import PROGRESS_KIND, SYNC_KIND, build_adapter
from hub import app
from hub.audit.entries import AuditEntry
from hub.bus.egress_channel import EgressChannel
from hub.bus.topology import (
    Topology,
    build_topology,
    egress_dead_letter_exchange,
    egress_dead_letter_queue,
    egress_exchange,
    egress_queue,
)
from hub.bus.transport import Transport
from hub.delivery.runner import Runner
from hub.envelope import CONTENT_TYPE_JSON, PERSISTENT, Outbound, Properties
from hub.settings import Settings
from hub.settings.delivery import DeliveryPolicy
from hub.settings.portal_http import PortalHttpSettings

PARTNER = "portal"
BROKER, MANAGEMENT = "amqp://guest:guest@127.0.0.1:5672", "http://127.0.0.1:15672/api"
UNIT = "000.00.30.H30"
DSTCODE, USERNAME, PASSWORD = "H30", "hub", "hub-password"
OPEN_DOSSIERS = 8  # dossiers whose messages are interleaved at any moment
RECORDS_PER_DOSSIER = (2, 14)
FAULT_AT = 10  # the fake's request that switches a fault on
# Short failure settings, so that each fault ends in seconds; no rate limit.
FAULT_POLICY = DeliveryPolicy(
    retry_base_seconds=0.1,
    retry_max_seconds=1.0,
    breaker_failures=5,
    breaker_cooldown_seconds=0.5,
    timeout_seconds=1.0,
    rate_per_second=None,
)


# -- the messages ---------------------------------------------------------------------------------
@dataclass
class Batch:
    """What is published, and what the fake should hold afterwards."""

    messages: list[Outbound] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # dossier -> progress sent


def dossier_payload(code: str, n: int) -> dict[str, Any]:
    return {
        "MaHoSo": code,
        "MaTTHC": "1.001776",
        "TenTTHC": "Đăng ký khai sinh",
        "ChuHoSo": f"Công dân Thử {n}",
        "SoDienThoai": f"09{n:08d}",
        "NgayTiepNhan": "20261130081500",
        "NgayHenTra": "20261204170000",
        "TrangThaiHoSo": 2,
        "HinhThuc": 1,
        "KenhThucHien": 1,
        "DonViXuLy": UNIT,
    }


def progress_payload(code: str, step: int) -> dict[str, Any]:
    return {
        "MaHoSo": code,
        "NguoiXuLy": "Cán bộ Thử",
        "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": f"20261130{9 + step // 60:02d}{step % 60:02d}00",
        "PhongBanXuLy": "Phòng Tư pháp",
        "NoiDungXuLy": f"Bước {step}",
        "TrangThai": 4,
        "NgayBatDau": "20261130081500",
    }


def dossier_messages(code: str, n: int, records: int) -> list[tuple[str, dict[str, Any]]]:
    steps = [(PROGRESS_KIND, progress_payload(code, step)) for step in range(records)]
    return [(SYNC_KIND, dossier_payload(code, n)), *steps]


def make_batch(count: int, seed: int) -> Batch:
    """``count`` messages of dossiers interleaved ``OPEN_DOSSIERS`` at a time."""
    rng, batch = random.Random(seed), Batch()
    opened: list[list[tuple[str, dict[str, Any]]]] = []
    made = 0
    while len(batch.messages) < count:
        while len(opened) < OPEN_DOSSIERS:
            code = f"{UNIT}-261130-{made:04d}"
            opened.append(dossier_messages(code, made, rng.randint(*RECORDS_PER_DOSSIER)))
            made += 1
        pending = opened[rng.randrange(len(opened))]
        kind, payload = pending.pop(0)
        if not pending:
            opened.remove(pending)
        batch.messages.append(egress_outbound(kind, payload))
        if kind == PROGRESS_KIND:
            batch.records.setdefault(payload["MaHoSo"], []).append(payload)
    return batch


def egress_outbound(kind: str, payload: dict[str, Any]) -> Outbound:
    properties = Properties(
        message_id=f"hub-{uuid.uuid4().hex}",
        content_type=CONTENT_TYPE_JSON,
        type=kind,
        correlation_id=payload["MaHoSo"],
        delivery_mode=PERSISTENT,
        headers={"x-contract-version": "1"},
    )
    return Outbound(egress_exchange(PARTNER), kind, json.dumps(payload).encode(), properties)


def dossiers_of(batch: Batch) -> list[str]:
    return sorted({str(m.properties.correlation_id) for m in batch.messages})


# -- the broker -----------------------------------------------------------------------------------
@contextmanager
def fresh_vhost(batch: Batch) -> Iterator[str]:
    """A vhost for the block with the portal's topology and ``batch`` on ``egress.portal``."""
    name = f"bench-adapters-{uuid.uuid4().hex[:8]}"
    vhost = f"/vhosts/{quote(name, safe='')}"
    management("PUT", vhost)
    try:
        management(
            "PUT",
            f"/permissions/{quote(name, safe='')}/guest",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
        url = f"{BROKER}/{quote(name, safe='')}"
        transport = Transport(url)
        transport.apply_topology(portal_topology())
        transport.publish_confirmed(batch.messages)
        yield url
    finally:
        management("DELETE", vhost)


def management(method: str, path: str, body: dict[str, str] | None = None) -> None:
    """A call to RabbitMQ's management API as guest."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{MANAGEMENT}{path}", data=data, method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10):
        pass


def portal_topology() -> Topology:
    whole = build_topology([PARTNER], partitions=1)
    return Topology(
        tuple(e for e in whole.exchanges if PARTNER in e.name),
        tuple(q for q in whole.queues if PARTNER in q.name),
        tuple(b for b in whole.bindings if PARTNER in b.exchange),
    )


# -- the runner, as `hub deliver portal` builds it ------------------------------------------------
def hub_settings(url: str, base_url: str, policy: DeliveryPolicy, workdir: Path) -> Settings:
    portal = PortalHttpSettings(
        base_url=base_url,
        dstcode=DSTCODE,
        username=USERNAME,
        password=SecretStr(PASSWORD),
        connect_timeout_seconds=1.0,
    )
    return Settings(
        broker_url=SecretStr(url),
        database_url=SecretStr(f"sqlite:///{workdir / 'hub.sqlite3'}"),
        portal_http=portal,
        delivery={PARTNER: policy},
    )


def build_runner(settings: Settings) -> Runner:
    address = settings.broker_address()
    assert address is not None
    policy = settings.delivery_policy(PARTNER)
    store = app.open_store(settings.database_url.get_secret_value(), settings)

    def audit(entries: Sequence[AuditEntry]) -> None:
        store.record((), (), entries)

    def connect() -> EgressChannel:
        dead = egress_dead_letter_exchange(PARTNER)
        return EgressChannel(address, egress_queue(PARTNER), policy.prefetch, PARTNER, [dead])

    return Runner(build_adapter(settings), connect, policy, audit)


class Timed:
    """The runner on a thread of its own, until it finds nothing left (or is stopped)."""

    def __init__(self, runner: Runner) -> None:
        self.runner, self.stop = runner, threading.Event()
        self.started = self.ended = 0.0
        self.cpu = 0.0  # this process's CPU seconds (every thread) while the runner ran
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bench-runner", daemon=True)

    def start(self) -> None:
        self.started, self.cpu = time.perf_counter(), time.process_time()
        self._thread.start()

    def finish(self, timeout: float) -> bool:
        """Wait for the runner; stop it after ``timeout`` seconds from its start. True: it emptied."""
        self._thread.join(max(0.0, self.started + timeout - time.perf_counter()))
        finished = not self._thread.is_alive()
        self.stop.set()
        self._thread.join()
        return finished and self.error is None

    def _run(self) -> None:
        try:
            self.runner.run(self.stop, until_empty=True)
        except BaseException as error:  # reported by the row, not lost in a thread
            self.error = error
        self.ended, self.cpu = time.perf_counter(), time.process_time() - self.cpu


@dataclass(frozen=True)
class Run:
    """How a run ended: the runner, whether it emptied the queue in time, the broker's counts."""

    timed: Timed
    emptied: bool
    dead: int  # on hub.dead.egress.portal
    left: int  # on egress.portal

    @classmethod
    def after(cls, timed: Timed, url: str, timeout: float) -> Run:
        """Wait for ``timed`` (stopping it after ``timeout`` seconds), then count the queues."""
        emptied = timed.finish(timeout)
        transport = Transport(url)
        dead = transport.depth(egress_dead_letter_queue(PARTNER))
        left = transport.depth(egress_queue(PARTNER))
        return cls(timed, emptied and left == 0, dead, left)

    def __str__(self) -> str:
        return f"emptied={self.emptied} left={self.left} dead={self.dead} error={self.timed.error!r}"


def retries_counted() -> float:
    """``hub_delivery_retries_total{partner="portal"}`` in this process so far."""
    return REGISTRY.get_sample_value("hub_delivery_retries_total", {"partner": PARTNER}) or 0.0


# -- what the fake holds --------------------------------------------------------------------------
def as_sent(server: FakePortalServer, batch: Batch, refused: Sequence[str]) -> tuple[int, int]:
    """How many of the dossiers not refused the fake holds with their records exactly as sent, and
    how many dossiers were not refused."""
    kept = [code for code in dossiers_of(batch) if code not in refused]
    state = server.state
    same = [c for c in kept if state.dossier(c) is not None and state.progress(c) == batch.records.get(c, [])]
    return len(same), len(kept)


def calls_made(server: FakePortalServer) -> tuple[int, int]:
    """(every request the fake recorded, its service calls: logins left out)."""
    received = server.state.received()
    return len(received), sum(1 for r in received if r.service is not None)


# -- printing -------------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- 1. throughput --------------------------------------------------------------------------------
THROUGHPUT_HEADERS = (
    "prefetch",
    "concurrency",
    "messages",
    "seconds",
    "msg/s",
    "HTTP calls",
    "calls/s",
    "msg/call",
    "CPU %",
)


def throughput_row(
    args: argparse.Namespace, prefetch: int, concurrency: int, batch: Batch
) -> tuple[list[object], bool]:
    server = FakePortalServer()
    server.slow(args.delay)
    policy = DeliveryPolicy(
        concurrency=concurrency, rate_per_second=None, prefetch=prefetch, timeout_seconds=30.0
    )
    with fresh_vhost(batch) as url, serving(server.app) as base_url, tempfile.TemporaryDirectory() as tmp:
        timed = Timed(build_runner(hub_settings(url, base_url, policy, Path(tmp))))
        timed.start()
        run = Run.after(timed, url, args.timeout)
    seconds, count = timed.ended - timed.started, len(batch.messages)
    calls, service_calls = calls_made(server)
    same, kept = as_sent(server, batch, ())
    row = [
        prefetch,
        concurrency,
        count,
        f"{seconds:.2f}",
        f"{count / seconds:.0f}",
        calls,
        f"{calls / seconds:.0f}",
        f"{count / max(service_calls, 1):.2f}",
        f"{100 * timed.cpu / seconds:.0f}",
    ]
    ok = run.emptied and run.dead == 0 and same == kept
    if not ok:
        print(f"prefetch {prefetch}, concurrency {concurrency}: {run} as sent={same}/{kept}", file=sys.stderr)
    return row, ok


# -- 2. faults ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    name: str
    switch: Callable[[FakePortalServer], None] = lambda server: None  # at the FAULT_AT-th request
    refused_dossiers: int = 0  # refused with a data error from the start
    outage: bool = False  # the server stops at the FAULT_AT-th request


def faults(outage_seconds: float) -> list[Fault]:
    return [
        Fault("503 x30", lambda server: server.fail_next(30, 503)),
        Fault("timeouts x4", lambda server: server.hang_next(4)),
        Fault("429 x10, Retry-After 1", lambda server: server.throttle_next(10, "1")),
        Fault("session expiry", lambda server: server.state.expire_sessions()),
        Fault("malformed x5", lambda server: server.malformed_next(5)),
        Fault("refusals: 5 dossiers", refused_dossiers=5),
        Fault(f"outage {outage_seconds:g} s", outage=True),
    ]


class Recorder:
    """The fake's ASGI app, wrapped: runs ``action`` as the ``at``-th request arrives, and notes
    when the last answer that was no success ended."""

    def __init__(self, inner: Any, at: int, action: Callable[[], None]) -> None:
        self._inner, self._at, self._action = inner, at, action
        self._requests = 0
        self.switched_at = 0.0
        self.faulty = 0
        self.last_faulty = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        self._requests += 1  # one event loop serves every request: no lock needed
        if self._requests == self._at:
            self.switched_at = time.perf_counter()
            self._action()
        answer: dict[str, Any] = {"status": 0, "body": b""}

        async def noting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        try:
            await self._inner(scope, receive, noting)
        finally:
            if not success(answer["status"], answer["body"]):
                self.faulty += 1
                self.last_faulty = time.perf_counter()


def success(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("error_code") in (0, "0")


FAULT_HEADERS = (
    "fault",
    "HTTP calls",
    "faulty",
    "retries",
    "dead",
    "delivered",
    "as sent",
    "fault s",
    "recover s",
    "total s",
)


def fault_row(args: argparse.Namespace, fault: Fault, batch: Batch) -> tuple[list[object], bool]:
    server = FakePortalServer()
    server.slow(args.delay)
    refused = dossiers_of(batch)[: fault.refused_dossiers]
    for code in refused:
        server.state.refuse(code)
    down = threading.Event()
    recorder = Recorder(server.app, FAULT_AT, down.set if fault.outage else lambda: fault.switch(server))
    retries = retries_counted()
    run, back = run_fault(args, fault, batch, server=server, recorder=recorder, down=down)
    retries = retries_counted() - retries
    started = run.timed.started if refused else recorder.switched_at
    ended = max(recorder.last_faulty, back)
    delivered = run.timed.runner.acknowledged - run.dead
    same, kept = as_sent(server, batch, refused)
    row = [
        fault.name,
        calls_made(server)[0],
        recorder.faulty,
        f"{retries:.0f}",
        run.dead,
        delivered,
        f"{same}/{kept}",
        shown_seconds(ended - started if started and ended else None),
        shown_seconds(run.timed.ended - ended if ended else None),
        shown_seconds(run.timed.ended - run.timed.started),
    ]
    expected_dead = sum(1 for m in batch.messages if m.properties.correlation_id in refused)
    ok = (
        run.emptied
        and same == kept
        and run.dead == expected_dead
        and delivered + run.dead == len(batch.messages)
    )
    if not ok:
        print(f"{fault.name}: {run} dead expected={expected_dead} as sent={same}/{kept}", file=sys.stderr)
    return row, ok


def run_fault(
    args: argparse.Namespace,
    fault: Fault,
    batch: Batch,
    *,
    server: FakePortalServer,
    recorder: Recorder,
    down: threading.Event,
) -> tuple[Run, float]:
    """The fault scenario's run; when the fake listened again after the outage (0: no outage)."""
    policy = FAULT_POLICY.model_copy(update={"concurrency": args.fault_concurrency})
    with fresh_vhost(batch) as url, tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        base_url = stack.enter_context(serving(recorder))
        timed = Timed(build_runner(hub_settings(url, base_url, policy, Path(tmp))))
        timed.start()
        back = 0.0
        if fault.outage:
            back = outage(
                stack,
                recorder=recorder,
                server=server,
                down=down,
                seconds=args.outage,
                port=port_of(base_url),
            )
        return Run.after(timed, url, args.timeout), back


def outage(
    stack: ExitStack,
    *,
    recorder: Recorder,
    server: FakePortalServer,
    down: threading.Event,
    seconds: float,
    port: int,
) -> float:
    """Once ``down`` is set, stop the fake, wait ``seconds``, serve it again on the same port with
    its sessions forgotten (as a restarted service would); the moment it listens again (0: ``down``
    never came)."""
    if not down.wait(seconds + FAULT_POLICY.timeout_seconds * 10):
        return 0.0
    stack.close()  # the server stops listening; requests in flight end first
    time.sleep(seconds)
    server.state.expire_sessions()
    stack.enter_context(serving(recorder, port=port))
    return time.perf_counter()


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def shown_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# -- the command ----------------------------------------------------------------------------------
def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000, help="messages per throughput run (2000)")
    parser.add_argument(
        "--concurrency", default="1,4,16", help="the throughput runs' concurrency values (1,4,16)"
    )
    parser.add_argument(
        "--prefetch",
        default="50,200",
        help="the throughput runs' prefetch values, messages the runner holds at most (50,200; 50 is "
        "the default policy's, and the fault scenarios')",
    )
    parser.add_argument(
        "--delay", type=float, default=0.02, help="seconds the fake takes to answer each request (0.02)"
    )
    parser.add_argument("--fault-count", type=int, default=200, help="messages per fault scenario (200)")
    parser.add_argument(
        "--fault-concurrency", type=int, default=4, help="concurrency of the fault scenarios (4)"
    )
    parser.add_argument(
        "--outage", type=float, default=3.0, help="seconds the fake is down in the outage scenario (3)"
    )
    parser.add_argument(
        "--timeout", type=float, default=40.0, help="seconds a run may take before it is stopped (40)"
    )
    parser.add_argument(
        "--seed", type=int, default=10, help="seed of the dossiers' record counts and order (10)"
    )
    parser.add_argument("--skip-throughput", action="store_true", help="only the fault scenarios")
    parser.add_argument("--skip-faults", action="store_true", help="only the throughput runs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    logging.basicConfig(level=logging.ERROR)  # the runner warns at every retry: the tables say it
    throughput_ok = args.skip_throughput or run_throughput(args)
    faults_ok = args.skip_faults or run_faults(args)
    return 0 if throughput_ok and faults_ok else 1


def run_throughput(args: argparse.Namespace) -> bool:
    batch, rows, ok = make_batch(args.count, args.seed), [], True
    for prefetch in numbers(args.prefetch):
        for concurrency in numbers(args.concurrency):
            row, fine = throughput_row(args, prefetch, concurrency, batch)
            rows.append(row)
            ok = ok and fine
    print(
        f"Throughput: {args.count} messages ({len(dossiers_of(batch))} dossiers), the fake answering in "
        f"{args.delay * 1000:g} ms, no rate limit"
    )
    print(table(THROUGHPUT_HEADERS, rows), end="\n\n", flush=True)
    return ok


def run_faults(args: argparse.Namespace) -> bool:
    batch, rows, ok = make_batch(args.fault_count, args.seed + 1), [], True
    for fault in faults(args.outage):
        row, fine = fault_row(args, fault, batch)
        rows.append(row)
        ok = ok and fine
    print(
        f"Faults: {args.fault_count} messages ({len(dossiers_of(batch))} dossiers), concurrency "
        f"{args.fault_concurrency}, prefetch 50, the fake answering in {args.delay * 1000:g} ms"
    )
    print(table(FAULT_HEADERS, rows), flush=True)
    return ok


def numbers(listed: str) -> list[int]:
    return [int(n) for n in listed.split(",")]


if __name__ == "__main__":
    sys.exit(main())
