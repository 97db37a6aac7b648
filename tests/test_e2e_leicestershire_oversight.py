"""Leicestershire's steps beside the ladder, end to end on the real Dovecot and SMTP servers,
on SQLite and PostgreSQL, with the clock moved by hand: the challenge meeting outside the
escalation process, independent legal advice, and the conditions of a CAFCASS referral.

The policy (Leicestershire IRO and Independent Conference Chair escalation), sentence by
sentence:
  - "The IRO and Independent Conference Chair can escalate to the challenge meeting outside
    of the escalation process in circumstances where immediate oversight is required": the
    IRO's `#challenge-meeting <reason>` puts the case on the month's pack, apart from the
    stage 3-4 cases, and tells the Service Manager for Safeguarding and Performance (told,
    no reply asked), the IRO team manager and the IRO copied;
  - "IRO and Independent Conference Chair Team Managers (Assistant Service Managers) are
    responsible for ensuring the Service Manager is aware of any cases which are ... being
    referred to CAFCASS or where independent legal advice is being sought": `#legal-advice`
    and the referral itself tell the Service Manager, the team manager copied;
  - "A meeting with the Assistant Director and relevant Head of Service and Head Of Service
    for Safeguarding and Performance will always be convened prior to escalation to CAFCASS
    ... Once this has been held ... IRO to record within the Mosaic step that the matter is
    escalating to CAFCASS": the meeting's members are asked to meet (asked to act), the IRO
    reminded every 3 working days until it is recorded held (`#cafcass-meeting`), and the
    referral (`#cafcass-referred` with the Mosaic step's words) refused until then.

People (rules/directory.example.toml): Irene Reed (iro1) the IRO, Mona Manning (manager) her
team manager, Simon Grey (ssm) the Service Manager for Safeguarding and Performance, Tara
Moss (tm1) the North team's manager, Hannah Osei (hos1) its Head of Service, Adam Dale (ad1)
the Assistant Director, Helen Quayle (hosqa) the Head of Service for Safeguarding.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from mailagent.reports.challenge import Month, build_pack, render_pack
from mailagent.reports.export import build_export
from mailagent.reports.summary import build_summary
from mailagent.store.models import Case, CaseEvent
from tests.clients import outlook_new
from tests.mailroom import Mailroom, one, people
from tests.support import ESCALATION_BODY, london

pytestmark = pytest.mark.servers

IRENE = "Irene Reed <iro1@example.test>"
IRO, TM_IRO, SSM = "iro1@example.test", "manager@example.test", "ssm@example.test"
AD, HOS, HOSQA = "ad1@example.test", "hos1@example.test", "hosqa@example.test"
REF = "ESC-2026-0001"
REASON = "The placement ends on Friday and no plan is agreed; the child may be homeless"


@pytest.fixture
def room(mailboxes, tmp_path, monkeypatch, database_url):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    room = Mailroom(mailboxes, tmp_path, london(2026, 11, 2, 9), database_url=database_url)
    yield room
    room.close()


def _open(room: Mailroom):  # type: ignore[no-untyped-def]
    """Monday 2 November: Irene's formal escalation, at Stage One (the Team Manager)."""
    sent = room.run(london(2026, 11, 2, 10, 5), outlook_new(
        IRENE, "[ESCALATION] placement plan not started", ESCALATION_BODY,
        at=london(2026, 11, 2, 10)))
    assert one(sent, "escalation").to == ["tm1@example.test"]
    return one(sent, "acknowledgment")


def _kinds(room: Mailroom) -> list[str]:
    with Session(room.agent.engine) as session:
        return [e.kind for e in session.exec(select(CaseEvent).order_by(CaseEvent.id))]


def _case(session: Session) -> Case:
    return session.exec(select(Case).where(Case.ref == REF)).one()


