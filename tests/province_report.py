"""A realistic province report for the renderers' tests: five units (one with a name needing escape,
one with nothing to divide), procedures with and without a median, dossiers due soon and late."""

from __future__ import annotations

from datetime import date

from hub.reports.model import DueDossier, ProcedureFigures, ProvinceReport, UnitFigures


def unit(code: str, name: str, scale: int, on_time: int | None = None) -> UnitFigures:
    return UnitFigures(
        unit=code,
        unit_name=name,
        filed_online=60 * scale,
        filed_in_person=25 * scale,
        filed_by_post=9 * scale,
        filed_postal_staff=6 * scale,
        results_by_post=31 * scale,
        results_at_counter=52 * scale,
        results_ready=83 * scale,
        on_time=77 * scale if on_time is None else on_time,
        overdue=8 * scale,
        collections_requested=9 * scale,
        collections_succeeded=8 * scale,
        deliveries=31 * scale,
        delivered_first_attempt=27 * scale,
        resends=3 * scale,
        cod_collected_vnd=1_250_000 * scale,
        paid_online_vnd=4_730_500 * scale,
    )


def idle_unit(code: str, name: str) -> UnitFigures:
    """A unit whose period had filings but no result, collection or delivery: shares of nothing."""
    return UnitFigures(code, name, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def due(unit: str, dossier: str, procedure: str, day: int, left: int) -> DueDossier:
    return DueDossier(unit, dossier, procedure, date(2026, 12, day), left)


def sample_report() -> ProvinceReport:
    return ProvinceReport(
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        scope="province",
        units=(
            unit("H12.01", "Sở Tư pháp tỉnh Bắc Giang", 4, on_time=320),
            unit("H12.22", "UBND huyện Lục Ngạn", 3),
            unit("H12.23", "UBND huyện Sơn Động <Trung tâm Phục vụ hành chính công & bộ phận một cửa>", 1),
            unit("H12.30", "UBND thành phố Bắc Giang", 5, on_time=373),
            idle_unit("H12.40", "Sở Xây dựng"),
        ),
        procedures=(
            ProcedureFigures("1.001612", 420, 3.0),
            ProcedureFigures("2.000528", 388, 7.5),
            ProcedureFigures("1.004227", 97, 12.0),
            ProcedureFigures("2.001157", 0, None),
        ),
        due_soon=(
            due("H12.22", "000.22.12.H12-261128-0041", "1.001612", 1, 1),
            due("H12.30", "000.30.12.H12-261127-0107", "2.000528", 2, 2),
            due("H12.30", "000.30.12.H12-261129-0112", "1.001612", 2, 2),
        ),
        late=(
            due("H12.23", "000.23.12.H12-261103-0009", "1.004227", 1, -3),
            due("H12.01", "000.01.12.H12-261110-0230", "2.000528", 1, -1),
        ),
        within_working_days=2,
    )
