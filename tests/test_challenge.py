"""The monthly challenge-meeting pack, on the quarter of tests/test_reports_quarterly.py.

Leicestershire flags stages 3 and 4 for the challenge meeting. In that quarter:
  July       C (stage 3 from Fri 10 Jul, resolved Thu 16) and D (stage 4 from Mon 13 Jul,
             resolved Mon 27): both closed in the month
  August     J (stage 3 Mon 17 Aug, resolved Wed 19): closed; G (stage 3 from Thu 20 Aug,
             answered Wed 26 Aug): still there, waiting for the IRO's decision
  September  G only, still waiting; its whole process ran out on Tue 8 Sep
  June       nobody reached stage 3
"""

from __future__ import annotations

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from mailagent.reports.challenge import Month, build_pack, render_pack
from mailagent.reports.quarterly import ReportProblem
from tests.reports_seed import config_file, seed_quarter
from tests.support import london, make_agent


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("challenge")
    agent, clock = make_agent(tmp, london(2026, 6, 30, 9))
    refs = seed_quarter(agent)
    clock.set(london(2026, 10, 5, 9))
    yield agent, refs, tmp
    agent.close()


def _pack(agent, month: str):  # type: ignore[no-untyped-def]
    with Session(agent.engine) as session:
        return build_pack(session, agent, Month.parse(month), agent.clock.now())


def test_cases_at_stage_3_or_4_during_each_month(seeded) -> None:
    agent, r, _ = seeded
    july, august, september = (_pack(agent, m) for m in ("2026-07", "2026-08", "2026-09"))
    assert ([c.ref for c in july.open_cases], [c.ref for c in july.closed_cases]) == (
        [], [r["C"], r["D"]])
    assert ([c.ref for c in august.open_cases], [c.ref for c in august.closed_cases]) == (
        [r["G"]], [r["J"]])
    assert ([c.ref for c in september.open_cases], september.closed_cases) == ([r["G"]], ())
    assert _pack(agent, "2026-06").empty


def test_where_each_case_stands_and_its_clock(seeded) -> None:
    agent, r, _ = seeded
    d = _pack(agent, "2026-07").closed_cases[1]
    assert (d.ref, d.where, d.process, d.process_over) == (
        r["D"], "Resolved at Stage Four - Assistant Director on Mon 27 Jul 2026",
        "10 of 20 working days (limit Mon 10 Aug 2026)", False)
    assert d.outcome == "Plan agreed." and d.learning == "Agree plans at the review."
    g = _pack(agent, "2026-09").open_cases[0]
    assert (g.child_ref, g.team, g.iro, g.category, g.senior_since.isoformat()) == (
        "100007", "South Children in Care Team", "Irene Reed", "Services to the child",
        "2026-08-20")
    assert g.where == ("At Stage Three - Head of Service: response received Wed 26 Aug 2026; "
                       "waiting for the IRO's decision")
    assert (g.process, g.process_over) == (
        "36 of 20 working days (limit Tue 8 Sep 2026); over the limit", True)
    steps = [s.what for s in g.steps]
    assert any(s.startswith("Escalated automatically to Stage Three") for s in steps)
    # What each manager replied, in their words, under their response.
    replies = [(s.what, s.said) for s in g.steps if s.what.startswith("Response from")]
    assert replies == [("Response from Tom Marsh", "We will act on this."),
                       ("Response from Hannah Osei", "We will act on this.")]
    assert "Whole-process limit passed" in steps
    # In August the same case is shown as it stood on 31 August.
    g_august = _pack(agent, "2026-08").open_cases[0]
    assert g_august.process == "14 of 20 working days (limit Tue 8 Sep 2026)"


def test_rendered_as_text_and_html(seeded) -> None:
    agent, r, _ = seeded
    pack = _pack(agent, "2026-08")
    text = render_pack(pack, "txt")
    assert text.startswith("Challenge meeting pack: August 2026")
    assert "STILL AT STAGE 3 OR 4 (1)" in text and "CLOSED DURING THE MONTH (1)" in text
    assert r["G"] in text and r["J"] in text and "child record 100007" in text
    assert "Response from Hannah Osei\n                  We will act on this." in text
    html = render_pack(pack, "html")
    assert html.count(f"<h3>{r['G']}") == 1 and "<script" not in html
    assert '<div class="quote pre">We will act on this.</div>' in html


def test_wrong_month() -> None:
    with pytest.raises(ReportProblem):
        Month.parse("2026-13")
    assert Month.parse("2026-12").next_first_day.isoformat() == "2027-01-01"


def test_command_line(seeded) -> None:
    from mailagent.cli.main import app

    agent, r, tmp = seeded
    runner = CliRunner()
    args = ["report", "challenge-meeting", "--month", "2026-07", "--config",
            str(config_file(tmp)), "--now", "2026-10-05T09:00"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert r["C"] in result.output and r["D"] in result.output
    out = tmp / "pack.html"
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "0 open and 2 closed cases for July 2026" in result.output
    assert r["D"] in out.read_text(encoding="utf-8")
