"""The pipeline over dossiers kept in memory, as connector tests drive it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import connectors
from hub.agencies import AgencyRegistry
from hub.bus.ingress import ingress_message
from hub.connector import Context
from hub.dossiers.book import DossierBook, MemoryDossiers
from hub.envelope import Delivery, Outbound
from hub.event_seal import KeysInMemory
from hub.outcomes import Outcome
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import Settings

SAMPLES = Path(connectors.__file__).parent / "samples"
REGISTRY = Registry.load(CATALOGUE)


class InMemoryHub:
    """Every connector's pipeline, committing each outcome's dossier changes at once."""

    def __init__(self, settings: Settings) -> None:
        self.dossiers = MemoryDossiers()
        context = Context(
            AgencyRegistry(settings.agencies),
            DossierBook(self.dossiers.load),
            postal_customer_code=settings.postal_customer_code,
        )
        chosen = {p: connectors.load(p) for p in connectors.partners()}
        self.keys = KeysInMemory()
        self._pipeline = Pipeline(chosen, settings, context, REGISTRY, keys=self.keys)
        self._sequence = 0

    def send(self, partner: str, kind: str, body: dict[str, Any], version: str = "1") -> Outcome:
        """``body`` as ``partner``'s ``kind`` in contract ``version``."""
        self._sequence += 1
        raw = json.dumps(body, ensure_ascii=False).encode()
        message = ingress_message(
            partner,
            kind,
            raw,
            message_id=f"{partner}-{self._sequence}",
            user_id="guest",
            timestamp=1,
            contract_version=version,
        )
        return self.deliver(message)

    def deliver(self, message: Outbound) -> Outcome:
        """A message as a partner published it (``Outbound`` on its ingress exchange)."""
        partner = message.exchange.removeprefix("ingress.")
        delivery = Delivery(partner, message.exchange, message.routing_key, message.body, message.properties)
        outcome = self._pipeline.process(delivery)
        self.dossiers.apply(outcome.changes)
        return outcome


def deferred(outcome: Outcome) -> bool:
    """Whether the pipeline parked ``outcome``'s message: it raised a ``Deferral`` and waits for
    other messages (its reason is what it is dead-lettered with when its window ends)."""
    return outcome.deferral is not None


def forwarded(outcome: Outcome) -> bool:
    """Whether ``outcome``'s message was accepted and forwarded (neither parked nor refused)."""
    return outcome.record.outcome == "forwarded"


def sample(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return body


def routes(outcome: Outcome) -> list[tuple[str, str]]:
    return [(o.exchange, o.routing_key) for o in outcome.outputs]


def egress(outcome: Outcome, partner: str, kind: str) -> list[dict[str, Any]]:
    """The bodies ``outcome`` sends ``partner`` as ``kind``."""
    return [
        json.loads(o.body)
        for o in outcome.outputs
        if o.exchange == f"egress.{partner}" and o.routing_key == kind
    ]
