"""The province's agency registry: which unit owns the work named by an agency code."""

from __future__ import annotations

from collections.abc import Iterable

from hub.errors import ConfigError, Reason, Rejection
from hub.settings import AgencySettings


class AgencyRegistry:
    """Agency codes -> units, following successors so that legacy codes reach today's owner."""

    def __init__(self, agencies: Iterable[AgencySettings]) -> None:
        self._by_code: dict[str, AgencySettings] = {}
        for agency in agencies:
            if agency.code in self._by_code:
                raise ConfigError(f"agency {agency.code} is listed twice")
            self._by_code[agency.code] = agency
        for agency in self._by_code.values():
            self._owner_of(agency.code)  # fail at start-up on a dangling or circular successor

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> AgencySettings | None:
        return self._by_code.get(code)

    def _owner_of(self, code: str) -> AgencySettings:
        seen = [code]
        agency = self._by_code[code]
        while agency.successor is not None:
            if agency.successor not in self._by_code:
                raise ConfigError(f"agency {agency.code}: successor {agency.successor} is not listed")
            if agency.successor in seen:
                raise ConfigError(f"agency successors form a cycle: {' -> '.join(seen)}")
            seen.append(agency.successor)
            agency = self._by_code[agency.successor]
        return agency

    def owning_unit(self, code: str, field: str) -> str:
        """The code of the unit that now owns work addressed to ``code``.

        Raises ``Rejection(unknown_agency)`` naming ``field`` (never the code) when it is not listed.
        """
        if code not in self._by_code:
            raise Rejection(Reason.UNKNOWN_AGENCY, f"{field}: not in the agency registry")
        return self._owner_of(code).code
