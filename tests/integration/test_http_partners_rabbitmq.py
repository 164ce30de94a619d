"""``hub deliver portal`` and ``hub deliver postal`` as real processes against the fake partners over
HTTP on 127.0.0.1 (issue 10). SIGKILLed while calls are in flight and started again, they lose
nothing, keep each dossier's order, and send again only what the killed process had sent and the
broker had not seen acknowledged. The partner's idempotency absorbs such a repeat for a dossier
(DongBoHoSoMC "đã tồn tại": sent again as an update) and an order (101, already exists); the fake
portal applies a progress record sent again a second time, as the real one may. A refusal goes to
the egress dead letters, and back to the partner by ``hub dead-letters replay --egress``.

The egress messages are the hub's own (its pipeline, fed the partners' samples), published on the
test's vhost. Everything is checked from outside the hub: what the fakes applied, the broker's
figures, the queues once the process has exited (no consumer then, so no message can hide
unacknowledged: the depth is all there is), the audit rows and the processes' output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from connectors.fake_http import serving
from connectors.portal.fake_server import FakePortalServer
from connectors.portal.fake_state import Applied
from connectors.postal.fake_server import PostOffice
from connectors.postal.fake_server import app as post_office_app
from hub import app
from hub.audit.chain import audit_log
from hub.bus.topology import egress_dead_letter_queue, egress_exchange, egress_queue
from hub.bus.transport import Transport
from hub.cli import main
from hub.envelope import HEADER_PARTNER_CODE, HEADER_REASON, Outbound
from hub.settings import Settings
from tests import rabbit
from tests.connectors.harness import InMemoryHub, forwarded, sample
from tests.waiting import eventually

T = TypeVar("T")
WAIT = 20.0
STOP_SECONDS = 20.0
ANSWER_DELAY = 0.1  # each fake answer is held back this long: calls are in flight at the kill
PORTAL_PASSWORD = "hub-password"  # the fake portal's own account
DELIVERY = {
    "default": {
        "rate_per_second": None,
        "concurrency": 8,
        "prefetch": 200,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
    }
}
# The samples' people: none of them may show in a dead letter's headers or in the hub's output.
PERSONAL = ("Nguyễn Thị Lan", "0912345678", "Trần Văn Bình", "Lê Minh Chánh", "lan.nguyen@example.vn")


def personal_values_in(text: str) -> list[str]:
    return [value for value in PERSONAL if value in text]


def code_of(n: int) -> str:
    return f"000.00.30.H30-261130-{n:04d}"


# -- the hub's egress messages -------------------------------------------------------------------


def egress_of(outputs: Sequence[Outbound], partner: str) -> list[Outbound]:
    return [output for output in outputs if output.exchange == egress_exchange(partner)]


def counter_dossiers(settings: Settings, count: int, steps: int) -> list[Outbound]:
    """egress.portal as the hub fills it: ``count`` dossiers received at a counter (DongBoHoSoMC and
    the accepted record each), then ``steps`` processing steps of each, the dossiers interleaved."""
    hub, outputs = InMemoryHub(settings), []
    for n in range(count):
        received = sample("onestop.dossier.received") | {"MaHoSo": code_of(n)}
        outputs += judged(hub, "onestop", "dossier.received", received)
    for step in range(steps):
        for n in range(count):
            moment = f"20261130{9 + step:02d}0000"
            progress = sample("onestop.dossier.progress") | {"MaHoSo": code_of(n), "ThoiDiemXuLy": moment}
            outputs += judged(hub, "onestop", "dossier.progress", progress)
    return egress_of(outputs, "portal")


def collection_orders(settings: Settings, count: int, withdrawn: int) -> list[Outbound]:
    """egress.postal as the hub fills it: ``count`` online filings whose paper originals the post
    collects (order.create each), then the first ``withdrawn`` of them withdrawn (order.cancel)."""
    hub, outputs = InMemoryHub(settings), []
    for n in range(count):
        filing = sample("portal.dossier.submitted") | {"MaHoSo": code_of(n)}
        outputs += judged(hub, "portal", "dossier.submitted", filing)
    for n in range(withdrawn):
        withdrawal = sample("portal.dossier.withdrawn") | {"MaHoSo": code_of(n)}
        outputs += judged(hub, "portal", "dossier.withdrawn", withdrawal)
    return egress_of(outputs, "postal")


def judged(hub: InMemoryHub, partner: str, kind: str, body: dict[str, Any]) -> list[Outbound]:
    outcome = hub.send(partner, kind, body)
    assert forwarded(outcome), outcome.record
    return list(outcome.outputs)


def published_on(broker_url: str, messages: Sequence[Outbound]) -> Transport:
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    transport.publish_confirmed(messages)
    return transport


# -- `hub deliver` processes ---------------------------------------------------------------------


@dataclass
class Deliverer:
    """``hub deliver PARTNER`` processes, one after another; each one's output in the test's directory."""

    partner: str
    env: dict[str, str]
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        log = self.directory / f"deliver-{self.partner}-{len(self.logs) + 1}.log"
        self.logs.append(log)
        environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("HUB_")}
        with log.open("wb") as output:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", "deliver", self.partner],
                cwd=self.directory,
                env=environment | self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(STOP_SECONDS)

    def stop(self) -> int:
        """SIGTERM; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(STOP_SECONDS)

    def until(self, read: Callable[[], T], check: Callable[[T], bool], what: str, every: float = 0.01) -> T:
        """Wait for ``check(read())`` while the process runs; fail with its output when it ended."""

        def watched() -> T:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"hub deliver {self.partner} ended before {what}: {self.output()}")
            return read()

        return eventually(watched, check, WAIT, what, every)

    def output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs)


