"""``hub deliver PARTNER`` finds the partner's adapter in ``connectors.<partner>.http`` and says
clearly when it cannot: an unknown partner, a partner without one, no broker."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.cli_deliver import build_adapter
from hub.errors import ConfigError
from hub.exits import Exit
from hub.settings import Settings

BROKER = {"HUB_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/"}


def deliver(*args: str, env: dict[str, str] | None = None, cwd: Path) -> tuple[int, str]:
    database = {"HUB_DATABASE_URL": f"sqlite:///{cwd / 'hub.sqlite3'}"}
    result = CliRunner().invoke(main, ["deliver", *args], env={**database, **(env or {})})
    return result.exit_code, result.output


def test_a_partner_without_an_http_adapter_is_named(tmp_path: Path) -> None:
    code, output = deliver("onestop", env=BROKER, cwd=tmp_path)
    assert code == Exit.CONFIG
    assert "partner 'onestop' has no HTTP adapter (connectors.onestop.http)" in output


def test_an_unknown_partner_gets_the_closest_name(tmp_path: Path) -> None:
    code, output = deliver("portl", env=BROKER, cwd=tmp_path)
    assert code == Exit.CONFIG
    assert "did you mean 'portal'?" in output


def test_without_a_broker_it_says_which_setting(tmp_path: Path) -> None:
    code, output = deliver("postal", cwd=tmp_path)
    assert code == Exit.CONFIG
    assert "HUB_BROKER_URL" in output


def test_the_adapter_is_built_by_the_partners_http_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("connectors.onestop.http")
    built: list[Settings] = []
    adapter = object()

    def build(settings: Settings) -> object:
        built.append(settings)
        return adapter

    module.build_adapter = build  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "connectors.onestop.http", module)
    settings = Settings()
    assert build_adapter("onestop", settings) is adapter
    assert built == [settings]


def test_a_module_without_build_adapter_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "connectors.onestop.http", types.ModuleType("connectors.onestop.http"))
    with pytest.raises(ConfigError, match="has no build_adapter"):
        build_adapter("onestop", Settings())
