"""Wiring: from settings to a running worker. The one place that knows every part."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel

import connectors
from hub import metrics, versions
from hub.agencies import AgencyRegistry
from hub.audit.chain import AuditChain
from hub.audit.checkpoints import CheckpointPolicy, CheckpointSigner
from hub.audit.entries import AuditEntries
from hub.audit.personal import PersonalCatalogue
from hub.audit.writer import AuditWriter
from hub.backoff import Backoff, LogThrottle
from hub.bus.session import Consumers, worker_consumers
from hub.bus.topology import Topology, build_topology
from hub.bus.transport import Transport
from hub.commit import UnitOfWork
from hub.connector import Connector, Context
from hub.docs.catalogue import EGRESS
from hub.dossiers.book import DossierBook
from hub.errors import TransientError
from hub.health import Health
from hub.partitions import Router
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.seen import SeenMessages
from hub.settings import Settings
from hub.store.database import make_engine
from hub.store.dossiers import DossierStore
from hub.store.keys import CachedKeys, DataKeys
from hub.store.ledger import Ledger
from hub.worker import RECONNECT_REPORT_SECONDS, Worker

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Hub:
    settings: Settings
    transport: Transport
    topology: Topology
    connectors: dict[str, Connector]
    ledger: Ledger  # the reads: duplicates, tallies
    work: UnitOfWork  # the writes: ledger rows, dossiers and audit entries in one transaction
    registry: Registry

    def worker_consumers(self) -> Consumers:
        """What a worker consumes (hub.bus.session.worker_consumers) for the chosen connectors."""
        return worker_consumers(self.connectors, self.settings.partitions, self.transport.url is not None)

    def worker(self, health: Health | None = None) -> Worker:
        book = DossierBook(self.work.dossiers.load, self.work.dossiers.load_many)
        context = Context(
            agencies=AgencyRegistry(self.settings.agencies),
            dossiers=book,
            postal_customer_code=self.settings.postal_customer_code,
        )
        # Every connector: a partner not consumed here may still subscribe to canonical events.
        everyone = {partner: connectors.load(partner) for partner in connectors.partners()}
        seen = SeenMessages(self.ledger.forwarded_body, self.ledger.forwarded_bodies)
        keys = CachedKeys(self.work.engine, DataKeys(self.settings.keyring()))
        pipeline = Pipeline(everyone, self.settings, context, self.registry, keys=keys, seen=seen)
        partition_keys = {partner: connector.partition_key for partner, connector in everyone.items()}
        return Worker(
            self.transport,
            pipeline,
            self.work,
            self.worker_consumers(),
            self.settings,
            router=Router(partition_keys, self.settings.partitions),
            dossiers=book,
            seen=seen,
            audit=audit_entries(self.registry),
            health=health,
        )


def audit_entries(registry: Registry) -> AuditEntries:
    """The audit's entry builder, with the personal-data markings of every message and the connectors'
    citizen-ID paths."""
    everyone = [connectors.load(partner) for partner in connectors.partners()]
    citizen_ids = [path for connector in everyone for path in connector.citizen_id_paths]
    return AuditEntries(registry, personal_catalogue(registry), citizen_ids)


def personal_catalogue(registry: Registry) -> PersonalCatalogue:
    """The personal-data markings of every JSON message (the connectors' ingress routes, each contract
    version's model, and the egress catalogue) and of the canonical records."""
    everyone = {partner: connectors.load(partner) for partner in connectors.partners()}
    messages: dict[tuple[str, str], tuple[type[BaseModel], ...]] = {
        (partner, kind): tuple(route.models())
        for partner, connector in everyone.items()
        for kind, route in connector.routes.items()
    }
    messages.update({(egress.partner, egress.kind): (egress.model,) for egress in EGRESS})
    return PersonalCatalogue(registry, messages)


def topology(settings: Settings | None = None) -> Topology:
    """The broker topology for ``settings`` (partition count, park delay); defaults without."""
    if settings is None:
        return build_topology(connectors.partners())
    park_ms = round(settings.park_retry_seconds * 1000)
    return build_topology(connectors.partners(), settings.partitions, park_ms)


def open_store(url: str, settings: Settings) -> UnitOfWork:
    """The store at ``url``, migrated: ledger, dossiers, keys and the audit log, with the settings' keys."""
    engine = make_engine(url)
    keys = DataKeys(settings.keyring())
    audit = AuditWriter(
        AuditChain(keys, settings.pseudonymizer()),
        CheckpointSigner(settings.audit_private_key()),
        CheckpointPolicy(settings.audit_checkpoint_every, settings.audit_checkpoint_seconds),
    )
    work = UnitOfWork(Ledger(engine), DossierStore(engine, keys), audit)
    work.create()
    return work


def build(settings: Settings, only: Sequence[str] = (), embedded: str = "hub") -> Hub:
    """A hub for ``settings``, running the connectors named in ``only`` (all when empty)."""
    chosen = list(only) or list(connectors.partners())
    AgencyRegistry(settings.agencies).require_postal_contacts()
    settings.signature_verifier(), settings.egress_signer()  # bad keys: refused before connecting
    everyone = {partner: connectors.load(partner) for partner in connectors.partners()}
    versions.check_setting(settings.contract_versions, everyone)
    work = open_store(settings.database_url.get_secret_value(), settings)
    return Hub(
        settings=settings,
        transport=Transport(settings.broker_url_value(), embedded=embedded),
        topology=topology(settings),
        connectors={partner: connectors.load(partner) for partner in chosen},
        ledger=work.ledger,
        work=work,
        registry=Registry.load(CATALOGUE),
    )


def start(settings: Settings, only: Sequence[str], stop: threading.Event) -> Hub | None:
    """A hub whose store is open and whose queues exist, once the database and the broker answer;
    None when ``stop`` is set first.

    A database or broker that does not answer yet (the hub started before them) is waited for, as
    the worker waits on a reconnect. A ``FatalError`` (a refused URL, missing queues) is raised.
    """
    waiting = _Waiting(settings)
    hub = waiting.until(stop, lambda: build(settings, only))
    return None if hub is None else waiting.until(stop, lambda: _with_queues(hub))


def _with_queues(hub: Hub) -> Hub:
    hub.transport.require_queues(list(hub.worker_consumers().all_queues))
    return hub


class _Waiting:
    """Attempts to start: paced by the connect backoff, counted as ``hub_retries_total{cause="connect"}``,
    logged at most once every few seconds."""

    def __init__(self, settings: Settings) -> None:
        self._backoff = Backoff(settings.retry_backoff_seconds, settings.retry_backoff_max_seconds)
        self._log = LogThrottle(log, RECONNECT_REPORT_SECONDS)

    def until(self, stop: threading.Event, attempt: Callable[[], T]) -> T | None:
        while not stop.is_set():
            try:
                return attempt()
            except TransientError as error:
                metrics.RETRIED.labels("connect").inc()
                delay = self._backoff.next_delay()
                self._log.warning("cannot start yet (%s); retrying in %.1fs", error, delay)
                stop.wait(delay)
        return None
