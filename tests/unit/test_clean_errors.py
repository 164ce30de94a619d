"""Every configuration and connectivity error at start is one line naming the setting and the rule,
with the exit code of hub.exits: the real ``hub`` command, in a subprocess. No server is needed: an
unreachable broker or database is a closed local port."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hub.exits import Exit
from hub.store import migrate
from hub.store.database import make_engine
from tests.hub_command import KEYS, PASSWORD, hub, one_line_error
from tests.proxy import closed_port


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HUB_PREFETCH": "abc"}, ["HUB_PREFETCH: Input should be a valid integer"]),
        ({"HUB_PARTITIONS": "0"}, ["HUB_PARTITIONS: Input should be greater than or equal to 1"]),
        ({"HUB_LOG_LEVEL": "LOUD"}, ["HUB_LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR, CRITICAL expected"]),
        ({"HUB_DATABASE_URL": "nonsense"}, ["HUB_DATABASE_URL: not a database URL: sqlite:///FILE or"]),
        (
            {"HUB_DATABASE_URL": f"mysql://hub:{PASSWORD}@db.example/hub"},
            ["HUB_DATABASE_URL: 'mysql' is not a store the hub supports"],
        ),
        (
            {"HUB_DATABASE_URL": f"postgresql+pg9000://hub:{PASSWORD}@db.example/hub"},
            ["HUB_DATABASE_URL: SQLAlchemy knows no driver 'pg9000'"],
        ),
        (
            {"HUB_BROKER_URL": f"http://hub:{PASSWORD}@x"},
            ["HUB_BROKER_URL: must start with amqp:// or amqps://"],
        ),
        (
            {"HUB_MASTER_KEYS": f'{{"k1": "{PASSWORD}'},  # cut short: not JSON
            ["HUB_MASTER_KEYS: not valid JSON"],
        ),
    ],
    ids=[
        "number",
        "range",
        "log-level",
        "database-url",
        "database-kind",
        "driver-name",
        "broker-url",
        "json",
    ],
)
def test_a_wrong_setting_is_one_line_with_the_configuration_code(
    tmp_path: Path, env: dict[str, str], expected: list[str]
) -> None:
    one_line_error(hub(["config", "show"], tmp_path, env), Exit.CONFIG, *expected)


def test_a_toml_syntax_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "province.toml").write_text('prefetch = 5\nbroker_url = "amqp://hub:x@h/\n')
    finished = hub(["--config", "province.toml", "config", "show"], tmp_path)
    one_line_error(finished, Exit.CONFIG, "province.toml: not valid TOML: ", "(at line 2, column 30)")


def test_an_unknown_key_in_the_file_is_refused_with_the_nearest_setting(tmp_path: Path) -> None:
    (tmp_path / "province.toml").write_text(
        'prefetchh = 5\n[[agencies]]\ncode = "000.00.30.H30"\nname = "x"\nvalid_too = 2025-06-30\n'
    )
    finished = hub(["--config", "province.toml", "run"], tmp_path, {"HUB_BROKER_URL": "amqp://h/"})
    line = one_line_error(finished, Exit.CONFIG)
    assert "prefetchh: unknown key, not a setting of the hub; did you mean 'prefetch'?" in line
    assert "agencies[0].valid_too: unknown key, not a setting of the hub; did you mean 'valid_to'?" in line


def test_an_unknown_variable_is_warned_about_and_ignored(tmp_path: Path) -> None:
    # Refusing it could stop a hub over a variable another tool shares the prefix with.
    finished = hub(["config", "show", "--json"], tmp_path, {"HUB_PREFETCHH": "5", "HUB_FAULT_FIGURES": "x"})
    assert finished.code == Exit.OK, finished
    [warning] = finished.lines
    assert warning.endswith(
        "HUB_PREFETCHH is not a setting of the hub and is ignored; did you mean HUB_PREFETCH?"
    )
    assert json.loads(finished.stdout)["prefetch"] == 500


def test_a_missing_driver_names_the_extra_to_install(tmp_path: Path) -> None:
    env = {
        **KEYS,
        "HUB_BROKER_URL": f"amqp://hub:{PASSWORD}@127.0.0.1:{closed_port()}/",
        "HUB_DATABASE_URL": f"postgresql://hub:{PASSWORD}@127.0.0.1:{closed_port()}/hub",
    }
    for command in (["run"], ["keys", "status"]):
        finished = hub(command, tmp_path, env, without_psycopg=True)
        one_line_error(
            finished,
            Exit.CONFIG,
            "HUB_DATABASE_URL (postgresql+psycopg://hub:***@127.0.0.1:",
            "its driver psycopg is not installed: pip install 'dossier-hub[postgres]'",
        )


@pytest.mark.parametrize(
    "command",
    [["keys", "status"], ["audit", "verify"], ["audit", "trail", "000.00.30.H30-261201-0001"]],
    ids=lambda command: " ".join(command[:2]),
)
def test_an_unreachable_database_ends_a_one_shot_command_naming_the_setting(
    tmp_path: Path, command: list[str]
) -> None:
    port = closed_port()
    env = {**KEYS, "HUB_DATABASE_URL": f"postgresql://hub:{PASSWORD}@127.0.0.1:{port}/hub"}
    one_line_error(
        hub(command, tmp_path, env),
        Exit.FAILURE,
        f"HUB_DATABASE_URL (postgresql+psycopg://hub:***@127.0.0.1:{port}/hub): the database does not answer",
    )


@pytest.mark.parametrize(
    "command",
    [
        ["topology", "apply"],
        ["publish", "--as", "portal", "dossier.submitted", "body.json"],
        ["dead-letters", "show", "portal"],
        ["dead-letters", "replay", "portal"],
        ["parked", "show", "portal"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_an_unreachable_broker_ends_a_one_shot_command_naming_the_setting(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "body.json").write_text("{}")
    port = closed_port()
    env = {**KEYS, "HUB_BROKER_URL": f"amqp://hub:{PASSWORD}@127.0.0.1:{port}/"}
    one_line_error(
        hub(command, tmp_path, env),
        Exit.FAILURE,
        f"HUB_BROKER_URL (amqp://hub:****@127.0.0.1:{port}/%2F): the connection failed while ",
    )


def test_a_store_migrated_by_a_newer_hub_ends_the_start_with_the_store_code(tmp_path: Path) -> None:
    database = tmp_path / "hub.sqlite3"
    migrate.upgrade(make_engine(f"sqlite:///{database}"))
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    broker = f"amqp://hub:{PASSWORD}@127.0.0.1:{closed_port()}/"  # not guest, which hub run warns about
    env = {**KEYS, "HUB_DATABASE_URL": f"sqlite:///{database}", "HUB_BROKER_URL": broker}
    one_line_error(
        hub(["run"], tmp_path, env),
        Exit.STORE_REFUSED,
        f"HUB_DATABASE_URL (sqlite:///{database}): the schema is at revision 9999, "
        "which this hub does not know",
    )
