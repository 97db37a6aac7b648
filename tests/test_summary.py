"""The daily summary at a fixed moment: Wednesday 9 September 2026, 08:00 (the sending
time), on the Leicestershire ladder (5 working days a stage; Monday 31 August is a bank
holiday). The last summary went on Tuesday 8 September at 08:00.

  S1  stage 1, opened Wed 2 Sep            due today (Wed 9 Sep)
  S2  stage 1, opened Thu 3 Sep            due tomorrow (Thu 10 Sep)
  S3  stage 4, opened Thu 27 Aug           due Fri 4 Sep, no response: 3 working days overdue
  S4  stage 2, opened Fri 4 Sep            answered Tue 8 Sep: the IRO decides by Thu 10 Sep
  S5  stage 4, opened Mon 3 Aug            overdue, then extended on Tue 11 Aug by 25 working
                                           days (to Wed 16 Sep); the whole process ran out on
                                           Tue 1 Sep: 6 working days over
  S6  Positive Challenge, Tue 8 Sep 14:00  new
  S7  resolved Tue 8 Sep 15:00             resolved since the last summary, no outcome yet
  S8  resolved Mon 7 Sep                   before the last summary: not listed
  S9  stage 1, opened Mon 7 Sep            due Mon 14 Sep; the third open placement case in
                                           the North team (with S5 and S6): a suggested theme
  GP  commendation Tue 8 Sep 12:00
  CA  collective alert raised Tue 25 Aug   acknowledgment due Tue 8 Sep (2 weeks), response
                                           Tue 22 Sep (4 weeks), first follow-up Tue 20 Oct
"""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from mailagent.reports import browser
from mailagent.reports.summary import (
    SummarySettings,
    build_summary,
    render_summary,
    send_daily_summary,
)
from mailagent.store.models import Outbound
from tests.reports_seed import Seeder, config_file
from tests.support import london, make_agent

IRO1, IRO2 = "iro1@example.test", "iro2@example.test"
NOW = london(2026, 9, 9, 8, 0)
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def seed(agent) -> dict[str, str]:  # type: ignore[no-untyped-def]
    s = Seeder(agent)
    r: dict[str, str] = {}
    r["S5"] = s.open(london(2026, 8, 3, 10), team="north", iro=IRO1, category="placement",
                     child="200005", stage="4")
    s.step(r["S5"], london(2026, 8, 11, 8), "timeout")
    s.extend(r["S5"], london(2026, 8, 11, 10), 25)
    r["S3"] = s.open(london(2026, 8, 27, 10), team="south", iro=IRO2, category="drift",
                     child="200003", stage="4")
    r["S7"] = s.open(london(2026, 9, 1, 10), team="south", iro=IRO1, category="contact",
                     child="200007")
    r["S8"] = s.open(london(2026, 9, 1, 11), team="north", iro=IRO2, category="visits",
                     child="200008")
    r["S1"] = s.open(london(2026, 9, 2, 10), team="north", iro=IRO1, category="services",
                     child="200001")
    r["S2"] = s.open(london(2026, 9, 3, 10), team="south", iro=IRO2, category="permanence",
                     child="200002")
    r["S4"] = s.open(london(2026, 9, 4, 10), team="north", iro=IRO2, category="care_plan",
                     child="200004", stage="2")
    r["CA"] = s.alert(london(2026, 8, 24, 10), ref="CA-2026-0001", iro=IRO1, team="north",
                      theme="Pathway plans late for care leavers",
                      raise_at=london(2026, 8, 25, 10))
    s.respond(r["S7"], london(2026, 9, 4, 11))
    s.step(r["S3"], london(2026, 9, 7, 8), "timeout")
    s.resolve(r["S8"], london(2026, 9, 7, 10))
    r["S9"] = s.open(london(2026, 9, 7, 10), team="north", iro=IRO2, category="placement",
                     child="200009")
    s.respond(r["S4"], london(2026, 9, 8, 11))
    r["GP"] = s.other(london(2026, 9, 8, 12), kind="commendation", ref="GP-2026-0001",
                      iro=IRO1, team="north")
    r["S6"] = s.open(london(2026, 9, 8, 14), team="north", iro=IRO1, category="placement",
                     child="200006", kind="challenge")
    s.resolve(r["S7"], london(2026, 9, 8, 15), outcome=None, learning=None)
    return r


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("summary")
    agent, clock = make_agent(tmp, london(2026, 8, 3, 9))
    refs = seed(agent)
    clock.set(NOW)
    yield agent, refs, tmp
    agent.close()


