"""The embedded demo, as a newcomer runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest

from connectors.portal.fake import FAMILY_NAMES
from hub.cli import main


def test_the_demo_runs_without_a_broker_and_adds_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    database = tmp_path / "demo.sqlite3"
    result = CliRunner().invoke(main, ["demo", "--count", "60", "--database", str(database)])
    assert result.exit_code == 0, result.output
    assert "every message accounted for: yes" in result.output
    assert "70 published, 60 forwarded (120 outputs), 10 dead-lettered" in result.output
    for reason in ("malformed_json", "invalid_utf8", "too_large", "wrong_ingress", "unknown_agency"):
        assert reason in result.output
    assert database.exists()
    assert not any(name in result.output for name in FAMILY_NAMES)


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
