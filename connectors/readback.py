"""Reading back, unit by unit, what the hub delivered during the demo's day: off the egress queues
(what each partner received) and the dead-letter queues, never off the hub's own records.

Every egress message carries its dossier code (``correlation_id``); the unit that owns the dossier is
in the header ``x-hub-unit`` of whatever reached the one-stop-shop system, and in ``DonViXuLy`` of a
counter filing synced to the portal.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from connectors.onestop.fake import IN_PERSON
from connectors.onestop.mapping import ONESTOP
from connectors.portal.mapping import ACCEPTED, COUNTER_TITLES, PORTAL
from connectors.postal.mapping import POSTAL
from connectors.postal_codes import DeliveryState, PickupState, Service, parse_order_number
from hub.agencies import AgencyRegistry
from hub.dossiers.status import RESULT_RETURNED, WITHDRAWN
from hub.envelope import HEADER_UNIT, Delivery

UNREAD_BODY_BYTES = 64 * 1024  # dead letters larger than this are not opened to find their unit
SUPPLEMENT_REQUESTED = 5
TITLE_ROLES = {title: role for role, title in COUNTER_TITLES.items()}


@dataclass
class UnitFigures:
    """What the hub delivered for one owning unit."""

    filed_online: int = 0  # dossier.submitted to onestop
    collection_requested: int = 0  # order.create BCCI_THU_GOM: the post collects the originals
    in_person: int = 0  # counter filings synced to the portal (DongBoHoSoMC), by channel
    brought_by_post: int = 0
    civil_servant: int = 0  # counter filings by who received them (their first progress record)
    postal_staff: int = 0
    supplement_requested: int = 0  # progress records to the portal, by status
    withdrawn: int = 0  # ... and dossier.withdrawn to onestop
    paid_online: int = 0  # payment.completed to onestop
    returned_at_counter: int = 0
    progress_records: int = 0
    result_orders: int = 0  # order.create BCCI_TRA_KQ: results returned by post
    resent: int = 0  # ... of them, sent again after the post brought the result back
    delivered: int = 0  # result.delivery to onestop, by state
    delivery_failed: int = 0
    returned_to_agency: int = 0
    cod_collected: int = 0  # đồng, collected on delivery
    collected: int = 0  # pickup.status to onestop, by state
    collection_failed: int = 0
    collection_cancelled: int = 0  # order.cancel to the post
    dead_letters: int = 0


@dataclass
class DayByUnit:
    """Per owning unit (``None``: no unit could be read), and the legacy codes routed to successors."""

    units: dict[str | None, UnitFigures] = field(default_factory=dict)
    successors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (code named, owner)

    def unit(self, code: str | None) -> UnitFigures:
        return self.units.setdefault(code, UnitFigures())

    def routed(self, named: str, owner: str) -> None:
        if named != owner:
            self.successors[(named, owner)] += 1

    def total(self) -> UnitFigures:
        return UnitFigures(
            **{f.name: sum(getattr(u, f.name) for u in self.units.values()) for f in fields(UnitFigures)}
        )


@dataclass(frozen=True)
class _Known:
    """What the readback learns in a first pass: each dossier's unit, and the results sent by post."""

    units: Mapping[str, str]
    by_post: frozenset[str]


def by_unit(delivered: Iterable[Delivery], dead: Iterable[Delivery], agencies: AgencyRegistry) -> DayByUnit:
    """Count, per owning unit, the egress messages the hub delivered (each with its partner) and its
    dead letters (attributed by the agency or the dossier they name)."""
    messages = [(d, json.loads(d.body)) for d in delivered]
    known = _Known(_dossier_units(messages), _results_by_post(messages))
    figures = DayByUnit()
    for delivery, body in messages:
        count = _COUNTERS.get((delivery.partner, delivery.routing_key))
        if count is not None:
            count(figures.unit(known.units.get(delivery.properties.correlation_id or "")), body, known)
        if (delivery.partner, delivery.routing_key) in _FILINGS:
            figures.routed(body["MaCoQuan"], known.units[body["MaHoSo"]])
    for letter in dead:
        figures.unit(_dead_letter_unit(letter, agencies, known.units)).dead_letters += 1
    return figures


