"""The report facts as the store keeps them, and the radar's gauges counted from them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select

from hub import VIETNAM
from hub.agencies import AgencyRegistry
from hub.cli_demo import DEMO_SAMPLE_CONFIG
from hub.crypto import MasterKeyring
from hub.dossiers.records import DossierOpened, Facts, FactsNoted
from hub.reports.radar import RadarGauges
from hub.settings import load_settings
from hub.store import migrate
from hub.store.database import make_engine
from hub.store.dossiers import DossierStore, dossier_facts
from hub.store.keys import DataKeys
from hub.workdays import CalendarError, WorkingCalendar

TODAY = date(2026, 12, 3)  # a Thursday
EARLIER = date(2026, 11, 26)
NO_FACTS = Facts()
UNIT, OTHER = "H13.41", "H13.42"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def at(day: date, hour: int = 17) -> int:
    return int(datetime.combine(day, time(hour), VIETNAM).timestamp() * 1000)


def apply(engine: Engine, changes: list[DossierOpened | FactsNoted]) -> None:
    store = DossierStore(engine, DataKeys(MasterKeyring({"m1": bytes(32)}, "m1")))
    with engine.begin() as connection:
        store.apply(connection, changes)


def opened(code: str, unit: str, due: date, facts: Facts = NO_FACTS) -> list[DossierOpened | FactsNoted]:
    return [
        DossierOpened(code, unit, 2, False),
        FactsNoted(code, replace(facts, procedure="1.000894", due_at=at(due))),
    ]


def test_facts_merge_in_order_and_payments_add_up(engine: Engine) -> None:
    code = f"{UNIT}-261130-0001"
    apply(engine, [
        *opened(code, UNIT, date(2026, 12, 4), Facts(accepted_at=at(TODAY, 8))),
        FactsNoted(code, paid_online_vnd=50_000),
        FactsNoted(code, Facts(due_at=at(date(2026, 12, 8)))),  # moved by a later step
    ])  # fmt: skip
    apply(engine, [FactsNoted(code, Facts(result_ready_at=at(TODAY, 9)), paid_online_vnd=20_000)])
    with engine.connect() as connection:
        row = connection.execute(select(dossier_facts)).one()
    assert row.due_at == at(date(2026, 12, 8))
    assert row.accepted_at == at(TODAY, 8)  # not cleared by the later facts
    assert row.result_ready_at == at(TODAY, 9)
    assert row.paid_online_vnd == 70_000


def gauge(name: str, unit: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"unit": unit})


def test_the_gauges_count_per_unit_with_zeros_for_the_others(engine: Engine) -> None:
    legacy = "000.00.31.H30"  # its work is H13.41's today
    apply(engine, [
        *opened(f"{UNIT}-1", UNIT, date(2026, 12, 7)),  # Monday: 2 working days ahead
        *opened(f"{legacy}-2", legacy, TODAY),  # due today
        *opened(f"{UNIT}-3", UNIT, date(2026, 12, 8)),  # 3 working days ahead: not yet
        *opened(f"{UNIT}-4", UNIT, date(2026, 12, 2)),  # late
        *opened(f"{UNIT}-7", UNIT, date(2025, 12, 30)),  # late since before the calendar's first day
        *opened(f"{UNIT}-8", UNIT, date(2027, 3, 1)),  # after the calendar's last day: far ahead
        *opened(f"{OTHER}-5", OTHER, date(2026, 11, 27), Facts(result_ready_at=at(EARLIER))),  # done
        *opened(f"{OTHER}-6", OTHER, date(2026, 11, 27), Facts(closed_at=at(EARLIER))),  # withdrawn
    ])  # fmt: skip
    registry = AgencyRegistry(load_settings(DEMO_SAMPLE_CONFIG).agencies)
    gauges = RadarGauges(engine, registry, WorkingCalendar.from_file(), within=2, today=lambda: TODAY)
    gauges.refresh()
    assert gauge("hub_dossiers_due_soon", UNIT) == 2
    assert gauge("hub_dossiers_overdue", UNIT) == 2
    assert gauge("hub_dossiers_due_soon", OTHER) == 0
    assert gauge("hub_dossiers_overdue", OTHER) == 0
    assert gauge("hub_dossiers_overdue", legacy) is None  # only today's units have series
    assert legacy not in gauges.units()


def test_a_day_the_calendar_does_not_cover_is_logged_and_raised(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    apply(engine, opened(f"{UNIT}-1", UNIT, date(2027, 3, 1)))
    registry = AgencyRegistry(load_settings(DEMO_SAMPLE_CONFIG).agencies)
    gauges = RadarGauges(engine, registry, WorkingCalendar.from_file(), 2, today=lambda: date(2027, 2, 26))
    with caplog.at_level(logging.WARNING), pytest.raises(CalendarError):
        gauges.refresh()
    assert "outside its coverage" in caplog.text
