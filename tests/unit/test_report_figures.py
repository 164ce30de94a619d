"""The report's figures (hub.reports.figures) on the demo's day, held against what the hub delivered
to the fake partners and what the fakes planned: every expected figure is derived here from the
messages, none is written down."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine

from connectors.onestop.mapping import ONESTOP
from connectors.portal.mapping import COUNTER_TITLES, PORTAL
from connectors.postal.mapping import POSTAL
from connectors.scenario import LEGACY_UNITS, Day
from hub.agencies import AgencyRegistry
from hub.cli import main
from hub.cli_demo import DEMO_SAMPLE_CONFIG
from hub.demo import DemoReport, run_demo
from hub.envelope import HEADER_UNIT, Delivery
from hub.reports.figures import province_report
from hub.reports.model import ProvinceReport
from hub.settings import MIB, Settings, load_settings
from hub.workdays import WorkingCalendar

COUNT = 150
DAY = date(2026, 11, 30)  # the fakes' clock (connectors.synthetic)
PERIOD_END = date(2026, 12, 31)
TODAY = date(2026, 12, 3)  # the radar's day: some dossiers late, some due soon
ENDED = {3, 7, 8}
PERSONAL_LOOKING = re.compile(r"\b09\d{8}\b|@example\.vn")  # the fakes' phones and emails


@dataclass(frozen=True)
class Played:
    day: Day
    demo: DemoReport
    engine: Engine
    registry: AgencyRegistry
    url: str


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    settings = Settings(agencies=load_settings(DEMO_SAMPLE_CONFIG).agencies)
    database = tmp_path_factory.mktemp("report") / "demo.sqlite3"
    day = Day(COUNT, MIB)
    demo = run_demo(settings, day, database)
    engine = create_engine(f"sqlite:///{database}")
    yield Played(day, demo, engine, AgencyRegistry(settings.agencies), f"sqlite:///{database}")
    engine.dispose()


@pytest.fixture(scope="module")
def report(played: Played) -> ProvinceReport:
    return province_report(
        played.engine, played.registry, WorkingCalendar.from_file(),
        start=DAY, end=PERIOD_END, within=2, today=TODAY,
    )  # fmt: skip


def bodies(played: Played, partner: str, kind: str) -> Iterator[tuple[Delivery, dict[str, Any]]]:
    for delivery in played.demo.delivered.get(partner, ()):
        if delivery.routing_key == kind:
            yield delivery, json.loads(delivery.body)


def vn_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S")


class Portal:
    """What the portal heard of each dossier: its unit, channel, due dates and steps."""

    def __init__(self, played: Played) -> None:
        self.unit: dict[str, str] = {}
        self.counter_channel: dict[str, int] = {}
        self.postal_staff: set[str] = set()
        self.due: dict[str, tuple[datetime, datetime]] = {}  # code -> (set at, due), the latest
        self.ready: dict[str, datetime] = {}
        self.ended: set[str] = set()
        self.by_post: set[str] = set()
        for delivery, body in bodies(played, ONESTOP, "dossier.submitted"):
            self.unit[body["MaHoSo"]] = delivery.properties.headers[HEADER_UNIT]
            if body["HinhThucNhanKetQua"] == 1:
                self.by_post.add(body["MaHoSo"])
        for _, body in bodies(played, PORTAL, "DongBoHoSoMC"):
            self.unit[body["MaHoSo"]] = body["DonViXuLy"]
            self.counter_channel[body["MaHoSo"]] = body["KenhThucHien"]
            if body["HinhThuc"] == 1:
                self.by_post.add(body["MaHoSo"])
        for _, body in bodies(played, PORTAL, "CapNhatTienDoHoSoMC"):
            self._progress(body)

    def _progress(self, body: dict[str, Any]) -> None:
        code, at, status = body["MaHoSo"], vn_time(body["ThoiDiemXuLy"]), body["TrangThai"]
        if status == 2 and body["ChucDanh"] == COUNTER_TITLES["POSTAL_STAFF"]:
            self.postal_staff.add(code)
        if "NgayKetThucTheoQuyDinh" in body and (code not in self.due or self.due[code][0] <= at):
            self.due[code] = (at, vn_time(body["NgayKetThucTheoQuyDinh"]))
        if status == 9:
            self.ready[code] = min(at, self.ready.get(code, at))
        if status in ENDED:
            self.ended.add(code)

    def open(self, withdrawn: set[str]) -> Iterable[str]:
        return (c for c in self.due if c not in self.ready and c not in self.ended | withdrawn)


def by_unit(report: ProvinceReport, name: str) -> dict[str, int]:
    return {u.unit: getattr(u, name) for u in report.units if getattr(u, name)}


def counted(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for unit, n in pairs:
        totals[unit] += n
    return {unit: n for unit, n in totals.items() if n}


def test_units_are_todays_after_the_successor_roll_up(played: Played, report: ProvinceReport) -> None:
    portal = Portal(played)
    assert {u.unit for u in report.units} == set(portal.unit.values())
    assert not {u.unit for u in report.units} & set(LEGACY_UNITS)
    assert sum(c.startswith(LEGACY_UNITS) for c in portal.unit) > 0  # legacy codes were filed
    assert all(u.unit_name != u.unit for u in report.units)


def test_filings_per_unit_by_channel(played: Played, report: ProvinceReport) -> None:
    portal = Portal(played)
    counter = portal.counter_channel
    online = [c for c in portal.unit if c not in counter]
    assert by_unit(report, "filed_online") == counted((portal.unit[c], 1) for c in online)
    assert by_unit(report, "filed_by_post") == counted(
        (portal.unit[c], 1) for c in counter if counter[c] == 3
    )
    staff = [c for c in counter if counter[c] == 1 and c in portal.postal_staff]
    person = [c for c in counter if counter[c] == 1 and c not in portal.postal_staff]
    assert by_unit(report, "filed_postal_staff") == counted((portal.unit[c], 1) for c in staff)
    assert by_unit(report, "filed_in_person") == counted((portal.unit[c], 1) for c in person)
    total = sum(u.filed for u in report.units)
    assert total == COUNT
    figures = played.day.figures
    assert sum(u.filed_online for u in report.units) == figures.filed_online
    assert sum(u.filed_by_post for u in report.units) == figures.brought_by_post


def test_on_time_and_overdue(played: Played, report: ProvinceReport) -> None:
    portal = Portal(played)
    on_time = [c for c, ready in portal.ready.items() if ready <= portal.due[c][1]]
    late_ready = [c for c, ready in portal.ready.items() if ready > portal.due[c][1]]
    withdrawn = {b["MaHoSo"] for _, b in bodies(played, ONESTOP, "dossier.withdrawn")}
    late_open = [c for c in portal.open(withdrawn) if portal.due[c][1].date() < TODAY]
    assert by_unit(report, "results_ready") == counted((portal.unit[c], 1) for c in portal.ready)
    assert by_unit(report, "on_time") == counted((portal.unit[c], 1) for c in on_time)
    by_post = [c for c in portal.ready if c in portal.by_post]
    assert by_unit(report, "results_by_post") == counted((portal.unit[c], 1) for c in by_post)
    at_counter = [c for c in portal.ready if c not in portal.by_post]
    assert by_unit(report, "results_at_counter") == counted((portal.unit[c], 1) for c in at_counter)
    assert by_unit(report, "overdue") == counted((portal.unit[c], 1) for c in [*late_ready, *late_open])
    assert late_open, "the radar's day should find late dossiers"
    assert sorted(d.dossier for d in report.late) == sorted(late_open)


def test_the_radar_counts_weekdays(played: Played, report: ProvinceReport) -> None:
    """December 2026 has no holiday: the working days are the weekdays."""
    portal = Portal(played)
    withdrawn = {b["MaHoSo"] for _, b in bodies(played, ONESTOP, "dossier.withdrawn")}

    def weekdays_until(day: date) -> int:
        return sum((TODAY + timedelta(days=i)).weekday() < 5 for i in range(1, (day - TODAY).days + 1))

    due_soon = {
        c: weekdays_until(due.date())
        for c in portal.open(withdrawn)
        if (due := portal.due[c][1]).date() >= TODAY and weekdays_until(due.date()) <= 2
    }
    assert {d.dossier: d.working_days_left for d in report.due_soon} == due_soon
    assert due_soon
    assert max(due_soon.values()) == 2
    assert all(d.working_days_left < 0 for d in report.late)


def test_deliveries_resends_and_cod(played: Played, report: ProvinceReport) -> None:
    portal = Portal(played)
    orders = {b["OrderNumber"]: b for _, b in bodies(played, POSTAL, "order.create")}
    results = [o for o in orders.values() if o["Service"] == "BCCI_TRA_KQ"]
    delivered = {
        b["MaHoSo"]: b["SoLanPhat"]
        for _, b in bodies(played, ONESTOP, "result.delivery")
        if b["TrangThai"] == "DELIVERED"
    }
    first_orders = {o["OrderNumber"].split("/")[0]: o for o in results if o["OrderNumber"].endswith("/KQ")}
    cod: dict[str, int] = defaultdict(int)
    for code, attempt in delivered.items():
        number = f"{code}/KQ" + (f"/{attempt}" if attempt > 1 else "")
        cod[portal.unit[code]] += orders[number]["CODAmount"]
    assert by_unit(report, "deliveries") == counted((portal.unit[c], 1) for c in first_orders)
    assert by_unit(report, "delivered_first_attempt") == counted(
        (portal.unit[c], 1) for c, attempt in delivered.items() if attempt == 1
    )
    assert by_unit(report, "resends") == counted(
        (portal.unit[o["OrderNumber"].split("/")[0]], 1)
        for o in results
        if not o["OrderNumber"].endswith("/KQ")
    )
    assert sum(u.resends for u in report.units) == played.day.figures.resent
    assert by_unit(report, "cod_collected_vnd") == {u: n for u, n in cod.items() if n}
    assert sum(cod.values()) > 0


def test_collections_and_online_payments(played: Played, report: ProvinceReport) -> None:
    portal = Portal(played)
    collected = {
        b["MaHoSo"]
        for _, b in bodies(played, ONESTOP, "pickup.status")
        if b["TrangThai"] in ("COLLECTED", "DELIVERED_TO_AGENCY")
    }
    paid = counted(
        (d.properties.headers[HEADER_UNIT], b["SoTien"])
        for d, b in bodies(played, ONESTOP, "payment.completed")
    )
    assert sum(u.collections_requested for u in report.units) == played.day.figures.collections_requested
    assert by_unit(report, "collections_succeeded") == counted((portal.unit[c], 1) for c in collected)
    assert by_unit(report, "paid_online_vnd") == paid


def test_procedures_median_days(played: Played, report: ProvinceReport) -> None:
    assert sum(p.dossiers for p in report.procedures) == sum(u.results_ready for u in report.units)
    assert all(p.median_days is not None and 0 <= p.median_days < 1 for p in report.procedures)


def test_one_unit_and_a_legacy_code_for_it(played: Played) -> None:
    legacy, today = "000.00.31.H30", played.registry.owning_unit("000.00.31.H30", "unit")
    calendar = WorkingCalendar.from_file()
    scoped = province_report(
        played.engine, played.registry, calendar, start=DAY, end=PERIOD_END, unit=legacy, today=TODAY
    )
    assert scoped.scope == today
    assert [u.unit for u in scoped.units] == [today]
    assert {d.unit for d in itertools.chain(scoped.due_soon, scoped.late)} == {today}


def test_a_unit_merged_after_its_dossiers_were_filed_counts_under_its_successor(
    played: Played, report: ProvinceReport
) -> None:
    """Dossiers keep the unit recorded when they were filed; a merger decided later rolls them up."""
    merged, into = "H13.41", "H13.60"
    agencies = [
        a.model_copy(update={"successor": into, "valid_to": date(2026, 12, 31)}) if a.code == merged else a
        for a in load_settings(DEMO_SAMPLE_CONFIG).agencies
    ]
    later = province_report(
        played.engine, AgencyRegistry(agencies), WorkingCalendar.from_file(),
        start=DAY, end=PERIOD_END, today=TODAY,
    )  # fmt: skip
    before = {u.unit: u for u in report.units}
    after = {u.unit: u for u in later.units}
    assert merged not in after
    assert after[into].filed == before[into].filed + before[merged].filed
    assert after[into].results_ready == before[into].results_ready + before[merged].results_ready
    assert {d.unit for d in later.late} <= set(after)


def radar_command(played: Played, *args: str, env: dict[str, str] | None = None) -> Result:
    environment = {"HUB_DATABASE_URL": played.url, "COLUMNS": "120", **(env or {})}
    config = str(DEMO_SAMPLE_CONFIG)
    return CliRunner().invoke(main, ["--config", config, "report", "overdue", *args], env=environment)


def test_the_radar_command_lists_a_units_dossiers(played: Played) -> None:
    today = played.registry.owning_unit("000.00.31.H30", "unit")
    result = radar_command(played, "--today", str(TODAY), "--unit", "000.00.31.H30", "--within", "1")
    assert result.exit_code == 0, result.output
    scoped = province_report(
        played.engine, played.registry, WorkingCalendar.from_file(),
        start=TODAY, end=TODAY, unit=today, within=1, today=TODAY,
    )  # fmt: skip
    assert f"Radar on {TODAY} ({today}): no result, due within 1 working days or late" in result.output
    assert re.search(rf"{re.escape(today)} +│ +{len(scoped.due_soon)} │ +{len(scoped.late)} │", result.output)
    listed = re.findall(r"│ (\S+-\d{6,8}-\d+) +│", result.output)
    assert sorted(listed) == sorted(d.dossier for d in (*scoped.due_soon, *scoped.late))
    assert PERSONAL_LOOKING.search(result.output) is None


def test_the_radar_command_refuses_an_unknown_unit_and_a_bad_calendar(played: Played, tmp_path: Path) -> None:
    result = radar_command(played, "--unit", "000.00.99.H30")
    assert result.exit_code == 2
    assert "--unit: not in the agency registry" in result.output
    calendar = tmp_path / "calendar.toml"
    calendar.write_text("[coverage]\nfirst_day = 2026-01-01\nlast_day = 2026-12-31\n[[holidays]]\ndate = 1\n")
    result = radar_command(played, env={"HUB_WORKING_CALENDAR_FILE": str(calendar)})
    assert result.exit_code == 3
    assert f"Error: {calendar}: holidays[0]: date: must be a date" in result.output
