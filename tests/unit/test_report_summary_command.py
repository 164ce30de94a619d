"""`hub report summary` on figures built in the test: the query it passes on, the terminal table, the
CSV and HTML files it writes, and its refusals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from click.testing import CliRunner

from hub.cli_report_summary import ReportQuery, summary_command
from hub.reports.csv_out import report_csv
from hub.reports.model import ProvinceReport
from tests.province_report import sample_report


def command(asked: list[ReportQuery]) -> click.Command:
    def compute(_: click.Context, query: ReportQuery) -> ProvinceReport:
        asked.append(query)
        return sample_report()

    return summary_command(compute)


def test_the_period_unit_and_horizon_are_passed_on() -> None:
    asked: list[ReportQuery] = []
    arguments = ["--from", "2026-11-01", "--to", "2026-11-30", "--unit", "H12.22", "--within", "3"]
    result = CliRunner().invoke(command(asked), arguments)
    assert result.exit_code == 0, result.output
    assert asked == [ReportQuery(date(2026, 11, 1), date(2026, 11, 30), "H12.22", 3)]


def test_the_day_open_dossiers_are_judged_on_is_passed_on() -> None:
    asked: list[ReportQuery] = []
    arguments = ["--from", "2026-11-01", "--to", "2026-11-30", "--today", "2026-12-03"]
    result = CliRunner().invoke(command(asked), arguments)
    assert result.exit_code == 0, result.output
    assert [query.today for query in asked] == [date(2026, 12, 3)]


def test_the_whole_province_and_two_working_days_by_default() -> None:
    asked: list[ReportQuery] = []
    result = CliRunner().invoke(command(asked), ["--from", "2026-11-01", "--to", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert asked == [ReportQuery(date(2026, 11, 1), date(2026, 11, 1), None, 2)]


def test_the_table_shows_totals_units_procedures_and_the_radar() -> None:
    result = CliRunner().invoke(command([]), ["--from", "2026-11-01", "--to", "2026-11-30"])
    assert result.exit_code == 0, result.output
    for expected in (
        "All units",
        "1,304",  # dossiers filed in the province
        "UBND huyện Lục Ngạn (H12.22)",
        "92.8%",  # on time
        "16,250,000",  # COD collected
        "2.001157",  # a procedure without a median
        "000.23.12.H12-261103-0009",  # a late dossier
        "000.30.12.H12-261129-0112",  # one due soon
    ):
        assert expected in result.output, expected
    assert "wrote" not in result.output  # no file unless asked


def test_csv_and_html_are_written_when_asked(tmp_path: Path) -> None:
    csv_file, html_file = tmp_path / "report.csv", tmp_path / "report.html"
    arguments = [
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--csv",
        str(csv_file),
        "--html",
        str(html_file),
    ]
    result = CliRunner().invoke(command([]), arguments)
    assert result.exit_code == 0, result.output
    assert csv_file.read_text(encoding="utf-8-sig") == report_csv(sample_report())
    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbf")  # a spreadsheet reads it as UTF-8
    page = html_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 6
    assert f"wrote {csv_file}" in result.output
    assert f"wrote {html_file} (6 charts)" in result.output


def test_a_period_ending_before_it_starts_is_refused() -> None:
    asked: list[ReportQuery] = []
    result = CliRunner().invoke(command(asked), ["--from", "2026-11-30", "--to", "2026-11-01"])
    assert result.exit_code == 2
    assert "Invalid value for --to: the last day is before the first (--from)" in result.output
    assert asked == []


def test_a_date_not_in_iso_form_is_refused() -> None:
    result = CliRunner().invoke(command([]), ["--from", "01/11/2026", "--to", "2026-11-30"])
    assert result.exit_code == 2
    assert "'01/11/2026' does not match the format '%Y-%m-%d'" in result.output


def test_a_file_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no such folder" / "report.csv"
    result = CliRunner().invoke(
        command([]), ["--from", "2026-11-01", "--to", "2026-11-30", "--csv", str(missing)]
    )
    assert result.exit_code == 1
    assert f"cannot write {missing}: No such file or directory" in result.output
