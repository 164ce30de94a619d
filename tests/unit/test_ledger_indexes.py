"""The ledger's look-ups stay index look-ups on the migrated SQLite store: the duplicate rule's runs
for every input, and `hub status` reads the recent dead letters through their own partial index."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event

from hub.outcomes import Disposition, LedgerRecord
from hub.status import dead_letters_by_reason
from hub.store import migrate
from hub.store.database import make_engine
from hub.store.ledger import _FORWARDED_BODY, Ledger


@contextmanager
def statements_of(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine runs meanwhile, with its parameters, as the driver got them."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Connection, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def plan_of(engine: Engine, run: Callable[[Connection], object]) -> str:
    """SQLite's query plan of the one statement ``run`` sends."""
    with engine.connect() as connection, statements_of(engine) as seen:
        run(connection)
    (statement, parameters), *_ = [s for s in seen if s[0].lstrip().upper().startswith("SELECT")]
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return " | ".join(str(row[-1]) for row in rows)


def migrated(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    migrate.upgrade(engine)
    return engine


def test_the_duplicate_look_up_searches_the_sender_index(tmp_path: Path) -> None:
    engine = migrated(tmp_path)

    def run(connection: Connection) -> object:
        return connection.execute(_FORWARDED_BODY, {"partner": "portal", "message_id": "m-1"}).first()

    assert "USING INDEX ix_message_log_sender (partner=? AND message_id=?)" in plan_of(engine, run)


def test_hub_status_counts_recent_dead_letters_through_their_partial_index(tmp_path: Path) -> None:
    engine = migrated(tmp_path)

    def run(connection: Connection) -> object:
        return dead_letters_by_reason(connection, datetime(2026, 1, 1, tzinfo=UTC))

    assert "USING INDEX ix_message_log_dead_letters (received_at>?)" in plan_of(engine, run)


def test_the_forwarded_bodies_of_many_messages_are_read_as_each_alone(tmp_path: Path) -> None:
    ledger = Ledger(migrated(tmp_path))
    with ledger.engine.begin() as connection:
        ledger.write(connection, [
            record("portal", "m1", Disposition.FORWARDED, "a" * 64),
            record("portal", "m2", Disposition.DEAD_LETTERED, "b" * 64),
            record("onestop", "m1", Disposition.FORWARDED, "c" * 64),
        ])  # fmt: skip
    keys = [("portal", "m1"), ("portal", "m2"), ("onestop", "m1"), ("postal", "m1")]
    one_by_one = {key: ledger.forwarded_body(*key) for key in keys}
    assert ledger.forwarded_bodies(keys) == {key: body for key, body in one_by_one.items() if body}
    assert set(ledger.forwarded_bodies(keys)) == {("portal", "m1"), ("onestop", "m1")}


def record(partner: str, message_id: str, outcome: Disposition, body_sha256: str) -> LedgerRecord:
    return LedgerRecord(
        partner=partner, message_id=message_id, kind="dossier.submitted", dossier=None, outcome=outcome,
        reason=None, detail=None, outputs=0, body_sha256=body_sha256, received_at=datetime.now(UTC),
    )  # fmt: skip
