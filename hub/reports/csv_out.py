"""The report as CSV: one long table (section, unit, item, measure, value), every figure of the HTML
page and of the terminal table in it, values without separators so a spreadsheet reads them."""

from __future__ import annotations

import csv
import io

from hub.reports.measures import plain, rows
from hub.reports.model import ProvinceReport

HEADER = ("section", "unit", "item", "measure", "value")


def report_csv(report: ProvinceReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows(report):
        writer.writerow(
            (row.section.value, row.unit, row.item, row.measure.name, plain(row.value, row.measure.kind))
        )
    return out.getvalue()
