"""The overdue-risk radar as gauges: ``hub_dossiers_due_soon{unit}`` and ``hub_dossiers_overdue{unit}``,
counted from the dossier store on a thread of its own every ``radar_refresh_seconds`` (a query per
refresh, never on the worker's path). Every unit that owns work today has both series, zero included,
so an alert sees a unit's dossiers come and go; the label set is the registry's, hence bounded."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import Engine

from hub import VIETNAM
from hub.agencies import AgencyRegistry
from hub.health import Probe
from hub.metrics import DUE_SOON, OVERDUE
from hub.reports.figures import province_report
from hub.workdays import CalendarError, WorkingCalendar

log = logging.getLogger(__name__)


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()


class RadarGauges:
    def __init__(
        self,
        engine: Engine,
        registry: AgencyRegistry,
        calendar: WorkingCalendar,
        within: int,
        today: Callable[[], date] = today_in_vietnam,
    ) -> None:
        self._engine, self._registry, self._calendar, self._within = engine, registry, calendar, within
        self._today = today

    def refresh(self) -> None:
        """Count now. A failure is logged (a day the calendar does not cover by its text, anything else
        by its type) and raised again for the probe, which tries again at its next round."""
        today = self._today()
        try:
            figures = province_report(
                self._engine, self._registry, self._calendar,
                start=today, end=today, within=self._within, today=today,
            )  # fmt: skip
        except CalendarError as error:
            log.warning("radar gauges not refreshed: %s", error)
            raise
        except Exception as error:  # a driver's text may quote values: its type only
            log.warning("radar gauges not refreshed: %s", type(error).__name__)
            raise
        due, late = Counter(d.unit for d in figures.due_soon), Counter(d.unit for d in figures.late)
        for unit in self.units():
            DUE_SOON.labels(unit).set(due[unit])
            OVERDUE.labels(unit).set(late[unit])

    def units(self) -> list[str]:
        """The units that own work today: the ends of the registry's chains of successors."""
        return sorted({self._registry.owning_unit(a.code, "unit") for a in self._registry.units()})

    def start(self, every: float) -> Probe:
        return Probe(self.refresh, every=every, stale=2 * every, name="hub-radar-gauges").start()
