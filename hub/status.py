"""What ``hub status`` reads: queue figures from RabbitMQ's management API, dead letters by reason
and the audit checkpoints from the store. Nothing here writes, nor takes a message off a queue.

The dead letters by reason come from the ledger (rows dead-lettered within a window), because the
dead-letter queue cannot be counted by its ``x-hub-reason`` header without reading every message;
its depth (what still waits there) comes from the broker. The broker's own dead letters (a message
delivered more than 20 times) have no ledger row: they show in the depth only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from hub.audit.chain import audit_head, audit_log, current_head
from hub.audit.checkpoints import audit_checkpoints, last_checkpoint
from hub.bus.management import ManagementApi, QueueFigures
from hub.bus.topology import (
    WORKERS_QUEUE,
    dead_letter_queue,
    egress_dead_letter_queue,
    egress_queue,
    ingress_queue,
    park_queue,
    partition_queue,
)
from hub.errors import FatalError
from hub.exits import Exit
from hub.store.database import StoreUnavailable, make_engine, store_refusal
from hub.store.ledger import DEAD_LETTERED, message_log

CONNECT_TIMEOUT_SECONDS = 10
NEEDED_TABLES = (message_log, audit_head, audit_log, audit_checkpoints)


@dataclass(frozen=True)
class PartnerFigures:
    """A partner's queues (None: the queue does not exist) and its dead letters by reason."""

    partner: str
    ingress: QueueFigures | None
    egress: QueueFigures | None
    dead: QueueFigures | None
    park: QueueFigures | None
    dead_by_reason: Mapping[str, int]  # ledger rows dead-lettered within the window
    egress_dead: QueueFigures | None  # what the partner's HTTP service refused (`hub deliver`)


@dataclass(frozen=True)
class CheckpointFigures:
    """The audit chain's head and its last signed checkpoint."""

    head_seq: int
    newest_entry_at: datetime | None  # when the head entry was recorded
    checkpoint_seq: int | None
    checkpoint_at: datetime | None

    @property
    def uncovered(self) -> int:
        """Entries after the last checkpoint (signed at the next write that is due, or at a stop)."""
        return self.head_seq - (self.checkpoint_seq or 0)

    def lag_seconds(self) -> float | None:
        """How long entries went on being recorded after the last checkpoint: the newest entry's time
        minus the checkpoint's. While the hub signs as it should this stays under
        ``audit_checkpoint_seconds``; an idle hub's old checkpoint is no lag (nothing new to sign).
        None when there is nothing to measure (no entry uncovered, or no checkpoint at all)."""
        if self.uncovered <= 0 or self.newest_entry_at is None or self.checkpoint_at is None:
            return None
        return (self.newest_entry_at - self.checkpoint_at).total_seconds()


@dataclass(frozen=True)
class Status:
    taken_at: datetime
    vhost: str
    window: timedelta
    partners: tuple[PartnerFigures, ...]
    partitions: tuple[tuple[str, QueueFigures | None], ...]
    workers: QueueFigures | None  # hub.workers: its consumer count is the number of `hub run` workers
    checkpoint: CheckpointFigures


class StoreNotReadable(FatalError):
    """The store is not the hub's (no tables) or its SQLite file does not exist."""

    exit_code = Exit.STORE_REFUSED


def gather(
    api: ManagementApi,
    *,
    vhost: str,
    database_url: str,
    partners: Iterable[str],
    partitions: int,
    window: timedelta,
    now: datetime | None = None,
) -> Status:
    """Every figure of ``hub status``. Raises ``ManagementUnreachable`` / ``StoreUnavailable`` when
    the API or the store does not answer, a ``FatalError`` when one refuses."""
    taken_at = now or datetime.now(UTC)
    queues = api.queues(vhost)
    dead_by_reason, checkpoint = read_store(database_url, taken_at - window)
    figures = tuple(
        PartnerFigures(
            partner=partner,
            ingress=queues.get(ingress_queue(partner)),
            egress=queues.get(egress_queue(partner)),
            dead=queues.get(dead_letter_queue(partner)),
            park=queues.get(park_queue(partner)),
            dead_by_reason=dead_by_reason.get(partner, {}),
            egress_dead=queues.get(egress_dead_letter_queue(partner)),
        )
        for partner in partners
    )
    numbered = tuple((partition_queue(n), queues.get(partition_queue(n))) for n in range(partitions))
    return Status(taken_at, vhost, window, figures, numbered, queues.get(WORKERS_QUEUE), checkpoint)


def read_store(url: str, since: datetime) -> tuple[dict[str, dict[str, int]], CheckpointFigures]:
    """Dead letters by partner and reason since ``since``, and the audit checkpoint figures."""
    engine = _reading_engine(url)
    try:
        with engine.connect() as connection:
            _require_tables(connection, url)
            return dead_letters_by_reason(connection, since), checkpoint_figures(connection)
    except DBAPIError as error:
        said = " ".join(str(error.orig).split())  # a failed connection's text: host and cause only
        masked = make_url(url).render_as_string(hide_password=True)
        raise store_refusal(error, engine) or StoreUnavailable(
            f"HUB_DATABASE_URL ({masked}): the store does not answer: {said}"
        ) from None
    finally:
        engine.dispose()


def dead_letters_by_reason(connection: Connection, since: datetime) -> dict[str, dict[str, int]]:
    """Ledger rows dead-lettered since ``since``, counted by partner and reason (an index range)."""
    query = (
        select(message_log.c.partner, message_log.c.reason, func.count())
        .where(DEAD_LETTERED, message_log.c.received_at >= since)
        .group_by(message_log.c.partner, message_log.c.reason)
    )
    found: dict[str, dict[str, int]] = {}
    for partner, reason, count in connection.execute(query):
        found.setdefault(str(partner), {})[str(reason)] = int(count)
    return found


def checkpoint_figures(connection: Connection) -> CheckpointFigures:
    head_seq, _ = current_head(connection)
    newest = connection.execute(
        select(audit_log.c.recorded_at_ms).where(audit_log.c.seq == head_seq)
    ).scalar_one_or_none()
    last = last_checkpoint(connection)
    return CheckpointFigures(
        head_seq=head_seq,
        newest_entry_at=None if newest is None else _moment(int(newest)),
        checkpoint_seq=None if last is None else last.seq,
        checkpoint_at=None if last is None else _moment(last.at_ms),
    )


def _moment(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


def _reading_engine(url: str) -> Engine:
    """An engine that reads the store as it is: no migration, no new SQLite file, and a bounded wait
    for a PostgreSQL server that does not answer."""
    parsed = make_url(url)
    masked = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).is_file():
            raise StoreNotReadable(f"HUB_DATABASE_URL ({masked}): the SQLite file does not exist")
    elif parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        parsed = parsed.update_query_dict({"connect_timeout": str(CONNECT_TIMEOUT_SECONDS)})
    return make_engine(parsed.render_as_string(hide_password=False))


def _require_tables(connection: Connection, url: str) -> None:
    tables = inspect(connection)
    missing = [table.name for table in NEEDED_TABLES if not tables.has_table(table.name)]
    if missing:
        masked = make_url(url).render_as_string(hide_password=True)
        raise StoreNotReadable(
            f"HUB_DATABASE_URL ({masked}): not the hub's store, or never opened by `hub run` "
            f"(no table {', '.join(missing)})"
        )
