"""The personal-data sweep: after a verbose demo, no synthetic citizen's name, ID number, phone or
email appears in the logs (as text or as JSON lines), the dead-letter headers, the ledger's database
file or the metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from connectors.scenario import Day
from hub import logs
from hub.bus.topology import EVENTS_EXCHANGE
from hub.cli_demo import DEMO_SAMPLE_CONFIG
from hub.demo import Expected, run_demo
from hub.envelope import Delivery, Outbound
from hub.outcomes import Outcome
from hub.pipeline import Pipeline
from hub.settings import MIB, Settings, load_settings

COUNT = 40
FREE_TEXT = ("LyDo", "NoiDungXuLy", "Notes", "StatusMessage")  # personal since issue 13


def canaries(messages: list[bytes]) -> set[str]:
    """Every personal value the scenario's valid JSON messages carry."""
    found: set[str] = set()
    for body in messages:
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        for field in ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "NguoiTiepNhan", *FREE_TEXT):
            if isinstance(data.get(field), str) and data[field]:
                found.add(data[field])
        for address in ("DiaChiNhanKetQua", "DiaChiThuGom"):
            if isinstance(data.get(address), dict):
                found.update(str(data[address][key]) for key in ("hoVaTen", "soDienThoai", "diaChi"))
    return found


class Recorded:
    """The demo's day, keeping every body its partners published."""

    def __init__(self, day: Day) -> None:
        self.day = day
        self.bodies: list[bytes] = []

    @property
    def expected(self) -> Expected:
        return self.day.expected

    def next_round(self, delivered: Mapping[str, Sequence[Delivery]]) -> list[Outbound]:
        messages = self.day.next_round(delivered)
        self.bodies += [m.body for m in messages]
        return messages


def test_no_personal_value_leaks_out_of_the_hub(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(agencies=load_settings(DEMO_SAMPLE_CONFIG).agencies)
    script = Recorded(Day(COUNT, MIB))
    database = tmp_path / "sweep.sqlite3"
    with caplog.at_level(logging.DEBUG):
        report = run_demo(settings, script, database)
    assert report.accounted_for
    assert len(report.rounds) > 2  # the post's and the units' answers were played too
    personal = canaries(script.bodies)
    assert len(personal) > 50
    headers = json.dumps(
        [dict(d.properties.headers) for deliveries in report.dead.values() for d in deliveries],
        ensure_ascii=False,
    )
    stored = database.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("sweep.sqlite3-*"))
    places = {
        "logs": caplog.text,
        "dead-letter headers": headers,
        "metrics": generate_latest().decode(),
        "ledger database": stored.decode("utf-8", errors="replace"),
    }
    for place, text in places.items():
        leaked = sorted(value for value in personal if value in text)
        assert not leaked, f"personal data in {place}: {len(leaked)} values"


def test_the_events_stream_carries_no_personal_value_and_dead_letters_only_the_partner_s_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the pipeline hands the worker to publish: canonical events (hub.events.log) with every
    personal value sealed; dead letters with the partner's body as it came, kept for replay
    (docs/audit.md, "Where personal data is kept"), nothing added to it. Parked messages are swept on
    RabbitMQ (tests/integration/test_sealed_everywhere.py): the demo's day parks none."""
    outcomes: list[Outcome] = []
    process = Pipeline.process

    def recorded(pipeline: Pipeline, delivery: Delivery) -> Outcome:
        outcomes.append(process(pipeline, delivery))
        return outcomes[-1]

    monkeypatch.setattr(Pipeline, "process", recorded)
    settings = Settings(agencies=load_settings(DEMO_SAMPLE_CONFIG).agencies)
    script = Recorded(Day(COUNT, MIB))
    assert run_demo(settings, script, tmp_path / "sweep.sqlite3").accounted_for
    personal = canaries(script.bodies)
    events = [o.body for outcome in outcomes for o in outcome.outputs if o.exchange == EVENTS_EXCHANGE]
    dead = [
        (outcome.delivery.body, o.body)
        for outcome in outcomes
        for o in outcome.outputs
        if o.exchange.startswith("hub.dead.")
    ]
    assert len(events) > 100
    assert dead
    stream = b"".join(events).decode("utf-8", errors="replace")
    assert "hub-sealed:v1:" in stream
    leaked = sorted(value for value in personal if value in stream)
    assert not leaked, f"personal data on the events stream: {len(leaked)} values"
    assert all(kept == original for original, kept in dead)


def strings(value: object) -> list[str]:
    """Every string in a parsed JSON value, keys included: a value escaped in the line is plain here."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []


def test_no_personal_value_reaches_the_json_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_LOG_FORMAT", "json")
    settings = load_settings(agencies=load_settings(DEMO_SAMPLE_CONFIG).agencies)
    written = io.StringIO()
    handler = logs.handler(settings, written)  # what `hub` installs on stderr for these settings
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    script = Recorded(Day(COUNT, MIB))
    try:
        report = run_demo(settings, script, tmp_path / "sweep.sqlite3")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert report.accounted_for
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    assert all(line.keys() >= {"time", "level", "logger", "event"} for line in lines)
    dead = [line for line in lines if line["event"].startswith("dead-lettered")]
    assert len(dead) == report.dead_lettered, "one line per dead letter"
    assert all(line.keys() >= {"partner", "kind", "reason", "detail"} for line in dead)
    no_id = [line for line in dead if "message_id" not in line]
    assert all(line["reason"] == "missing_property" for line in no_id)  # the message id is what lacks
    personal = canaries(script.bodies)
    assert len(personal) > 50
    for place, text in {
        "JSON log lines": written.getvalue(),
        "JSON log values": "\n".join(text for line in lines for text in strings(line)),
    }.items():
        leaked = sorted(value for value in personal if value in text)
        assert not leaked, f"personal data in {place}: {len(leaked)} values"
