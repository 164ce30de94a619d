"""The report queries: a province's (or a unit's) figures for a period, from the dossier store's facts
(``dossier_facts``, set by the connectors' translations) and the agency registry.

Who counts where: a dossier counts under the unit that owns its work today (its recorded unit's
successors followed), so a 2019 unit's dossiers count under the unit that took it over.

When things count (dates in Vietnam's time, the period's end inclusive):
- filings by the day a unit accepted them (the day they were filed while not accepted yet: a
  dossier filed online and withdrawn before, say), with the collections asked for and the online
  payments of those dossiers;
- results by the day they were ready: on time when ready by the due date as last moved; the
  deliveries, attempts and COD of those results;
- overdue: results of the period ready after their due date, plus dossiers still open (no result, not
  ended) whose due date was before the period's end (or today, if earlier);
- the radar: open dossiers due within ``within`` working days of ``today``, and those already late.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine, Row, and_, between, func, or_, select

from hub import VIETNAM
from hub.agencies import AgencyRegistry
from hub.reports.model import DueDossier, ProcedureFigures, ProvinceReport, UnitFigures
from hub.store.dossiers import dossier_facts, dossiers
from hub.workdays import WorkingCalendar

DAY_MS = 86_400_000
COLLECTED = frozenset({"COLLECTED", "DELIVERED_TO_AGENCY"})  # the post has the paper originals


@dataclass(frozen=True)
class _Dossier:
    """One dossier's facts, read for a report (its unit already rolled up)."""

    code: str
    unit: str
    procedure: str
    channel: str | None
    counter_role: str | None
    result_route: str | None
    filed_at: int | None
    accepted_at: int | None
    due_at: int | None
    result_ready_at: int | None
    closed_at: int | None
    collection: str | None
    delivery_attempts: int
    delivered_attempt: int | None
    cod_collected_vnd: int
    paid_online_vnd: int

    @property
    def open(self) -> bool:
        return self.result_ready_at is None and self.closed_at is None


def province_report(
    engine: Engine,
    registry: AgencyRegistry,
    calendar: WorkingCalendar,
    *,
    start: date,
    end: date,
    unit: str | None = None,
    within: int = 2,
    today: date | None = None,
) -> ProvinceReport:
    """The figures of ``start``..``end`` (inclusive) for the province, or for ``unit`` (a legacy code
    stands for the unit that owns its work today). ``today`` (default: today in Vietnam) is the
    radar's day; raises ``CalendarError`` when the calendar does not cover the days it counts."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    today = today or datetime.now(VIETNAM).date()
    scope = None if unit is None else registry.owning_unit(unit, "--unit")
    rows = [d for d in _read(engine, registry, start, end) if scope is None or d.unit == scope]
    period = _Period(start, end, min(end, today))
    by_unit: dict[str, list[_Dossier]] = defaultdict(list)
    for dossier in rows:
        by_unit[dossier.unit].append(dossier)
    due_soon, late = _radar(rows, calendar, today, within)
    return ProvinceReport(
        period_start=start,
        period_end=end,
        scope=scope or "province",
        units=tuple(
            _unit_figures(code, _name(registry, code), by_unit[code], period) for code in sorted(by_unit)
        ),
        procedures=_procedures(rows, period),
        due_soon=due_soon,
        late=late,
        within_working_days=within,
    )


def _radar(
    rows: Iterable[_Dossier], calendar: WorkingCalendar, today: date, within: int
) -> tuple[tuple[DueDossier, ...], tuple[DueDossier, ...]]:
    """Open dossiers due within ``within`` working days of ``today`` (today included), and those due
    before today; each by due date, then code. A dossier due before the calendar's first day is
    counted late from that day (its working days late are then a lower bound), and one due after its
    last day far enough ahead is not due soon, so neither blinds the radar."""
    due_soon: list[DueDossier] = []
    late: list[DueDossier] = []
    for dossier in rows:
        if not dossier.open or dossier.due_at is None:
            continue
        due = _day(dossier.due_at)
        if _beyond_the_horizon(calendar, today, due, within):
            continue
        left = calendar.working_days_between(today, max(due, calendar.first_day))
        entry = DueDossier(dossier.unit, dossier.code, dossier.procedure, due, left)
        if due < today:
            late.append(entry)
        elif left <= within:
            due_soon.append(entry)
    return tuple(sorted(due_soon, key=_by_due)), tuple(sorted(late, key=_by_due))


def _beyond_the_horizon(calendar: WorkingCalendar, today: date, due: date, within: int) -> bool:
    """Due after the calendar's last day, and more than ``within`` working days away whatever the
    holidays after it: not due soon. Nearer to the last day, the calendar's error is raised."""
    return due > calendar.last_day and calendar.working_days_between(today, calendar.last_day) > within


def _by_due(dossier: DueDossier) -> tuple[date, str]:
    return dossier.due, dossier.dossier