def test_challenge_meeting_and_legal_advice(room: Mailroom) -> None:
    ack = _open(room)
    # Tuesday 3 November: immediate oversight needed, outside the escalation process.
    at = london(2026, 11, 3, 10, 5)
    notice = one(room.run(at, room.reply(
        ack, IRENE, f"#challenge-meeting {REASON}\n\nIrene", at=london(2026, 11, 3, 10))),
        "challenge_meeting_notice")
    assert people(notice) == ({SSM}, {TM_IRO, IRO})
    assert notice.row.not_before == at  # in working hours: at once
    assert notice.subject == f"[{REF}] Referred to the challenge meeting for immediate oversight"
    assert "in the challenge\nmeeting's pack for November 2026" in notice.text
    assert "the child may be homeless" in notice.text
    assert "can escalate to the challenge meeting outside of the escalation process" \
        in notice.text
    assert "no reply is needed" in notice.text  # told, not asked
    # Again: refused, saying since when.
    again = one(room.run(london(2026, 11, 3, 10, 35), room.reply(
        ack, IRENE, "#challenge-meeting still urgent", at=london(2026, 11, 3, 10, 30))),
        "command_refused")
    assert people(again) == ({IRO}, set())
    assert "already on the challenge meeting's pack (since Tuesday 3 November 2026)" \
        in again.text
    # Without a reason: refused, with an example.
    bare = one(room.run(london(2026, 11, 3, 10, 50), room.reply(
        ack, IRENE, "#legal-advice", at=london(2026, 11, 3, 10, 45))), "command_refused")
    assert "say from whom the advice is sought" in bare.text

    # Independent legal advice: the Service Manager told, the team manager copied.
    at = london(2026, 11, 3, 17, 45)  # after working hours: it waits for the morning
    advice = one(room.run(at, room.reply(
        ack, IRENE, "#legal-advice from CAFCASS Legal, about the delay to the care plan",
        at=london(2026, 11, 3, 17, 40))), "legal_advice_notice")
    assert people(advice) == ({SSM}, {TM_IRO, IRO})
    assert advice.row.not_before == london(2026, 11, 4, 9)
    assert advice.subject == f"[{REF}] Independent legal advice being sought"
    assert "from CAFCASS Legal, about the delay to the care plan" in advice.text
    assert "where independent legal advice is being sought" in advice.text

    with Session(room.agent.engine) as session:
        case = _case(session)
        assert case.oversight is not None
        assert case.oversight.challenge_meeting_reason == REASON
        assert case.oversight.challenge_meeting_by == IRO
        assert case.oversight.legal_advice_from.startswith("from CAFCASS Legal")  # type: ignore[union-attr]
        assert case.stage_id == "stage_1"  # beside the ladder: the stage carries on
        # The daily summary flags both.
        summary = build_summary(session, room.agent, london(2026, 11, 4, 8))
        (line,) = summary.section("oversight").lines
        assert (line.ref, line.note) == (REF, "on the challenge meeting since Tue 3 Nov; "
                                              "independent legal advice sought since Tue 3 Nov")
        # The month's pack shows it apart from the stage 3-4 cases, with the reason.
        pack = build_pack(session, room.agent, Month.parse("2026-11"), london(2026, 11, 30, 9))
        assert (pack.open_cases, pack.closed_cases) == ((), ())
        (item,) = pack.referred_cases
        assert (item.ref, item.referred_on, item.referred_reason) == (
            REF, date(2026, 11, 3), REASON)
        assert item.legal_advice.startswith("Independent legal advice being sought since")
        text = render_pack(pack, "txt")
        apart = text.split("STILL AT STAGE 3 OR 4")[0]
        assert "OUTSIDE THE ESCALATION PROCESS, FOR IMMEDIATE OVERSIGHT (1)" in apart
        assert REF in apart and "the child may be homeless" in apart
        # The child's record shows each step.
        export = build_export(session, room.agent, REF, london(2026, 11, 30, 9))
    titles = [t.title for t in export.timeline]
    assert any(t.startswith("Referred to the challenge meeting (November 2026)") for t in titles)
    assert "Independent legal advice being sought" in titles
    assert _kinds(room) == ["opened", "stage", "challenge_meeting", "refused", "refused",
                            "legal_advice"]


