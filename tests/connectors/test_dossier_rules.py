"""The dossier rules across messages: known dossiers, direct transitions, steps that wait for the
ones they follow, steps that arrive late, and what a ready result may do."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.values import vn_time_millis
from hub.dossiers.book import DossierBook, MemoryDossiers
from hub.dossiers.records import Dossier, DossierOpened, StepRecorded
from hub.dossiers.status import Step
from hub.settings import Settings
from tests.connectors.harness import InMemoryHub, deferred, egress, forwarded, routes, sample

Hub = InMemoryHub
AT_COUNTER = sample("onestop.dossier.received")["MaHoSo"]
FILED_ONLINE = sample("portal.dossier.submitted")["MaHoSo"]
# How a dossier reaches each status: where it starts, then its steps (one a day from 1 December).
PATHS: dict[int, tuple[str, list[int]]] = {
    1: (FILED_ONLINE, []),
    2: (AT_COUNTER, []),
    3: (FILED_ONLINE, [3]),
    4: (AT_COUNTER, [4]),
    5: (AT_COUNTER, [4, 5]),
    6: (AT_COUNTER, [4, 6]),
    7: (AT_COUNTER, [7]),
    8: (AT_COUNTER, [4, 8]),
    9: (AT_COUNTER, [4, 9]),
    10: (AT_COUNTER, [4, 9, 10]),
}


def step(status: int, at: str, code: str = AT_COUNTER) -> dict[str, Any]:
    return {**sample("onestop.dossier.progress"), "MaHoSo": code, "TrangThaiHoSo": status, "ThoiDiemXuLy": at}


def ready(code: str = AT_COUNTER) -> dict[str, Any]:
    return {**sample("onestop.result.ready"), "MaHoSo": code}  # ready on 3 December, 15:00


def dossier_at(settings: Settings, status: int) -> tuple[Hub, Dossier]:
    """A hub holding a dossier that reached ``status`` along a lawful path (steps before 3
    December, 15:00), and that dossier."""
    code, path = PATHS[status]
    hub = Hub(settings)
    if code == FILED_ONLINE:
        hub.send("portal", "dossier.submitted", sample("portal.dossier.submitted"))
    else:
        hub.send("onestop", "dossier.received", sample("onestop.dossier.received"))
    for day, status_then in enumerate(path, start=1):
        assert forwarded(
            hub.send("onestop", "dossier.progress", step(status_then, f"202612{day:02d}090000", code))
        )
    dossier = hub.dossiers.load(code)
    assert dossier is not None
    assert dossier.status == status
    return hub, dossier


# --- known dossiers ----------------------------------------------------------------------------------


def test_a_step_of_a_dossier_the_hub_never_saw_waits_for_its_filing(settings: Settings) -> None:
    hub = Hub(settings)
    early = hub.send("onestop", "dossier.progress", step(4, "20261130090000"))
    assert (early.record.reason, early.record.detail) == (
        "unknown_dossier",
        "MaHoSo: no dossier with this code was filed or received",
    )
    assert deferred(early)
    assert routes(early) == []  # parked: nothing is published while it waits
    hub.send("onestop", "dossier.received", sample("onestop.dossier.received"))
    again = hub.send("onestop", "dossier.progress", step(4, "20261130090000"))
    assert [r["TrangThai"] for r in egress(again, "portal", "CapNhatTienDoHoSoMC")] == [4]


# --- direct transitions -----------------------------------------------------------------------------


def test_a_step_that_skips_statuses_waits_and_is_refused_once_they_can_no_longer_come(
    settings: Settings,
) -> None:
    hub, _ = dossier_at(settings, 2)
    skipping = hub.send("onestop", "dossier.progress", step(10, "20261204090000"))  # 2 -> 10
    assert (skipping.record.reason, deferred(skipping)) == ("invalid_transition", True)
    assert routes(skipping) == []  # parked: the portal hears nothing
    assert skipping.changes == ()
    withdrawn = {**sample("portal.dossier.withdrawn"), "MaHoSo": AT_COUNTER, "ThoiDiem": "20261130090000"}
    assert forwarded(hub.send("portal", "dossier.withdrawn", withdrawn))
    again = hub.send("onestop", "dossier.progress", step(10, "20261204090000"))
    assert (again.record.reason, deferred(again)) == ("invalid_transition", False)
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert dossier.status == 7


def test_a_step_still_waiting_when_its_window_ends_is_dead_lettered_with_its_reason(
    settings: Settings,
) -> None:
    hub, _ = dossier_at(settings.model_copy(update={"park_window_seconds": 0}), 2)  # a window of 0
    skipping = hub.send("onestop", "dossier.progress", step(10, "20261204090000"))
    assert (skipping.record.outcome, skipping.record.reason) == ("dead_lettered", "invalid_transition")
    assert routes(skipping) == [("hub.dead.onestop", "dossier.progress")]
    never_filed = hub.send(
        "onestop", "dossier.progress", step(4, "20261201090000", "000.00.30.H30-261129-0077")
    )
    assert (never_filed.record.outcome, never_filed.record.reason) == ("dead_lettered", "unknown_dossier")


def test_waiting_steps_apply_in_status_order_once_the_missing_steps_arrive(settings: Settings) -> None:
    hub, _ = dossier_at(settings, 2)
    returned, done = step(10, "20261204090000"), step(9, "20261203090000")
    assert deferred(hub.send("onestop", "dossier.progress", returned))
    assert deferred(hub.send("onestop", "dossier.progress", done))
    told = [hub.send("onestop", "dossier.progress", step(4, "20261201090000"))]
    told += [hub.send("onestop", "dossier.progress", body) for body in (done, returned)]  # the window
    assert [r["TrangThai"] for o in told for r in egress(o, "portal", "CapNhatTienDoHoSoMC")] == [4, 9, 10]


def test_a_step_nothing_can_lead_to_is_refused_at_once(settings: Settings) -> None:
    hub, _ = dossier_at(settings, 9)
    backwards = hub.send("onestop", "dossier.progress", step(4, "20261204090000"))
    assert (backwards.record.reason, deferred(backwards)) == ("invalid_transition", False)
    assert backwards.changes == ()
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert dossier.status == 9


def test_a_late_step_is_kept_and_never_moves_the_dossier_back(settings: Settings) -> None:
    hub, _ = dossier_at(settings, 9)  # 4 on 1 December, 9 on 2 December
    late = hub.send("onestop", "dossier.progress", step(4, "20261201150000"))
    assert [r["TrangThai"] for r in egress(late, "portal", "CapNhatTienDoHoSoMC")] == [4]  # as history
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert (dossier.status, len(dossier.steps)) == (9, 3)


def test_an_online_filing_accepted_at_the_counter_moves_from_1_to_2(settings: Settings) -> None:
    hub = Hub(settings)
    filed = {**sample("portal.dossier.submitted"), "MaHoSo": AT_COUNTER}
    hub.send("portal", "dossier.submitted", filed)
    accepted = hub.send(
        "onestop", "dossier.received", {**sample("onestop.dossier.received"), "KenhThucHien": 2}
    )
    assert forwarded(accepted)
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert (dossier.initial_status, dossier.status) == (1, 2)


# --- result.ready -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (1, "waits"),
        (2, "waits"),
        (3, "refused"),
        (4, "admitted"),
        (5, "waits"),
        (6, "waits"),
        (7, "refused"),
        (8, "refused"),
        (9, "admitted"),
        (10, "refused"),
    ],
)
def test_a_ready_result_by_the_status_it_finds(settings: Settings, status: int, verdict: str) -> None:
    hub, before = dossier_at(settings, status)
    outcome = hub.send("onestop", "result.ready", ready(before.code))
    ordered = egress(outcome, "postal", "order.create")
    after = hub.dossiers.load(before.code)
    assert after is not None
    if verdict == "admitted":
        assert forwarded(outcome)
        assert [o["OrderNumber"] for o in ordered] == [f"{before.code}/KQ"]
        assert after.status == 9
        return
    assert (outcome.record.reason, deferred(outcome)) == ("invalid_transition", verdict == "waits")
    # No order, no event: parked while it waits, dead-lettered when refused.
    assert routes(outcome) == ([] if verdict == "waits" else [("hub.dead.onestop", "result.ready")])
    assert (outcome.changes, after) == ((), before)


def test_a_ready_result_at_4_is_the_step_to_9_and_the_portal_hears_it(settings: Settings) -> None:
    hub, before = dossier_at(settings, 4)
    outcome = hub.send("onestop", "result.ready", ready())
    assert routes(outcome) == [
        ("hub.events", "result.ready"),
        ("hub.events", "postal.order.requested"),
        ("egress.postal", "order.create"),
        ("hub.events", "dossier.progress"),
        ("egress.portal", "CapNhatTienDoHoSoMC"),
    ]
    [record] = egress(outcome, "portal", "CapNhatTienDoHoSoMC")
    ready_at = sample("onestop.result.ready")["NgayCoKetQua"]
    assert (record["TrangThai"], record["ThoiDiemXuLy"], record["NgayBatDau"]) == (9, ready_at, ready_at)
    assert record["NguoiXuLy"] == "Bộ phận Một cửa"  # result.ready names no person
    after = hub.dossiers.load(AT_COUNTER)
    assert after is not None
    assert after.steps == (*before.steps, Step(vn_time_millis(ready_at), 9))


def test_a_ready_result_at_9_records_nothing_new(settings: Settings) -> None:
    hub, before = dossier_at(settings, 9)
    outcome = hub.send("onestop", "result.ready", ready())
    assert len(egress(outcome, "postal", "order.create")) == 1
    assert not egress(outcome, "portal", "CapNhatTienDoHoSoMC")
    after = hub.dossiers.load(AT_COUNTER)
    assert after is not None
    assert after.steps == before.steps


def test_a_ready_result_of_a_dossier_the_hub_never_saw_waits(settings: Settings) -> None:
    hub = Hub(settings)
    outcome = hub.send("onestop", "result.ready", ready())
    assert (outcome.record.reason, deferred(outcome)) == ("unknown_dossier", True)
    assert routes(outcome) == []


# --- the book ----------------------------------------------------------------------------------------


def test_the_book_sees_in_flight_changes_until_they_are_released() -> None:
    committed = MemoryDossiers()
    book = DossierBook(committed.load)
    opened = DossierOpened("000.00.30.H30-261129-0009", "000.00.30.H30", 2, False)
    step = StepRecorded(opened.code, Step(100, 4))
    book.hold(1, [opened])
    book.hold(2, [step])
    dossier = book.get(opened.code)
    assert dossier is not None
    assert dossier.status == 4
    book.release(2)  # requeued: its step is forgotten
    assert book.get(opened.code) == Dossier(opened.code, opened.unit, 2, False)
    committed.apply([opened])
    book.release(1)  # committed: the store has it now
    assert book.get(opened.code) == Dossier(opened.code, opened.unit, 2, False)
    assert book.get("000.00.30.H30-261129-0010") is None
