"""The dossier rules across messages: known dossiers, legal transitions, steps that arrive late."""

from __future__ import annotations

from typing import Any

from hub.dossiers.book import DossierBook, MemoryDossiers
from hub.dossiers.records import Dossier, DossierOpened, StepRecorded
from hub.dossiers.status import Step
from hub.settings import Settings
from tests.connectors.harness import InMemoryHub, sample

Hub = InMemoryHub


def step(status: int, at: str) -> dict[str, Any]:
    return {**sample("onestop.dossier.progress"), "TrangThaiHoSo": status, "ThoiDiemXuLy": at}


def test_a_step_of_a_dossier_the_hub_never_saw_is_refused(settings: Settings) -> None:
    outcome = Hub(settings).send("onestop", "dossier.progress", step(4, "20261130090000"))
    assert (outcome.record.reason, outcome.record.detail) == (
        "unknown_dossier",
        "MaHoSo: no dossier with this code was filed or received",
    )


def test_steps_follow_the_legal_transitions(settings: Settings) -> None:
    hub = Hub(settings)
    assert not hub.send("onestop", "dossier.received", sample("onestop.dossier.received")).rejected
    assert not hub.send("onestop", "dossier.progress", step(4, "20261130090000")).rejected
    assert not hub.send("onestop", "dossier.progress", step(9, "20261201090000")).rejected
    backwards = hub.send("onestop", "dossier.progress", step(4, "20261202090000"))
    assert backwards.record.reason == "invalid_transition"
    assert backwards.changes == ()
    dossier = hub.dossiers.load(sample("onestop.dossier.received")["MaHoSo"])
    assert dossier is not None
    assert dossier.status == 9


def test_a_late_step_is_kept_and_never_moves_the_dossier_back(settings: Settings) -> None:
    hub = Hub(settings)
    hub.send("onestop", "dossier.received", sample("onestop.dossier.received"))
    assert not hub.send("onestop", "dossier.progress", step(4, "20261130090000")).rejected
    assert not hub.send("onestop", "dossier.progress", step(9, "20261202090000")).rejected
    late = hub.send("onestop", "dossier.progress", step(4, "20261201090000"))
    assert not late.rejected  # forwarded to the portal as history
    dossier = hub.dossiers.load(sample("onestop.dossier.received")["MaHoSo"])
    assert dossier is not None
    assert (dossier.status, len(dossier.steps)) == (9, 3)


def test_an_online_filing_accepted_at_the_counter_moves_from_1_to_2(settings: Settings) -> None:
    hub = Hub(settings)
    filed = {**sample("portal.dossier.submitted"), "MaHoSo": "000.00.30.H30-261129-0002"}
    hub.send("portal", "dossier.submitted", filed)
    accepted = hub.send(
        "onestop", "dossier.received", {**sample("onestop.dossier.received"), "KenhThucHien": 2}
    )
    assert not accepted.rejected
    dossier = hub.dossiers.load(filed["MaHoSo"])
    assert dossier is not None
    assert (dossier.initial_status, dossier.status) == (1, 2)


def test_a_ready_result_needs_a_known_dossier(settings: Settings) -> None:
    hub = Hub(settings)
    assert (
        hub.send("onestop", "result.ready", sample("onestop.result.ready")).record.reason == "unknown_dossier"
    )
    hub.send("onestop", "dossier.received", sample("onestop.dossier.received"))
    assert not hub.send("onestop", "result.ready", sample("onestop.result.ready")).rejected


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