def test_cafcass_referral_waits_for_the_meeting(room: Mailroom) -> None:
    ack = _open(room)
    # Tuesday 3 November: a referral is being considered.
    at = london(2026, 11, 3, 12, 5)
    sent = room.run(at, room.reply(ack, IRENE, "#cafcass", at=london(2026, 11, 3, 12)))
    checklist = one(sent, "cafcass")
    assert people(checklist) == ({IRO}, {TM_IRO, SSM})
    assert "#cafcass-meeting" in checklist.text and "Recorded:" in checklist.text
    asked = one(sent, "cafcass_meeting_request")
    assert len(sent) == 2
    assert people(asked) == ({AD, HOS, HOSQA}, {IRO, TM_IRO})  # asked to meet
    assert asked.row.not_before == at
    assert "will always be convened prior to escalation to CAFCASS" in asked.text
    # Wednesday: the IRO tries to record the referral: refused, saying what is missing.
    refused = one(room.run(london(2026, 11, 4, 12, 5), room.reply(
        ack, IRENE, "#cafcass-referred\nRecorded: The matter is escalating to CAFCASS.",
        at=london(2026, 11, 4, 12))), "command_refused")
    assert people(refused) == ({IRO}, set())
    # The subject names the command only: what the IRO wrote about the child stays inside.
    assert refused.subject == f"[{REF}] Could not #cafcass-referred"
    assert "cannot be recorded yet: Meeting with the Assistant Director" in refused.text
    assert "must first be recorded as held: reply #cafcass-meeting" in refused.text
    # Three working days after it was asked for, Friday 6 November: the IRO is reminded.
    assert room.run(london(2026, 11, 5, 9)) == []
    reminded = one(room.run(london(2026, 11, 6, 9)), "cafcass_meeting_reminder")
    assert people(reminded) == ({IRO}, {TM_IRO})
    assert reminded.row.not_before == london(2026, 11, 6, 9)
    assert "asked for on\nTuesday 3 November 2026 and has not been recorded as held" \
        in reminded.text
    # A date still to come is refused; so is a meeting without its outcome.
    future = one(room.run(london(2026, 11, 6, 11, 5), room.reply(
        reminded, IRENE, "#cafcass-meeting 20 November 2026\nOutcome: to be decided",
        at=london(2026, 11, 6, 11))), "command_refused")
    assert "a day still to come" in future.text
    bare = one(room.run(london(2026, 11, 6, 11, 20), room.reply(
        reminded, IRENE, "#cafcass-meeting 6 November 2026", at=london(2026, 11, 6, 11, 15))),
        "command_refused")
    assert "needs the meeting's outcome" in bare.text
    # The meeting is recorded as held: nobody is emailed, no more reminders.
    assert room.run(london(2026, 11, 6, 15, 5), room.reply(
        reminded, IRENE, "#cafcass-meeting 6 November 2026\n"
        "Outcome: No agreement on the care plan; the IRO is to refer.",
        at=london(2026, 11, 6, 15))) == []
    with Session(room.agent.engine) as session:
        summary = build_summary(session, room.agent, london(2026, 11, 9, 8))
    (line,) = summary.section("oversight").lines
    assert line.note == "CAFCASS referral being considered since Tue 3 Nov, meeting held Fri 6 Nov"
    # Monday 9 November: the referral, without the Mosaic step's words: refused.
    nostep = one(room.run(london(2026, 11, 9, 10, 5), room.reply(
        ack, IRENE, "#cafcass-referred", at=london(2026, 11, 9, 10))), "command_refused")
    assert "record within the Mosaic step that the matter is escalating to CAFCASS" \
        in nostep.text
    # With them: the Service Manager is told, the team manager copied.
    at = london(2026, 11, 9, 14, 5)
    told = one(room.run(at, room.reply(
        ack, IRENE, "#cafcass-referred\nRecorded: The matter is escalating to CAFCASS: the care "
        "plan has not been implemented.", at=london(2026, 11, 9, 14))), "cafcass_referred_notice")
    assert people(told) == ({SSM}, {TM_IRO, IRO})
    assert told.row.not_before == at
    assert told.subject == f"[{REF}] Referred to CAFCASS"
    assert "held on Friday 6 November 2026" in told.text
    assert "No agreement on the care plan" in told.text
    assert "the care plan has not been implemented" in " ".join(told.text.split())
    assert "being referred to CAFCASS" in told.text  # why they are told
    # Only the stage's own emails follow (its deadline passed): no more reminders.
    later = room.run(london(2026, 11, 11, 9)) + room.run(london(2026, 11, 16, 9))
    assert not [s for s in later if s.purpose.startswith("cafcass")], later
    with Session(room.agent.engine) as session:
        case = _case(session)
        referral = case.cafcass
        assert referral is not None
        assert (referral.meeting_held_on, referral.referred_by) == (date(2026, 11, 6), IRO)
        assert referral.step_text is not None and referral.step_text.startswith(
            "The matter is escalating to CAFCASS")
        summary = build_summary(session, room.agent, london(2026, 11, 10, 8))
        pack = build_pack(session, room.agent, Month.parse("2026-11"), london(2026, 11, 30, 9))
        export = build_export(session, room.agent, REF, london(2026, 11, 30, 9))
    (line,) = summary.section("oversight").lines
    assert line.note == "referred to CAFCASS Mon 9 Nov"
    assert pack.empty  # at stage 1, not referred to the meeting: not in the pack
    kinds = [e.kind for e in export.events]
    for step in ("cafcass", "cafcass_meeting_asked", "cafcass_meeting_reminder",
                 "cafcass_meeting", "cafcass_referred"):
        assert kinds.count(step) == 1, step
    titles = [t.title for t in export.timeline]
    assert any(t.startswith("Meeting with the Assistant Director") and
               "held on Friday 6 November 2026" in t for t in titles)
    assert "Referred to CAFCASS by the IRO" in titles



