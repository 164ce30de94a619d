"""The audit gauges behind HubAuditCheckpointTooOld: when records were last appended, and when the
newest checkpoint in the store was signed, whoever signed it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from hub import metrics
from hub.audit.checkpoints import CheckpointPolicy
from hub.audit.writer import AuditWriter
from hub.store import metadata
from hub.store.database import make_engine
from tests.unit.test_audit_chain import SIGNER, STRANGER, audit_chain, entry

POLICY = CheckpointPolicy(every=1_000, seconds=60.0)


def gauge(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None
    return value


def last_record() -> float:
    return gauge("hub_audit_last_record_timestamp_seconds")


def last_checkpoint() -> float:
    return gauge("hub_audit_last_checkpoint_timestamp_seconds")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    metadata.create_all(engine)
    metrics.AUDIT_LAST_RECORD.set(0)
    metrics.AUDIT_LAST_CHECKPOINT.set(0)
    yield engine
    engine.dispose()


def started(engine: Engine) -> AuditWriter:
    """A worker's audit writer, created as the ledger does at start."""
    writer = AuditWriter(audit_chain(), SIGNER, POLICY)
    with engine.begin() as connection:
        writer.create(connection)
    return writer


def append(engine: Engine, writer: AuditWriter, numbers: range) -> None:
    with engine.begin() as connection:
        writer.append(connection, [entry(i) for i in numbers])


def test_appending_sets_the_record_time_and_a_due_checkpoint_the_checkpoint_time(engine: Engine) -> None:
    writer = started(engine)
    assert last_checkpoint() == 0  # an empty store: no checkpoint yet
    before = time.time()
    append(engine, writer, range(1, 4))  # never signed: due at once
    first = last_checkpoint()
    assert before - 1 <= first <= time.time()
    assert before - 1 <= last_record() <= time.time()

    append(engine, writer, range(4, 8))  # 60 s not passed: no new checkpoint
    assert last_checkpoint() == first
    assert last_record() >= first


def test_a_checkpoint_signed_by_another_worker_counts(engine: Engine) -> None:
    mine = started(engine)
    append(engine, mine, range(1, 4))
    elsewhere = datetime.now(UTC) + timedelta(seconds=30)
    with engine.begin() as connection:
        audit_chain().append(connection, [entry(i) for i in range(4, 6)])
        assert STRANGER.write(connection, elsewhere) is not None  # another worker's checkpoint
    append(engine, mine, range(6, 8))  # not due by the newest one: this worker signs nothing
    assert last_checkpoint() == pytest.approx(elsewhere.timestamp(), abs=0.001)


def test_a_worker_starting_reads_the_newest_checkpoint_from_the_store(engine: Engine) -> None:
    append(engine, started(engine), range(1, 4))
    signed = last_checkpoint()
    metrics.AUDIT_LAST_CHECKPOINT.set(0)  # a new process
    started(engine)
    assert last_checkpoint() == signed


def test_the_checkpoint_at_shutdown_sets_the_checkpoint_time(engine: Engine) -> None:
    writer = started(engine)
    append(engine, writer, range(1, 4))
    append(engine, writer, range(4, 6))
    metrics.AUDIT_LAST_CHECKPOINT.set(0)
    with engine.begin() as connection:
        assert writer.checkpoint(connection) is not None
    assert last_checkpoint() >= last_record() - 1
