"""The quarterly report as an Excel workbook with native charts (xlsxwriter).

Sheets: Summary (the headline figures, for all cases and by plan type), Cases (one row per
case: the Brent spreadsheet's columns, filterable), By category, By team, By IRO, By level
and Responses (each split by plan type in the columns to the right), Days to resolution,
Commendations, and Collective alerts (the update for CSMT and the Corporate Parenting
Board). Each breakdown sheet has its own chart, drawn by Excel from the sheet's cells, so
it stays live if someone edits the numbers.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from mailagent.reports.quarterly import OtherCase, QuarterlyReport
from mailagent.reports.quarterly_figures import Breakdown

COLOURS = {"Resolved": "#107C10", "Withdrawn": "#8A8886", "Open": "#D29200",
           "On time": "#107C10", "Late": "#D29200", "No response": "#A4262C",
           "Cases": "#0B3D6E"}
WIDTHS = {"Reference": 15, "Child record number": 12, "Plan": 6, "Type": 16, "Team": 26,
          "IRO": 16, "Category": 22, "Matter": 50, "Date raised": 12,
          "Highest level reached": 30, "Date of response": 12, "Resolution": 34,
          "Date closed": 12, "Working days to resolution": 12, "Outcome": 40, "Learning": 40,
          "Team's learning": 40}


def write_workbook(report: QuarterlyReport, path: Path) -> None:
    # constant_memory: each row goes to disk as soon as the next begins, so a quarter of
    # tens of thousands of cases does not sit in memory (every sheet writes row by row).
    book = xlsxwriter.Workbook(str(path), {"remove_timezone": True, "constant_memory": True})
    try:
        styles = _styles(book)
        _summary(book, report, styles)
        _cases(book, report, styles)
        for name, parts in (("By category", report.by_category), ("By team", report.by_team),
                            ("By IRO", report.by_iro), ("By level", report.by_level)):
            _breakdown(book, name, parts, report.plans, styles)
        _responses(book, report, styles)
        _days(book, report, styles)
        _commendations(book, report.commendations, styles)
        _alerts(book, report, styles)
    finally:
        book.close()


def _styles(book: Workbook) -> dict[str, Any]:
    return {
        "title": book.add_format({"bold": True, "font_size": 14, "font_color": "#0B3D6E"}),
        "header": book.add_format({"bold": True, "bg_color": "#0B3D6E", "font_color": "#FFFFFF",
                                   "text_wrap": True, "valign": "top", "border": 1}),
        "date": book.add_format({"num_format": "d mmm yyyy", "valign": "top"}),
        "percent": book.add_format({"num_format": "0.0%"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "top": book.add_format({"valign": "top"}),
        "label": book.add_format({"bold": True}),
        "note": book.add_format({"italic": True, "font_color": "#555555"}),
    }


def _title(sheet: Worksheet, report: QuarterlyReport, title: str, styles: dict) -> None:
    sheet.write(0, 0, f"{title}: {report.quarter.label}", styles["title"])
    sheet.write(1, 0, f"{report.council}. Cases raised in the quarter, as they stood at "
                f"{report.as_at_text}.", styles["note"])


def _summary(book: Workbook, report: QuarterlyReport, styles: dict) -> None:
    sheet = book.add_worksheet("Summary")
    _title(sheet, report, "IRO escalations", styles)
    sheet.set_column(0, 0, 46)
    sheet.set_column(1, len(report.figures), 16)
    sheet.write(2, 0, "Figure", styles["header"])
    for col, figures in enumerate(report.figures, start=1):
        sheet.write(2, col, figures.title, styles["header"])
    rows: list[tuple[str, str, str | None]] = [
        ("Cases raised", "raised", None), ("Resolved", "resolved", None),
        ("Withdrawn", "withdrawn", None), ("Still open at the end of the quarter", "open", None),
        ("Resolution rate (resolved / raised)", "rate", "percent"),
        ("Working days to resolution: median", "days_median", None),
        ("Working days to resolution: 90th percentile", "days_p90", None),
        ("Responses on time", "on_time", None), ("Responses late", "late", None),
        ("Deadlines passed with no response", "no_response", None),
    ]
    for i, (label, attribute, style) in enumerate(rows, start=3):
        sheet.write(i, 0, label, styles["label"])
        for col, figures in enumerate(report.figures, start=1):
            _number(sheet, i, col, getattr(figures, attribute), styles[style] if style else None)
    i = len(rows) + 3
    for label, value in (("Commendations", len(report.commendations)),
                         ("Collective alerts", report.alerts_raised)):
        sheet.write(i, 0, label, styles["label"])
        sheet.write_number(i, 1, value)
        i += 1
    row = i + 1
    sheet.write(row, 0, "Resolved at level", styles["header"])
    sheet.write(row, 1, "Cases", styles["header"])
    for col, plan in enumerate(report.plans, start=2):
        sheet.write(row, col, plan, styles["header"])
    for i, level in enumerate(report.resolved_at_level, start=row + 1):
        sheet.write(i, 0, level.label)
        sheet.write_number(i, 1, level.resolved)
        for col, count in enumerate(level.plans, start=2):
            sheet.write_number(i, col, count)


def _number(sheet: Worksheet, row: int, col: int, value: Any, style: Any) -> None:
    if value is None:
        sheet.write(row, col, "n/a")
    else:
        sheet.write_number(row, col, value, style)


def _cases(book: Workbook, report: QuarterlyReport, styles: dict) -> None:
    sheet = book.add_worksheet("Cases")
    for col, (title, _) in enumerate(report.columns):
        sheet.write(0, col, title, styles["header"])
        sheet.set_column(col, col, WIDTHS.get(title, 14))
    for r, row in enumerate(report.rows, start=1):
        for col, (_, attribute) in enumerate(report.columns):
            value = getattr(row, attribute)
            if value is None or value == "":
                sheet.write_blank(r, col, None, styles["top"])
            elif isinstance(value, date):
                sheet.write_datetime(r, col, value, styles["date"])
            elif isinstance(value, int):
                sheet.write_number(r, col, value, styles["top"])
            else:
                sheet.write_string(r, col, str(value), styles["wrap"])
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(1, len(report.rows)), len(report.columns) - 1)


def _breakdown(book: Workbook, name: str, parts: tuple[Breakdown, ...],
               plans: tuple[str, ...], styles: dict) -> None:
    """The counts, then the same by plan type (LAC raised, LAC resolved ...)."""
    sheet = book.add_worksheet(name)
    headers = ["", "Raised", "Resolved", "Withdrawn", "Open", "Resolution rate"]
    headers += [f"{plan} {what}" for plan in plans
                for what in ("raised", "resolved", "withdrawn", "open", "rate")]
    for col, title in enumerate(headers):
        sheet.write(0, col, title or name.removeprefix("By ").capitalize(), styles["header"])
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, len(headers) - 1, 12)
    for r, part in enumerate(parts, start=1):
        sheet.write(r, 0, part.label)
        for block, counts in enumerate((part, *(part.plan(p) for p in plans))):
            first = 1 + 5 * block
            for col, value in enumerate((counts.raised, counts.resolved, counts.withdrawn,
                                         counts.open), first):
                sheet.write_number(r, col, value)
            if counts.rate is not None:
                sheet.write_number(r, first + 4, counts.rate, styles["percent"])
    if parts:
        chart = book.add_chart({"type": "bar", "subtype": "stacked"})
        for col, series in ((2, "Resolved"), (3, "Withdrawn"), (4, "Open")):
            chart.add_series({
                "name": series,
                "categories": [name, 1, 0, len(parts), 0],
                "values": [name, 1, col, len(parts), col],
                "fill": {"color": COLOURS[series]},
            })
        _style_chart(chart, f"Cases {name.lower()}", len(parts))
        sheet.insert_chart(len(parts) + 3, 0, chart)


def _responses(book: Workbook, report: QuarterlyReport, styles: dict) -> None:
    name = "Responses"
    sheet = book.add_worksheet(name)
    headers = ["Level", "On time", "Late", "No response", "Due"]
    headers += [f"{plan} {what}" for plan in report.plans
                for what in ("on time", "late", "no response", "due")]
    for col, title in enumerate(headers):
        sheet.write(0, col, title, styles["header"])
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, len(headers) - 1, 12)
    rows = report.responses
    for r, level in enumerate(rows, start=1):
        sheet.write(r, 0, level.label)
        for block, counts in enumerate((level, *(level.plan(p) for p in report.plans))):
            values = (counts.on_time, counts.late, counts.no_response, counts.due)
            for col, value in enumerate(values, 1 + 4 * block):
                sheet.write_number(r, col, value)
    note_row = len(rows) + 2
    sheet.write(note_row, 0, "On time or late against the deadline in force (extensions "
                "included); no response: the deadline passed with none.", styles["note"])
    if rows:
        chart = book.add_chart({"type": "bar", "subtype": "stacked"})
        for col, series in ((1, "On time"), (2, "Late"), (3, "No response")):
            chart.add_series({
                "name": series,
                "categories": [name, 1, 0, len(rows), 0],
                "values": [name, 1, col, len(rows), col],
                "fill": {"color": COLOURS[series]},
            })
        _style_chart(chart, "Responses by level", len(rows))
        sheet.insert_chart(len(rows) + 4, 0, chart)


def _days(book: Workbook, report: QuarterlyReport, styles: dict) -> None:
    name = "Days to resolution"
    sheet = book.add_worksheet(name)
    sheet.write(0, 0, "Working days", styles["header"])
    sheet.write(0, 1, "Resolved cases", styles["header"])
    sheet.set_column(0, 1, 16)
    spread = Counter(report.days_to_resolution)
    days = list(range(0, max(spread) + 1)) if spread else []
    for r, day in enumerate(days, start=1):
        sheet.write_number(r, 0, day)
        sheet.write_number(r, 1, spread[day])
    if days:
        chart = book.add_chart({"type": "column"})
        chart.add_series({
            "name": "Resolved cases",
            "categories": [name, 1, 0, len(days), 0],
            "values": [name, 1, 1, len(days), 1],
            "fill": {"color": COLOURS["Cases"]},
        })
        chart.set_title({"name": "Resolved cases by working days taken"})
        chart.set_x_axis({"name": "Working days from raised to resolved"})
        chart.set_legend({"none": True})
        sheet.insert_chart(1, 3, chart)


def _commendations(book: Workbook, found: tuple[OtherCase, ...], styles: dict) -> None:
    name = "Commendations"
    sheet = book.add_worksheet(name)
    for col, title in enumerate(("Reference", "Raised", "Team", "IRO")):
        sheet.write(0, col, title, styles["header"])
    sheet.set_column(0, 1, 15)
    sheet.set_column(2, 3, 40)
    for r, case in enumerate(found, start=1):
        sheet.write(r, 0, case.ref)
        sheet.write_datetime(r, 1, case.raised, styles["date"])
        sheet.write(r, 2, case.team)
        sheet.write(r, 3, case.iro)
    if found:
        by_team = Counter(case.team or "(no team)" for case in found)
        top = len(found) + 3
        sheet.write(top, 0, "Team", styles["header"])
        sheet.write(top, 1, "Commendations", styles["header"])
        for r, (team, count) in enumerate(sorted(by_team.items()), start=top + 1):
            sheet.write(r, 0, team)
            sheet.write_number(r, 1, count)
        chart = book.add_chart({"type": "bar"})
        chart.add_series({
            "name": "Commendations",
            "categories": [name, top + 1, 0, top + len(by_team), 0],
            "values": [name, top + 1, 1, top + len(by_team), 1],
            "fill": {"color": COLOURS["Resolved"]},
        })
        _style_chart(chart, "Commendations by team", len(by_team))
        chart.set_legend({"none": True})
        sheet.insert_chart(1, 5, chart)


ALERT_COLUMNS = ("Reference", "Drafted", "Theme", "Where it stands", "Raised with", "Raised",
                 "Acknowledged", "Detailed response", "Actions", "Overdue", "Latest response",
                 "Resolution")


def _alerts(book: Workbook, report: QuarterlyReport, styles: dict) -> None:
    """The update for CSMT and the Corporate Parenting Board: one row per alert."""
    sheet = book.add_worksheet("Collective alerts")
    for col, title in enumerate(ALERT_COLUMNS):
        sheet.write(0, col, title, styles["header"])
    sheet.set_column(0, 1, 15)
    sheet.set_column(2, len(ALERT_COLUMNS) - 1, 30)
    for r, a in enumerate(report.alerts, start=1):
        actions = "\n".join(f"{x.number}. {x.text}: {x.status}" for x in a.actions)
        values: tuple[Any, ...] = (
            a.ref, a.opened, a.theme, a.status, a.raised_with, a.raised_on, a.acknowledged,
            a.responded, actions, "\n".join(a.overdue), a.latest, a.outcome)
        for col, value in enumerate(values):
            if isinstance(value, date):
                sheet.write_datetime(r, col, value, styles["date"])
            elif value:
                sheet.write_string(r, col, str(value), styles["wrap"])
            else:
                sheet.write_blank(r, col, None, styles["top"])
    sheet.freeze_panes(1, 1)


def _style_chart(chart: Any, title: str, bars: int) -> None:
    chart.set_title({"name": title, "name_font": {"size": 12}})
    chart.set_y_axis({"reverse": True})
    chart.set_x_axis({"major_gridlines": {"visible": True, "line": {"color": "#E1E1E1"}},
                      "min": 0})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": max(240, 60 + 34 * bars)})
