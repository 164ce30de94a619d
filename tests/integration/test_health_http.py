"""A real ``hub run`` on RabbitMQ and PostgreSQL, watched as an orchestrator and Prometheus watch it:
over HTTP, while the store is cut away through a proxy (tests/proxy.py), with its logs as JSON lines."""

from __future__ import annotations

import json
import signal
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from connectors.portal.fake import FakePortal
from hub import VIETNAM, app
from hub.bus.transport import Transport
from hub.errors import Reason
from hub.store import migrate
from hub.store.database import make_engine
from hub.store.dossiers import dossier_facts, dossiers
from tests.conftest import CURRENT_UNIT, LEGACY_UNIT, PROVINCE_UNIT
from tests.helpers import filings
from tests.http_get import answer, get
from tests.integration.guarantees import hub_run, via_port
from tests.proxy import Proxy, closed_port
from tests.waiting import eventually

POSTGRES_PORT = 5432
STARTED = 60.0  # a Python process importing the hub, migrating a fresh database, claiming partitions
CHANGED = 20.0  # the store probe asks every 2 s and forgets an answer after 10 s
FILINGS = 5
JSON_FIELDS = {"time", "level", "logger", "event"}


class Watcher:
    """Polls /readyz and checks /healthz on every poll: the process stays alive whatever readiness says."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.liveness: list[tuple[int, str]] = []

    def readiness(self) -> tuple[int, str]:
        try:
            ready = answer(self.port, "/readyz")
        except ConnectionRefusedError:
            return (0, "not listening yet")
        self.liveness.append(answer(self.port, "/healthz"))
        return ready

    def until(self, expected: tuple[int, str], seconds: float) -> None:
        eventually(self.readiness, lambda got: got == expected, seconds, f"/readyz {expected}", every=0.1)

    def metrics(self) -> str:
        return get(self.port, "/metrics").body


def sample(exposition: str, name: str) -> float:
    """The value of the sample written ``name`` (with its labels) in a Prometheus exposition."""
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def json_lines(stderr: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]


@pytest.mark.timeout(180)
def test_readiness_turns_503_during_a_store_outage_and_back_while_liveness_holds(
    broker_url: str, postgres_url: str, portal: FakePortal
) -> None:
    Transport(broker_url).apply_topology(app.topology())
    port = closed_port()
    bad = dict(portal.bad_messages(PROVINCE_UNIT, 1024 * 1024))[Reason.VALIDATION_FAILED]
    with Proxy(POSTGRES_PORT) as proxy:
        proxy.cut()  # the hub starts before its store answers
        process = hub_run(
            broker_url,
            via_port(postgres_url, proxy.port),
            HUB_METRICS_PORT=str(port),
            HUB_LOG_FORMAT="json",
            HUB_RETRY_BACKOFF_MAX_SECONDS="1",
        )
        try:
            watcher = Watcher(port)
            watcher.until((503, "starting"), STARTED)
            proxy.restore()
            watcher.until((200, "ready"), STARTED)

            Transport(broker_url).publish_confirmed([*filings(portal, FILINGS), bad])
            settled = eventually(
                watcher.metrics,
                lambda text: sample(text, 'hub_processing_seconds_count{partner="portal"}') == FILINGS + 1,
                CHANGED,
                "every input settled, in hub_processing_seconds",
            )
            assert sample(settled, 'hub_dead_letters_total{partner="portal",reason="validation_failed"}') == 1
            assert sample(settled, "hub_broker_connected") == 1
            assert sample(settled, "hub_ready") == 1

            proxy.cut()
            watcher.until((503, "store unavailable"), CHANGED)
            assert sample(watcher.metrics(), "hub_ready") == 0
            proxy.restore()
            watcher.until((200, "ready"), CHANGED)

            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
    assert process.returncode == 0, stderr.decode()
    assert watcher.liveness, "/healthz was never asked"
    assert {status for status, _ in watcher.liveness} == {200}, watcher.liveness
    with pytest.raises(ConnectionRefusedError):
        get(port, "/healthz")  # the server stopped with the process

    lines = json_lines(stderr)
    assert all(line.keys() >= JSON_FIELDS for line in lines), lines
    dead = [line for line in lines if line.get("reason") == "validation_failed"]
    assert len(dead) == 1, lines
    assert dead[0]["partner"] == "portal"
    assert dead[0]["kind"] == "dossier.submitted"
    assert dead[0]["message_id"] == bad.properties.message_id
    assert dead[0]["logger"] == "hub.pipeline"
    assert "09318700" not in stderr.decode()  # the refused citizen ID is named by its path only


@pytest.mark.timeout(120)
def test_hub_run_exports_the_radar_gauges_per_unit_of_today(
    broker_url: str, postgres_url: str, tmp_path: Path
) -> None:
    """Counted from the store at start (then every HUB_RADAR_REFRESH_SECONDS), in the working days
    of HUB_WORKING_CALENDAR_FILE (here: weekends only, around today, so the test keeps no date)."""
    Transport(broker_url).apply_topology(app.topology())
    today = datetime.now(VIETNAM).date()
    calendar = tmp_path / "calendar.toml"
    first, last = today - timedelta(days=60), today + timedelta(days=60)
    calendar.write_text(f"[coverage]\nfirst_day = {first}\nlast_day = {last}\n", encoding="utf-8")
    engine = make_engine(postgres_url)
    migrate.upgrade(engine)
    late = datetime.combine(today - timedelta(days=10), time(17), VIETNAM)
    due_today = datetime.combine(today, time(17), VIETNAM)
    # Filed under a unit since merged: they count under its successor.
    opened = [(code, LEGACY_UNIT, due) for code, due in (("D-1", late), ("D-2", due_today))]
    with engine.begin() as connection:
        connection.execute(
            insert(dossiers),
            [{"code": c, "unit": u, "initial_status": 2, "result_by_post": False} for c, u, _ in opened],
        )
        connection.execute(
            insert(dossier_facts),
            [
                {"code": c, "due_at": int(due.timestamp() * 1000), "paid_online_vnd": 0}
                for c, _, due in opened
            ],
        )
    engine.dispose()
    port = closed_port()
    process = hub_run(
        broker_url, postgres_url, HUB_METRICS_PORT=str(port), HUB_WORKING_CALENDAR_FILE=str(calendar)
    )
    try:
        watcher = Watcher(port)
        watcher.until((200, "ready"), STARTED)
        exposition = eventually(
            watcher.metrics,
            lambda text: f'hub_dossiers_overdue{{unit="{CURRENT_UNIT}"}}' in text,
            CHANGED,
            "the radar gauges",
        )
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr.decode()
    assert sample(exposition, f'hub_dossiers_overdue{{unit="{CURRENT_UNIT}"}}') == 1
    assert sample(exposition, f'hub_dossiers_due_soon{{unit="{CURRENT_UNIT}"}}') == 1
    assert f'hub_dossiers_overdue{{unit="{PROVINCE_UNIT}"}} 0.0' in exposition  # every unit of today
    assert f'unit="{LEGACY_UNIT}"' not in exposition  # not a merged one
