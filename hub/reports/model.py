"""The figures a province report shows: plain data, no personal data, shared by the queries that
compute them (hub.reports.figures) and the renderers that print them (hub.reports.render)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class UnitFigures:
    """One owning unit's period (after successor roll-up: a 2019 unit counts under today's)."""

    unit: str  # agency code of today's unit
    unit_name: str
    filed_online: int
    filed_in_person: int  # at the counter, by the applicant
    filed_by_post: int  # paper dossier brought by the post
    filed_postal_staff: int  # received at the counter by postal staff
    results_by_post: int
    results_at_counter: int
    results_ready: int  # results ready in the period
    on_time: int  # of those, ready by the due date (NgayHenTra as last moved)
    overdue: int  # ready after the due date, plus open dossiers already past it
    collections_requested: int
    collections_succeeded: int
    deliveries: int  # results the post was asked to deliver
    delivered_first_attempt: int
    resends: int  # results sent again after a failed delivery
    cod_collected_vnd: int
    paid_online_vnd: int

    @property
    def filed(self) -> int:
        return self.filed_online + self.filed_in_person + self.filed_by_post + self.filed_postal_staff


@dataclass(frozen=True, slots=True)
class ProcedureFigures:
    procedure: str  # procedure code (MaTTHC)
    dossiers: int  # with a result ready in the period
    median_days: float | None  # calendar days from acceptance to result ready


@dataclass(frozen=True, slots=True)
class DueDossier:
    """A dossier with no result yet, due soon or already late (the overdue-risk radar)."""

    unit: str
    dossier: str  # the dossier code (MaHoSo), not personal
    procedure: str
    due: date
    working_days_left: int  # negative when late


@dataclass(frozen=True, slots=True)
class ProvinceReport:
    period_start: date
    period_end: date  # inclusive
    scope: str  # "province" or the unit code asked for
    units: tuple[UnitFigures, ...]
    procedures: tuple[ProcedureFigures, ...]
    due_soon: tuple[DueDossier, ...]
    late: tuple[DueDossier, ...]
    within_working_days: int  # the radar's horizon