def _lines(summary, key: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(line.ref, line.note) for line in summary.section(key).lines]


def test_what_the_summary_says(seeded) -> None:
    agent, r, _ = seeded
    with Session(agent.engine) as session:
        summary = build_summary(session, agent, NOW)
    assert _lines(summary, "overdue") == [
        (r["S3"], "3 working days overdue (due by end of Fri 4 Sep)")]
    assert _lines(summary, "due_today") == [(r["S1"], "response due by end of Wed 9 Sep")]
    assert summary.section("due_next").title == "Due tomorrow (Thu 10 Sep)"
    assert [ref for ref, _ in _lines(summary, "due_next")] == [r["S2"]]
    assert _lines(summary, "awaiting_decision") == [
        (r["S4"], "response from Sean Mills on Tue 8 Sep; decision due by end of Thu 10 Sep")]
    assert _lines(summary, "process_breaches") == [
        (r["S5"], "whole process 6 working days over (limit ended Tue 1 Sep)")]
    assert [ref for ref, _ in _lines(summary, "senior")] == [r["S5"], r["S3"]]
    assert [note for _, note in _lines(summary, "senior")] == [
        "since Mon 3 Aug; response due by end of Wed 16 Sep", "since Thu 27 Aug; response overdue"]
    assert [ref for ref, _ in _lines(summary, "new")] == [r["S6"]]
    assert _lines(summary, "closed") == [
        (r["S7"], "resolved Tue 8 Sep 15:00; outcome not yet recorded")]
    assert [ref for ref, _ in _lines(summary, "commendations")] == ["GP-2026-0001"]
    assert _lines(summary, "alerts") == [(
        "CA-2026-0001",
        "Pathway plans late for care leavers; raised; waiting for a written acknowledgment; "
        "acknowledgment due by end of Tue 8 Sep; response due by end of Tue 22 Sep; "
        "next follow-up Tue 20 Oct; OVERDUE: the written acknowledgment (due by Tue 8 Sep)")]
    assert _lines(summary, "themes") == [(
        "", f"Placement in North Children in Care Team: 3 open cases ({r['S5']}, {r['S9']}, "
        f"{r['S6']}); consider a collective alert")]
    s3 = summary.section("overdue").lines[0]
    assert (s3.child_ref, s3.stage, s3.team, s3.iro) == (
        "200003", "Stage Four - Assistant Director", "South Children in Care Team", "Ivan Rowe")
    assert summary.headline == ("1 overdue, 1 due today, 1 awaiting decision, "
                                "1 over the whole-process limit, 1 new")


def test_one_iros_summary_has_only_their_cases(seeded) -> None:
    agent, r, _ = seeded
    with Session(agent.engine) as session:
        summary = build_summary(session, agent, NOW, for_iro=IRO2)
    refs = {line.ref for section in summary.sections for line in section.lines}
    assert refs == {r["S2"], r["S3"], r["S4"]}  # S9 is not due yet
    assert "alerts" not in {s.key for s in summary.sections}


def test_rendered_email_names_cases_by_reference_only(seeded) -> None:
    agent, r, _ = seeded
    with Session(agent.engine) as session:
        rendered = render_summary(agent, build_summary(session, agent, NOW))
    assert rendered.subject.startswith(
        "IRO escalations: daily summary for Wednesday 9 September 2026: 1 overdue")
    for part in (rendered.text, rendered.html):
        assert all(r[k] in part for k in ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "CA"))
        assert r["S8"] not in part
        assert "200003" in part  # the child's record number
        assert "Issue about" not in part  # no free text the IRO wrote
    assert "OVERDUE (1)" in rendered.text
    assert "<script" not in rendered.html.lower()
    assert "<style" not in rendered.html.lower()  # inlined for Outlook
    assert 'style="' in rendered.html


