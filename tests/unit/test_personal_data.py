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
from hub.cli_demo import DEMO_SAMPLE_CONFIG
from hub.demo import Expected, run_demo
from hub.envelope import Delivery, Outbound
from hub.settings import MIB, Settings, load_settings

COUNT = 40


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
        for field in ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai", "Email", "NguoiTiepNhan"):
            if isinstance(data.get(field), str):
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
