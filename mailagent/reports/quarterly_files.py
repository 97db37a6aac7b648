"""The quarterly report written out: CSV (one row per case, the Brent spreadsheet's columns),
an Excel workbook with native charts (`workbook`), or HTML with the charts as images."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mailagent.private import make_private
from mailagent.reports import charts
from mailagent.reports.quarterly import CaseRow, QuarterlyReport, ReportProblem
from mailagent.reports.quarterly_figures import Breakdown
from mailagent.reports.render import SHIPPED, render_report
from mailagent.reports.workbook import write_workbook


def write_report(report: QuarterlyReport, path: Path, *, include_matter: bool = True,
                 templates_dir: Path | None = None) -> None:
    """Write the report in the format the file's suffix names (.xlsx, .csv or .html)."""
    writers = {".xlsx": write_xlsx, ".csv": write_csv}
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in writers:
        writers[suffix](report, path)
    elif suffix in (".html", ".htm"):
        html = render_report("quarterly.html.j2", html_context(report, include_matter),
                             templates_dir or SHIPPED)
        path.write_text(html, encoding="utf-8")
    else:
        raise ReportProblem(f"{path.name}: the quarterly report is written as .xlsx, .csv "
                            "or .html")
    make_private(path)


def _cell(row: CaseRow, attribute: str) -> Any:
    return getattr(row, attribute)


def write_csv(report: QuarterlyReport, path: Path) -> None:
    """One row per case, the Brent spreadsheet's columns first; dates as YYYY-MM-DD."""
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        out = csv.writer(handle)
        out.writerow([title for title, _ in report.columns])
        for row in report.rows:
            out.writerow(["" if (v := _cell(row, attr)) is None else
                          v.isoformat() if isinstance(v, date) else v
                          for _, attr in report.columns])


def write_xlsx(report: QuarterlyReport, path: Path) -> None:
    write_workbook(report, path)


def html_context(report: QuarterlyReport, include_matter: bool = True) -> dict[str, Any]:
    """The HTML template's context, with each chart as a data: URI."""
    if not charts.available():
        raise ReportProblem("the HTML report draws its charts with matplotlib, which is not "
                            "installed: pip install 'matplotlib>=3.8'")

    def stacked(title: str, parts: tuple[Breakdown, ...]) -> str:
        return charts.data_uri(charts.stacked_bar_chart(
            title, [p.label for p in parts],
            {"Resolved": [p.resolved for p in parts], "Withdrawn": [p.withdrawn for p in parts],
             "Open": [p.open for p in parts]}))

    images = {}
    if report.rows:
        images = {
            "category": stacked("Cases by category", report.by_category),
            "team": stacked("Cases by team", report.by_team),
            "iro": stacked("Cases by IRO", report.by_iro),
            "level": stacked("Cases by highest level reached", report.by_level),
        }
    if report.responses:
        images["responses"] = charts.data_uri(charts.stacked_bar_chart(
            "Responses by level", [r.label for r in report.responses],
            {"On time": [r.on_time for r in report.responses],
             "Late": [r.late for r in report.responses],
             "No response": [r.no_response for r in report.responses]}))
    if report.days_to_resolution:
        spread = Counter(report.days_to_resolution)
        days = list(range(0, max(spread) + 1))
        images["days"] = charts.data_uri(charts.bar_chart(
            "Resolved cases by working days taken", [str(d) for d in days],
            [spread[d] for d in days], horizontal=False))
    return {
        "report": report,
        "charts": images,
        "include_matter": include_matter,
        "percent": _percent,
        "number": _number,
        "day": _day,
    }


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:g}"


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"
