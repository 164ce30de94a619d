"""Benchmark: what the audit log costs per event on SQLite and PostgreSQL, and how fast it verifies.

The inputs are the fake portal's filings (``dossier.submitted``: every second one with the result by
post, every third asking for collection), run through the hub's pipeline as the connector tests do,
so each outcome carries its real outputs (the one-stop-shop copy, the canonical Avro event, postal
orders) and dossier changes. Then, on each database, in a fresh one per phase:

- ledger write without audit: ``UnitOfWork.record(records, changes)`` in group commits of ``--batch``;
- ledger write with audit: the same plus ``AuditEntries.of`` for each outcome and the entries in the
  same transaction, as the worker commits a batch (building, sealing, chaining, inserting, and a
  signed checkpoint whenever the default policy says one is due);
- verify: ``hub.audit.verify.verify`` over the chain the previous phase wrote, in records per second,
  beside a bare recheck of the same chain (``row_hash`` over every row, read in pages): the floor
  under ``verify``, which does that and diagnoses breaks, checks checkpoints and the head.

Building the entries alone (CPU: splitting personal values, canonical JSON, Avro decoding) is timed
once, apart; the write part of the audit cost is what remains. Each phase stops at the first batch
boundary past ``--phase-seconds`` (per-input figures stay valid), so a run stays under two minutes.

SQLite is a WAL file in a temporary directory. PostgreSQL gets a database ``bench_audit_<random>``
per phase on ``--postgres`` (created through the ``postgres`` maintenance database, dropped after
the phase, also on failure); the run says so and goes on without it when no server answers.

    .venv/bin/python scripts/bench_audit.py [--count 5000] [--batch 256] [--phase-seconds 15]
                                            [--postgres postgresql://127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Engine, select, text

import connectors
from connectors.portal.fake import FakePortal
from hub.agencies import AgencyRegistry
from hub.app import audit_entries, open_store
from hub.audit.chain import GENESIS, audit_log, row_hash
from hub.audit.entries import AuditEntries
from hub.audit.verify import VerifyReport, verify
from hub.commit import UnitOfWork
from hub.connector import Context
from hub.dossiers.book import DossierBook, MemoryDossiers
from hub.envelope import Delivery
from hub.event_seal import KeysInMemory
from hub.outcomes import Outcome
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import Settings, load_settings
from hub.store.database import make_engine

PROVINCE = Path(connectors.__file__).parent / "samples" / "province.toml"
KIND = "dossier.submitted"
PAGE = 5_000  # audit rows per query of the recheck, as verify reads them

FreshDatabase = Callable[[], AbstractContextManager[str]]  # the URL of an empty database, for a block


@dataclass(frozen=True)
class Timed:
    """One phase: how many inputs (and audit entries) it handled, in how many seconds."""

    inputs: int
    seconds: float
    entries: int = 0

    @property
    def per_input(self) -> float:
        return self.seconds / self.inputs * 1e6

    @property
    def per_entry(self) -> float:
        return self.seconds / self.entries * 1e6

    @property
    def entries_per_input(self) -> float:
        return self.entries / self.inputs


@dataclass(frozen=True)
class Figures:
    """What one database measured."""

    name: str
    plain: Timed
    audited: Timed
    checked: VerifyReport
    rechecked: Timed


# -- the inputs ----------------------------------------------------------------------------------
def outcomes(settings: Settings, registry: Registry, count: int, cap: float) -> list[Outcome]:
    """Up to ``count`` outcomes of the fake portal's filings, each applied to in-memory dossiers so
    the next sees it (as ``tests/connectors/harness.py`` does); stops after ``cap`` seconds."""
    dossiers = MemoryDossiers()
    context = Context(
        AgencyRegistry(settings.agencies),
        DossierBook(dossiers.load),
        postal_customer_code=settings.postal_customer_code,
    )
    pipeline = Pipeline(
        {p: connectors.load(p) for p in connectors.partners()},
        settings,
        context,
        registry,
        keys=KeysInMemory(),
    )
    portal = FakePortal(seed=2026)
    units = [agency.code for agency in settings.agencies]
    done: list[Outcome] = []
    deadline = time.perf_counter() + cap
    while len(done) < count and time.perf_counter() < deadline:
        i = len(done)
        body = portal.dossier_submitted(units[i % len(units)], by_post=i % 2 == 0, collect=i % 3 == 0)
        message = portal.message(KIND, body)
        delivery = Delivery("portal", message.exchange, message.routing_key, message.body, message.properties)
        outcome = pipeline.process(delivery)
        dossiers.apply(outcome.changes)
        done.append(outcome)
    return done


def batches(items: Sequence[Outcome], size: int) -> Iterator[Sequence[Outcome]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- the phases ----------------------------------------------------------------------------------
def build_entries(audit: AuditEntries, inputs: Sequence[Outcome], batch: int, cap: float) -> Timed:
    """Building the audit entries alone: no database."""
    started, done, entries = time.perf_counter(), 0, 0
    for chunk in batches(inputs, batch):
        if time.perf_counter() - started > cap:
            break
        entries += sum(len(audit.of(outcome)) for outcome in chunk)
        done += len(chunk)
    return Timed(done, time.perf_counter() - started, entries)


def write(
    store: UnitOfWork, inputs: Sequence[Outcome], batch: int, cap: float, audit: AuditEntries | None
) -> Timed:
    """Group commits of ``batch`` outcomes, with their audit entries when ``audit`` is given."""
    started, done, entries = time.perf_counter(), 0, 0
    for chunk in batches(inputs, batch):
        if time.perf_counter() - started > cap:
            break
        built = [] if audit is None else [e for outcome in chunk for e in audit.of(outcome)]
        changes = [change for outcome in chunk for change in outcome.changes]
        store.record([outcome.record for outcome in chunk], changes, built)
        done += len(chunk)
        entries += len(built)
    return Timed(done, time.perf_counter() - started, entries)


def measure(
    name: str, fresh: FreshDatabase, settings: Settings, inputs: Sequence[Outcome], args: argparse.Namespace
) -> Figures:
    """The three phases on one kind of database, each write phase in a database of its own."""
    with fresh() as url:
        store = open_store(url, settings)
        plain = write(store, inputs, args.batch, args.phase_seconds, audit=None)
        store.engine.dispose()
    with fresh() as url:
        store = open_store(url, settings)
        audit = audit_entries(Registry.load(CATALOGUE))
        audited = write(store, inputs, args.batch, args.phase_seconds, audit)
        checked = verify(store.engine, public_keys=[settings.audit_private_key().public_key()])
        rechecked = recheck(store.engine)
        store.engine.dispose()
    if not checked.ok:
        raise SystemExit(f"{name}: the chain just written does not verify: {checked.problems()}")
    return Figures(name, plain, audited, checked, rechecked)


def recheck(engine: Engine) -> Timed:
    """Every row's hash recomputed and its link to the previous one checked, pages of ``PAGE``."""
    started, done, last, previous = time.perf_counter(), 0, 0, GENESIS
    query = select(audit_log).order_by(audit_log.c.seq).limit(PAGE)
    with engine.connect() as connection:
        while True:
            page: Sequence[Mapping[Any, Any]] = (
                connection.execute(query.where(audit_log.c.seq > last)).mappings().all()
            )
            if not page:
                break
            for row in page:
                if row["prev_hash"] != previous or row_hash(row) != row["hash"]:
                    raise SystemExit(f"the chain breaks at record {row['seq']}")
                previous = row["hash"]
            done, last = done + len(page), page[-1]["seq"]
    return Timed(done, time.perf_counter() - started)


