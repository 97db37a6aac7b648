"""The quarterly report against a realistic quarter whose figures were counted by hand.

Quarter 3 2026 (1 July to 30 September; Monday 31 August is a bank holiday), Leicestershire
ladder (5 working days a stage; stages 1-3 escalate on timeout, stage 4 and Positive
Challenge wait), two teams, two IROs. Eleven cases raised in the quarter:

  A  north iro1 placement   stage 1 Wed 1 Jul; TM answers Fri 3 Jul; resolved Mon 6 Jul  (3 wd)
  B  north iro1 contact     stage 1 Mon 6 Jul; no answer, deadline Mon 13 Jul; escalates
                            itself Tue 14 Jul; SM answers Thu 16; resolved Fri 17 Jul    (9 wd)
  C  south iro2 drift CP    straight to stage 2 Tue 7 Jul; answered Thu 9; IRO escalates to
                            stage 3 Fri 10; HoS answers Wed 15; resolved Thu 16 Jul      (7 wd)
  D  south iro2 placement   straight to stage 4 Mon 13 Jul; deadline Mon 20 passes (stage 4
                            waits); AD answers late Thu 23; resolved Mon 27 Jul         (10 wd)
  E  north iro1 visits CP   Positive Challenge Wed 15 Jul; SW answers Fri 17; resolved
                            Mon 20 Jul                                                   (3 wd)
  F  north iro2 placement   stage 1 Mon 3 Aug; withdrawn Wed 5 Aug
  G  south iro1 services    stage 1 Mon 10 Aug; TM answers Tue 11; IRO escalates Wed 12;
                            SM silent, escalates itself Thu 20 Aug to stage 3; HoS answers
                            Wed 26 Aug; still open (whole process passed Tue 8 Sep)
  H  north iro1 permanence  stage 1 Tue 1 Sep (deadline Tue 8); extended 3 days Mon 7 Sep
                            (to Fri 11); TM answers Thu 10 (on time); resolved Fri 11    (8 wd)
  I  south iro2 drift CP    stage 1 Thu 24 Sep; TM answers Wed 30 Sep; resolved Fri 2 Oct,
                            after the quarter: open at its end
  J  north iro2 care plan   straight to stage 3 Mon 17 Aug; answered Tue 18; resolved Wed 19 (2 wd)
  K  south iro1 placement   Positive Challenge Mon 20 Jul; no answer by Mon 27; IRO escalates
                            Tue 28 Jul to stage 1; TM answers Wed 29; resolved Thu 30 Jul (8 wd)

plus one case raised in Q2 (resolved in Q3) and one in Q4, which must not count; three
commendations and one collective alert in the quarter, and one commendation in Q4.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from mailagent.reports.quarterly import Quarter, ReportProblem, build_quarterly
from mailagent.reports.quarterly_figures import percentile
from mailagent.reports.quarterly_files import write_report
from tests.reports_seed import config_file, seed_quarter
from tests.support import london, make_agent


@pytest.fixture(scope="module")
def quarter(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("quarter")
    agent, clock = make_agent(tmp, london(2026, 6, 30, 9))
    refs = seed_quarter(agent)
    clock.set(london(2026, 10, 5, 9))
    with Session(agent.engine) as session:
        report = build_quarterly(session, agent, Quarter.parse("2026Q3"), clock.now())
    yield agent, refs, report, tmp
    agent.close()


def _row(report, refs, letter):  # type: ignore[no-untyped-def]
    return next(r for r in report.rows if r.ref == refs[letter])


def _table(parts) -> dict[str, tuple[int, int, int, int]]:  # type: ignore[no-untyped-def]
    return {p.label: (p.raised, p.resolved, p.withdrawn, p.open) for p in parts}


def test_only_cases_raised_in_the_quarter_count(quarter) -> None:
    _, refs, report, _ = quarter
    assert sorted(r.ref for r in report.rows) == sorted(refs[x] for x in "ABCDEFGHIJK")
    assert report.raised == 11
    assert (report.count("resolved"), report.count("withdrawn"), report.count("open")) == (
        8, 1, 2)
    assert report.resolution_rate == pytest.approx(8 / 11)
    # I was resolved on 2 October: at the quarter's end it was open.
    assert _row(report, refs, "I").status == "open"


def test_counts_by_category_team_iro_and_level(quarter) -> None:
    _, _, report, _ = quarter
    assert _table(report.by_category) == {
        "Placement": (4, 3, 1, 0), "Drift in care plan": (2, 1, 0, 1),
        "Sibling or family contact": (1, 1, 0, 0), "Visits to the child": (1, 1, 0, 0),
        "Services to the child": (1, 0, 0, 1), "Permanence plan": (1, 1, 0, 0),
        "Care plan": (1, 1, 0, 0),
    }
    assert _table(report.by_team) == {
        "North Children in Care Team": (6, 5, 1, 0),
        "South Children in Care Team": (5, 3, 0, 2),
    }
    assert _table(report.by_iro) == {"Irene Reed": (6, 5, 0, 1), "Ivan Rowe": (5, 3, 1, 1)}
    assert _table(report.by_level) == {
        "Level 0: Positive Challenge": (1, 1, 0, 0),
        "Level 1: Stage One - Team Manager": (5, 3, 1, 1),
        "Level 2: Stage Two - Service Manager": (1, 1, 0, 0),
        "Level 3: Stage Three - Head of Service": (3, 2, 0, 1),
        "Level 4: Stage Four - Assistant Director": (1, 1, 0, 0),
    }
    assert report.resolved_at_level[0].label.startswith("Level 0")
    assert [level.resolved for level in report.resolved_at_level] == [1, 3, 1, 2, 1]


def _plan_table(parts, plan):  # type: ignore[no-untyped-def]
    return {p.label: (p.plan(plan).raised, p.plan(plan).resolved, p.plan(plan).withdrawn,
                      p.plan(plan).open) for p in parts}


def test_every_figure_split_by_plan_type(quarter) -> None:
    """C, E and I are child protection plans (CP); the other eight looked-after children."""
    _, _, report, _ = quarter
    assert report.plans == ("LAC", "CP")
    whole, lac, cp = report.figures
    assert (whole.plan, whole.raised, lac.raised, cp.raised) == ("All", 11, 8, 3)
    assert (lac.resolved, lac.withdrawn, lac.open, cp.resolved, cp.withdrawn, cp.open) == (
        6, 1, 1, 2, 0, 1)
    assert (lac.rate, cp.rate) == (pytest.approx(6 / 8), pytest.approx(2 / 3))
    # LAC: A 3, B 9, D 10, H 8, J 2, K 8 working days; CP: C 7, E 3.
    assert (lac.days_median, lac.days_p90, cp.days_median, cp.days_p90) == (8.0, 10, 5.0, 7)
    assert (lac.on_time, lac.late, lac.no_response) == (7, 1, 3)
    assert (cp.on_time, cp.late, cp.no_response) == (4, 0, 0)
    assert _plan_table(report.by_team, "LAC") == {
        "North Children in Care Team": (5, 4, 1, 0), "South Children in Care Team": (3, 2, 0, 1)}
    assert _plan_table(report.by_team, "CP") == {
        "North Children in Care Team": (1, 1, 0, 0), "South Children in Care Team": (2, 1, 0, 1)}
    assert _plan_table(report.by_category, "CP") == {
        "Placement": (0, 0, 0, 0), "Drift in care plan": (2, 1, 0, 1),
        "Sibling or family contact": (0, 0, 0, 0), "Visits to the child": (1, 1, 0, 0),
        "Services to the child": (0, 0, 0, 0), "Permanence plan": (0, 0, 0, 0),
        "Care plan": (0, 0, 0, 0)}
    assert {r.level: [(x.on_time, x.late, x.no_response) for x in r.plans]
            for r in report.responses} == {
        0: [(0, 0, 1), (1, 0, 0)], 1: [(4, 0, 1), (1, 0, 0)], 2: [(1, 0, 1), (1, 0, 0)],
        3: [(2, 0, 0), (1, 0, 0)], 4: [(0, 1, 0), (0, 0, 0)]}
    assert [level.plans for level in report.resolved_at_level] == [
        (0, 1), (3, 0), (1, 0), (1, 1), (1, 0)]


def test_working_days_to_resolution(quarter) -> None:
    _, refs, report, _ = quarter
    by_case = {x: _row(report, refs, x).working_days for x in "ABCDEFGHIJK"}
    assert by_case == {"A": 3, "B": 9, "C": 7, "D": 10, "E": 3, "F": None, "G": None,
                       "H": 8, "I": None, "J": 2, "K": 8}
    assert sorted(report.days_to_resolution) == [2, 3, 3, 7, 8, 8, 9, 10]
    assert report.days_median == 7.5
    assert report.days_p90 == 10
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9


def test_responses_on_time_and_late_per_level(quarter) -> None:
    _, _, report, _ = quarter
    assert {r.level: (r.on_time, r.late, r.no_response) for r in report.responses} == {
        0: (1, 0, 1),  # E on time; K's challenge passed unanswered
        1: (5, 0, 1),  # A, G, H (extended), I, K on time; B unanswered; F withdrawn early
        2: (2, 0, 1),  # B, C on time; G's Service Manager silent
        3: (3, 0, 0),  # C, G, J
        4: (0, 1, 0),  # D answered after the deadline
    }


def test_commendations_and_collective_alerts(quarter) -> None:
    _, _, report, _ = quarter
    assert [c.ref for c in report.commendations] == ["GP-2026-0001", "GP-2026-0002",
                                                     "GP-2026-0003"]
    assert [c.team for c in report.commendations] == [
        "North Children in Care Team", "South Children in Care Team",
        "North Children in Care Team"]
    assert [(a.ref, a.theme, a.status) for a in report.alerts] == [
        ("CA-2026-0001", "Pathway plans not completed for care leavers",
         "Being drafted or agreed")]
    assert report.alerts_raised == 1


def test_brent_columns_per_case(quarter) -> None:
    _, refs, report, _ = quarter
    d = _row(report, refs, "D")
    assert (d.child_ref, d.date_raised.isoformat(), d.level_name,
            d.date_of_response.isoformat(), d.resolution) == (
        "100004", "2026-07-13", "Level 4: Stage Four - Assistant Director", "2026-07-23",
        "Resolved at Stage Four - Assistant Director")
    assert d.matter.startswith("Issue about placement")
    f = _row(report, refs, "F")
    assert (f.resolution, f.date_of_response) == ("Withdrawn at Stage One - Team Manager", None)
    k = _row(report, refs, "K")
    assert k.ref.startswith("PC-") and k.level_name == "Level 1: Stage One - Team Manager"


def test_xlsx_opens_with_its_sheets_values_and_charts(quarter) -> None:
    agent, refs, report, tmp = quarter
    out = tmp / "q3.xlsx"
    write_report(report, out)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Summary", "Cases", "By category", "By team", "By IRO",
                               "By level", "Responses", "Days to resolution",
                               "Commendations", "Collective alerts"]
    summary = {row[0]: row[1:4] for row in book["Summary"].iter_rows(min_row=3, max_row=15,
                                                                      values_only=True)}
    assert summary["Figure"] == ("All cases", "Looked-after children (LAC)",
                                 "Child protection plans (CP)")
    assert summary["Cases raised"] == (11, 8, 3)
    assert summary["Working days to resolution: median"] == (7.5, 8, 5)
    summary = {k: v[0] for k, v in summary.items()}
    assert summary["Resolved"] == 8
    assert summary["Resolution rate (resolved / raised)"] == pytest.approx(8 / 11)
    assert summary["Working days to resolution: median"] == 7.5
    assert summary["Working days to resolution: 90th percentile"] == 10
    assert summary["Commendations"] == 3
    cases = list(book["Cases"].iter_rows(values_only=True))
    assert cases[0][:4] == ("Reference", "Child record number", "Plan", "Type")
    assert {"Matter", "Date raised", "Highest level reached", "Date of response",
            "Resolution"} <= set(cases[0])
    assert len(cases) == 12
    d_row = next(r for r in cases if r[0] == refs["D"])
    assert d_row[8].date().isoformat() == "2026-07-13"
    teams = list(book["By team"].iter_rows(min_row=2, values_only=True))
    assert [t[:5] for t in teams] == [("North Children in Care Team", 6, 5, 1, 0),
                                      ("South Children in Care Team", 5, 3, 0, 2)]
    header = next(book["By team"].iter_rows(max_row=1, values_only=True))
    assert header[6:11] == ("LAC raised", "LAC resolved", "LAC withdrawn", "LAC open",
                            "LAC rate")
    assert [t[6:10] + t[11:15] for t in teams] == [(5, 4, 1, 0, 1, 1, 0, 0),
                                                   (3, 2, 0, 1, 2, 1, 0, 1)]
    alerts = list(book["Collective alerts"].iter_rows(values_only=True))
    assert alerts[1][0] == "CA-2026-0001" and alerts[1][3] == "Being drafted or agreed"
    with zipfile.ZipFile(out) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 7  # four breakdowns, responses, days, commendations by team


def test_csv_has_the_brent_columns(quarter) -> None:
    _, refs, report, tmp = quarter
    out = tmp / "q3.csv"
    write_report(report, out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 11
    b = next(r for r in rows if r["Reference"] == refs["B"])
    assert (b["Child record number"], b["Date raised"], b["Highest level reached"],
            b["Date of response"], b["Resolution"], b["Working days to resolution"]) == (
        "100002", "2026-07-06", "Level 2: Stage Two - Service Manager", "2026-07-16",
        "Resolved at Stage Two - Service Manager", "9")
    assert b["Matter"]


def test_html_has_charts_as_images(quarter) -> None:
    pytest.importorskip("matplotlib", reason="the HTML report's charts need matplotlib, "
                        "a dependency in pyproject.toml")
    _, refs, report, tmp = quarter
    out = tmp / "q3.html"
    write_report(report, out)
    html = out.read_text(encoding="utf-8")
    assert html.count('<img class="chart"') == 6
    assert 'src="data:image/png;base64,' in html
    assert "<script" not in html
    assert refs["A"] in html and "72.7%" in html
    assert "<th class=\"n\">Looked-after children (LAC)</th>" in html
    assert "LAC 75.0% · CP 66.7%" not in html  # rates per plan are per row, not the total
    assert "LAC 5 · CP 1" in html  # North: raised 6, of whom 5 LAC and 1 CP
    write_report(report, tmp / "board.html", include_matter=False)
    assert "Issue about" not in (tmp / "board.html").read_text(encoding="utf-8")


def test_quarter_parsing_and_wrong_formats() -> None:
    assert Quarter.parse("2026q3").code == "2026Q3"
    assert Quarter.parse("2026-Q1").previous().code == "2025Q4"
    assert Quarter.parse("2026Q4").label == "Quarter 4 2026 (October to December)"
    with pytest.raises(ReportProblem):
        Quarter.parse("2026Q5")
    with pytest.raises(ReportProblem):
        write_report(None, Path("report.pdf"))  # type: ignore[arg-type]


def test_command_line_writes_the_report(quarter) -> None:
    agent, _, _, tmp = quarter
    from mailagent.cli.main import app

    out = tmp / "cli.xlsx"
    result = CliRunner().invoke(app, ["report", "quarterly", "--quarter", "2026Q3", "--out",
                                      str(out), "--config", str(config_file(tmp)),
                                      "--now", "2026-10-05T09:00"])
    assert result.exit_code == 0, result.output
    assert out.exists() and "11 cases" in result.output


def test_a_quarter_with_no_cases_is_written_in_every_format(quarter) -> None:
    pytest.importorskip("matplotlib", reason="the HTML report's charts need matplotlib")
    agent, _, _, tmp = quarter
    with Session(agent.engine) as session:
        empty = build_quarterly(session, agent, Quarter.parse("2026Q1"), agent.clock.now())
    assert (empty.raised, empty.days_median, empty.figures[1].rate) == (0, None, None)
    for suffix in ("html", "xlsx", "csv"):
        write_report(empty, tmp / f"empty.{suffix}")
    html = (tmp / "empty.html").read_text(encoding="utf-8")
    assert "No cases were raised in the quarter." in html and "None open in the quarter." in html