@dataclass(frozen=True)
class _Period:
    start: date
    end: date
    as_of: date  # open dossiers are late when due before this day

    def holds(self, millis: int | None) -> bool:
        return millis is not None and self.start <= _day(millis) <= self.end


def _unit_figures(unit: str, name: str, rows: list[_Dossier], period: _Period) -> UnitFigures:
    filed = [d for d in rows if period.holds(d.accepted_at or d.filed_at)]
    ready = [d for d in rows if period.holds(d.result_ready_at)]
    on_time = [
        d
        for d in ready
        if d.due_at is not None and d.result_ready_at is not None and d.result_ready_at <= d.due_at
    ]
    late_ready = [d for d in ready if d.due_at is not None and d not in on_time]
    late_open = [d for d in rows if d.open and d.due_at is not None and _day(d.due_at) < period.as_of]
    by_post = [d for d in ready if d.delivery_attempts > 0]
    collections = [d for d in filed if d.collection is not None]
    return UnitFigures(
        unit=unit,
        unit_name=name,
        filed_online=sum(_channel(d) == "online" for d in filed),
        filed_in_person=sum(_channel(d) == "in_person" for d in filed),
        filed_by_post=sum(_channel(d) == "by_post" for d in filed),
        filed_postal_staff=sum(_channel(d) == "postal_staff" for d in filed),
        results_by_post=sum(d.result_route == "BY_POST" for d in ready),
        results_at_counter=sum(d.result_route != "BY_POST" for d in ready),
        results_ready=len(ready),
        on_time=len(on_time),
        overdue=len(late_ready) + len(late_open),
        collections_requested=len(collections),
        collections_succeeded=sum(d.collection in COLLECTED for d in collections),
        deliveries=len(by_post),
        delivered_first_attempt=sum(d.delivered_attempt == 1 for d in by_post),
        resends=sum(d.delivery_attempts - 1 for d in by_post),
        cod_collected_vnd=sum(d.cod_collected_vnd for d in by_post),
        paid_online_vnd=sum(d.paid_online_vnd for d in filed),
    )


def _channel(dossier: _Dossier) -> str:
    """How a dossier reached the unit: online, brought by the post, or at the counter (by the
    applicant, or received there by postal staff)."""
    if dossier.channel == "ONLINE":
        return "online"
    if dossier.channel == "POSTAL":
        return "by_post"
    return "postal_staff" if dossier.counter_role == "POSTAL_STAFF" else "in_person"


def _procedures(rows: list[_Dossier], period: _Period) -> tuple[ProcedureFigures, ...]:
    days: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for dossier in rows:
        if not period.holds(dossier.result_ready_at):
            continue
        counts[dossier.procedure] += 1
        if dossier.accepted_at is not None and dossier.result_ready_at is not None:
            days[dossier.procedure].append((dossier.result_ready_at - dossier.accepted_at) / DAY_MS)
    return tuple(
        ProcedureFigures(code, counts[code], statistics.median(days[code]) if days[code] else None)
        for code in sorted(counts)
    )


def _read(engine: Engine, registry: AgencyRegistry, start: date, end: date) -> Iterator[_Dossier]:
    """The dossiers a report of ``start``..``end`` may count: received or ready in the period, or open."""
    low, high = _millis(start), _millis(end + timedelta(days=1)) - 1
    f = dossier_facts.c
    query = (
        select(dossiers.c.unit, dossier_facts)
        .join(dossier_facts, dossier_facts.c.code == dossiers.c.code)
        .where(
            or_(
                between(func.coalesce(f.accepted_at, f.filed_at), low, high),
                between(f.result_ready_at, low, high),
                and_(f.result_ready_at.is_(None), f.closed_at.is_(None)),
            )
        )
    )
    with engine.connect() as connection:
        for row in connection.execute(query):
            yield _dossier(row, registry.owning_unit(row.unit, "unit") if row.unit in registry else row.unit)


def _dossier(row: Row[tuple[object, ...]], unit: str) -> _Dossier:
    return _Dossier(
        code=row.code, unit=unit, procedure=row.procedure or "?", channel=row.channel,
        counter_role=row.counter_role, result_route=row.result_route, filed_at=row.filed_at,
        accepted_at=row.accepted_at, due_at=row.due_at, result_ready_at=row.result_ready_at,
        closed_at=row.closed_at, collection=row.collection, delivery_attempts=row.delivery_attempts or 0,
        delivered_attempt=row.delivered_attempt, cod_collected_vnd=row.cod_collected_vnd or 0,
        paid_online_vnd=row.paid_online_vnd,
    )  # fmt: skip


def _name(registry: AgencyRegistry, code: str) -> str:
    agency = registry.get(code)
    return code if agency is None else agency.name


def _day(millis: int) -> date:
    return datetime.fromtimestamp(millis / 1000, VIETNAM).date()


def _millis(day: date) -> int:
    return int(datetime.combine(day, time(), VIETNAM).timestamp() * 1000)
