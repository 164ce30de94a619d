"""The dossier key table on SQLite: created once, destroyed for good, rotated in place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from hub.crypto import KeyringError, MasterKeyring, open_sealed, seal
from hub.store import metadata
from hub.store.database import make_engine
from hub.store.keys import DataKeys, dossier_keys

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
CODE = "000.00.30.H30-261129-0001"
OLD, NEW = os.urandom(32), os.urandom(32)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/k.sqlite3")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def only(master_id: str, key: bytes) -> DataKeys:
    return DataKeys(MasterKeyring({master_id: key}, active=master_id))


def raw(engine: Engine, code: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(dossier_keys).where(dossier_keys.c.code == code)).one()


def statements(engine: Engine) -> list[str]:
    """The SQL statements ``engine`` sends from now on (an executemany counts once)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement.split(maxsplit=1)[0])

    event.listen(engine, "before_cursor_execute", record)
    return sent


def test_a_key_is_created_once_and_returned_after(engine: Engine) -> None:
    keys = only("m1", OLD)
    with engine.begin() as connection:
        first = keys.for_dossiers(connection, [CODE], NOW)[CODE]
    with engine.begin() as connection:
        again = keys.for_dossiers(connection, [CODE, CODE], NOW)
    assert first is not None
    assert len(first) == 32
    assert again == {CODE: first}
    row = raw(engine, CODE)
    assert (row.master_id, row.destroyed_at) == ("m1", None)
    assert row.created_at.replace(tzinfo=UTC) == NOW


def test_existing_never_creates(engine: Engine) -> None:
    keys = only("m1", OLD)
    with engine.begin() as connection:
        created = keys.for_dossiers(connection, ["a"], NOW)
        assert keys.existing(connection, ["a", "b"]) == created
        assert keys.existing(connection, []) == {}
    with engine.connect() as connection:
        assert connection.execute(select(dossier_keys.c.code)).scalars().all() == ["a"]


def test_a_destroyed_key_is_gone_for_good(engine: Engine) -> None:
    keys = only("m1", OLD)
    with engine.begin() as connection:
        data_key = keys.for_dossiers(connection, [CODE], NOW)[CODE]
        assert data_key is not None
        sealed = seal(data_key, "Trần Văn Bình".encode(), CODE.encode())
        assert keys.destroy(connection, CODE, NOW) is True
        assert keys.destroy(connection, CODE, NOW) is False
    with engine.begin() as connection:
        assert keys.for_dossiers(connection, [CODE, "other"], NOW)[CODE] is None
        assert keys.existing(connection, [CODE]) == {CODE: None}
    row = raw(engine, CODE)
    assert row.wrapped is None
    assert row.destroyed_at is not None
    assert sealed  # sealed data outlives its key, unreadable: nothing in the store can open it


def test_a_dossier_forgotten_before_it_had_a_key_never_gets_one(engine: Engine) -> None:
    keys = only("m1", OLD)
    with engine.begin() as connection:
        assert keys.destroy(connection, CODE, NOW) is False
        assert keys.for_dossiers(connection, [CODE], NOW) == {CODE: None}


def test_rotation_rewraps_keys_and_old_data_still_opens(engine: Engine) -> None:
    with engine.begin() as connection:
        before = only("old", OLD).for_dossiers(connection, ["a", "b", "gone"], NOW)
        only("old", OLD).destroy(connection, "gone", NOW)
    assert before["a"] is not None
    sealed = seal(before["a"], b"0912345678", b"a/SoDienThoai")
    old_blob = raw(engine, "a").wrapped

    rotating = DataKeys(MasterKeyring({"old": OLD, "new": NEW}, active="new"))
    with engine.begin() as connection:
        assert rotating.rotate(connection) == 2
        assert rotating.rotate(connection) == 0

    row = raw(engine, "a")
    assert (row.master_id, row.wrapped != old_blob) == ("new", True)
    assert raw(engine, "gone").wrapped is None
    with engine.begin() as connection:
        after = only("new", NEW).existing(connection, ["a", "b", "gone"])
    assert after == {"a": before["a"], "b": before["b"], "gone": None}
    assert open_sealed(after["a"] or b"", sealed, b"a/SoDienThoai") == b"0912345678"


def test_rotation_runs_in_batches(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hub.store.keys.ROTATE_BATCH", 3)
    codes = [f"d{i}" for i in range(7)]
    with engine.begin() as connection:
        before = only("old", OLD).for_dossiers(connection, codes, NOW)
    with engine.begin() as connection:
        assert DataKeys(MasterKeyring({"old": OLD, "new": NEW}, active="new")).rotate(connection) == 7
        assert only("new", NEW).existing(connection, codes) == before


def test_keys_under_a_missing_master_key_fail_by_count(engine: Engine) -> None:
    with engine.begin() as connection:
        only("old", OLD).for_dossiers(connection, ["a", "b"], NOW)
    with engine.begin() as connection, pytest.raises(KeyringError) as raised:
        only("new", NEW).existing(connection, ["a", "b"])
    assert str(raised.value) == "2 dossier data key(s) cannot be unwrapped (master key ids: old)"
    with engine.begin() as connection, pytest.raises(KeyringError, match=r"^2 dossier"):
        DataKeys(MasterKeyring({"new": NEW, "newer": OLD}, active="newer")).rotate(connection)


def test_a_hundred_codes_take_one_select_and_one_insert(engine: Engine) -> None:
    keys = only("m1", OLD)
    codes = [f"000.00.30.H30-261129-{i:04d}" for i in range(100)]
    with engine.begin() as connection:
        keys.for_dossiers(connection, codes[:10], NOW)
    sent = statements(engine)
    with engine.begin() as connection:
        found = keys.for_dossiers(connection, codes, NOW)
    assert sent == ["SELECT", "INSERT", "SELECT"]  # the last re-reads what the insert settled
    assert len(found) == 100
    assert len(set(found.values())) == 100
    sent.clear()
    with engine.begin() as connection:
        assert keys.for_dossiers(connection, codes, NOW) == found
    assert sent == ["SELECT"]


def test_the_database_file_holds_no_data_key(engine: Engine, tmp_path: Path) -> None:
    keys = only("m1", OLD)
    codes = [f"d{i}" for i in range(20)]
    with engine.begin() as connection:
        data_keys = keys.for_dossiers(connection, codes, NOW)
    blob = raw(engine, "d0").wrapped
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("k.sqlite3*"))  # with the WAL
    assert blob in stored  # the check reads where the rows are
    assert not [code for code, key in data_keys.items() if key is None or key in stored]
    assert OLD not in stored


def test_a_concurrent_writer_wins_and_both_get_its_key(engine: Engine) -> None:
    keys = only("m1", OLD)
    theirs: dict[str, bytes | None] = {}

    def other_writer_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Between our SELECT (nothing found) and our INSERT, another worker commits its key.
        if statement.startswith("INSERT") and not theirs:
            with engine.begin() as other:
                theirs.update(keys.for_dossiers(other, [CODE], NOW))

    with engine.begin() as connection:
        event.listen(connection, "before_cursor_execute", other_writer_first)
        ours = keys.for_dossiers(connection, [CODE], NOW)
    assert theirs[CODE] is not None
    assert ours == theirs
