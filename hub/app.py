"""Wiring: from settings to a running worker. The one place that knows every part."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import connectors
from hub.agencies import AgencyRegistry
from hub.audit.chain import AuditChain
from hub.audit.checkpoints import CheckpointPolicy, CheckpointSigner
from hub.audit.entries import AuditEntries
from hub.audit.writer import AuditWriter
from hub.bus.session import Consumers
from hub.bus.topology import WORKERS_QUEUE, Topology, build_topology, ingress_queue, partition_queue
from hub.bus.transport import Transport
from hub.connector import Connector, Context
from hub.dossiers.book import DossierBook
from hub.partitions import Router
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.seen import SeenMessages
from hub.settings import Settings
from hub.store.database import make_engine
from hub.store.dossiers import DossierStore
from hub.store.keys import DataKeys
from hub.store.ledger import Ledger
from hub.worker import Worker


@dataclass(frozen=True)
class Hub:
    settings: Settings
    transport: Transport
    topology: Topology
    connectors: dict[str, Connector]
    ledger: Ledger
    registry: Registry

    def worker_consumers(self) -> Consumers:
        """What a worker consumes: the chosen connectors' ingress queues, to route them, and every
        partition (shared by all partners), claimed among the workers on RabbitMQ."""
        routers = {ingress_queue(partner): partner for partner in self.connectors}
        partitions = [partition_queue(n) for n in range(self.settings.partitions)]
        presence = None if self.transport.url is None else WORKERS_QUEUE
        return Consumers(routers, partitions, presence)

    def worker(self) -> Worker:
        book = DossierBook(self.ledger.dossiers.load)
        context = Context(
            agencies=AgencyRegistry(self.settings.agencies),
            dossiers=book,
            postal_customer_code=self.settings.postal_customer_code,
        )
        # Every connector: a partner not consumed here may still subscribe to canonical events.
        everyone = {partner: connectors.load(partner) for partner in connectors.partners()}
        seen = SeenMessages(self.ledger.forwarded_body)
        pipeline = Pipeline(everyone, self.settings, context, self.registry, seen=seen)
        keys = {partner: connector.partition_key for partner, connector in everyone.items()}
        return Worker(
            self.transport,
            pipeline,
            self.ledger,
            self.worker_consumers(),
            self.settings,
            router=Router(keys, self.settings.partitions),
            dossiers=book,
            seen=seen,
            audit=AuditEntries(self.registry),
        )


def topology(settings: Settings | None = None) -> Topology:
    """The broker topology for ``settings`` (partition count, park delay); defaults without."""
    if settings is None:
        return build_topology(connectors.partners())
    park_ms = round(settings.park_retry_seconds * 1000)
    return build_topology(connectors.partners(), settings.partitions, park_ms)


def open_ledger(url: str, settings: Settings) -> Ledger:
    """The store at ``url``, migrated: ledger, dossiers, keys and the audit log, with the settings' keys."""
    engine = make_engine(url)
    keys = DataKeys(settings.keyring())
    audit = AuditWriter(
        AuditChain(keys, settings.pseudonymizer()),
        CheckpointSigner(settings.audit_private_key()),
        CheckpointPolicy(settings.audit_checkpoint_every, settings.audit_checkpoint_seconds),
    )
    ledger = Ledger(engine, DossierStore(engine, keys), audit)
    ledger.create()
    return ledger


def build(settings: Settings, only: Sequence[str] = (), embedded: str = "hub") -> Hub:
    """A hub for ``settings``, running the connectors named in ``only`` (all when empty)."""
    chosen = list(only) or list(connectors.partners())
    AgencyRegistry(settings.agencies).require_postal_contacts()
    ledger = open_ledger(settings.database_url.get_secret_value(), settings)
    return Hub(
        settings=settings,
        transport=Transport(settings.broker_url_value(), embedded=embedded),
        topology=topology(settings),
        connectors={partner: connectors.load(partner) for partner in chosen},
        ledger=ledger,
        registry=Registry.load(CATALOGUE),
    )
