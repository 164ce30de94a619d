"""What the hub knows of a dossier, and the changes translations ask for.

The one piece of personal data here is a dossier's ``recipient`` (where its result goes by post):
the store keeps it encrypted under the dossier's data key and decrypts it on load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from hub.dossiers.status import Step, fold


@dataclass(frozen=True)
class Recipient:
    """A person and address the post delivers to (personal data: encrypted at rest)."""

    full_name: str
    phone: str
    street: str
    province: str
    commune: str


@dataclass(frozen=True)
class PostalOrder:
    """An order the hub placed with the post, and the tracking event that set its state last.

    ``service`` is the canonical ``PostalService`` (COLLECT_DOSSIER or DELIVER_RESULT); which events
    set an order's state is the postal connector's rule (``connectors.postal_codes``).
    """

    number: str
    service: str
    attempt: int
    cod_amount: int
    last_code: int | None = None
    last_at: str | None = None  # EventTime of that event, yyyyMMddHHmmss
    cancelled: bool = False


@dataclass(frozen=True)
class Dossier:
    """A dossier the hub has seen: its owning unit, how it started, its accepted steps and orders."""

    code: str
    unit: str
    initial_status: int
    result_by_post: bool
    steps: tuple[Step, ...] = ()
    recipient: Recipient | None = None
    orders: tuple[PostalOrder, ...] = ()

    @property
    def status(self) -> int:
        return fold(self.initial_status, self.steps)[0]

    def order(self, number: str) -> PostalOrder | None:
        return next((order for order in self.orders if order.number == number), None)

    def orders_for(self, service: str) -> tuple[PostalOrder, ...]:
        """This dossier's orders for ``service``, first attempt first."""
        return tuple(sorted((o for o in self.orders if o.service == service), key=lambda o: o.attempt))


@dataclass(frozen=True)
class DossierOpened:
    """A dossier becomes known: filed online (status 1) or received at a counter (status 2)."""

    code: str
    unit: str
    initial_status: int
    result_by_post: bool
    recipient: Recipient | None = None


@dataclass(frozen=True)
class StepRecorded:
    """A status step of a known dossier, already admitted by the status policy."""

    code: str
    step: Step


@dataclass(frozen=True)
class OrderPlaced:
    """The hub asked the post to carry something for the dossier ``code``."""

    code: str
    order: PostalOrder


@dataclass(frozen=True)
class OrderTracked:
    """A tracking event that set the state of the order ``number`` (admitted by the postal rules)."""

    code: str
    number: str
    status_code: int
    at: str


@dataclass(frozen=True)
class OrderCancelled:
    code: str
    number: str


@dataclass(frozen=True)
class Facts:
    """What reports need of a dossier, none of it personal. Each translation sets what its message
    tells (None: unchanged). Times are milliseconds since the epoch; the words are the canonical
    values the connectors chose (channels, counter roles, postal states)."""

    procedure: str | None = None  # MaTTHC
    channel: str | None = None  # how it was filed: ONLINE, IN_PERSON, POSTAL
    counter_role: str | None = None  # who accepted it at the counter: CIVIL_SERVANT, POSTAL_STAFF
    result_route: str | None = None  # BY_POST or AT_COUNTER
    filed_at: int | None = None
    accepted_at: int | None = None
    due_at: int | None = None  # NgayHenTra, as last moved
    result_ready_at: int | None = None
    handed_over_at: int | None = None  # the result returned, at the counter or by post
    closed_at: int | None = None  # ended without a result: refused, withdrawn, not processed
    collection: str | None = None  # REQUESTED, then the post's latest state of the collection
    delivery_attempts: int | None = None  # result orders placed
    delivered_attempt: int | None = None  # the attempt that delivered the result
    cod_collected_vnd: int | None = None


@dataclass(frozen=True)
class FactsNoted:
    """Facts of the dossier ``code`` (set where not None), and an online payment to add."""

    code: str
    facts: Facts = Facts()
    paid_online_vnd: int = 0


Change = DossierOpened | StepRecorded | OrderPlaced | OrderTracked | OrderCancelled | FactsNoted
CHANGES = (DossierOpened, StepRecorded, OrderPlaced, OrderTracked, OrderCancelled, FactsNoted)


def with_changes(dossier: Dossier | None, changes: list[Change]) -> Dossier | None:
    """``dossier`` as it will be once ``changes`` (its own, in order) are committed."""
    for change in changes:
        if isinstance(change, DossierOpened):
            if dossier is None:
                dossier = Dossier(
                    change.code, change.unit, change.initial_status, change.result_by_post,
                    recipient=change.recipient,
                )  # fmt: skip
        elif dossier is not None:
            dossier = _changed(dossier, change)
    return dossier


def _changed(dossier: Dossier, change: Change) -> Dossier:
    if isinstance(change, StepRecorded):
        known = change.step in dossier.steps
        return dossier if known else replace(dossier, steps=(*dossier.steps, change.step))
    if isinstance(change, OrderPlaced):
        known = dossier.order(change.order.number) is not None
        return dossier if known else replace(dossier, orders=(*dossier.orders, change.order))
    if isinstance(change, OrderTracked):
        tracked = change
        return _with_order(
            dossier, tracked.number, lambda o: replace(o, last_code=tracked.status_code, last_at=tracked.at)
        )
    if isinstance(change, OrderCancelled):
        return _with_order(dossier, change.number, lambda o: replace(o, cancelled=True))
    return dossier


def _with_order(dossier: Dossier, number: str, update: Callable[[PostalOrder], PostalOrder]) -> Dossier:
    orders = tuple(update(o) if o.number == number else o for o in dossier.orders)
    return replace(dossier, orders=orders)