def _dossier_units(messages: list[tuple[Delivery, Any]]) -> dict[str, str]:
    units = {
        str(d.properties.correlation_id): str(d.properties.headers[HEADER_UNIT])
        for d, _ in messages
        if d.partner == ONESTOP and HEADER_UNIT in d.properties.headers
    }
    synced = {
        body["MaHoSo"]: body["DonViXuLy"] for d, body in messages if (d.partner, d.routing_key) == _SYNC
    }
    return units | synced


def _results_by_post(messages: list[tuple[Delivery, Any]]) -> frozenset[str]:
    return frozenset(
        str(d.properties.correlation_id)
        for d, body in messages
        if (d.partner, d.routing_key) == (POSTAL, "order.create") and body["Service"] == Service.BCCI_TRA_KQ
    )


def _filed_online(unit: UnitFigures, _body: Any, _known: _Known) -> None:
    unit.filed_online += 1


def _withdrawn(unit: UnitFigures, _body: Any, _known: _Known) -> None:
    unit.withdrawn += 1


def _paid(unit: UnitFigures, _body: Any, _known: _Known) -> None:
    unit.paid_online += 1


def _synced(unit: UnitFigures, body: Any, _known: _Known) -> None:
    if body["KenhThucHien"] == IN_PERSON:
        unit.in_person += 1
    else:
        unit.brought_by_post += 1


def _progress(unit: UnitFigures, body: Any, known: _Known) -> None:
    unit.progress_records += 1
    status = body["TrangThai"]
    role = TITLE_ROLES.get(body["ChucDanh"]) if status == ACCEPTED else None
    unit.civil_servant += role == "CIVIL_SERVANT"
    unit.postal_staff += role == "POSTAL_STAFF"
    unit.supplement_requested += status == SUPPLEMENT_REQUESTED
    unit.withdrawn += status == WITHDRAWN
    unit.returned_at_counter += status == RESULT_RETURNED and body["MaHoSo"] not in known.by_post


def _order(unit: UnitFigures, body: Any, _known: _Known) -> None:
    if body["Service"] == Service.BCCI_THU_GOM:
        unit.collection_requested += 1
        return
    unit.result_orders += 1
    unit.resent += parse_order_number(body["OrderNumber"]).attempt > 1


def _cancel(unit: UnitFigures, _body: Any, _known: _Known) -> None:
    unit.collection_cancelled += 1


def _pickup(unit: UnitFigures, body: Any, _known: _Known) -> None:
    unit.collected += body["TrangThai"] == PickupState.COLLECTED
    unit.collection_failed += body["TrangThai"] == PickupState.COLLECTION_FAILED


def _delivery(unit: UnitFigures, body: Any, _known: _Known) -> None:
    state = body["TrangThai"]
    unit.delivered += state == DeliveryState.DELIVERED
    unit.delivery_failed += state == DeliveryState.DELIVERY_FAILED
    unit.returned_to_agency += state == DeliveryState.RETURNED_TO_AGENCY
    unit.cod_collected += body["CODDaThu"] if state == DeliveryState.DELIVERED else 0


_SYNC = (PORTAL, "DongBoHoSoMC")
_FILINGS = {(ONESTOP, "dossier.submitted"), _SYNC}  # filings name the unit they were filed with
_COUNTERS: dict[tuple[str, str], Callable[[UnitFigures, Any, _Known], None]] = {
    (ONESTOP, "dossier.submitted"): _filed_online,
    (ONESTOP, "dossier.withdrawn"): _withdrawn,
    (ONESTOP, "payment.completed"): _paid,
    (ONESTOP, "pickup.status"): _pickup,
    (ONESTOP, "result.delivery"): _delivery,
    _SYNC: _synced,
    (PORTAL, "CapNhatTienDoHoSoMC"): _progress,
    (POSTAL, "order.create"): _order,
    (POSTAL, "order.cancel"): _cancel,
}


def _dead_letter_unit(letter: Delivery, agencies: AgencyRegistry, units: Mapping[str, str]) -> str | None:
    """The unit a dead letter was for: the owner of the agency it names, else of its dossier."""
    body = _json_object(letter.body)
    agency = body.get("MaCoQuan")
    if isinstance(agency, str) and agency in agencies:
        return agencies.owning_unit(agency, "MaCoQuan")
    dossier = body.get("MaHoSo") or str(body.get("OrderNumber", "")).partition("/")[0]
    return units.get(str(dossier))


def _json_object(body: bytes) -> dict[str, Any]:
    if len(body) > UNREAD_BODY_BYTES:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
