"""The steady load of the fault runs: what is sent, and a generator that sends it with confirms.

The plan: one-stop counter filings (``dossier.received``), each followed in order by two lawful
steps of the same dossier (2 -> 4 -> 5 or 2 -> 4 -> 9, contract.md "Dossier status"), and some portal
filings, interleaved so that a dossier's messages are spread among other dossiers' ones. Every
message is lawful: the hub must forward each exactly once.

The generator publishes at a steady rate with publisher confirms and records every attempt as
``ok`` (confirmed), ``fail`` (nacked or returned) or ``unknown`` (the connection went before the
confirm). Like a partner that publishes at least once, it sends an attempt that was not confirmed
again, with the same message id, before the next message: so a dossier's steps never leave before
its filing was confirmed, and what an outage repeats the hub must deduplicate.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import pika
import pika.exceptions

from connectors.onestop.fake import FakeOnestop
from connectors.portal.fake import FakePortal
from hub.bus.pika_session import pika_properties
from hub.envelope import Outbound
from tests.conftest import PROVINCE_UNIT

TIME_FORMAT = "%Y%m%d%H%M%S"
PATHS = ((4, 5), (4, 9))  # after acceptance (2) at the counter: lawful per the transition table
STEP_MINUTES = 20  # between a dossier's steps, by their own time
INTERLEAVE = 16  # dossiers whose messages are being sent at any moment
RETRY_SECONDS = 0.3  # between attempts while the broker refuses or is away

Result = Literal["ok", "fail", "unknown"]


@dataclass(frozen=True)
class Planned:
    """One message of the plan and what the hub must make of it: ``egress`` outputs to partners."""

    partner: str
    message: Outbound
    egress: int

    @property
    def message_id(self) -> str:
        return self.message.properties.message_id or ""


@dataclass(frozen=True)
class Attempt:
    message_id: str
    result: Result
    at: float


def plan(dossiers: int, portal_filings: int, seed: int = 1) -> list[Planned]:
    """The messages to send, in sending order. Ids are ``<partner>-<sequence>``."""
    chains = [_counter_dossier(FakeOnestop(seed=seed + n), n) for n in range(dossiers)]
    portal = FakePortal(seed=seed)
    filings = [_portal_filing(portal, n) for n in range(portal_filings)]
    return _interleave(chains, filings, random.Random(seed))


def _counter_dossier(onestop: FakeOnestop, number: int) -> list[Planned]:
    received = onestop.dossier_received(PROVINCE_UNIT)
    code = received["MaHoSo"] = f"{PROVINCE_UNIT}-261130-{number:06d}"  # unique across the plan
    at = datetime.strptime(received["NgayTiepNhan"], TIME_FORMAT)
    path = PATHS[number % len(PATHS)]
    steps = [
        _step(code, status, at + timedelta(minutes=STEP_MINUTES * n)) for n, status in enumerate(path, 1)
    ]
    base = 3 * number
    # Flow 2: DongBoHoSoMC and CapNhatTienDoHoSoMC to the portal; flow 3: CapNhatTienDoHoSoMC.
    return [
        Planned("onestop", _with_id(onestop.message("dossier.received", received), "onestop", base), 2),
        *(
            Planned("onestop", _with_id(onestop.message("dossier.progress", s), "onestop", base + i + 1), 1)
            for i, s in enumerate(steps)
        ),
    ]


def _step(code: str, status: int, at: datetime) -> dict[str, Any]:
    return {
        "MaHoSo": code,
        "TrangThaiHoSo": status,
        "ThoiDiemXuLy": at.strftime(TIME_FORMAT),
        "NguoiXuLy": "Trần Văn Bình",
        "ChucDanh": "Chuyên viên",
        "PhongBanXuLy": "Phòng Tư pháp",
        "NoiDungXuLy": "Bước xử lý của bài kiểm thử sự cố",
    }


def _portal_filing(portal: FakePortal, number: int) -> Planned:
    body = portal.dossier_submitted(PROVINCE_UNIT, by_post=number % 3 == 0)
    body["MaHoSo"] = f"{PROVINCE_UNIT}-261130-{900_000 + number:06d}"
    # Flow 1 without collection: dossier.submitted to the owning unit.
    return Planned("portal", _with_id(portal.message("dossier.submitted", body), "portal", number), 1)


def _with_id(message: Outbound, producer: str, sequence: int) -> Outbound:
    properties = replace(message.properties, message_id=f"{producer}-{sequence:06d}")
    return replace(message, properties=properties)


def _interleave(chains: list[list[Planned]], singles: list[Planned], chooser: random.Random) -> list[Planned]:
    """Chains in order, each one's messages spread among ``INTERLEAVE`` open chains; singles
    scattered through."""
    waiting: Iterator[list[Planned]] = iter(chains)
    open_chains: list[list[Planned]] = []
    ordered: list[Planned] = []
    while True:
        while len(open_chains) < INTERLEAVE and (chain := next(waiting, None)) is not None:
            open_chains.append(list(chain))
        if not open_chains:
            break
        chain = chooser.choice(open_chains)
        ordered.append(chain.pop(0))
        if not chain:
            open_chains.remove(chain)
    for single in singles:
        ordered.insert(chooser.randrange(len(ordered) + 1), single)
    return ordered


@dataclass
class Generator:
    """Publishes ``planned`` to ``url`` at ``rate`` messages per second, on a thread of its own."""

    url: str
    planned: list[Planned]
    rate: float
    attempts: list[Attempt] = field(default_factory=list)
    confirmed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _progress: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    _connection: Any = None
    _channel: Any = None
    error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fault-load", daemon=True)
        self._thread.start()

    def wait_confirmed(self, count: int, timeout: float) -> bool:
        """Block until ``count`` messages were confirmed; false on timeout."""
        with self._progress:
            return self._progress.wait_for(lambda: self.confirmed >= count, timeout)

    def join(self, timeout: float) -> bool:
        """Wait for the whole plan to be confirmed; stop the generator either way."""
        assert self._thread is not None
        self._thread.join(timeout)
        finished = not self._thread.is_alive()
        self._stop.set()
        self._thread.join(10)
        return finished and self.error is None

    def results(self) -> dict[str, list[Result]]:
        """Each message id's attempts, in order."""
        by_id: dict[str, list[Result]] = {}
        for attempt in self.attempts:
            by_id.setdefault(attempt.message_id, []).append(attempt.result)
        return by_id

    def _run(self) -> None:
        interval = 1.0 / self.rate
        slot = time.monotonic()
        try:
            for item in self.planned:
                # A steady pace without catching up in bursts after an outage.
                slot = max(slot + interval, time.monotonic())
                if self._stop.wait(max(0.0, slot - time.monotonic())):
                    return
                if not self._send(item):
                    return
                with self._progress:
                    self.confirmed += 1
                    self._progress.notify_all()
        except BaseException as error:  # reported by join(); the test names it
            self.error = error
        finally:
            self._disconnect()

    def _send(self, item: Planned) -> bool:
        """Publish ``item`` until the broker confirms it; false when stopped first."""
        while not self._stop.is_set():
            result = self._attempt(item.message)
            self.attempts.append(Attempt(item.message_id, result, time.monotonic()))
            if result == "ok":
                return True
            self._stop.wait(RETRY_SECONDS)
        return False

    def _attempt(self, message: Outbound) -> Result:
        if self._channel is None:
            try:
                self._connect()
            except (pika.exceptions.AMQPError, OSError):
                self._disconnect()
                return "fail"  # nothing was sent
        try:
            self._channel.basic_publish(
                message.exchange, message.routing_key, message.body, pika_properties(message), mandatory=True
            )
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError):
            return "fail"
        except (pika.exceptions.AMQPError, OSError):
            self._disconnect()  # the connection went with the message unconfirmed
            return "unknown"
        return "ok"

    def _connect(self) -> None:
        parameters = pika.URLParameters(self.url)
        parameters.connection_attempts = 1
        parameters.socket_timeout = 2
        parameters.blocked_connection_timeout = 10
        self._connection = pika.BlockingConnection(parameters)
        self._channel = self._connection.channel()
        self._channel.confirm_delivery()

    def _disconnect(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):  # nothing to settle here
                connection.close()
