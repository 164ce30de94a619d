"""What a connector gives the hub: its partner id and one route per ingress message kind.

The hub core never names a partner; it runs whatever connectors ``connectors`` registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from hub.agencies import AgencyRegistry
from hub.dossiers.book import DossierBook, DossierView, MemoryDossiers
from hub.dossiers.records import Change

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Emit:
    """One message a translation asks the hub to publish to a partner's egress."""

    partner: str
    kind: str
    body: BaseModel | Mapping[str, Any]  # serialised as JSON; a model without its null fields
    dossier: str
    unit: str | None = None


@dataclass(frozen=True)
class Event:
    """A canonical event: a record of the Avro catalogue, published on ``hub.events``.

    ``datum`` holds every field but ``header``, which the pipeline fills from the ingress message.
    """

    record: str  # full name in the catalogue, e.g. hub.dossier.v1.DossierSubmitted
    kind: str  # routing key on hub.events
    datum: Mapping[str, Any]
    dossier: str


@dataclass(frozen=True)
class Flag:
    """Something about an accepted input worth counting and auditing (an S10 check digit that fails,
    a status code the operator has not published): the input still goes through.

    ``name`` is a constant of the connector's code, never a value from the message: it becomes a
    metric label and part of the ledger row.
    """

    name: str


@dataclass(frozen=True)
class Context:
    """What a translation may consult; translations themselves do no I/O of their own."""

    agencies: AgencyRegistry
    dossiers: DossierView = field(default_factory=lambda: DossierBook(MemoryDossiers().load))
    postal_customer_code: str = "HUB-SAMPLE"  # Settings.postal_customer_code


# What a translation returns: messages for partners, canonical events, dossier changes and flags.
Result = Emit | Event | Change | Flag


@dataclass(frozen=True)
class Route(Generic[M]):
    """An ingress kind: the model its body must satisfy and its translation to egress messages."""

    kind: str
    model: type[M]
    translate: Callable[[M, Context], Sequence[Result]]
    dossier_of: Callable[[M], str] = field(default=lambda model: str(getattr(model, "MaHoSo", "")))
    # A partner may also publish this kind as a canonical event: the record it uses, and how its
    # datum becomes the native body (then validated by ``model`` like any JSON body).
    record: str | None = None
    from_canonical: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    # Contract versions in which this kind's body changed: version -> its model. A subclass of
    # ``model`` whose renamed fields keep their attribute names (the wire name is an alias), so
    # ``translate`` reads every version alike. A version not listed uses the latest earlier one.
    revisions: Mapping[str, type[M]] = field(default_factory=dict)

    def model_for(self, version: str) -> type[M]:
        """The model of this kind's body in contract ``version``."""
        earlier = [v for v in self.revisions if version_number(v) <= version_number(version)]
        return self.revisions[max(earlier, key=version_number)] if earlier else self.model

    def models(self) -> list[type[M]]:
        """Every model this kind has had, the first version's first."""
        return [self.model, *(self.revisions[v] for v in sorted(self.revisions, key=version_number))]


def version_number(version: str) -> int:
    """A contract version (``x-contract-version``: decimal digits) as a number, to order versions."""
    return int(version)


@dataclass(frozen=True)
class ContractVersion:
    """A contract version a connector speaks. ``retires``: the day its partner is asked to have moved
    to a later one; the hub warns while it is still used. Whether it is accepted is the province's
    setting (``contract_versions``), never the date alone."""

    version: str
    retires: date | None = None


def dossier_code_key(body: Mapping[str, Any]) -> str | None:
    """The partition key of most partners' messages: their top-level ``MaHoSo``."""
    value = body.get("MaHoSo")
    return value if isinstance(value, str) else None


# What a connector makes of a canonical event: the egress messages its partner receives, and any
# further events and dossier changes (a postal order requested, then the order sent to the post).
Subscription = Callable[[Mapping[str, Any], Context], Sequence[Result]]


@dataclass(frozen=True)
class Connector:
    """A partner's connector.

    ``routes`` maps each ingress kind it accepts to its route; ``subscriptions`` maps canonical
    records (full names) to what its partner receives when another partner's message produced one.
    ``partition_key`` reads the dossier code from a parsed body before any validation (the router
    partitions by it, hub.partitions), None when the body names none. ``versions``: the contract
    versions it speaks (hub.versions checks the setting against them). ``citizen_id_paths``: where its
    partner's messages (and the hub's in its field names) carry a citizen's ID number, which the audit
    log keeps as a pseudonym to find the citizen's dossiers by.
    """

    partner: str
    routes: Mapping[str, Route[Any]]
    subscriptions: Mapping[str, Subscription] = field(default_factory=dict)
    partition_key: Callable[[Mapping[str, Any]], str | None] = dossier_code_key
    versions: tuple[ContractVersion, ...] = (ContractVersion("1"),)  # those it speaks, in order
    citizen_id_paths: tuple[str, ...] = ()