def test_the_sweep_comes_back_for_a_reminder_kept_beside_the_ladder(room: Mailroom) -> None:
    """The meeting reminder's timer lives in the referral's row, not the case's: the case's
    `next_due_at` (the sweep reads only the cases whose time has come) must still come by
    it. Paused, the case has no timer of its own, so only the reminder brings the sweep."""
    from mailagent.store.db import transaction
    from mailagent.store.models import CHECK_NOW

    ack = _open(room)
    room.run(london(2026, 11, 3, 12, 5), room.reply(ack, IRENE, "#cafcass",
                                                    at=london(2026, 11, 3, 12)))
    room.run(london(2026, 11, 3, 14, 5), room.reply(
        ack, IRENE, "#pause awaiting the court hearing on 12 January", at=london(2026, 11, 3, 14)))
    assert room.run(london(2026, 11, 5, 9)) == []
    with Session(room.agent.engine) as session:
        case = _case(session)
        assert case.stage_state == "paused"
        assert case.next_due_at == london(2026, 11, 6, 9)  # three working days after the ask
    reminded = one(room.run(london(2026, 11, 6, 9)), "cafcass_meeting_reminder")
    assert people(reminded) == ({IRO}, {TM_IRO})
    with Session(room.agent.engine) as session:
        assert _case(session).next_due_at == london(2026, 11, 11, 9)  # the next reminder
    # Any change to the referral's row, by whatever code, has the next sweep look again:
    # here its last reminder put back to when the meeting was asked for (so one is due).
    with transaction(room.agent.engine) as session:
        referral = _case(session).cafcass
        assert referral is not None
        referral.meeting_reminded_at = referral.meeting_asked_at
    with Session(room.agent.engine) as session:
        assert _case(session).next_due_at == CHECK_NOW
    one(room.run(london(2026, 11, 6, 10)), "cafcass_meeting_reminder")
