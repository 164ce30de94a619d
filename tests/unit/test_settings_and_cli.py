"""Settings sources and the CLI commands that need no broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.errors import ConfigError
from hub.settings import load_settings

CONFIG = """
prefetch = 42
broker_url = "amqp://hub:s3cret-pass@rabbit.example:5672/prod"

[[agencies]]
code = "000.00.30.H30"
name = "sample"
"""


def test_the_file_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("HUB_PREFETCH", "7")
    settings = load_settings(config)
    assert settings.prefetch == 7
    assert [a.code for a in settings.agencies] == ["000.00.30.H30"]
    assert settings.broker_url_value() == "amqp://hub:s3cret-pass@rabbit.example:5672/prod"


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_config_show_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql://hub:db-pass@db.example/hub")
    result = CliRunner().invoke(main, ["--config", str(config), "config", "show", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["broker_url"] == "amqp://hub:****@rabbit.example:5672/prod"
    assert shown["database_url"] == "postgresql://hub:****@db.example/hub"
    assert "s3cret-pass" not in result.output
    assert "db-pass" not in result.output
    assert shown["prefetch"] == 42


def test_commands_that_need_a_broker_say_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    example = tmp_path / "body.json"
    example.write_text("{}")
    for args in (
        ["run"],
        ["topology", "apply"],
        ["publish", "--as", "portal", "dossier.submitted", str(example)],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code != 0
        assert "HUB_BROKER_URL" in result.output


def test_topology_show_lists_the_contract_names() -> None:
    result = CliRunner().invoke(main, ["topology", "show", "--definitions"])
    assert result.exit_code == 0
    definitions = json.loads(result.output)
    assert {q["name"] for q in definitions["queues"]} >= {
        "hub.ingress.portal",
        "hub.dead.portal",
        "egress.onestop",
    }


def test_the_committed_rabbitmq_definitions_are_current() -> None:
    committed = Path(__file__).parents[2] / "ops" / "rabbitmq" / "definitions.json"
    generated = CliRunner().invoke(main, ["topology", "show", "--definitions"]).output
    assert json.loads(committed.read_text()) == json.loads(generated), "run scripts/generate"


def test_a_typo_in_a_connector_name_gets_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", "amqp://guest:guest@127.0.0.1:1/")
    result = CliRunner().invoke(main, ["publish", "--as", "portl", "dossier.submitted", "-"], input="{}")
    assert result.exit_code != 0
    assert "did you mean 'portal'" in result.output
