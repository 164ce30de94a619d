"""``hub store migrate``: the one-shot migration a deployment runs before its workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from hub.cli import main
from hub.store import migrate


def test_migrate_creates_the_tables_and_is_safe_to_repeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["store", "migrate"])
        assert result.exit_code == 0, result.output
        assert result.output == f"store at revision {migrate.head()}\n"
    engine = create_engine(url)
    assert {"message_log", "dossiers", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_an_unreachable_database_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql://hub:secret@127.0.0.1:1/hub")
    result = CliRunner().invoke(main, ["store", "migrate"])
    assert result.exit_code == 1
    assert result.output == "Error: store unreachable: OperationalError\n"
