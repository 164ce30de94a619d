"""The province's agency registry: which unit owns the work named by an agency code.

Each unit has a level, may have a parent and validity dates, and a unit that was merged or renamed
names its ``successor`` (contract.md, "Agency registry"). Routing follows successors whatever the
dates, so legacy codes stay valid inputs: a message that names a district unit abolished on
1 July 2025 reaches the unit that owns the work now. Dates answer another question: which units
were in service on a given day.

A code has either shape of ``hub.agency_codes`` (QCVN 102:2016 or Decision 20/2020), and a successor
may have the other shape than the unit it took over: routing does not look inside codes.

The registry is checked as a whole at start-up. Every problem is a ``ConfigError`` naming the code
at fault, so a wrong configuration never reaches the first message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Literal

from hub.agency_codes import SHAPES, is_agency_code
from hub.errors import ConfigError, Reason, Rejection
from hub.settings import AgencySettings

Level = Literal["province", "district", "commune"]

_RANK: dict[str, int] = {"province": 0, "district": 1, "commune": 2}


class AgencyRegistry:
    """Agency codes -> units, following successors so that legacy codes reach today's owner.

    A registry where no unit has a date is *undated*: it does not model validity (a development
    registry, say), so a unit with a successor does not need ``valid_to`` there. Once any unit has
    a date, every unit with a successor must say when it ended.
    """

    def __init__(self, agencies: Iterable[AgencySettings]) -> None:
        self._by_code: dict[str, AgencySettings] = {}
        for agency in agencies:
            if agency.code in self._by_code:
                raise ConfigError(f"agency {agency.code} is listed twice")
            self._by_code[agency.code] = agency
        dated = any(a.valid_from is not None or a.valid_to is not None for a in self._by_code.values())
        for agency in self._by_code.values():
            self._check(agency, dated=dated)
        self._owner = {code: self._follow(code) for code in self._by_code}

    def _check(self, agency: AgencySettings, *, dated: bool) -> None:
        code = agency.code
        if not is_agency_code(code):
            raise ConfigError(f"agency {code!r}: a code has the shape {SHAPES}")
        if agency.parent is not None:
            parent = self._by_code.get(agency.parent)
            if parent is None:
                raise ConfigError(f"agency {code}: parent {agency.parent} is not listed")
            if _RANK[parent.level] >= _RANK[agency.level]:
                raise ConfigError(
                    f"agency {code}: parent {parent.code} is a {parent.level}-level unit, "
                    f"not above this {agency.level}-level one"
                )
        if agency.successor is not None and agency.successor not in self._by_code:
            raise ConfigError(f"agency {code}: successor {agency.successor} is not listed")
        start, end = agency.valid_from, agency.valid_to
        if start is not None and end is not None and start > end:
            raise ConfigError(f"agency {code}: valid_from {start} is after valid_to {end}")
        if dated and agency.successor is not None and agency.valid_to is None:
            raise ConfigError(f"agency {code}: has a successor, so it needs valid_to (its last day)")

    def _follow(self, code: str) -> str:
        """The end of ``code``'s chain of successors; a cycle is a ``ConfigError``."""
        seen = [code]
        agency = self._by_code[code]
        while agency.successor is not None:
            if agency.successor in seen:
                chain = " -> ".join([*seen, agency.successor])
                raise ConfigError(f"agency {code}: successors form a cycle: {chain}")
            seen.append(agency.successor)
            agency = self._by_code[agency.successor]
        return agency.code

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> AgencySettings | None:
        return self._by_code.get(code)

    def is_current(self, code: str, on: date) -> bool:
        """Whether ``code`` is listed and in service on ``on`` (both validity dates inclusive)."""
        agency = self._by_code.get(code)
        return agency is not None and _in_service(agency, on)

    def units(self, level: Level | None = None, on: date | None = None) -> list[AgencySettings]:
        """The listed units in configuration order, only those of ``level`` and in service on ``on``
        when given."""
        return [
            agency
            for agency in self._by_code.values()
            if (level is None or agency.level == level) and (on is None or _in_service(agency, on))
        ]

    def require_postal_contacts(self) -> None:
        """Start-up check: every unit that owns work (the end of a chain of successors) has the
        address and phone the post needs; raises ``ConfigError`` naming those that do not."""
        missing = sorted(
            {owner for owner in self._owner.values() if not self._by_code[owner].has_postal_contact()}
        )
        if missing:
            raise ConfigError(
                f"agencies {', '.join(missing)}: address, phone, province and commune are needed "
                "for postal orders"
            )

    def owning_unit(self, code: str, field: str, on: date | None = None) -> str:
        """The code of the unit that owns work addressed to ``code``.

        Without ``on``: the unit at the end of the chain of successors, the owner today. With
        ``on``: the first unit in the chain that had not ended by that day, which is the owner on
        that day. Either way a code that is no longer valid is still routed, never refused.

        Raises ``Rejection(unknown_agency)`` naming ``field`` (never the code) when it is not listed.
        """
        agency = self._by_code.get(code)
        if agency is None:
            raise Rejection(Reason.UNKNOWN_AGENCY, f"{field}: not in the agency registry")
        if on is None:
            return self._owner[code]
        while agency.successor is not None and agency.valid_to is not None and agency.valid_to < on:
            agency = self._by_code[agency.successor]
        return agency.code


def _in_service(agency: AgencySettings, on: date) -> bool:
    return (agency.valid_from is None or agency.valid_from <= on) and (
        agency.valid_to is None or on <= agency.valid_to
    )
