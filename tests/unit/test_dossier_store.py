"""The dossier store on SQLite: orders and steps round-trip, the recipient is sealed at rest and
unreadable once the dossier's key is destroyed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hub.crypto import MasterKeyring
from hub.dossiers.records import (
    DossierOpened,
    OrderCancelled,
    OrderPlaced,
    OrderTracked,
    PostalOrder,
    Recipient,
    StepRecorded,
)
from hub.dossiers.status import Step
from hub.store import metadata
from hub.store.database import make_engine
from hub.store.dossiers import DossierStore
from hub.store.keys import DataKeys

CODE = "000.00.30.H30-261129-0002"
RECIPIENT = Recipient(
    "Trần Văn Canary", "0912000111", "Số 99 hẻm Canary", "Thành phố Cần Thơ", "Phường Vị Thanh"
)
ORDER = PostalOrder(f"{CODE}/KQ", "DELIVER_RESULT", attempt=1, cod_amount=8000)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "store.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    yield engine, path
    engine.dispose()


def store(engine: Engine, key: bytes) -> DossierStore:
    return DossierStore(engine, DataKeys(MasterKeyring({"m1": key}, "m1")))


def write(dossiers: DossierStore, engine: Engine) -> None:
    with engine.begin() as connection:
        dossiers.apply(
            connection,
            [
                DossierOpened(CODE, "000.00.30.H30", 2, True, RECIPIENT),
                StepRecorded(CODE, Step(1, 4)),
                OrderPlaced(CODE, ORDER),
                OrderTracked(CODE, ORDER.number, 15, "20261204100000"),
            ],
        )
        dossiers.apply(connection, [OrderCancelled(CODE, ORDER.number)])


def test_a_dossier_round_trips_with_its_steps_orders_and_recipient(database: tuple[Engine, Path]) -> None:
    engine, _ = database
    dossiers = store(engine, os.urandom(32))
    write(dossiers, engine)
    loaded = dossiers.load(CODE)
    assert loaded is not None
    assert (loaded.status, loaded.recipient) == (4, RECIPIENT)
    assert loaded.orders == (
        PostalOrder(ORDER.number, "DELIVER_RESULT", 1, 8000, 15, "20261204100000", cancelled=True),
    )


def test_the_recipient_is_never_in_clear_in_the_database_file(database: tuple[Engine, Path]) -> None:
    engine, path = database
    write(store(engine, os.urandom(32)), engine)
    engine.dispose()  # checkpoint the WAL into the file
    stored = b"".join(p.read_bytes() for p in path.parent.glob("store.sqlite3*"))
    for value in ("Canary", "0912000111", RECIPIENT.street):
        assert value.encode() not in stored
    assert CODE.encode() in stored  # the file was read: the dossier code is there in clear


def test_a_forgotten_dossier_loads_without_its_recipient(database: tuple[Engine, Path]) -> None:
    engine, _ = database
    dossiers = store(engine, os.urandom(32))
    write(dossiers, engine)
    with engine.begin() as connection:
        assert DataKeys(MasterKeyring({"m1": os.urandom(32)}, "m1")).destroy(
            connection, CODE, datetime.now(UTC)
        )
    loaded = dossiers.load(CODE)
    assert loaded is not None
    assert loaded.recipient is None
    assert loaded.orders  # what is not personal stays


def test_many_dossiers_load_together_as_each_loads_alone(database: tuple[Engine, Path]) -> None:
    engine, _ = database
    dossiers = store(engine, os.urandom(32))
    write(dossiers, engine)
    other = "000.00.30.H30-261129-0003"
    with engine.begin() as connection:
        dossiers.apply(connection, [DossierOpened(other, "000.00.30.H30", 1, False, None)])
    codes = [CODE, other, "000.00.30.H30-261129-0404"]  # the last one was never opened
    together = dossiers.load_many(codes)
    assert set(together) == {CODE, other}
    assert together == {code: dossiers.load(code) for code in (CODE, other)}
    assert together[CODE].recipient == RECIPIENT
    assert together[CODE].orders
