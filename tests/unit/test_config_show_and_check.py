"""``hub config show`` explains each setting; ``hub config check`` names each part that is not ready,
without changing anything (no SQLite file created, no migration)."""

from __future__ import annotations

import base64
import os
import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr

from hub import config_check
from hub.cli import main
from hub.cli_config import command_variables
from hub.config_check import Status
from hub.exits import Exit
from hub.settings import Settings, unknown_variables
from hub.store import migrate
from hub.store.database import make_engine
from tests.hub_command import KEYS, PASSWORD
from tests.proxy import closed_port

CONFIG = f"""
broker_url = "amqp://hub:{PASSWORD}@rabbit.example:5672/prod"

[[agencies]]
code = "000.00.30.H30"
name = "sample"
"""


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``HUB_`` variable of the test run's own reaches the command."""
    for name in [name for name in os.environ if name.upper().startswith("HUB_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_every_setting_has_a_meaning() -> None:
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_config_show_prints_each_setting_with_its_value_source_and_meaning(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hub.toml").write_text(CONFIG)
    clean_environment.setenv("HUB_PREFETCH", "7")
    clean_environment.setenv("HUB_MASTER_KEYS", KEYS["HUB_MASTER_KEYS"])
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "hub.toml"), "config", "show"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert PASSWORD not in result.output
    assert KEYS["HUB_MASTER_KEYS"].split('"')[3] not in result.output
    assert "HUB_BROKER_URL = amqp://hub:****@rabbit.example:5672/prod  (file)" in lines
    assert "HUB_PREFETCH = 7  (environment)" in lines
    assert "HUB_PARTITIONS = 8  (default)" in lines
    assert "HUB_AGENCIES = 1 units (`hub config show --json` lists them)  (file)" in lines
    assert 'HUB_MASTER_KEYS = {"k1": "**********"}  (environment)' in lines
    assert "HUB_METRICS_PORT = unset  (default)" in lines
    meaning = lines[lines.index("HUB_PREFETCH = 7  (environment)") + 1]
    assert meaning == "    unacknowledged inputs per worker"
    variables = [line.split(" = ")[0] for line in lines if line.startswith("HUB_")]
    assert variables == [f"HUB_{name.upper()}" for name in Settings.model_fields]


def sqlite_settings(path: Path) -> Settings:
    return Settings(database_url=SecretStr(f"sqlite:///{path}"))


def test_a_sqlite_file_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    finding = config_check.store_finding(sqlite_settings(tmp_path / "hub.sqlite3"))
    assert finding.status is Status.WARN
    assert "does not exist yet: `hub run` creates it" in finding.text
    assert not (tmp_path / "hub.sqlite3").exists()
    missing = config_check.store_finding(sqlite_settings(tmp_path / "absent" / "hub.sqlite3"))
    assert missing.status is Status.FAIL
    assert f"the SQLite file's folder {tmp_path / 'absent'} does not exist" in missing.text


def set_revision(path: Path, revision: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_the_store_schema_is_checked_against_the_migrations(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    sqlite3.connect(path).close()
    empty = config_check.store_finding(sqlite_settings(path))
    assert (empty.status, empty.text) == (
        Status.WARN,
        f"HUB_DATABASE_URL (sqlite:///{path}): answers and is empty: "
        f"`hub run` migrates it to {migrate.head()}",
    )
    migrate.upgrade(make_engine(f"sqlite:///{path}"))
    assert config_check.store_finding(sqlite_settings(path)).status is Status.OK
    set_revision(path, migrate.INITIAL)
    older = config_check.store_finding(sqlite_settings(path))
    assert (older.status, older.text.split(": ", 1)[1]) == (
        Status.WARN,
        f"is at revision {migrate.INITIAL}: `hub run` migrates it to {migrate.head()}",
    )
    set_revision(path, "9999")
    newer = config_check.store_finding(sqlite_settings(path))
    assert newer.status is Status.FAIL
    assert "is at revision 9999, which this hub does not know" in newer.text


def test_config_check_names_what_does_not_answer(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    broker_port, database_port = closed_port(), closed_port()
    for name, value in KEYS.items():
        clean_environment.setenv(name, value)
    clean_environment.setenv("HUB_BROKER_URL", f"amqp://hub:{PASSWORD}@127.0.0.1:{broker_port}/")
    clean_environment.setenv("HUB_DATABASE_URL", f"postgresql://hub:{PASSWORD}@127.0.0.1:{database_port}/hub")
    clean_environment.setenv("HUB_PREFETCHH", "1")
    result = CliRunner().invoke(main, ["config", "check"])
    assert result.exit_code == Exit.FAILURE, result.output
    assert PASSWORD not in result.output
    lines = result.output.splitlines()
    assert (
        "warn settings: HUB_PREFETCHH is not a setting of the hub and is ignored; did you mean HUB_PREFETCH?"
        in lines
    )
    assert (
        "warn HUB_AGENCIES: none listed: every message naming an agency will be dead-lettered unknown_agency"
        in lines
    )
    assert [line.split(": ", 1)[0] for line in lines if line.startswith("FAIL")] == [
        f"FAIL HUB_DATABASE_URL (postgresql+psycopg://hub:***@127.0.0.1:{database_port}/hub)",
        f"FAIL HUB_BROKER_URL (amqp://hub:****@127.0.0.1:{broker_port}/%2F)",
    ]
    assert any("the database does not answer" in line for line in lines)
    assert any("the connection failed while checking the queues" in line for line in lines)


def test_config_check_offline_checks_the_registry_and_keys(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hub.toml").write_text(CONFIG)  # a unit without its counter's address
    clean_environment.setenv("HUB_AUDIT_SIGNING_KEY", "c2hvcnQ=")
    result = CliRunner().invoke(
        main, ["--config", str(tmp_path / "hub.toml"), "config", "check", "--offline"]
    )
    assert result.exit_code == Exit.FAILURE, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("FAIL")]
    assert failed == [
        "FAIL HUB_AGENCIES: agencies 000.00.30.H30: address, phone, province and commune are needed "
        "for postal orders",
        "FAIL HUB_AUDIT_SIGNING_KEY: base64 of 32 bytes expected",
    ]
    assert "HUB_DATABASE_URL" not in result.output


def test_config_check_names_a_partner_key_that_cannot_verify_and_the_development_egress_key() -> None:
    settings = Settings(
        signatures={"postal": "required"},
        signature_public_keys={"postal": {"k1": "c2hvcnQ="}},  # not 32 bytes
    )
    assert [(f.status, f.part) for f in config_check.key_findings(settings)][-1:] == [
        (Status.FAIL, "HUB_SIGNATURES")
    ]
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signing = Settings(
        signatures={"postal": "optional"},
        signature_public_keys={"postal": {"k1": base64.b64encode(public).decode()}},
        egress_signing_key=None,
    )
    assert [(f.status, f.part, f.text) for f in config_check.key_findings(signing)][-2:] == [
        (Status.OK, "HUB_SIGNATURES", "HUB_SIGNATURES: postal optional"),
        (Status.WARN, "HUB_EGRESS_SIGNING_KEY", f"HUB_EGRESS_SIGNING_KEY: {config_check.DEVELOPMENT}"),
    ]


def test_a_variable_a_command_option_reads_is_not_unknown() -> None:
    @click.group()
    def tool() -> None: ...

    @tool.command()
    @click.option("--key", envvar="HUB_PUBLISH_KEY")
    def publish(key: str | None) -> None: ...

    known = command_variables(tool)
    assert known == {"HUB_PUBLISH_KEY"}
    environ = {
        "HUB_PUBLISH_KEY": "x",
        "HUB_PREFETCHH": "1",
        "HUB_INGRESS_USERS__portal": '["p"]',
        "PATH": "/",
    }
    assert unknown_variables(environ, known) == [
        "HUB_PREFETCHH is not a setting of the hub and is ignored; did you mean HUB_PREFETCH?"
    ]
