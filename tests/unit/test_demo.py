"""The embedded demo, as a newcomer runs it, and the fake one-stop-shop system it plays."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from pydantic import BaseModel

import connectors
from connectors.onestop.fake import PATHS, FakeOnestop
from connectors.onestop.models import DossierProgress, DossierReceived, ResultReady
from connectors.scenario import CURRENT_UNITS, LEGACY_UNITS, Scenario, day
from connectors.synthetic import FAMILY_NAMES, MIDDLE
from hub.agencies import AgencyRegistry
from hub.cli import DEMO_SAMPLE_CONFIG, main
from hub.connector import Context
from hub.dossiers.status import ACCEPTED, LEGAL, RESULT_READY
from hub.envelope import Delivery
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import MIB, Settings, load_settings
from tests.conftest import LEGACY_UNIT

# What the hub makes of each valid message today: its outputs (canonical event and egress).
OUTPUTS = {
    ("portal", "dossier.submitted"): 2,  # DossierSubmitted; onestop dossier.submitted
    ("onestop", "dossier.received"): 3,  # DossierReceived; portal DongBoHoSoMC, CapNhatTienDoHoSoMC
    ("onestop", "dossier.progress"): 2,  # DossierProgressed; portal CapNhatTienDoHoSoMC
    ("onestop", "result.ready"): 1,  # ResultReady
}
M = TypeVar("M", bound=BaseModel)
PERSONAL = re.compile(r"\b09\d{8}\b|\b0931\d{8}\b|@example\.vn")


def sample_registry() -> AgencyRegistry:
    return AgencyRegistry(load_settings(DEMO_SAMPLE_CONFIG).agencies)


def summary_line(scenario: Scenario) -> str:
    outputs = sum(OUTPUTS[kind] * n for kind, n in scenario.valid.items())
    return (
        f"{len(scenario.messages)} published, {scenario.valid.total()} forwarded ({outputs} outputs), "
        f"{scenario.invalid.total()} dead-lettered"
    )


def validated(model: type[M], body: dict[str, Any]) -> M:
    return model.model_validate_json(json.dumps(body))


def table_rows(output: str) -> dict[str, list[str]]:
    """The cells of the printed tables' rows, by their first cell (first row wins)."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            rows.setdefault(cells[0], cells)
    return rows


def test_the_demo_runs_without_a_broker_and_adds_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    database = tmp_path / "demo.sqlite3"
    result = CliRunner().invoke(main, ["demo", "--count", "60", "--database", str(database)])
    assert result.exit_code == 0, result.output
    assert "every message accounted for: yes" in result.output
    scenario = day(60, MIB)
    assert summary_line(scenario) in result.output
    for reason in ("malformed_json", "invalid_utf8", "too_large", "wrong_ingress", "unknown_agency"):
        assert reason in result.output
    assert "hub.dead.onestop (validation_failed)" in result.output
    assert database.exists()


def test_the_demo_shows_each_owning_unit_and_legacy_codes_reaching_their_successors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    result = CliRunner().invoke(main, ["demo", "--count", "60", "--database", str(tmp_path / "d.sqlite3")])
    assert result.exit_code == 0, result.output
    assert "Per owning unit" in result.output
    scenario = day(60, MIB)
    rows = table_rows(result.output)
    online, civil_servant, postal_staff, _progress, dead = map(int, rows["total"][2:])
    assert (online, civil_servant + postal_staff, dead) == (
        scenario.filed_online,
        scenario.filed_at_counter,
        scenario.invalid.total(),
    )
    registry = sample_registry()
    routed = [
        code for code in LEGACY_UNITS if code in rows and rows[code][2] == registry.owning_unit(code, "x")
    ]
    assert routed, "no legacy code shown routed to its successor"
    assert all(code in rows for code in {registry.owning_unit(code, "x") for code in routed})