# -- the databases -------------------------------------------------------------------------------
def sqlite_databases(directory: Path) -> FreshDatabase:
    @contextmanager
    def fresh() -> Iterator[str]:
        yield f"sqlite:///{directory / f'bench-{secrets.token_hex(4)}.sqlite3'}"

    return fresh


def postgres_databases(server: str) -> FreshDatabase:
    @contextmanager
    def fresh() -> Iterator[str]:
        name = f"bench_audit_{secrets.token_hex(6)}"
        with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            try:
                yield f"{server}/{name}"
            finally:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))

    return fresh


def postgres_version(server: str) -> str | None:
    """The server's version, or None (and why, printed) when it does not answer."""
    try:
        with psycopg.connect(f"{server}/postgres", connect_timeout=3) as connection:
            row = connection.execute("SHOW server_version").fetchone()
    except psycopg.OperationalError as error:
        print(f"PostgreSQL skipped: no server at {server} ({str(error).strip().splitlines()[0]})")
        return None
    return None if row is None else str(row[0]).split()[0]


def sqlite_version() -> str:
    engine = make_engine("sqlite://")
    with engine.connect() as connection:
        version = str(connection.execute(text("select sqlite_version()")).scalar_one())
    engine.dispose()
    return version


# -- the report ----------------------------------------------------------------------------------
def rows(figures: Figures, building: Timed) -> list[tuple[str, str, str]]:
    """(label, µs per input, µs per audit entry) for one database."""
    plain, audited = figures.plain, figures.audited
    cost = audited.per_input - plain.per_input  # what the audit adds to each input
    per_entry = audited.entries_per_input
    writing = cost - building.per_input
    return [
        ("ledger write, no audit", f"{plain.per_input:,.1f}", ""),
        ("ledger write + audit", f"{audited.per_input:,.1f}", f"{audited.per_entry:,.1f}"),
        ("audit cost (the difference)", f"{cost:,.1f}", f"{cost / per_entry:,.1f}"),
        ("  building entries (CPU)", f"{building.per_input:,.1f}", f"{building.per_entry:,.1f}"),
        ("  sealing, chaining, inserting", f"{writing:,.1f}", f"{writing / per_entry:,.1f}"),
        ("with / without audit", f"{audited.per_input / plain.per_input:.2f}x", ""),
        ("inputs timed (no audit / audit)", f"{plain.inputs:,} / {audited.inputs:,}", ""),
        ("audit entries per input", f"{per_entry:.2f}", ""),
        ("verify: records per second", f"{figures.checked.records_per_second:,.0f}", ""),
        ("verify: records, seconds", f"{figures.checked.records:,}, {figures.checked.seconds:.2f}", ""),
        ("verify: checkpoints checked", f"{figures.checked.checkpoints}", ""),
        ("hash-chain recheck: records/s", f"{figures.rechecked.inputs / figures.rechecked.seconds:,.0f}", ""),
    ]


