"""Liveness and readiness of a ``hub run`` process (and of ``hub deliver`` and ``hub poll``), and the
one HTTP server that answers for them.

The server (``metrics_host``:``metrics_port``) serves ``/healthz``, ``/readyz`` and ``/metrics`` on
threads of its own and never waits on the worker: the worker writes its state here with single
assignments (atomic under the GIL) as it goes, the store is asked by a probe on its own thread, and a
request only reads what they left. The state is a few fields, whatever runs for however long.

- ``/healthz`` (liveness): the worker's loop beat when it said it would. Its tick beats every few
  milliseconds; before a backoff wait it says how long it will sleep. A loop stuck longer than
  ``STALL_SECONDS`` past that (a query hanging on a dead connection, a deadlock) answers 503, for the
  supervisor to restart the process. Until the loop runs (waiting for the broker or the store at start,
  migrating the store) the process counts as alive: each of those waits is bounded and paced.
- ``/readyz`` (readiness): the worker is connected to the broker and consuming its queues, and the
  store answered the probe lately; otherwise 503 and the first reason that holds: ``stopping``,
  ``starting``, ``broker disconnected``, ``store unavailable``. A poller (``SweepHealth``) consumes
  nothing: it is ready once a sweep reached the end of its feed, and answers ``last sweep failed:
  <reason>`` while its sweeps fail.

Why a probe for the store, and not the worker's own pause (``hub_paused{cause="store"}``): an idle
worker does not touch the store, so an outage would stay unseen until traffic came, and the pause
ends only with the next commit that succeeds, however long the store has been back. The probe uses
the worker's engine, so it fails for the same reasons the worker's next query would.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from sqlalchemy import Engine, text

from hub import metrics
from hub.errors import ConfigError

log = logging.getLogger(__name__)

STALL_SECONDS = 60.0  # a loop that has not beaten for this long past its word is taken as stuck
PROBE_SECONDS = 2.0  # the store is asked this often
PROBE_STALE_SECONDS = 10.0  # an answer older than this (the probe itself hangs) counts as none
REQUEST_TIMEOUT_SECONDS = 5.0  # a client that sends nothing does not hold its thread longer
TEXT = "text/plain; charset=utf-8"
Clock = Callable[[], float]


@dataclass(frozen=True)
class Answer:
    ok: bool
    reason: str


class Probe:
    """Runs ``check`` every ``every`` seconds on a daemon thread named ``name``. A dependency that hangs
    blocks the probe, not the process's loop nor a request: an answer older than ``stale`` seconds
    counts as a failure."""

    def __init__(
        self,
        check: Callable[[], object],
        every: float = PROBE_SECONDS,
        stale: float = PROBE_STALE_SECONDS,
        clock: Clock = time.monotonic,
        *,
        name: str = "hub-probe",
    ) -> None:
        self._check, self._every, self._stale, self._clock = check, every, stale, clock
        self._last: tuple[bool, float] | None = None  # (answered, when): one tuple, never torn
        self._started = clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Self:
        self._started = self._clock()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=1.0)  # a probe stuck in a call is a daemon: not waited for

    def state(self) -> bool | None:
        """Whether the check passed lately; None before the first answer, while it may still come."""
        last, now = self._last, self._clock()
        if last is None:
            return None if now - self._started <= self._stale else False
        answered, at = last
        return answered and now - at <= self._stale

    def probe_once(self) -> None:
        try:
            self._check()
            answered = True
        except Exception as error:  # any failure means the dependency cannot serve the process now
            log.debug("%s failed: %s", self._thread.name, type(error).__name__)
            answered = False
        self._last = (answered, self._clock())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probe_once()
            self._stop.wait(self._every)


class StoreProbe(Probe):
    """The store's probe: ``SELECT 1`` on the hub's own engine, so through its pool and its pre-ping."""

    @classmethod
    def of(cls, engine: Engine) -> StoreProbe:
        def select_one() -> None:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        return cls(select_one, name="hub-store-probe")


class Health:
    """What ``/healthz`` and ``/readyz`` answer. The worker writes, the server's threads read."""

    def __init__(
        self,
        stop: threading.Event | None = None,
        *,
        clock: Clock = time.monotonic,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self._stop = stop if stop is not None else threading.Event()
        self._clock = clock
        self._stall = stall_seconds
        self._due: float | None = None  # the loop's next beat is late after this; None: not running yet
        self._consuming: bool | None = None  # None: no broker session yet
        self._store: StoreProbe | None = None

    # -- written by the worker's thread ----------------------------------------------------------
    def beat(self, sleeping: float = 0.0) -> None:
        """The loop is alive, and will beat again within ``sleeping`` seconds (plus the stall margin)."""
        self._due = self._clock() + sleeping + self._stall

    def consuming(self, now: bool) -> None:
        """A broker session is open and consuming (True), or it ended (False)."""
        self._consuming = now

    def watch_store(self, probe: StoreProbe) -> None:
        self._store = probe

    def close(self) -> None:
        if self._store is not None:
            self._store.stop()

    # -- read by the server's threads ------------------------------------------------------------
    def liveness(self) -> Answer:
        due = self._due
        if due is None:
            return Answer(True, "alive (starting)")
        if self._clock() > due:
            return Answer(False, "worker loop stalled")
        return Answer(True, "alive")

    def readiness(self) -> Answer:
        if self._stop.is_set():
            return Answer(False, "stopping")
        consuming, store = self._consuming, self._store
        if consuming is None or store is None:
            return Answer(False, "starting")
        if not consuming:
            return Answer(False, "broker disconnected")
        answered = store.state()
        if answered is None:
            return Answer(False, "starting")
        if not answered:
            return Answer(False, "store unavailable")
        return Answer(True, "ready")


class SweepHealth(Health):
    """A poller's health (``hub poll``): it consumes nothing, so it is ready once a sweep reached the
    end of its feed, and not while its last sweep failed (the partner, the broker or the store)."""

    def __init__(
        self,
        stop: threading.Event | None = None,
        *,
        clock: Clock = time.monotonic,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        super().__init__(stop, clock=clock, stall_seconds=stall_seconds)
        self._unready: str | None = "starting"  # None: the last sweep reached the end of the feed

    def swept(self, failure: str | None) -> None:
        """A sweep reached the end of the feed (None), or failed: ``failure`` says which dependency."""
        self._unready = None if failure is None else f"last sweep failed: {failure}"

    def readiness(self) -> Answer:
        if self._stop.is_set():
            return Answer(False, "stopping")
        unready = self._unready
        return Answer(True, "ready") if unready is None else Answer(False, unready)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request in progress never holds the process at exit

    def __init__(self, host: str, port: int, health: Health, registry: CollectorRegistry) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.health, self.registry = health, registry
        super().__init__((host, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_SECONDS

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, with_body: bool) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(200, encoder(self.server.registry), content_type, with_body)
            return
        probes = {"/healthz": self.server.health.liveness, "/readyz": self.server.health.readiness}
        if path not in probes:
            self._send(404, b"not found: /healthz, /readyz, /metrics\n", TEXT, with_body)
            return
        answer = probes[path]()
        self._send(200 if answer.ok else 503, f"{answer.reason}\n".encode(), TEXT, with_body)

    def _send(self, status: int, body: bytes, content_type: str, with_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The base class writes every request to stderr: probes every few seconds would flood it.
        log.debug("http: " + format, *args)


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``host``:``port``, served from a daemon thread
    until ``stop``. A port that cannot be bound is a configuration error (exit code 3)."""

    def __init__(self, health: Health, host: str, port: int, registry: CollectorRegistry = REGISTRY) -> None:
        try:
            self._server = _Server(host, port, health, registry)
        except (OSError, OverflowError) as error:
            raise ConfigError(
                f"HUB_METRICS_HOST, HUB_METRICS_PORT: cannot serve on {host}:{port} ({error})"
            ) from None
        metrics.READY.set_function(lambda: float(health.readiness().ok))
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.2,), name="hub-health-http", daemon=True
        )
        self._thread.start()
        log.info("serving /healthz, /readyz and /metrics on %s:%d", host, self.port)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()  # returns once serve_forever has left its loop
        self._server.server_close()
        self._thread.join(timeout=REQUEST_TIMEOUT_SECONDS)
        metrics.READY.set_function(lambda: 0.0)
