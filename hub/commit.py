"""The store's unit of work: one transaction in which the ledger writes its rows, the dossier store its
changes and the audit writer its entries, so an input is acknowledged only once all three are in.

It sits above both the store and the audit: neither owns the other, each only writes on the connection
it is given."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from hub.audit.checkpoints import Checkpoint
from hub.audit.entries import AuditEntry
from hub.audit.writer import AuditWriter
from hub.dossiers.records import Change
from hub.errors import StoreRefused
from hub.outcomes import LedgerRecord
from hub.store import migrate
from hub.store.database import StoreUnavailable, opening_failure, store_refusal
from hub.store.dossiers import DossierStore
from hub.store.ledger import Ledger


class UnitOfWork:
    def __init__(self, ledger: Ledger, dossiers: DossierStore, audit: AuditWriter) -> None:
        self.engine = ledger.engine  # the dossiers and the audit are on the same engine
        self.ledger = ledger
        self.dossiers = dossiers
        self.audit = audit

    def create(self) -> None:
        """Tables by migration (a database made before migrations is adopted), then the chain's head.

        The hub's first connection: raises ``StoreRefused`` when the URL is wrong, ``StoreUnavailable``
        when the database does not answer (yet)."""
        try:
            migrate.upgrade(self.engine)
            with self.engine.begin() as connection:
                self.audit.create(connection)
        except DBAPIError as error:  # on connecting: the driver's text holds no message's data
            raise opening_failure(error, self.engine) from None

    def record(
        self,
        records: Sequence[LedgerRecord],
        changes: Sequence[Change] = (),
        entries: Sequence[AuditEntry] = (),
    ) -> None:
        """Write ``records``, the dossier ``changes`` and the audit ``entries`` in one transaction;
        raises ``StoreUnavailable`` when it cannot."""
        if not records and not changes and not entries:
            return
        try:
            with self.engine.begin() as connection:
                self._write(connection, records, changes, entries)
        except DBAPIError as error:
            raise self._failure(error) from None

    def checkpoint(self) -> Checkpoint | None:
        """Sign the audit chain's head now: at shutdown, so the last entries are covered."""
        try:
            with self.engine.begin() as connection:
                return self.audit.checkpoint(connection)
        except DBAPIError as error:
            raise self._failure(error) from None

    def _write(
        self,
        connection: Connection,
        records: Sequence[LedgerRecord],
        changes: Sequence[Change],
        entries: Sequence[AuditEntry],
    ) -> None:
        self.ledger.write(connection, records)
        self.dossiers.apply(connection, changes)
        self.audit.append(connection, entries)

    def _failure(self, error: DBAPIError) -> StoreRefused | StoreUnavailable:
        """A wrong URL (noticed when the pool connects again) stops the hub; anything else passes.
        Only the error's type is kept: a failed write's text may quote the values it wrote."""
        refused = store_refusal(error, self.engine)
        return refused or StoreUnavailable(f"the store refused a write: {type(error.orig).__name__}")
