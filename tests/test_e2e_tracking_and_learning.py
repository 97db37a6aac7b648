"""Brent's tracking record and CAFCASS / Official Solicitor route, and the QA policy's team
learning, end to end on the real Dovecot and SMTP servers, on SQLite and PostgreSQL, with the
clock moved by hand.

Brent (Escalation Process for IROs):
  - "The IRO should raise the concerns in writing with the relevant Service Manager and the
    Review, Engagement & Participation Principal Officer, who will acknowledge the receipt of
    the complaint / Dispute and will inform the LAC review administrator (BIBS) ... recorded
    ... in to a spread sheet ... as a record of the child, the matter in dispute and the date
    it was raised with the Service Manager": at the Service Manager stage the Principal
    Officer (copied on the stage's email) is asked in their own email to acknowledge, to tell
    BIBS and to record it; reminded every 2 working days until they reply; the quarterly
    case list carries the spreadsheet's columns;
  - "At any point the IRO can contact CAFCASS or the Official solicitor for legal advice" and
    "ultimately CAFCASS can be contacted": advice is recorded (nobody is named to be told),
    and a referral, after the discussion with the Team Manager for the IROs, is recorded with
    what the IRO wrote in the child's file (Framework-I).
QA policy, 5.1: "the IRO/CPC and the social work team complete the 'Outcome of issue requiring
resolution' and 'Key learning points'": at resolution the Team Manager is asked for the
team's learning points (asked to act), the IRO copied; filed beside the IRO's.

People (rules/directory.example.toml): Irene Reed (iro1) the IRO, Mona Manning (manager)
the Team Manager for the IROs, Tara Moss (tm1) the North team's manager, Sean Mills (sm1)
its Service Manager, Priya Okafor (po1) the Principal Officer.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailagent.reports.export import build_export
from mailagent.reports.quarterly import Quarter, build_quarterly
from mailagent.reports.quarterly_files import write_csv
from mailagent.reports.summary import build_summary
from mailagent.store.models import Case
from tests.clients import outlook_new
from tests.desk import Sent
from tests.mailroom import Mailroom, one, people
from tests.support import ESCALATION_BODY, london

pytestmark = pytest.mark.servers

IRENE, PRIYA, TARA = ("Irene Reed <iro1@example.test>", "Priya Okafor <po1@example.test>",
                      "Tara Moss <tm1@example.test>")
IRO, TM_IRO, TM, SM, PO = ("iro1@example.test", "manager@example.test", "tm1@example.test",
                           "sm1@example.test", "po1@example.test")
REF = "ESC-2026-0001"


@pytest.fixture
def room_for(mailboxes, tmp_path, monkeypatch, database_url):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    rooms: list[Mailroom] = []

    def build(council: str) -> Mailroom:
        rooms.append(Mailroom(mailboxes, tmp_path, london(2026, 11, 2, 9), council=council,
                              database_url=database_url))
        return rooms[-1]

    yield build
    for room in rooms:
        room.close()


def _open(room: Mailroom):  # type: ignore[no-untyped-def]
    """Monday 2 November: Irene's formal escalation."""
    sent = room.run(london(2026, 11, 2, 10, 5), outlook_new(
        IRENE, "[ESCALATION] placement plan not started", ESCALATION_BODY,
        at=london(2026, 11, 2, 10)))
    return one(sent, "acknowledgment")


def _beside(sent: list[Sent]) -> list[Sent]:
    """What was sent apart from the stage's own reminder (its response is due Thursday)."""
    return [s for s in sent if s.purpose != "reminder"]


def _case(session: Session) -> Case:
    return session.exec(select(Case).where(Case.ref == REF)).one()