@contextmanager
def delivering(partner: str, env: dict[str, str], directory: Path) -> Iterator[Deliverer]:
    deliverer = Deliverer(partner, env, directory)
    try:
        yield deliverer
    finally:
        if deliverer.process is not None and deliverer.process.poll() is None:
            deliverer.kill()


# -- killing a process mid-batch ---------------------------------------------------------------


class InFlight:
    """ASGI middleware in front of a fake: how many requests have not been answered yet."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = 0  # changed on the server's event loop only

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.now += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


def kill_mid_batch(deliverer: Deliverer, applied: Callable[[], int], calls: InFlight, after: int) -> int:
    """SIGKILL once ``after`` messages were applied and calls are in flight; how many were."""
    _, in_flight = deliverer.until(
        lambda: (applied(), calls.now), lambda seen: seen[0] >= after and seen[1] > 0, "calls in flight"
    )
    deliverer.kill()
    return in_flight


# -- the processes' settings and their end ----------------------------------------------------


def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.sqlite3'}"


def hub_env(broker_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "HUB_BROKER_URL": broker_url,
        "HUB_DATABASE_URL": database_url(tmp_path),
        "HUB_DELIVERY": json.dumps(DELIVERY),
    }


def portal_env(broker_url: str, tmp_path: Path, base_url: str) -> dict[str, str]:
    return hub_env(broker_url, tmp_path) | {
        "HUB_PORTAL_HTTP__BASE_URL": base_url,
        "HUB_PORTAL_HTTP__DSTCODE": "H30",
        "HUB_PORTAL_HTTP__USERNAME": "hub",
        "HUB_PORTAL_HTTP__PASSWORD": PORTAL_PASSWORD,
        "HUB_PORTAL_HTTP__PROGRESS_CHUNK_SIZE": "2",  # several calls per dossier
    }


def drained(deliverer: Deliverer, transport: Transport, count: int, delivered: Callable[[], bool]) -> None:
    """Once the partner has every message, wait for the broker's figures of the egress queue to show
    acknowledgements (so they are newer than the publish: until then they read 0) and none held,
    ready or not (the killed process's acknowledgements can be missing from the count, so ``count``
    bounds it rather than equals it), then stop the
    process with SIGTERM. With no consumer left, nothing can hide unacknowledged: the egress queue and
    its dead letters must both be empty. No citizen's data and no secret in what the processes said."""
    queue = egress_queue(deliverer.partner)
    deliverer.until(delivered, bool, "every message at the partner")
    vhost = rabbit.vhost_of(deliverer.env["HUB_BROKER_URL"])
    deliverer.until(
        lambda: rabbit.queue(vhost, queue),
        lambda figures: 0 < rabbit.stat(figures, "ack") <= count and rabbit.held(figures) == 0,
        f"acknowledgements (at most {count}), none held",
        every=0.2,
    )
    assert deliverer.stop() == 0, deliverer.output()
    assert transport.depth(queue) == 0
    assert transport.depth(egress_dead_letter_queue(deliverer.partner)) == 0
    output = deliverer.output()
    assert personal_values_in(output) == []
    assert [k for k, v in deliverer.env.items() if k.endswith(("PASSWORD", "SECRET")) and v in output] == []


# -- the portal ----------------------------------------------------------------------------------


@pytest.fixture
def portal() -> Iterator[tuple[FakePortalServer, InFlight, str]]:
    server = FakePortalServer()
    calls = InFlight(server.app)
    with serving(calls) as base_url:
        yield server, calls, base_url


def record_key(kind: str, payload: dict[str, Any]) -> str:
    """What tells a dossier's records apart: its sync, or a progress record by its time."""
    return "sync" if kind == "DongBoHoSoMC" else str(payload["ThoiDiemXuLy"])