def test_the_demo_prints_no_personal_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    result = CliRunner().invoke(main, ["demo", "--count", "60", "--database", str(tmp_path / "d.sqlite3")])
    assert result.exit_code == 0, result.output
    assert not any(name in result.output for name in FAMILY_NAMES)
    assert not any(f"{f} {m}" in result.output for f, m in itertools.product(FAMILY_NAMES, MIDDLE))
    assert not PERSONAL.search(result.output)


def test_the_scenario_names_only_units_of_the_sample_registry() -> None:
    registry = sample_registry()
    assert all(code in registry for code in (*LEGACY_UNITS, *CURRENT_UNITS))
    assert all(registry.owning_unit(code, "x") != code for code in LEGACY_UNITS)
    assert all(registry.owning_unit(code, "x") == code for code in CURRENT_UNITS)


def test_the_scenario_mixes_online_and_counter_filings_with_their_days() -> None:
    scenario = day(300, MIB)
    assert (scenario.filed_online, scenario.filed_at_counter) == (180, 120)
    assert scenario.valid[("portal", "dossier.submitted")] == 180
    assert scenario.valid[("onestop", "dossier.received")] == 120
    assert scenario.valid[("onestop", "dossier.progress")] > 120
    assert 0 < scenario.valid[("onestop", "result.ready")] < 120
    assert scenario.invalid.total() == 13


def test_every_path_of_the_fake_follows_the_legal_transitions() -> None:
    for path in PATHS:
        for source, target in itertools.pairwise((ACCEPTED, *path)):
            assert target in LEGAL[source], (path, source, target)


def test_the_fake_onestop_days_are_valid_and_in_time_order() -> None:
    onestop = FakeOnestop(seed=3)
    roles: Counter[str] = Counter()
    for index in range(300):
        (kind, received), *rest = onestop.counter_dossier(LEGACY_UNIT if index % 2 else "000.00.41.H30")
        assert kind == "dossier.received"
        roles[validated(DossierReceived, received).VaiTroTiepNhan] += 1
        assert received["NgayTiepNhan"] < received["NgayHenTra"]
        steps = [body for kind, body in rest if kind == "dossier.progress"]
        times = [received["NgayTiepNhan"], *(validated(DossierProgress, s).ThoiDiemXuLy for s in steps)]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        ready = [body for kind, body in rest if kind == "result.ready"]
        reached_9 = bool(steps) and steps[-1]["TrangThaiHoSo"] == RESULT_READY
        assert len(ready) == int(reached_9)
        for body in ready:
            assert validated(ResultReady, body).NgayCoKetQua > steps[-1]["ThoiDiemXuLy"]
    assert 0.2 < roles["NHAN_VIEN_BUU_DIEN"] / 300 < 0.4


def test_each_bad_message_of_the_fake_onestop_gets_its_reason(settings: Settings) -> None:
    chosen = {p: connectors.load(p) for p in connectors.partners()}
    pipeline = Pipeline(
        chosen, settings, Context(AgencyRegistry(settings.agencies)), Registry.load(CATALOGUE)
    )
    for expected, message in FakeOnestop().bad_messages(LEGACY_UNIT):
        delivery = Delivery(
            "onestop", message.exchange, message.routing_key, message.body, message.properties
        )
        outcome = pipeline.process(delivery)
        assert outcome.record.reason == expected


def test_metrics_carry_no_personal_data_and_bounded_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    result = CliRunner().invoke(main, ["demo", "--count", "40", "--database", str(tmp_path / "d.sqlite3")])
    assert result.exit_code == 0, result.output
    exposed = generate_latest().decode()
    assert "hub_dead_letters_total" in exposed
    assert not any(name in exposed for name in FAMILY_NAMES)
    assert "MaHoSo" not in exposed
    assert "portal-" not in exposed  # no message ids as labels
    assert "onestop-" not in exposed
    labels = {
        line.split("{", 1)[1].split("}", 1)[0]
        for line in exposed.splitlines()
        if line.startswith("hub_") and "{" in line
    }
    assert all(
        key in {"partner", "kind", "reason", "cause", "le"} for label in labels for key in _keys(label)
    )


def _keys(labels: str) -> list[str]:
    return [pair.split("=", 1)[0] for pair in labels.split(",") if pair]