def print_table(measured: Sequence[Figures], building: Timed) -> None:
    columns = [rows(figures, building) for figures in measured]
    header = "".join(f" | {figures.name:^28}" for figures in measured)
    units = "".join(f" | {'µs/input':>14}{'µs/entry':>14}" for _ in measured)
    print(f"\n{'':34}{header}\n{'':34}{units}")
    print("-" * (34 + 31 * len(measured)))
    for index, (label, *_) in enumerate(columns[0]):
        cells = "".join(f" | {column[index][1]:>14}{column[index][2]:>14}" for column in columns)
        print(f"{label:34}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="inputs (outcomes of the pipeline)")
    parser.add_argument("--batch", type=int, default=256, help="inputs per group commit")
    parser.add_argument("--phase-seconds", type=float, default=15.0, help="cap of each phase")
    parser.add_argument("--postgres", default="postgresql://127.0.0.1:5432", help="server URL, no database")
    args = parser.parse_args()

    settings = load_settings(PROVINCE)
    registry = Registry.load(CATALOGUE)
    started = time.perf_counter()
    inputs = outcomes(settings, registry, args.count, args.phase_seconds)
    print(f"{len(inputs):,} portal filings through the pipeline in {time.perf_counter() - started:.1f} s")
    building = build_entries(audit_entries(registry), inputs, args.batch, args.phase_seconds)
    print(f"group commits of {args.batch}; each phase capped at {args.phase_seconds:.0f} s")

    measured = []
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as directory:
        fresh = sqlite_databases(Path(directory))
        measured.append(measure(f"SQLite {sqlite_version()} (WAL)", fresh, settings, inputs, args))
    version = postgres_version(args.postgres)
    if version is not None:
        fresh = postgres_databases(args.postgres)
        measured.append(measure(f"PostgreSQL {version}", fresh, settings, inputs, args))
    print_table(measured, building)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
