"""The case engine through the real pipeline, on the embedded default (Maildir in, SQLite,
files out): each case transition, who is told, and that time-driven steps happen once.

Dates are worked out by hand from the calendar (England and Wales bank holidays):
an escalation on Monday 2 November 2026 has 5 working days to the end of Monday 9
November, and is reminded on Friday 6 November.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailagent.cli.main import app
from mailagent.logs import PROTOCOL_LOGGERS
from tests.clients import (
    delivery_failure,
    exchange_out_of_office,
    gmail_new,
    gmail_reply,
    outlook_new,
    outlook_reply,
)
from tests.desk import ESCALATION, IRO, Desk, Sent, fields
from tests.support import PROJECT_DIR, london

# Production runs on PostgreSQL: every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("each_database")

TM = "Tara Moss <tm1@example.test>"
SW = "Sam Walker <sw1@example.test>"
SM = "Sean Mills <sm1@example.test>"
OPENED = london(2026, 11, 2, 10)
# Leicestershire's stage one: to the team manager, copying the social worker (and the IRO).
STAGE_1 = (["tm1@example.test"], ["sw1@example.test", "iro1@example.test"])


def open_case(desk: Desk, body: str = ESCALATION, *, tag: str = "[ESCALATE]",
              at: datetime = OPENED) -> Sent:
    """The IRO's tagged email arrives; returns the email the stage's addressee received."""
    desk.receive(outlook_new(IRO, f"{tag} Placement plan not started", body, at=at))
    desk.run(at + timedelta(minutes=5))
    return desk.one("escalation", desk.new())


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = Desk(tmp_path, OPENED)
    yield desk
    desk.close()


def test_reminder_one_working_day_before_to_the_addressee_copying_the_iro(desk: Desk) -> None:
    open_case(desk)
    desk.run(london(2026, 11, 6, 8, 59))
    assert desk.new() == []  # not before working hours
    desk.run(london(2026, 11, 6, 9, 0))
    (reminder,) = desk.new()
    assert reminder.purpose == "reminder"
    assert (reminder.to, reminder.cc) == (["tm1@example.test"], ["iro1@example.test"])
    assert reminder.subject == (
        "[ESC-2026-0001] Reminder: response due by Mon 9 Nov (Stage One - Team Manager)"
    )
    assert "by end of Monday 9 November 2026" in reminder.text
    assert reminder.msg["Auto-Submitted"] == "auto-generated"
    desk.run(london(2026, 11, 6, 9, 0))
    desk.run(london(2026, 11, 6, 15, 0))
    assert desk.new() == []  # once


def test_reminder_days_are_set_by_the_ladder(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_DIR / "rules", rules)
    ladder = rules / "ladders" / "leicestershire.toml"
    ladder.write_text(ladder.read_text().replace(
        "reminder_working_days_before = 1", "reminder_working_days_before = 2"))
    desk = Desk(tmp_path, OPENED, agent_options={"rules_dir": rules})
    try:
        open_case(desk)
        desk.run(london(2026, 11, 5, 9, 0))  # Thursday: two working days before Monday
        assert [s.purpose for s in desk.new()] == ["reminder"]
    finally:
        desk.close()


def test_response_asks_the_iro_to_decide_and_reminds_them_once(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(outlook_reply(
        escalation.row.raw, TM, "The placement search starts today.\n\nTara Moss\nTeam Manager",
        at=london(2026, 11, 3, 11)))
    desk.run(london(2026, 11, 3, 11, 5))
    asked = desk.one("response_received")
    assert asked.to == ["iro1@example.test"]
    assert "The placement search starts today." in asked.text
    assert "From: IRO Escalations" not in asked.text  # the quoted history is not repeated
    assert "Please decide by end of Thursday 5 November 2026." in asked.text
    for command in ("#resolved", "#escalate", "#extend <N>"):
        assert command in asked.text
    assert desk.case().stage_state == "awaiting_decision"
    # The stage's deadline no longer runs: no reminder, no escalation on Monday.
    desk.run(london(2026, 11, 5, 16))
    assert desk.new() == []
    desk.run(london(2026, 11, 6, 0, 0))  # the decision was due by the end of Thursday
    reminder = desk.one("decision_reminder")
    assert reminder.row.not_before == london(2026, 11, 6, 9, 0)  # held until working hours
    assert reminder.to == ["iro1@example.test"]
    assert "Tara Moss responded" in reminder.text
    assert "by end of Thursday 5 November 2026" in reminder.text
    for at in (london(2026, 11, 6, 0, 0), london(2026, 11, 10, 12), london(2026, 11, 20, 12)):
        desk.run(at)
    assert [s.purpose for s in desk.new()] == []
    assert desk.case().stage_id == "stage_1"


def test_bypass_by_command_starts_the_new_stage_clock(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#escalate to stage 3\n\nIrene",
                             at=london(2026, 11, 4, 14)))
    desk.run(london(2026, 11, 4, 14, 5))
    rows = desk.new()
    stage3 = desk.one("escalation", rows)
    assert stage3.to == ["hos1@example.test"]
    assert stage3.cc == ["sm1@example.test", "tm1@example.test", "iro1@example.test"]
    assert "Please respond by end of Wednesday 11 November 2026." in stage3.text
    notice = desk.one("escalated_notice", rows)
    assert notice.to == ["iro1@example.test"]
    assert set(notice.cc) == {"tm1@example.test", "sw1@example.test"}  # the previous stage
    case = desk.case()
    assert case.stage_id == "stage_3"
    # The whole-process clock started with the formal process and keeps running.
    assert case.process_deadline == london(2026, 12, 1, 0, 0)


def test_bypass_by_stage_field_opens_at_that_stage(desk: Desk) -> None:
    escalation = open_case(desk, fields(stage="3"))
    assert escalation.to == ["hos1@example.test"]
    assert desk.case().ref == "ESC-2026-0001"
    assert desk.case().stage_id == "stage_3"


def test_bypass_to_a_stage_that_does_not_exist_is_refused_with_the_choices(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#escalate to stage 9",
                             at=london(2026, 11, 4, 14)))
    desk.run(london(2026, 11, 4, 14, 5))
    refused = desk.one("command_refused")
    assert refused.to == ["iro1@example.test"]
    assert "stage_4 (Stage Four - Assistant Director)" in refused.text
    assert desk.case().stage_id == "stage_1"


@pytest.mark.parametrize(
    ("council", "deadline", "stage_1_to"),
    [
        ("leicestershire", "Monday 9 November 2026", "tm1@example.test"),  # "5 days"
        ("qa-issue-resolution", "Monday 16 November 2026", "tm1@example.test"),  # up to 10
    ],
)
def test_informal_challenge_then_escalate_to_formal_stage_one_with_history(
    tmp_path: Path, council: str, deadline: str, stage_1_to: str
) -> None:
    desk = Desk(tmp_path, OPENED, council=council)
    try:
        challenge = open_case(desk, tag="[CHALLENGE]")
        assert challenge.subject.startswith("[PC-2026-0001] ")
        assert (challenge.to, challenge.cc) == (
            ["sw1@example.test"], ["tm1@example.test", "iro1@example.test"])
        assert f"Please respond by end of {deadline}." in challenge.text
        assert "informally" in challenge.text
        assert desk.case().process_deadline is None  # the 20 days start at formal
        desk.receive(outlook_reply(challenge.row.raw, IRO, "#escalate\n\nIrene",
                                   at=london(2026, 11, 5, 10)))
        desk.run(london(2026, 11, 5, 10, 5))
        formal = desk.one("escalation")
        assert formal.to == [stage_1_to]
        assert formal.subject.startswith("[PC-2026-0001] ")  # the same thread, the same case
        assert "Opened at" in formal.text and "Escalated by the IRO" in formal.text
        case = desk.case()
        assert (case.kind, case.status) == ("escalation", "open")
        assert case.process_deadline == london(2026, 12, 4, 0, 0)  # 20 days from Thursday
    finally:
        desk.close()


def test_extend_moves_the_deadline_and_tells_everyone(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#extend 3", at=london(2026, 11, 4, 9)))
    desk.run(london(2026, 11, 4, 9, 5))
    told = desk.one("extended")
    assert (told.to, told.cc) == STAGE_1
    assert "now due by end of Thursday 12 November 2026" in told.text
    assert told.subject == "[ESC-2026-0001] Deadline extended to Thu 12 Nov"
    # The old deadline passes quietly; the reminder comes before the new one.
    desk.run(london(2026, 11, 10, 0, 0))
    assert desk.new() == []
    desk.run(london(2026, 11, 11, 9, 0))
    assert [s.purpose for s in desk.new()] == ["reminder"]
    desk.run(london(2026, 11, 13, 9, 0))
    assert desk.case().stage_id == "stage_2"


def test_extend_after_an_overdue_notice_counts_from_today(tmp_path: Path) -> None:
    # Leicestershire's stage 4 notifies and waits; the IRO extends a week after the deadline.
    desk = Desk(tmp_path, OPENED)
    try:
        escalation = open_case(desk, fields(stage="4"))
        desk.run(london(2026, 11, 10, 9, 0))
        overdue = desk.one("overdue_notice")
        assert overdue.to == ["iro1@example.test"] and overdue.cc == ["manager@example.test"]
        desk.receive(gmail_reply(escalation.row.raw, IRO, "#extend 2", at=london(2026, 11, 16, 9)))
        desk.run(london(2026, 11, 16, 9, 5))
        assert "now due by end of Wednesday 18 November 2026" in desk.one("extended").text
        desk.run(london(2026, 11, 17, 9, 5))
        assert desk.case().stage_state == "awaiting_response"
    finally:
        desk.close()


def test_pause_and_resume_keep_the_working_days_left(desk: Desk) -> None:
    escalation = open_case(desk)
    # Wednesday: Monday 9 November is 3 working days away (Thursday, Friday, Monday).
    desk.receive(outlook_reply(escalation.row.raw, IRO, "#pause court hearing on 20 November",
                               at=london(2026, 11, 4, 10)))
    desk.run(london(2026, 11, 4, 10, 5))
    paused = desk.one("paused")
    assert (paused.to, paused.cc) == STAGE_1
    assert "court hearing on 20 November" in paused.text
    assert "3 working days left" in paused.text
    case = desk.case()
    assert (case.stage_state, case.paused_working_days_left) == ("paused", 3)
    # Nothing is due while paused: no reminder, no escalation, however long it lasts.
    for day in (6, 9, 10, 16, 23):
        desk.run(london(2026, 11, day, 9, 30))
    assert desk.new() == []
    desk.receive(outlook_reply(escalation.row.raw, IRO, "#resume", at=london(2026, 11, 23, 10)))
    desk.run(london(2026, 11, 23, 10, 5))
    resumed = desk.one("resumed")
    assert "now due by end of Thursday 26 November 2026" in resumed.text
    case = desk.case()
    assert (case.stage_state, case.paused_working_days_left) == ("awaiting_response", None)
    kinds = [e.kind for e in desk.events() if e.kind in ("paused", "resumed")]
    assert kinds == ["paused", "resumed"]
    desk.run(london(2026, 11, 25, 9, 0))
    assert [s.purpose for s in desk.new()] == ["reminder"]
    desk.run(london(2026, 11, 27, 9, 0))
    assert desk.case().stage_id == "stage_2"


def test_withdraw_tells_everyone_and_stops_the_clock(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#withdraw raised in error",
                             at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    told = desk.one("withdrawn")
    assert (told.to, told.cc) == STAGE_1
    assert "raised in error" in told.text
    assert desk.case().status == "withdrawn"
    desk.run(london(2026, 11, 20, 9))
    assert desk.new() == []


def test_cafcass_for_a_looked_after_child_sends_the_checklist(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#cafcass", at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    sent = desk.new()
    notice = desk.one("cafcass", sent)
    assert notice.to == ["iro1@example.test"]
    # The ladder's notify roles; those who must meet first are asked in their own email.
    assert set(notice.cc) == {"manager@example.test", "ssm@example.test"}
    meeting = desk.one("cafcass_meeting_request", sent)
    assert set(meeting.to) == {"ad1@example.test", "hos1@example.test", "hosqa@example.test"}
    assert "A report by the IRO explaining why" in notice.text
    assert "court reference number" in notice.text
    assert "Meeting with the Assistant Director" in notice.text
    assert [e.kind for e in desk.events("cafcass")] == ["cafcass"]
    assert desk.case().status == "open"  # a side route: the ladder carries on


def test_cafcass_is_refused_for_a_child_protection_case(desk: Desk) -> None:
    escalation = open_case(desk, fields(plan="CP"))
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#cafcass", at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    refused = desk.one("command_refused")
    assert refused.to == ["iro1@example.test"]
    assert "only possible for looked-after children" in refused.text
    assert "this case's plan is CP" in refused.text
    assert desk.events("cafcass") == []


def test_director_level_attaches_the_briefing_note(tmp_path: Path) -> None:
    desk = Desk(tmp_path, OPENED, council="qa-issue-resolution")
    try:
        escalation = open_case(desk)
        desk.receive(gmail_reply(escalation.row.raw, IRO, "#escalate to dispute_4",
                                 at=london(2026, 11, 3, 9)))
        desk.run(london(2026, 11, 3, 9, 5))
        director = desk.one("escalation")
        assert director.to == ["dcs@example.test"]
        assert director.cc == ["tm1@example.test", "sm1@example.test", "hos1@example.test",
                               "dd1@example.test", "iro1@example.test"]
        (name, note), = director.attachments().items()
        assert name == "director-briefing-ESC-2026-0001.html"
        note_text = note.decode()
        assert "Case briefing for Deputy Director / DCS" in note_text
        assert "123456" in note_text
        assert "The placement plan agreed at the review on 3 December" in note_text
        assert "<style" not in note_text
        assert "briefing note, pre-filled from the case, is attached" in director.text
    finally:
        desk.close()


def test_absent_manager_in_the_directory_the_deputy_gets_it_and_the_iro_is_told(
    desk: Desk,
) -> None:
    # South's Service Manager (sm2) is away; her deputy is North's (sm1).
    stage2 = open_case(desk, fields(team="South", social_worker="Sophie Ward", stage="2"))
    assert set(stage2.to) == {"sm1@example.test", "sm2@example.test"}
    assert stage2.cc == ["tm2@example.test", "iro1@example.test"]
    notice = desk.last("deputy_notice")
    assert notice.to == ["iro1@example.test"]
    assert notice.subject == (
        "[ESC-2026-0001] Sara Moore is away: also sent to Sean Mills (deputy, service manager)")
    assert "Sara Moore is recorded as away,\n" in notice.text
    # The deputy answers for the stage.
    desk.receive(outlook_reply(stage2.row.raw, SM, "Agreed; funding approved today.",
                               at=london(2026, 11, 3, 10)))
    desk.run(london(2026, 11, 3, 10, 5))
    assert desk.one("response_received").to == ["iro1@example.test"]


def test_out_of_office_from_the_addressee_sends_the_stage_to_their_deputy(desk: Desk) -> None:
    escalation = open_case(desk)
    before = len(desk.outbox())
    desk.receive(exchange_out_of_office(
        escalation.row.raw, TM, "I am on leave until 16 November. For urgent matters contact "
        "Sean Mills.", at=london(2026, 11, 2, 10, 6)))
    desk.run(london(2026, 11, 2, 10, 10))
    rows = desk.new()
    assert len(desk.outbox()) == before + 2
    deputy = desk.one("escalation", rows)
    assert deputy.to == ["sm1@example.test"] and deputy.cc == ["iro1@example.test"]
    assert "Please respond by end of Monday 9 November 2026." in deputy.text
    told = desk.one("deputy_notice", rows)
    assert told.to == ["iro1@example.test"]
    assert "out-of-office" in told.text
    assert all("tm1@example.test" not in s.to for s in rows)  # nothing goes back to the OOO
    # A second out-of-office (Exchange sends one per sender a day, some servers more) changes
    # nothing.
    desk.receive(exchange_out_of_office(escalation.row.raw, TM, "Still on leave.",
                                        at=london(2026, 11, 3, 10)))
    desk.run(london(2026, 11, 3, 10, 5))
    assert desk.new() == []
    # The deputy may answer for the stage.
    desk.receive(outlook_reply(deputy.row.raw, SM, "I will take this: the search starts today.",
                               at=london(2026, 11, 3, 11)))
    desk.run(london(2026, 11, 3, 11, 5))
    assert "Sean Mills has responded" in desk.one("response_received").text


def test_bounce_of_our_escalation_tells_the_iro(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(delivery_failure(escalation.row.raw, "tm1@example.test",
                                  at=london(2026, 11, 2, 10, 7)))
    report = desk.run(london(2026, 11, 2, 10, 10))
    assert report.outcomes[-1].case_ref == "ESC-2026-0001"
    told = desk.one("bounce_notice")
    assert told.to == ["iro1@example.test"]
    assert "could not be delivered to\nTara Moss" in told.text
    assert told.msg["Auto-Submitted"] == "auto-generated"
    assert [e.kind for e in desk.events("bounce")] == ["bounce"]


def test_whole_process_breach_is_flagged_once_to_the_iro_manager(desk: Desk) -> None:
    escalation = open_case(desk)
    # The IRO gives more time, twice: the stage runs on to Monday 7 December.
    for day, days in ((5, 10), (19, 10)):
        desk.receive(gmail_reply(escalation.row.raw, IRO, f"#extend {days}",
                                 at=london(2026, 11, day, 9)))
        desk.run(london(2026, 11, day, 9, 5))
    desk.new()
    # 20 working days from Monday 2 November end with Monday 30 November.
    desk.run(london(2026, 11, 30, 16, 0))
    assert desk.new() == []
    desk.run(london(2026, 12, 1, 0, 0))
    breach = desk.one("process_breach")
    assert breach.row.not_before == london(2026, 12, 1, 9, 0)
    assert set(breach.to) == {"manager@example.test", "ssm@example.test"}
    assert breach.cc == ["iro1@example.test"]
    assert "the limit ended on Monday 30 November 2026" in breach.text
    for at in (london(2026, 12, 1, 0, 0), london(2026, 12, 2, 9), london(2026, 12, 14, 9)):
        desk.run(at)
    assert [s.purpose for s in desk.new() if s.purpose == "process_breach"] == []
    assert len(desk.events("process_breach")) == 1


def test_daily_cap_per_recipient_per_case_stops_a_loop(tmp_path: Path) -> None:
    desk = Desk(tmp_path, OPENED,
                agent_options={"max_emails_per_recipient_per_case_per_day": 3})
    try:
        escalation = open_case(desk)
        # The team manager writes a command they may not use, again and again: each is
        # answered (and the IRO told of the reply) until the cap is reached.
        for minute in range(6):
            desk.receive(outlook_reply(escalation.row.raw, TM, f"#resolved\n\n({minute})",
                                       at=london(2026, 11, 2, 11, minute)))
            desk.run(london(2026, 11, 2, 11, minute, 30))
        to_tm = [s for s in desk.outbox() if "tm1@example.test" in s.to + s.cc]
        assert len(to_tm) == 3
        desk.new()
        # The next day the cap starts again.
        desk.receive(outlook_reply(escalation.row.raw, TM, "#resolved\n\n(next day)",
                                   at=london(2026, 11, 3, 11)))
        desk.run(london(2026, 11, 3, 11, 5))
        to_tm = [s.purpose for s in desk.new() if "tm1@example.test" in s.to]
        assert to_tm == ["command_refused"]
    finally:
        desk.close()


def test_resolved_without_outcome_asks_once_and_records_the_later_reply(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, TM, "Search started; placement found.",
                             at=london(2026, 11, 4, 9)))
    desk.run(london(2026, 11, 4, 9, 5))
    asked = desk.one("response_received")
    desk.receive(gmail_reply(asked.row.raw, IRO, "#resolved\n\nThanks all",
                             at=london(2026, 11, 4, 12)))
    desk.run(london(2026, 11, 4, 12, 5))
    rows = desk.new()
    resolved = desk.one("resolved", rows)
    assert resolved.to == ["tm1@example.test"]
    assert set(resolved.cc) == {"sw1@example.test", "iro1@example.test", "manager@example.test"}
    request = desk.one("outcome_request", rows)
    assert request.to == ["iro1@example.test"]
    assert "Outcome:" in request.text and "Learning:" in request.text
    # A thank-you with no outcome is recorded, and is not asked about again.
    desk.receive(gmail_reply(resolved.row.raw, TM, "Thank you.", at=london(2026, 11, 4, 13)))
    desk.run(london(2026, 11, 4, 13, 5))
    assert desk.new() == []
    desk.receive(gmail_reply(request.row.raw, IRO,
                             "Outcome: A placement was agreed at panel.\n"
                             "Learning: Placement plans need a named manager.",
                             at=london(2026, 11, 5, 9)))
    desk.run(london(2026, 11, 5, 9, 5))
    case = desk.case()
    assert case.status == "resolved"
    assert case.outcome == "A placement was agreed at panel."
    assert case.learning == "Placement plans need a named manager."
    assert desk.new() == []


def test_resolved_with_outcome_and_learning_asks_nothing(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(outlook_reply(escalation.row.raw, IRO,
                               "#resolved\nOutcome: Placement agreed.\nLearning: Named owners.",
                               at=london(2026, 11, 4, 9)))
    desk.run(london(2026, 11, 4, 9, 5))
    assert [s.purpose for s in desk.new()] == ["resolved"]
    case = desk.case()
    assert (case.outcome, case.learning) == ("Placement agreed.", "Named owners.")


def test_a_stranger_with_the_reference_cannot_attach_to_the_case(desk: Desk) -> None:
    escalation = open_case(desk)
    forged = outlook_new("Mallory <outsider@example.test>",
                         "RE: [ESC-2026-0001] Stage One - Team Manager", "#resolved\n\nDone.\n"
                         "[ma:ESC-2026-0001]", at=london(2026, 11, 3, 9))
    desk.receive(forged)
    another_iro = gmail_new("Ivan Rowe <iro2@example.test>", "[ESC-2026-0001] a question",
                            "I am responding for the team: all sorted.", at=london(2026, 11, 3, 9))
    desk.receive(another_iro)
    report = desk.run(london(2026, 11, 3, 9, 5))
    statuses = [(o.status, o.case_ref) for o in report.outcomes]
    assert statuses[0] == ("quarantined", None)
    assert statuses[1][1] is None  # the other IRO gets help, not the case
    case = desk.case()
    assert (case.status, case.stage_state) == ("open", "awaiting_response")
    assert desk.events("response") == [] and desk.events("resolved") == []
    assert all("Resolved" not in s.subject for s in desk.new())
    del escalation


def test_a_reply_from_someone_else_on_the_thread_does_not_answer_the_stage(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(outlook_reply(escalation.row.raw, SW, "I am on it.", at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    assert desk.new() == []
    assert desk.case().stage_state == "awaiting_response"
    (reply,) = desk.events("reply")
    assert reply.actor == "sw1@example.test"
    # So the stage still escalates when its addressee has not answered.
    desk.run(london(2026, 11, 10, 9, 0))
    assert desk.case().stage_id == "stage_2"


@pytest.fixture
def own_logging() -> Iterator[None]:
    """The CLI sets up logging on the stream CliRunner lends it; put pytest's back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in PROTOCOL_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_sweep_dry_run_from_the_command_line_prints_and_changes_nothing(
    desk: Desk, tmp_path: Path, own_logging: None
) -> None:
    open_case(desk)
    desk.close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[agent]\ncouncil = "leicestershire"\nmailbox = "agent@example.test"\n'
        f'rules_dir = "{PROJECT_DIR / "rules"}"\ntemplates_dir = "{PROJECT_DIR / "templates"}"\n'
        f'data_dir = "{tmp_path}"\n[database]\nurl = "{desk.agent.settings.database.url}"\n'
        f'[directory]\npath = "{PROJECT_DIR / "rules" / "directory.example.toml"}"\n'
        f'[source]\nkind = "maildir"\npath = "{tmp_path / "mailbox"}"\n'
        f'[transport]\nkind = "files"\npath = "{tmp_path / "sent"}"\n'
    )
    runner = CliRunner()
    before = len(desk.outbox())
    late = "2026-11-10T09:30:00+00:00"
    dry = runner.invoke(app, ["sweep", "--config", str(config), "--now", late, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [
        "ESC-2026-0001: would escalate from Stage One - Team Manager to Stage Two - Service "
        "Manager (no response by the deadline)"]
    assert len(desk.outbox()) == before and desk.case().stage_id == "stage_1"
    unsure = runner.invoke(app, ["sweep", "--config", str(config), "--now", late])
    assert unsure.exit_code == 2  # a pretend time changes real cases only with --yes
    assert unsure.stdout == dry.stdout and "Run again with --yes" in unsure.stderr
    assert len(desk.outbox()) == before and desk.case().stage_id == "stage_1"
    real = runner.invoke(app, ["sweep", "--config", str(config), "--now", late, "--yes"])
    assert real.exit_code == 0, real.output
    assert "escalated to Stage Two - Service Manager" in real.output
    assert desk.case().stage_id == "stage_2"
    again = runner.invoke(app, ["sweep", "--config", str(config), "--now", late])
    assert again.exit_code == 0 and "nothing is due" in again.output


def test_reminded_again_before_an_extended_deadline(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.run(london(2026, 11, 6, 9, 0))
    assert [s.purpose for s in desk.new()] == ["reminder"]
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#extend 2", at=london(2026, 11, 6, 12)))
    desk.run(london(2026, 11, 6, 12, 5))
    assert "now due by end of Wednesday 11 November 2026" in desk.one("extended").text
    desk.run(london(2026, 11, 10, 9, 0))
    reminder = desk.one("reminder")
    assert "by end of Wednesday 11 November 2026" in reminder.text


def test_out_of_office_with_no_deputy_tells_the_iro(desk: Desk) -> None:
    # South's team manager (tm2) has no deputy in the directory.
    escalation = open_case(desk, fields(team="South", social_worker="Sophie Ward"))
    assert escalation.to == ["tm2@example.test"]
    desk.receive(exchange_out_of_office(escalation.row.raw, "Tom Marsh <tm2@example.test>",
                                        "Away until Monday.", at=london(2026, 11, 2, 10, 6)))
    desk.run(london(2026, 11, 2, 10, 10))
    told = desk.one("deputy_notice")
    assert told.to == ["iro1@example.test"]
    assert told.subject == "[ESC-2026-0001] Tom Marsh is away"
    assert "names\nno deputy" in told.text
    assert desk.case().stand_ins == []


def test_whole_process_breach_is_flagged_while_the_stage_is_paused(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#pause awaiting the court hearing",
                             at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    desk.new()
    desk.run(london(2026, 12, 1, 9, 0))
    assert [s.purpose for s in desk.new()] == ["process_breach"]
    assert desk.case().stage_state == "paused"
    desk.run(london(2026, 12, 2, 9, 0))
    assert desk.new() == []


def test_the_addressees_command_is_refused_but_still_answers_the_stage(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(outlook_reply(escalation.row.raw, TM, "Placement found today.\n\n#resolved",
                               at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    rows = desk.new()
    assert desk.one("command_refused", rows).to == ["tm1@example.test"]
    asked = desk.one("response_received", rows)
    assert "Placement found today." in asked.text
    case = desk.case()
    assert (case.status, case.stage_state) == ("open", "awaiting_decision")


def test_the_iro_manager_may_resolve(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, "Mona Manning <manager@example.test>",
                             "#resolved\nOutcome: Agreed at supervision.\nLearning: None new.",
                             at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    assert [s.purpose for s in desk.new()] == ["resolved"]
    assert desk.case().status == "resolved"


def test_outcome_sent_with_resolved_after_the_case_closed_is_recorded(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#resolved", at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    request = desk.one("outcome_request", desk.new())
    desk.receive(outlook_reply(request.row.raw, IRO,
                               "#resolved\nOutcome: Placement agreed.\nLearning: Plan earlier.",
                               at=london(2026, 11, 4, 9)))
    desk.run(london(2026, 11, 4, 9, 5))
    assert desk.new() == []  # recorded, not refused
    case = desk.case()
    assert (case.outcome, case.learning) == ("Placement agreed.", "Plan earlier.")


def test_the_next_stage_gets_what_the_last_one_answered(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(outlook_reply(escalation.row.raw, TM, "We have no placements until January.",
                               at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    asked = desk.one("response_received")
    desk.receive(gmail_reply(asked.row.raw, IRO, "#escalate", at=london(2026, 11, 3, 10)))
    desk.run(london(2026, 11, 3, 10, 5))
    stage2 = desk.one("escalation", desk.new())
    assert "Response from Tara Moss" in stage2.text
    assert "We have no placements until January." in stage2.text
    assert "We have no placements until January." in stage2.html


def test_escalating_beyond_the_last_stage_is_refused_pointing_to_cafcass(desk: Desk) -> None:
    escalation = open_case(desk, fields(stage="4"))
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#escalate", at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    refused = desk.one("command_refused")
    assert "Stage Four - Assistant Director is the last stage" in refused.text
    assert "#cafcass" in refused.text


def test_no_service_manager_routes_to_the_head_of_service(tmp_path: Path) -> None:
    # Brent: "If there is NO Service Manager ... raise the concerns with the Head of Service."
    directory = tmp_path / "directory.toml"
    text = (PROJECT_DIR / "rules" / "directory.example.toml").read_text()
    directory.write_text(text.replace('email = "sm1@example.test"',
                                      'email = "sm1@example.test"\nabsent = true'))
    desk = Desk(tmp_path, OPENED, council="brent", directory={"path": str(directory)})
    try:
        escalation = open_case(desk, fields(stage="service_manager"))
        assert escalation.to == ["hos1@example.test"]
        assert escalation.cc == ["po1@example.test", "iro1@example.test"]
        assert "Please respond by end of Monday 16 November 2026." in escalation.text  # 10 days
        assert desk.case().stage_id == "head_of_service"
        assert [e.kind for e in desk.events("routed")] == ["routed"]
    finally:
        desk.close()


def test_pausing_while_the_iro_decides_restarts_their_time_on_resume(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, TM, "Done what we can.",
                             at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    asked = desk.one("response_received")
    desk.receive(gmail_reply(asked.row.raw, IRO, "#pause waiting for the panel",
                             at=london(2026, 11, 3, 10)))
    desk.run(london(2026, 11, 3, 10, 5))
    desk.receive(gmail_reply(asked.row.raw, IRO, "#resume", at=london(2026, 11, 16, 10)))
    desk.run(london(2026, 11, 16, 10, 5))
    assert [s.purpose for s in desk.new()] == ["paused", "resumed"]
    desk.run(london(2026, 11, 17, 10))
    assert desk.new() == []  # not reminded at once: two working days from the resume
    desk.run(london(2026, 11, 19, 9))
    assert [s.purpose for s in desk.new()] == ["decision_reminder"]


def test_one_broken_case_does_not_stop_the_sweep_for_the_others(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from mailagent.cases.kinds import KINDS

    open_case(desk)
    open_case(desk, fields(child="654321"), at=OPENED + timedelta(minutes=1))
    real = KINDS["escalation"].apply_due

    def broken_for_the_first(session, agent, case, step, now):  # type: ignore[no-untyped-def]
        if case.ref == "ESC-2026-0001":
            raise RuntimeError("a template went wrong")
        return real(session, agent, case, step, now)

    monkeypatch.setitem(KINDS, "escalation",
                        replace(KINDS["escalation"], apply_due=broken_for_the_first))
    desk.run(london(2026, 11, 10, 9))
    assert desk.case("ESC-2026-0001").stage_id == "stage_1"
    assert desk.case("ESC-2026-0002").stage_id == "stage_2"


def _directory_with(tmp_path: Path, email: str, extra: str) -> dict[str, str]:
    """The example directory with `extra` lines added to one person's entry."""
    path = tmp_path / "directory.toml"
    text = (PROJECT_DIR / "rules" / "directory.example.toml").read_text()
    marker = f'email = "{email}"'
    assert marker in text
    path.write_text(text.replace(marker, f"{marker}\n{extra}", 1))
    return {"path": str(path)}


def test_a_stage_no_one_can_receive_is_reported_to_the_iro_and_their_manager(
    tmp_path: Path,
) -> None:
    # North's Service Manager is away and the directory names no deputy.
    desk = Desk(tmp_path, OPENED,
                directory=_directory_with(tmp_path, "sm1@example.test", "absent = true"))
    try:
        open_case(desk)
        escalation = desk.last("escalation")
        desk.receive(gmail_reply(escalation.row.raw, IRO, "#escalate", at=london(2026, 11, 3, 9)))
        desk.run(london(2026, 11, 3, 9, 5))
        rows = desk.new()
        assert [s.purpose for s in rows if s.purpose == "escalation"] == []
        told = desk.one("unaddressed", rows)
        assert (told.to, told.cc) == (["iro1@example.test"], ["manager@example.test"])
        assert "no one available in\nthe service manager role" in told.text
    finally:
        desk.close()


def test_an_absent_iro_has_their_notices_go_to_their_deputy_by_name(tmp_path: Path) -> None:
    desk = Desk(tmp_path, OPENED,
                directory=_directory_with(tmp_path, "iro1@example.test", "absent = true"))
    try:
        escalation = open_case(desk)
        assert escalation.msg["Cc"] == (
            "Sam Walker <sw1@example.test>, Mona Manning <manager@example.test>")
        assert desk.last("acknowledgment").msg["To"] == "Mona Manning <manager@example.test>"
    finally:
        desk.close()


def test_an_answer_while_paused_is_passed_on_and_decided_after_resume(desk: Desk) -> None:
    escalation = open_case(desk)
    desk.receive(gmail_reply(escalation.row.raw, IRO, "#pause court hearing",
                             at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    desk.receive(outlook_reply(escalation.row.raw, TM, "The court asked us to wait.",
                               at=london(2026, 11, 4, 9)))
    desk.run(london(2026, 11, 4, 9, 5))
    asked = desk.last("response_received")
    assert "The case is paused: decide when you resume it (#resume)." in asked.text
    assert desk.case().stage_state == "paused"
    desk.receive(gmail_reply(asked.row.raw, IRO, "#resume", at=london(2026, 11, 20, 9)))
    desk.run(london(2026, 11, 20, 9, 5))
    case = desk.case()
    assert (case.stage_state, case.decision_due) == ("awaiting_decision",
                                                     london(2026, 11, 25, 0, 0))


def test_a_bounce_of_the_iros_own_copy_is_recorded_without_another_email(desk: Desk) -> None:
    open_case(desk)
    ack = desk.last("acknowledgment")
    desk.receive(delivery_failure(ack.row.raw, "iro1@example.test", at=london(2026, 11, 2, 11)))
    desk.run(london(2026, 11, 2, 11, 5))
    assert desk.new() == []
    assert [e.kind for e in desk.events("bounce")] == ["bounce"]


def test_reply_all_to_the_iros_own_email_answers_the_stage(desk: Desk) -> None:
    # The IRO copied the team manager in, who answers the IRO's email, not ours.
    tagged = outlook_new(IRO, "[ESCALATE] Placement plan not started", ESCALATION,
                         at=OPENED, cc=TM)
    desk.receive(tagged)
    desk.run(OPENED + timedelta(minutes=5))
    desk.new()
    desk.receive(outlook_reply(tagged, TM, "Panel is booked for Thursday.",
                               at=london(2026, 11, 3, 9)))
    desk.run(london(2026, 11, 3, 9, 5))
    assert "Panel is booked for Thursday." in desk.one("response_received").text
    assert desk.case().ref == "ESC-2026-0001"  # not a second case


def test_a_council_s_own_reference_prefix_opens_cases_its_replies_find(tmp_path: Path) -> None:
    """The prefix lives in one place (tags.toml): cases open with it and the matcher reads it,
    even with the reply's headers stripped (only the subject and the marker left)."""
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_DIR / "rules", rules)
    tags = rules / "tags.toml"
    tags.write_text(tags.read_text().replace('ref_prefix = "ESC"', 'ref_prefix = "IRO"'))
    desk = Desk(tmp_path, OPENED, rules_dir=rules)
    try:
        escalation = open_case(desk)
        assert desk.case().ref == "IRO-2026-0001"
        assert "[IRO-2026-0001]" in escalation.subject and "[ma:IRO-2026-0001]" in escalation.text
        desk.receive(outlook_new(TM, f"RE: {escalation.subject}",
                                 "We have started the search.\n\n> [ma:IRO-2026-0001]",
                                 at=london(2026, 11, 3, 11)))
        desk.run(london(2026, 11, 3, 11, 5))
        assert desk.one("response_received").to == ["iro1@example.test"]
        assert desk.case().stage_state == "awaiting_decision"
    finally:
        desk.close()


def test_the_sweep_reads_only_the_cases_whose_time_has_come(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from mailagent.runners import sweep
    from mailagent.store.db import transaction
    from mailagent.store.models import CHECK_NOW, Case

    escalation = open_case(desk)
    # The sweep after the case opened worked out its next timer: the reminder, Friday 9:00.
    assert desk.case().next_due_at == london(2026, 11, 6, 9, 0)
    looked_at: list[int] = []
    real = sweep._sweep_case
    monkeypatch.setattr(sweep, "_sweep_case",
                        lambda agent, case_id, *a: looked_at.append(case_id) or real(
                            agent, case_id, *a))
    desk.run(london(2026, 11, 5, 16))
    assert looked_at == [] and desk.new() == []
    desk.run(london(2026, 11, 6, 9, 0))
    assert [s.purpose for s in desk.new()] == ["reminder"]
    assert desk.case().next_due_at == london(2026, 11, 10, 0, 0)  # then the deadline
    # A response starts the IRO's time to decide: that is the next timer.
    desk.receive(outlook_reply(escalation.row.raw, TM, "We start today.",
                               at=london(2026, 11, 6, 11)))
    desk.run(london(2026, 11, 6, 11, 5))
    case = desk.case()
    assert case.stage_state == "awaiting_decision"
    assert case.next_due_at == case.decision_due
    # Any change to a case, by whatever code, has the next sweep look at it again.
    with transaction(desk.agent.engine) as session:
        changed = session.get(Case, case.id)
        assert changed is not None
        changed.stage_state = "awaiting_response"
    assert desk.case().next_due_at == CHECK_NOW
