"""The dossier key table on the real PostgreSQL, in a database made for the test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event

from hub.crypto import MasterKeyring
from hub.store import metadata
from hub.store.database import make_engine
from hub.store.keys import DataKeys

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
OLD, NEW = os.urandom(32), os.urandom(32)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def only(master_id: str, key: bytes) -> DataKeys:
    return DataKeys(MasterKeyring({master_id: key}, active=master_id))


def test_keys_are_created_destroyed_and_rotated_on_postgresql(engine: Engine) -> None:
    codes = [f"000.00.30.H30-261129-{i:04d}" for i in range(100)]
    with engine.begin() as connection:
        before = only("old", OLD).for_dossiers(connection, codes, NOW)
        assert only("old", OLD).destroy(connection, codes[0], NOW) is True
    with engine.begin() as connection:
        rotating = DataKeys(MasterKeyring({"old": OLD, "new": NEW}, active="new"))
        assert rotating.rotate(connection) == 99
    with engine.begin() as connection:
        after = only("new", NEW).for_dossiers(connection, codes, NOW)
    assert after == {**before, codes[0]: None}
    assert all(isinstance(key, bytes) for key in list(after.values())[1:])


def test_a_concurrent_writer_wins_and_both_get_its_key(engine: Engine) -> None:
    keys = only("m1", OLD)
    theirs: dict[str, bytes | None] = {}

    def other_writer_first(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        # Between our SELECT (nothing found) and our INSERT, another worker commits its key.
        if statement.startswith("INSERT") and not theirs:
            with engine.begin() as other:
                theirs.update(keys.for_dossiers(other, ["d1"], NOW))

    with engine.begin() as connection:
        event.listen(connection, "before_cursor_execute", other_writer_first)
        ours = keys.for_dossiers(connection, ["d1"], NOW)
    assert theirs["d1"] is not None
    assert ours == theirs
