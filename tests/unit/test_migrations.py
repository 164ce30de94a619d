"""The store's migrations on SQLite: they create exactly the tables the code defines, run again as a
no-op, adopt databases made by ``create_all`` and keep concurrent starts apart.

``tests/integration/test_migrations_postgres.py`` runs the same tests on PostgreSQL.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, Table, event, func, insert, inspect, select

import hub
from hub.crypto import MasterKeyring
from hub.dossiers.records import Facts, FactsNoted
from hub.store import metadata, migrate
from hub.store.database import make_engine
from hub.store.dossiers import DossierStore, dossier_facts, dossiers
from hub.store.keys import DataKeys
from hub.store.ledger import message_log

SCHEMA_CHANGES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    yield engine
    engine.dispose()


def differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return migrate.differences(connection, migrate.all_tables())


def writes(engine: Engine) -> list[str]:
    """The statements that change something, as the engine runs them (appended in place)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(SCHEMA_CHANGES):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    return seen


def a_ledger_row() -> dict[str, Any]:
    return {
        "partner": "portal",
        "outcome": "forwarded",
        "outputs": 1,
        "body_sha256": "0" * 64,
        "received_at": datetime(2026, 11, 30, 8, tzinfo=UTC),
    }


def test_every_table_of_the_hub_is_in_a_module_the_migrations_import() -> None:
    # The other tests compare with ``all_tables()``: a table defined elsewhere would escape them.
    for module in pkgutil.walk_packages(hub.__path__, "hub."):
        if not module.name.endswith("__main__") and ".migrations" not in module.name:
            importlib.import_module(module.name)
    listed = {
        value.name
        for name in migrate.TABLE_MODULES
        for value in vars(importlib.import_module(name)).values()
        if isinstance(value, Table)
    }
    assert set(metadata.tables) == listed


def test_upgrade_creates_every_table_exactly_as_the_code_defines_it(engine: Engine) -> None:
    # Fails when someone changes a table without writing the migration that makes the change.
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert differences(engine) == []
    assert set(migrate.all_tables().tables) <= set(inspect(engine).get_table_names())


def test_upgrade_again_changes_nothing(engine: Engine) -> None:
    migrate.upgrade(engine)
    changes = writes(engine)
    migrate.upgrade(engine)
    assert changes == []
    assert migrate.current(engine) == migrate.head()


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(migrate.config(connection), "base")
    assert set(inspect(engine).get_table_names()) == {migrate.VERSION_TABLE}
    migrate.upgrade(engine)
    assert differences(engine) == []


def test_a_create_all_database_is_adopted_with_its_rows(engine: Engine) -> None:
    migrate.all_tables().create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(message_log), [a_ledger_row()])
    assert migrate.adopt(engine) == migrate.head()
    assert migrate.current(engine) == migrate.head()
    changes = writes(engine)
    migrate.upgrade(engine)
    assert changes == []
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(message_log)).scalar_one() == 1


def test_a_database_from_before_migrations_is_stamped_at_the_initial_revision(engine: Engine) -> None:
    migrate.initial_schema().create_all(engine)
    assert migrate.adopt(engine) == migrate.INITIAL
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert differences(engine) == []


def test_upgrade_adopts_a_create_all_database_itself(engine: Engine) -> None:
    migrate.all_tables().create_all(engine)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()


def test_tables_that_match_no_revision_are_refused_and_left_alone(engine: Engine) -> None:
    tables = migrate.all_tables()
    tables.create_all(engine, tables=[tables.tables["message_log"]])  # the rest is missing
    with pytest.raises(migrate.MigrationError, match="add_table audit_log"):
        migrate.upgrade(engine)
    assert migrate.current(engine) is None
    assert inspect(engine).get_table_names() == ["message_log"]


def test_nothing_to_adopt_in_an_empty_or_a_migrated_database(engine: Engine) -> None:
    assert migrate.adopt(engine) is None
    assert inspect(engine).get_table_names() == []
    migrate.upgrade(engine)
    assert migrate.adopt(engine) is None


def test_a_failed_upgrade_leaves_the_database_as_it_was(engine: Engine) -> None:
    def fail_on_an_index(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("CREATE INDEX"):
            raise RuntimeError("the disk is full")

    event.listen(engine, "before_cursor_execute", fail_on_an_index)
    with pytest.raises(RuntimeError, match="disk is full"):
        migrate.upgrade(engine)
    event.remove(engine, "before_cursor_execute", fail_on_an_index)
    assert inspect(engine).get_table_names() == []


def test_workers_starting_together_both_come_up(engine: Engine) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            migrate.upgrade(engine)
        except BaseException as error:  # collected: the assertion below names it
            errors.append(error)

    workers = [threading.Thread(target=start) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert migrate.current(engine) == migrate.head()
    assert differences(engine) == []


def test_0005_adds_the_report_facts_to_a_store_at_0004_and_they_take_facts(engine: Engine) -> None:
    """An upgrade from 0004 keeps the dossiers and adds ``dossier_facts``, which the dossier store
    fills and updates in this dialect (a row made once, values set, payments added)."""
    with engine.begin() as connection:
        command.upgrade(migrate.config(connection), "0004")
        connection.execute(insert(dossiers), {"code": "D-1", "unit": "000.00.41.H30", "initial_status": 2,
                                              "result_by_post": False})  # fmt: skip
    migrate.upgrade(engine)
    assert differences(engine) == []
    store = DossierStore(engine, DataKeys(MasterKeyring({"m1": bytes(32)}, "m1")))
    for changes in (
        [FactsNoted("D-1", Facts(procedure="1.000894", due_at=5)), FactsNoted("D-1", paid_online_vnd=7)],
        [FactsNoted("D-1", Facts(due_at=9), paid_online_vnd=3), FactsNoted("D-2", Facts(channel="ONLINE"))],
    ):
        with engine.begin() as connection:
            store.apply(connection, changes)
    with engine.connect() as connection:
        rows = {r.code: r for r in connection.execute(select(dossier_facts))}
    assert (rows["D-1"].procedure, rows["D-1"].due_at, rows["D-1"].paid_online_vnd) == ("1.000894", 9, 10)
    assert (rows["D-2"].channel, rows["D-2"].paid_online_vnd) == ("ONLINE", 0)