def applied_key(applied: Applied) -> str:
    return record_key("DongBoHoSoMC" if applied.action != "progress" else "progress", dict(applied.record))


def published_keys(messages: Sequence[Outbound]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = defaultdict(list)
    for message in messages:
        keys[str(message.properties.correlation_id)].append(
            record_key(message.routing_key, json.loads(message.body))
        )
    return keys


def sent_before_the_restart(server: FakePortalServer) -> set[tuple[str, str]]:
    """(dossier, key) of every record the first process sent, applied or not: the service calls
    before the second login (each process logs in once, at its first call)."""
    received = server.state.received()
    logins = [i for i, request in enumerate(received) if request.path == "/login"]
    assert len(logins) == 2, logins
    sent = set()
    for request in received[: logins[1]]:
        body = request.body if isinstance(request.body, dict) else {}
        for payload in body.get("data") or []:
            sent.add((payload["MaHoSo"], record_key(str(request.service), payload)))
    return sent


def portal_has(server: FakePortalServer, expected: dict[str, list[str]]) -> bool:
    """Every record of every dossier applied, at least once."""
    applied = {(change.dossier, applied_key(change)) for change in server.state.applied()}
    return all((dossier, key) in applied for dossier, keys in expected.items() for key in keys)


def one_rewind(indices: list[int], count: int) -> tuple[int, int] | None:
    """``indices`` as ``0..a-1`` then ``b..count-1`` with ``b <= a`` (the records ``b..a-1`` repeated);
    ``(a, b)``, or None when they are anything else: a gap, a reordering, two rewinds."""
    first = next((i for i, index in enumerate(indices) if index != i), len(indices))
    rest = indices[first:]
    resumed = rest[0] if rest else first
    return (first, resumed) if rest == list(range(resumed, count)) and resumed <= first else None


def test_portal_killed_mid_batch_loses_nothing_and_repeats_only_what_the_killed_process_sent(
    broker_url: str, tmp_path: Path, settings: Settings, portal: tuple[FakePortalServer, InFlight, str]
) -> None:
    server, calls, base_url = portal
    messages = counter_dossiers(settings, count=16, steps=4)
    expected = published_keys(messages)
    transport = published_on(broker_url, messages)
    server.slow(ANSWER_DELAY)

    with delivering("portal", portal_env(broker_url, tmp_path, base_url), tmp_path) as deliverer:
        deliverer.start()
        in_flight = kill_mid_batch(deliverer, lambda: len(server.state.applied()), calls, after=20)
        assert len(server.state.applied()) < len(messages)
        deliverer.start()
        drained(deliverer, transport, len(messages), lambda: portal_has(server, expected))

    sent_by_the_first = sent_before_the_restart(server)
    applied: dict[str, list[Applied]] = defaultdict(list)
    for change in server.state.applied():
        applied[change.dossier].append(change)
    assert set(applied) == set(expected)
    for dossier, keys in expected.items():
        assert server.state.dossier(dossier) is not None
        indices = [keys.index(applied_key(change)) for change in applied[dossier]]
        rewind = one_rewind(indices, len(keys))
        assert rewind is not None, (dossier, indices)  # every record, in order: no gap, no reordering
        first, resumed = rewind
        assert {(dossier, keys[i]) for i in range(resumed, first)} <= sent_by_the_first
        syncs = [change.action for change in applied[dossier] if change.action != "progress"]
        assert syncs in (["create"], ["create", "update"]), (dossier, syncs)  # "đã tồn tại": an update
    repeated = len(server.state.applied()) - len(messages)
    assert repeated > 0  # the calls in flight at the kill were applied, unanswered, and sent again
    print(f"portal: {len(messages)} messages, {in_flight} calls in flight at the kill, {repeated} repeated")


def test_a_refused_dossier_is_dead_lettered_without_personal_data_and_replayed(
    broker_url: str, tmp_path: Path, settings: Settings, portal: tuple[FakePortalServer, InFlight, str]
) -> None:
    server, _calls, base_url = portal
    messages = counter_dossiers(settings, count=3, steps=1)
    refused = code_of(1)
    server.state.refuse(refused)
    transport = published_on(broker_url, messages)
    env = portal_env(broker_url, tmp_path, base_url) | {"HUB_REPLAY_USERS": json.dumps([rabbit.USER])}
    dead_queue = egress_dead_letter_queue("portal")

    deliver_once(env)
    letters = transport.peek(dead_queue, 10, "portal")
    theirs = [m.properties.message_id for m in messages if m.properties.correlation_id == refused]
    assert [letter.properties.message_id for letter in letters] == theirs
    for letter in letters:
        assert letter.properties.headers[HEADER_REASON] == "partner_refused"
        assert letter.properties.headers[HEADER_PARTNER_CODE] == "error_code=-1"  # the fake's data error
        shown = json.dumps(dict(letter.properties.headers), ensure_ascii=False, default=str)
        assert personal_values_in(shown) == [], shown
    published = published_keys(messages)
    assert applied_keys(server) == {code: published[code] for code in (code_of(0), code_of(2))}
    assert undelivered_in_the_audit(tmp_path) == [(message_id, "partner_refused") for message_id in theirs]

    replayed = CliRunner().invoke(main, ["dead-letters", "replay", "portal", "--egress"], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert f"{len(theirs)} replayed" in replayed.output
    assert (transport.depth(egress_queue("portal")), transport.depth(dead_queue)) == (len(theirs), 0)
    server.state.accept(refused)

    deliver_once(env)
    assert applied_keys(server) == published  # the refused dossier's records last, in order
    assert (transport.depth(egress_queue("portal")), transport.depth(dead_queue)) == (0, 0)


def deliver_once(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["deliver", "portal", "--once"], env=env)
    assert result.exit_code == 0, result.output


def applied_keys(server: FakePortalServer) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = defaultdict(list)
    for change in server.state.applied():
        keys[change.dossier].append(applied_key(change))
    return keys


def undelivered_in_the_audit(tmp_path: Path) -> list[tuple[str, str]]:
    """(message id, reason) of the audit's undelivered entries, none with a citizen's value."""
    engine = create_engine(database_url(tmp_path))
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    finally:
        engine.dispose()
    assert personal_values_in(json.dumps([dict(row) for row in rows], ensure_ascii=False, default=str)) == []
    return [(row["message_id"], row["reason"]) for row in rows if row["entry"] == "undelivered"]


# -- the post ------------------------------------------------------------------------------------


@pytest.fixture
def post_office() -> Iterator[tuple[PostOffice, InFlight, str]]:
    office = PostOffice()
    calls = InFlight(post_office_app(office))
    with serving(calls) as base_url:
        yield office, calls, base_url
        office.close()


def post_has(office: PostOffice, numbers: Sequence[str], cancelled: set[str]) -> bool:
    return set(office.orders) == set(numbers) and office.cancelled == cancelled


def test_postal_killed_mid_batch_places_and_cancels_each_order_once(
    broker_url: str, tmp_path: Path, settings: Settings, post_office: tuple[PostOffice, InFlight, str]
) -> None:
    office, in_flight_calls, base_url = post_office
    messages = collection_orders(settings, count=16, withdrawn=6)
    numbers = [json.loads(m.body)["OrderNumber"] for m in messages if m.routing_key == "order.create"]
    cancelled = {json.loads(m.body)["OrderNumber"] for m in messages if m.routing_key == "order.cancel"}
    transport = published_on(broker_url, messages)
    for endpoint in ("order", "cancel"):
        office.slow(ANSWER_DELAY, times=10 * len(messages), endpoint=endpoint)
    env = hub_env(broker_url, tmp_path) | {
        "HUB_POSTAL_HTTP__BASE_URL": base_url,
        "HUB_POSTAL_HTTP__CONSUMER_KEY": office.consumer_key,
        "HUB_POSTAL_HTTP__CONSUMER_SECRET": office.consumer_secret,
    }

    with delivering("postal", env, tmp_path) as deliverer:
        deliverer.start()
        in_flight = kill_mid_batch(deliverer, lambda: len(office.applied("order")), in_flight_calls, after=6)
        assert len(office.orders) < len(numbers)
        deliverer.start()
        drained(deliverer, transport, len(messages), lambda: post_has(office, numbers, cancelled))

    created = [entry.body["OrderNumber"] for entry in office.applied("order")]
    assert sorted(created) == sorted(numbers)  # each order placed once: a re-sent one answered 101
    assert set(office.orders) == set(numbers)
    cancels = [entry.query["OrderNumber"] for entry in office.applied("cancel")]
    assert sorted(cancels) == sorted(cancelled)
    assert office.cancelled == cancelled
    calls = [entry for entry in office.record if entry.endpoint in ("order", "cancel")]
    for number in cancelled:  # a cancel never overtook its order
        placed = next(
            i
            for i, e in enumerate(calls)
            if e.applied and e.endpoint == "order" and e.body["OrderNumber"] == number
        )
        assert all(
            i > placed
            for i, e in enumerate(calls)
            if e.endpoint == "cancel" and e.query["OrderNumber"] == number
        )
    resent = len(calls) - len(messages)
    assert resent > 0  # the calls in flight at the kill were applied, unanswered, and made again
    print(f"postal: {len(messages)} messages, {in_flight} calls in flight at the kill, {resent} made again")
