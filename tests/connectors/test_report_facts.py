"""The report facts the translations note (connectors declare them, the hub stores them as given)."""

from __future__ import annotations

from typing import Any

from connectors.onestop.mapping import dossier_progress
from connectors.onestop.models import DossierProgress
from connectors.values import vn_time_millis
from hub.agencies import AgencyRegistry
from hub.connector import Context
from hub.dossiers.book import DossierBook, MemoryDossiers
from hub.dossiers.records import DossierOpened, Facts, FactsNoted, StepRecorded
from hub.dossiers.status import Step

CODE = "000.00.41.H30-261130-0001"


def progress(status: int, at: str, due: str | None = None) -> DossierProgress:
    body: dict[str, Any] = {
        "MaHoSo": CODE, "TrangThaiHoSo": status, "ThoiDiemXuLy": at, "NguoiXuLy": "Lê Văn A",
        "ChucDanh": "Chuyên viên", "PhongBanXuLy": "Phòng Tư pháp", "NoiDungXuLy": "Xử lý",
    }  # fmt: skip
    if due:
        body["NgayHenTra"] = due
    return DossierProgress.model_validate(body)


def facts_of(message: DossierProgress, steps: list[tuple[str, int]]) -> Facts:
    dossiers = MemoryDossiers()
    dossiers.apply([
        DossierOpened(CODE, "000.00.41.H30", 2, False),
        *(StepRecorded(CODE, Step(vn_time_millis(at), status)) for at, status in steps),
    ])  # fmt: skip
    context = Context(AgencyRegistry([]), DossierBook(dossiers.load))
    noted = [r for r in dossier_progress(message, context) if isinstance(r, FactsNoted)]
    assert len(noted) == 1
    return noted[0].facts


def test_a_step_moves_the_due_date_and_makes_the_result_ready() -> None:
    assert facts_of(progress(5, "20261201090000", due="20261204170000"), [("20261130100000", 4)]) == Facts(
        due_at=vn_time_millis("20261204170000")
    )
    ready = facts_of(progress(9, "20261201090000"), [("20261130100000", 4)])
    assert ready == Facts(result_ready_at=vn_time_millis("20261201090000"))


def test_a_step_older_than_the_latest_moves_no_due_date() -> None:
    """It arrived late: the due date the later step set stays the last moved."""
    older = progress(4, "20261201090000", due="20261204170000")
    facts = facts_of(older, [("20261201100000", 5)])
    assert facts.due_at is None


def test_a_step_that_ends_the_dossier_without_a_result() -> None:
    stopped = facts_of(progress(8, "20261201090000"), [("20261130100000", 4)])
    assert stopped.closed_at == vn_time_millis("20261201090000")
