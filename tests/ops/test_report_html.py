"""The province report's HTML page in a real browser (headless Chromium, Debian's package): it opens
without a console message, exception or failed load, every chart the renderer drew is on it and has a
size, and a screenshot of the whole page is saved for people to look at (build/reports/report.png)."""

from __future__ import annotations

import struct
from pathlib import Path

from hub.reports.html_page import report_html
from tests.ops.chromium import WIDTH, browser, evaluate, open_page, screenshot
from tests.province_report import sample_report

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "build/reports/report.png"
SECONDS = 45  # the browser's whole life in one test (pytest's own timeout is 60)
CHARTS = """[...document.querySelectorAll("figure.chart")].map(figure => {
  const drawn = figure.querySelectorAll("svg");
  const box = drawn.length ? drawn[0].getBoundingClientRect() : {width: 0, height: 0};
  return {name: figure.dataset.chart, svgs: drawn.length, width: box.width, height: box.height};
})"""


def png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk, right after the signature
    return width, height


def test_the_report_opens_without_complaint_shows_every_chart_and_is_photographed(tmp_path: Path) -> None:
    page = report_html(sample_report())
    assert page.charts, "the renderer drew no chart"
    (tmp_path / "report.html").write_text(page.html, encoding="utf-8")
    with browser(SECONDS) as chrome:
        session = open_page(chrome, tmp_path / "report.html")
        shown = evaluate(chrome, session, CHARTS)
        height = evaluate(chrome, session, "document.documentElement.scrollHeight")
        saved = screenshot(chrome, session, SCREENSHOT)
        assert chrome.problems() == []
    print(f"screenshot of the report: {saved}")
    assert [chart["name"] for chart in shown] == list(page.charts)
    for chart in shown:
        assert chart["svgs"] == 1, chart
        assert chart["width"] > 300, f"chart not laid out: {chart}"
        assert chart["height"] > 100, f"chart not laid out: {chart}"
    assert png_size(saved.read_bytes()) == (WIDTH, height)


def test_a_page_with_an_error_is_heard(tmp_path: Path) -> None:
    """The harness itself: a script error, a console call and a missing image are each reported."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><img src="missing.png"><script>console.log("hello"); undefinedName();</script>',
        encoding="utf-8",
    )
    with browser(SECONDS) as chrome:
        session = open_page(chrome, bad)
        evaluate(chrome, session, "1")  # a round trip: the events sent before its answer are in
    heard = chrome.problems()
    for expected in ("ERR_FILE_NOT_FOUND", "console.log: ['hello']", "ReferenceError: undefinedName"):
        assert any(expected in line for line in heard), (expected, heard)
