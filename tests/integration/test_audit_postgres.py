"""The audit chain on the real PostgreSQL: the same bytes as on SQLite, one chain under concurrent
writers, tampering named as on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from hub.audit.chain import audit_head, audit_log, canonical_row
from hub.store import metadata
from hub.store.database import make_engine
from tests.unit import test_audit_chain
from tests.unit.test_audit_chain import (
    RECORDS,
    append_concurrently,
    audit_chain,
    broken,
    change_field,
    check,
    entry,
    insert_forged,
    sign,
    stored_rows,
    truncate,
    write_chain,
)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def canonical_bytes(engine: Engine) -> list[bytes]:
    return [canonical_row(row) for row in stored_rows(engine)]


def test_the_same_entries_make_the_same_bytes_on_postgresql_and_sqlite(
    engine: Engine, sqlite: Engine
) -> None:
    write_chain(engine)
    write_chain(sqlite)
    on_postgres = canonical_bytes(engine)
    assert on_postgres == canonical_bytes(sqlite)
    assert len(on_postgres) == RECORDS
    assert [row["hash"] for row in stored_rows(engine)] == [row["hash"] for row in stored_rows(sqlite)]
    report = check(engine)
    assert report.ok, report.problems()
    assert (report.records, report.last_seq) == (RECORDS, RECORDS)


def test_a_chain_with_sealed_parts_copied_from_sqlite_verifies_identically(
    engine: Engine, sqlite: Engine
) -> None:
    chain = audit_chain()
    with sqlite.begin() as connection:
        chain.create(connection)
        chain.append(connection, [entry(i, {"SoGiayToChuHoSo": f"00120300{i:04d}"}) for i in range(1, 30)])
    rows = stored_rows(sqlite)
    assert all(isinstance(row["sealed"], bytes) for row in rows)
    with engine.begin() as connection:  # the rows as a backup restored on another database would bring
        connection.execute(insert(audit_log), rows)
        connection.execute(insert(audit_head).values(id=1, seq=rows[-1]["seq"], hash=rows[-1]["hash"]))
    assert canonical_bytes(engine) == canonical_bytes(sqlite)
    assert check(engine).ok
    assert check(engine).records == check(sqlite).records == 29


def test_concurrent_writers_keep_one_linear_chain_on_postgresql(engine: Engine) -> None:
    with engine.begin() as connection:
        audit_chain().create(connection)
    written = append_concurrently(engine, writers=3, batches=40, size=5)
    with engine.connect() as connection:
        seqs = list(connection.execute(select(audit_log.c.seq).order_by(audit_log.c.seq)).scalars())
    assert seqs == list(range(1, written + 1))
    report = check(engine)
    assert report.ok, report.problems()
    assert report.records == written
    assert report.checkpoints >= 1


def test_a_checkpoint_is_stored_once_per_head_on_postgresql(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_audit_chain.test_a_checkpoint_a_concurrent_signer_stored_first_is_kept(engine, monkeypatch)


def test_a_changed_field_is_named_on_postgresql(engine: Engine) -> None:
    write_chain(engine)
    change_field(engine, 17, detail="sửa")
    assert broken(check(engine)) == (17, "changed")


def test_an_inserted_record_is_named_on_postgresql(engine: Engine) -> None:
    write_chain(engine)
    insert_forged(engine, 17)
    assert broken(check(engine)) == (17, "inserted")


def test_a_truncated_tail_is_caught_by_head_or_checkpoint_on_postgresql(engine: Engine) -> None:
    write_chain(engine)
    sign(engine)
    truncate(engine, 40, reset_head=False)
    assert broken(check(engine)) == (41, "truncated")
    with engine.begin() as connection:  # the head reset too: only the checkpoint still knows
        connection.execute(update(audit_head).values(seq=40, hash=stored_rows(engine)[-1]["hash"]))
    report = check(engine)
    assert broken(report) == (41, "truncated")
    assert report.broken is not None
    assert "covers records up to 50" in report.broken.message