def test_sent_once_a_working_day_to_the_iro_team_manager(seeded) -> None:
    agent, _, _ = seeded
    assert send_daily_summary(agent, london(2026, 9, 9, 7, 59)) is False  # before 08:00
    assert send_daily_summary(agent, NOW) is True
    assert send_daily_summary(agent, london(2026, 9, 9, 10)) is False  # already queued
    assert send_daily_summary(agent, london(2026, 9, 12, 9)) is False  # Saturday
    assert send_daily_summary(agent, london(2026, 8, 31, 9)) is False  # bank holiday
    with Session(agent.engine) as session:
        rows = session.exec(select(Outbound).where(Outbound.purpose == "daily_summary")).all()
    assert [(row.dedupe_key, row.recipients) for row in rows] == [
        ("summary:2026-09-09", ["manager@example.test"])]
    msg = message_from_bytes(rows[0].raw, policy=policy.default)
    assert msg["To"] == "Mona Manning <manager@example.test>"
    assert msg.get_body(preferencelist=("html",)) is not None
    assert msg.get_body(preferencelist=("plain",)) is not None


def test_each_iro_gets_their_own_when_configured(seeded) -> None:
    agent, _, _ = seeded
    original = agent.settings
    agent.settings = original.model_copy(update={"summary": SummarySettings(per_iro=True)})
    try:
        assert send_daily_summary(agent, london(2026, 9, 10, 8)) is True
    finally:
        agent.settings = original
    with Session(agent.engine) as session:
        rows = session.exec(select(Outbound).where(
            Outbound.dedupe_key.startswith("summary:2026-09-10"))).all()  # type: ignore[union-attr]
    assert sorted((row.dedupe_key, tuple(row.recipients)) for row in rows) == [
        ("summary:2026-09-10", ("manager@example.test",)),
        ("summary:2026-09-10:iro1@example.test", ("iro1@example.test",)),
        ("summary:2026-09-10:iro2@example.test", ("iro2@example.test",)),
    ]


def test_nothing_sent_on_a_quiet_day_unless_configured(tmp_path) -> None:
    agent, _ = make_agent(tmp_path, NOW)
    try:
        assert send_daily_summary(agent, NOW) is False
        with Session(agent.engine) as session:
            assert build_summary(session, agent, NOW).empty
        agent.settings = agent.settings.model_copy(
            update={"summary": SummarySettings(send_empty=True)})
        assert send_daily_summary(agent, NOW) is True
        with Session(agent.engine) as session:
            row = session.exec(select(Outbound)).one()
        assert "nothing to report" in message_from_bytes(row.raw, policy=policy.default)[
            "Subject"]
    finally:
        agent.close()


def test_preview_from_the_command_line(seeded) -> None:
    from mailagent.cli.main import app

    agent, r, tmp = seeded
    runner = CliRunner()
    result = runner.invoke(app, ["summary", "--preview", "--now", "2026-09-09T08:00",
                                 "--config", str(config_file(tmp))])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Subject: IRO escalations: daily summary")
    assert r["S3"] in result.output
    out = tmp / "preview.html"
    result = runner.invoke(app, ["summary", "--preview", "--now", "2026-09-09T08:00", "--out",
                                 str(out), "--config", str(config_file(tmp))])
    assert result.exit_code == 0, result.output
    assert r["S3"] in out.read_text(encoding="utf-8")


def test_html_renders_in_headless_chromium(seeded, tmp_path) -> None:
    if browser.find_chromium() is None:
        pytest.skip("Chromium is not installed (bash scripts/chromium.sh install)")
    agent, _, _ = seeded
    with Session(agent.engine) as session:
        rendered = render_summary(agent, build_summary(session, agent, NOW))
    page = tmp_path / "daily-summary.html"
    page.write_text(rendered.html, encoding="utf-8")
    shot = ARTIFACTS / "daily-summary.png"
    browser.screenshot(page, shot, width=820, height=1900)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a page with content, not a blank one