def test_brent_principal_officer_keeps_the_tracking_record(room_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    room = room_for("brent")
    ack = _open(room)
    # Tuesday 3 November: the Service Manager stage; the Principal Officer is copied on it
    # and asked, in an email of their own, to acknowledge and record the dispute.
    at = london(2026, 11, 3, 10, 5)
    sent = room.run(at, room.reply(ack, IRENE, "#escalate to Service Manager",
                                   at=london(2026, 11, 3, 10)))
    assert people(one(sent, "escalation")) == ({SM}, {PO, IRO})
    asked = one(sent, "tracking_request")
    assert people(asked) == ({PO}, {IRO})
    assert asked.row.not_before == at
    assert asked.subject == f"[{REF}] Dispute at Service Manager: please acknowledge and record it"
    for words in ("who will acknowledge the receipt of the complaint / Dispute",
                  "inform the LAC review administrator (BIBS)", "tracking spreadsheet",
                  "Raised with Service Manager: Tuesday 3 November 2026"):
        assert words in asked.text, words
    with Session(room.agent.engine) as session:
        summary = build_summary(session, room.agent, london(2026, 11, 4, 8))
    (line,) = summary.section("oversight").lines
    assert line.note == "not yet acknowledged for the tracking record (asked Tue 3 Nov)"
    # No reply: reminded after 2 working days, Thursday 5 November at 09:00.
    assert [s.purpose for s in room.run(london(2026, 11, 4, 9))] == []
    reminded = one(room.run(london(2026, 11, 5, 9)), "tracking_reminder")
    assert people(reminded) == ({PO}, {IRO})
    assert reminded.row.not_before == london(2026, 11, 5, 9)
    # Friday: Priya replies to the request: the acknowledgment; nobody is emailed.
    assert room.run(london(2026, 11, 6, 11, 5), room.reply(
        asked, PRIYA, "Received, and BIBS informed.\n\nPriya", at=london(2026, 11, 6, 11))) == []
    later = room.run(london(2026, 11, 10, 9)) + room.run(london(2026, 11, 12, 9))
    assert not [s for s in later if s.purpose.startswith("tracking")], later
    with Session(room.agent.engine) as session:
        tracked = _case(session).tracking
        assert tracked is not None
        assert (tracked.stage_id, tracked.acknowledged_by) == ("service_manager", PO)
        report = build_quarterly(session, room.agent, Quarter.parse("2026-Q4"),
                                 london(2027, 1, 4, 9))
        export = build_export(session, room.agent, REF, london(2026, 11, 30, 9))
    # The quarterly CSV carries the spreadsheet's columns: the date raised with the Service
    # Manager, and when the Principal Officer acknowledged it.
    write_csv(report, tmp_path / "q.csv")
    with (tmp_path / "q.csv").open(encoding="utf-8-sig") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["Date raised with the Service Manager"] == "2026-11-03"
    assert row["Acknowledged (principal officer rep)"] == "2026-11-06"
    assert row["Child record number"] == "123456"
    kinds = [e.kind for e in export.events]
    for step in ("tracking_asked", "tracking_reminder", "tracking_acknowledged"):
        assert kinds.count(step) == 1, step
    assert "Dispute acknowledged by Priya Okafor for the tracking record" in [
        t.title for t in export.timeline]


def test_brent_cafcass_or_the_official_solicitor_at_any_point(room_for) -> None:  # type: ignore[no-untyped-def]
    room = room_for("brent")
    ack = _open(room)  # at the Team Manager stage, not the last
    # Advice from the Official Solicitor: recorded; the policy names nobody to be told.
    assert room.run(london(2026, 11, 3, 10, 5), room.reply(
        ack, IRENE, "#legal-advice the Official Solicitor, on the care plan's legality",
        at=london(2026, 11, 3, 10))) == []
    # A referral is considered: the IRO gets the checklist, the discussion is asked for.
    at = london(2026, 11, 3, 11, 5)
    sent = room.run(at, room.reply(ack, IRENE, "#cafcass", at=london(2026, 11, 3, 11)))
    assert people(one(sent, "cafcass")) == ({IRO}, {TM_IRO, PO})
    discussion = one(sent, "cafcass_meeting_request")
    assert people(discussion) == ({TM_IRO}, {IRO})
    assert "Discussion with the Team Manager for the IROs" in discussion.text
    refused = one(room.run(london(2026, 11, 3, 14, 5), room.reply(
        ack, IRENE, "#cafcass-referred\nRecorded: Referred.", at=london(2026, 11, 3, 14))),
        "command_refused")
    assert "Discussion with the Team Manager for the IROs about the referral must first be " \
           "recorded as held" in refused.text
    assert _beside(room.run(london(2026, 11, 4, 10, 5), room.reply(
        discussion, IRENE, "#cafcass-meeting 4 November 2026\nOutcome: Agreed to refer.",
        at=london(2026, 11, 4, 10)))) == []
    # The referral: recorded with the words written in Framework-I; nobody named to be told.
    assert _beside(room.run(london(2026, 11, 4, 15, 5), room.reply(
        ack, IRENE, "#cafcass-referred\nRecorded: Referred to CAFCASS Legal on 4 November.",
        at=london(2026, 11, 4, 15)))) == []
    with Session(room.agent.engine) as session:
        case = _case(session)
        assert case.oversight is not None and case.cafcass is not None
        assert case.oversight.legal_advice_from == \
            "the Official Solicitor, on the care plan's legality"
        assert case.cafcass.step_text == "Referred to CAFCASS Legal on 4 November."
        assert case.cafcass.meeting_held_on == date(2026, 11, 4)
        assert (case.status, case.stage_id) == ("open", "team_manager")  # beside the ladder
        summary = build_summary(session, room.agent, london(2026, 11, 5, 8))
        export = build_export(session, room.agent, REF, london(2026, 11, 30, 9))
    (line,) = summary.section("oversight").lines
    assert line.note == "independent legal advice sought since Tue 3 Nov; referred to CAFCASS " \
                        "Wed 4 Nov"
    titles = [t.title for t in export.timeline]
    for title in ("Independent legal advice being sought", "CAFCASS referral being considered",
                  "Referred to CAFCASS by the IRO"):
        assert title in titles, title


def test_qa_team_learning_at_resolution(room_for) -> None:  # type: ignore[no-untyped-def]
    room = room_for("qa-issue-resolution")
    ack = _open(room)
    at = london(2026, 11, 3, 10, 5)
    sent = room.run(at, room.reply(
        ack, IRENE, "#resolved\nOutcome: A placement search has begun.\n"
        "Learning: Placement plans need a named owner at the review.",
        at=london(2026, 11, 3, 10)))
    asked = one(sent, "team_learning_request")
    assert people(asked) == ({TM}, {IRO})
    assert asked.row.not_before == at
    assert "'Key learning points' section of the form to capture learning" in asked.text
    assert "A placement search has begun." in asked.text
    # Tara answers from Outlook: filed beside the IRO's learning; nobody is emailed.
    assert room.run(london(2026, 11, 4, 11, 5), room.reply(
        asked, TARA, "Learning: We now name the plan's owner in the review minutes.\n\nTara",
        at=london(2026, 11, 4, 11))) == []
    with Session(room.agent.engine) as session:
        case = _case(session)
        assert (case.status, case.team_learning_by) == ("resolved", TM)
        assert case.team_learning == "We now name the plan's owner in the review minutes."
        report = build_quarterly(session, room.agent, Quarter.parse("2026-Q4"),
                                 london(2027, 1, 4, 9))
        export = build_export(session, room.agent, REF, london(2026, 11, 30, 9))
    (row,) = report.rows
    assert row.learning == "Placement plans need a named owner at the review."
    assert row.team_learning == "We now name the plan's owner in the review minutes."
    titles = [t.title for t in export.timeline]
    assert "Tara Moss asked for the team's key learning points" in titles
    assert "The social work team's key learning points recorded" in titles
