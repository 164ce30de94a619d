"""The demo's scenario: what the fake partners publish during a day at the sample province, and how
to read back, unit by unit, what the hub delivered.

The units are those of connectors/samples/province.toml: codes of 2019, which ended on 30 June 2025
and which some filings still name, and the units of July 2025 that took over their work.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.onestop.fake import FakeOnestop
from connectors.onestop.mapping import ONESTOP
from connectors.portal.fake import FakePortal
from connectors.portal.mapping import ACCEPTED, COUNTER_TITLES, PORTAL
from hub.agencies import AgencyRegistry
from hub.envelope import HEADER_UNIT, Delivery, Outbound
from hub.errors import Reason

LEGACY_UNITS = ("000.00.30.H30", "000.00.31.H30", "000.31.01.H30", "000.32.02.H30", "000.34.01.H30")
CURRENT_UNITS = ("000.00.60.H30", "000.00.41.H30", "000.00.42.H30", "000.00.44.H30", "000.00.46.H30")
LEGACY_SHARE = 0.25  # filings that still name a unit of 2019
ONLINE_SHARE = 0.6  # of the day's dossiers, those filed online; the rest at the counters
UNREAD_BODY_BYTES = 64 * 1024  # dead letters larger than this are not opened to find their unit


@dataclass(frozen=True)
class Scenario:
    messages: tuple[Outbound, ...]
    filed_online: int
    filed_at_counter: int
    valid: Counter[tuple[str, str]]  # (partner, kind) of each message the hub should forward
    invalid: Counter[Reason]  # the reason the hub should give each bad message


def day(count: int, max_body_bytes: int, seed: int = 45) -> Scenario:
    """``count`` dossiers filed during a day: most online (a third with the result by post, some
    collected by the post), the rest at the counters, with their processing steps and ready results
    that day, and one bad message of each kind the portal and the one-stop-shop system can send."""
    chooser = random.Random(seed)
    portal, onestop = FakePortal(seed=seed), FakeOnestop(seed=seed + 1)
    online = round(count * ONLINE_SHARE)
    counter = [onestop.counter_dossier(_unit(chooser)) for _ in range(count - online)]
    valid = [
        *_online_filings(portal, chooser, online),
        *(onestop.message(kind, body) for dossier in counter for kind, body in dossier),
    ]
    valid.sort(key=lambda message: message.properties.timestamp or 0)
    bad = [
        *portal.bad_messages(_unit(chooser), max_body_bytes),
        *onestop.bad_messages(_unit(chooser), _first_dossier(counter)),
    ]
    messages = list(valid)
    for _, message in bad:
        messages.insert(chooser.randrange(len(messages) + 1), message)
    return Scenario(
        messages=tuple(messages),
        filed_online=online,
        filed_at_counter=len(counter),
        valid=Counter(_partner_kind(message) for message in valid),
        invalid=Counter(reason for reason, _ in bad),
    )


def _first_dossier(counter: list[list[tuple[str, dict[str, Any]]]]) -> str | None:
    """The code of the first counter dossier, which the fake's bad processing step is about."""
    return str(counter[0][0][1]["MaHoSo"]) if counter else None


def _unit(chooser: random.Random) -> str:
    return chooser.choice(LEGACY_UNITS if chooser.random() < LEGACY_SHARE else CURRENT_UNITS)


def _online_filings(portal: FakePortal, chooser: random.Random, count: int) -> list[Outbound]:
    messages: list[Outbound] = []
    for _ in range(count):
        by_post = chooser.random() < 0.35
        body = portal.dossier_submitted(
            _unit(chooser), by_post=by_post, collect=by_post and chooser.random() < 0.5
        )
        messages.append(portal.message("dossier.submitted", body))
    return messages


def _partner_kind(message: Outbound) -> tuple[str, str]:
    return message.exchange.removeprefix("ingress."), message.routing_key


# -- reading back what the hub delivered ---------------------------------------------------------

TITLE_ROLES = {title: role for role, title in COUNTER_TITLES.items()}


@dataclass
class UnitFigures:
    """What the hub delivered for one owning unit."""

    filed_online: int = 0  # dossier.submitted on egress.onestop
    civil_servant: int = 0  # counter filings synced to the portal, received by a civil servant
    postal_staff: int = 0  # ... received by the post's staff at the counter
    progress_records: int = 0  # CapNhatTienDoHoSoMC on egress.portal
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


def by_unit(delivered: Iterable[Delivery], dead: Iterable[Delivery], agencies: AgencyRegistry) -> DayByUnit:
    """Count, per owning unit, the egress messages the hub delivered (each with its partner) and its
    dead letters (attributed by the agency or the dossier they name)."""
    messages = list(delivered)
    dossiers = _dossier_units(messages)
    figures = DayByUnit()
    for delivery in messages:
        count = _COUNTERS.get((delivery.partner, delivery.routing_key))
        if count is not None:
            count(figures, delivery, json.loads(delivery.body), dossiers)
    for letter in dead:
        figures.unit(_dead_letter_unit(letter, agencies, dossiers)).dead_letters += 1
    return figures


def _dossier_units(delivered: Iterable[Delivery]) -> dict[str, str]:
    """Dossier code -> owning unit, from the counter filings synced to the portal."""
    return {
        body["MaHoSo"]: body["DonViXuLy"]
        for body in (json.loads(d.body) for d in delivered if (d.partner, d.routing_key) == _SYNC)
    }


def _filed_online(figures: DayByUnit, delivery: Delivery, body: Any, _dossiers: Mapping[str, str]) -> None:
    unit = str(delivery.properties.headers[HEADER_UNIT])
    figures.unit(unit).filed_online += 1
    figures.routed(body["MaCoQuan"], unit)


def _synced(figures: DayByUnit, _delivery: Delivery, body: Any, _dossiers: Mapping[str, str]) -> None:
    figures.routed(body["MaCoQuan"], body["DonViXuLy"])


def _progress(figures: DayByUnit, _delivery: Delivery, body: Any, dossiers: Mapping[str, str]) -> None:
    unit = figures.unit(dossiers.get(body["MaHoSo"]))
    unit.progress_records += 1
    role = TITLE_ROLES.get(body["ChucDanh"]) if body["TrangThai"] == ACCEPTED else None
    if role == "CIVIL_SERVANT":
        unit.civil_servant += 1
    elif role == "POSTAL_STAFF":
        unit.postal_staff += 1


_SYNC = (PORTAL, "DongBoHoSoMC")
_COUNTERS: dict[tuple[str, str], Callable[[DayByUnit, Delivery, Any, Mapping[str, str]], None]] = {
    (ONESTOP, "dossier.submitted"): _filed_online,
    _SYNC: _synced,
    (PORTAL, "CapNhatTienDoHoSoMC"): _progress,
}


def _dead_letter_unit(letter: Delivery, agencies: AgencyRegistry, dossiers: Mapping[str, str]) -> str | None:
    """The unit a dead letter was for: the owner of the agency it names, else of its dossier."""
    body = _json_object(letter.body)
    agency = body.get("MaCoQuan")
    if isinstance(agency, str) and agency in agencies:
        return agencies.owning_unit(agency, "MaCoQuan")
    return dossiers.get(str(body.get("MaHoSo")))


def _json_object(body: bytes) -> dict[str, Any]:
    if len(body) > UNREAD_BODY_BYTES:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
