"""Collective alerts as the protocol runs them, end to end on the real Dovecot and SMTP
servers, on SQLite and PostgreSQL, with the clock moved by hand.

"Collective alerts and good practice" (the protocol), sentence by sentence:
  - "the collective alert will initially be drafted by the IROs before being agreed and
    finalised by the IRO Group Manager (with the input of all IROs)": the draft goes to the
    IRO team for comment (asked to act), the drafting IRO and the Group Manager copied; the
    comments go to the drafting IRO, who revises; the Group Manager is asked to agree;
  - "The IRO Group Manager will share with the Safeguarding and Quality Assurance Head of
    Service before raising with the relevant Head of Service or at Director level": shared
    (told, not asked), then raised with the one the Group Manager named;
  - "an initial written response/acknowledgement ... two weeks ... a more detailed
    response/resolution or plan ... within four weeks of it being raised" (calendar weeks);
  - "The IRO Group Manager, and where appropriate the Safeguarding and Quality Assurance
    Head of Service, will follow up on progress being made at four weekly intervals and
    updates presented to Children's Senior Management Team and Corporate Parenting Board".

People (rules/directory.example.toml): Irene Reed (iro1) drafts, Ivan Rowe (iro2) is the
rest of the IRO team, Mona Manning (manager) is the IRO Group Manager, Helen Quayle
(hosqa) the Head of Service for Safeguarding and QA, Hannah Osei (hos1) the North team's
Head of Service, Carl Davies (dcs) the Director; csmt and corporate.parenting the boards.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from mailagent.cases import themes
from mailagent.reports.export import build_export
from mailagent.reports.quarterly import Quarter, build_quarterly
from mailagent.store.models import Case, CollectiveAlert
from tests.clients import outlook_new
from tests.mailroom import Mailroom, of, one, people
from tests.support import ESCALATION_BODY, london

pytestmark = pytest.mark.servers

IRENE, IVAN = "Irene Reed <iro1@example.test>", "Ivan Rowe <iro2@example.test>"
MONA, HELEN = "Mona Manning <manager@example.test>", "Helen Quayle <hosqa@example.test>"
HANNAH = "Hannah Osei <hos1@example.test>"
IRO1, IRO2, GM, HOSQA = ("iro1@example.test", "iro2@example.test", "manager@example.test",
                         "hosqa@example.test")
HOS, DCS = "hos1@example.test", "dcs@example.test"
BOARDS = {"corporate.parenting@example.test", "csmt@example.test"}

ALERT = """Team: North
Theme: CAMHS waiting times
Children: 5 (100001, 100002, 100003, 100004, 100005)
Evidence: Five children in care in the North team have waited over 12 weeks for a CAMHS
assessment after their reviews asked for one.
Impact on child: Children's emotional needs go unmet while placements come under strain.
Resolution sought: A joint plan with health commissioners to clear the waiting list.

Irene
"""
REF = "CA-2026-0001"


def _alert(room: Mailroom) -> Case:
    with Session(room.agent.engine) as session:
        case = session.exec(select(Case).where(Case.ref == REF).options(
            selectinload(Case.alert).selectinload(CollectiveAlert.replies),  # type: ignore[arg-type]
            selectinload(Case.alert).selectinload(CollectiveAlert.actions))).one()  # type: ignore[arg-type]
    return case


@pytest.fixture
def room(mailboxes, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    room = Mailroom(mailboxes, tmp_path, london(2026, 12, 2, 9))
    yield room
    room.close()


@pytest.fixture
def room_on_each_database(mailboxes, tmp_path, monkeypatch, database_url):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAILAGENT_TEST_IMAP_PASSWORD", mailboxes.password)
    room = Mailroom(mailboxes, tmp_path, london(2026, 12, 2, 9), database_url=database_url)
    yield room
    room.close()


def test_collective_alert_from_draft_to_resolution(room_on_each_database: Mailroom) -> None:
    room = room_on_each_database
    # Wednesday 2 December: Irene's draft goes to the IRO team for comment, 5 working days.
    sent = room.run(london(2026, 12, 2, 10, 5), outlook_new(
        IRENE, "[COLLECTIVE] CAMHS waiting times", ALERT, at=london(2026, 12, 2, 10)))
    draft = one(sent, "collective_draft")
    assert len(sent) == 1
    assert people(draft) == ({IRO2}, {IRO1, GM})
    assert draft.subject == f"[{REF}] Draft collective alert: your comments by Wed 9 Dec"
    assert "by end of Wednesday 9 December 2026 with your comments" in draft.text
    assert "(with the input of all IROs)" in draft.text
    assert "A joint plan with health commissioners" in draft.text
    assert _alert(room).stage_state == "consultation"

    # Ivan comments; it is gathered, nobody is emailed yet.
    assert room.run(london(2026, 12, 3, 11, 5), room.reply(
        draft, IVAN, "Same in the South team: two of mine waited 14 weeks.\n\nIvan",
        at=london(2026, 12, 3, 11))) == []
    # The time for comments ends with Wednesday 9th: the comments go to Irene.
    assert room.run(london(2026, 12, 9, 16)) == []
    comments = one(room.run(london(2026, 12, 10, 9)), "collective_comments")
    assert people(comments) == ({IRO1}, set())
    assert "Ivan Rowe, Thu 3 Dec:" in comments.text
    assert "two of mine waited 14 weeks" in comments.text
    assert "#revised" in comments.text

    # Irene revises; the Group Manager is asked to agree, with Ivan's comment.
    agreement = one(room.run(london(2026, 12, 10, 11, 5), room.reply(
        comments, IRENE, "#revised\nTheme: CAMHS waiting times for children in care\n"
        "Children: 7 (five in North, two in South)\n", at=london(2026, 12, 10, 11))),
        "collective_agreement")
    assert people(agreement) == ({GM}, {IRO1})
    assert agreement.subject == f"[{REF}] Collective alert for your agreement"
    assert "CAMHS waiting times for children in care" in agreement.text
    assert "two of mine waited 14 weeks" in agreement.text
    assert "#agree Head of Service" in agreement.text

    # Ivan cannot agree it; the Group Manager must name whom it is raised with, one only.
    refused = room.run(london(2026, 12, 10, 13, 5),
                       room.reply(agreement, IVAN, "#agree Director", at=london(2026, 12, 10, 13)),
                       room.reply(agreement, MONA, "#agree", at=london(2026, 12, 10, 13, 1)),
                       room.reply(agreement, MONA, "#agree Head of Service and Director",
                                  at=london(2026, 12, 10, 13, 2)))
    assert [people(s) for s in of(refused, "command_refused")] == [
        ({IRO2}, set()), ({GM}, set()), ({GM}, set())]
    texts = [s.text for s in refused]
    assert "only the IRO Group Manager can use #agree" in texts[0]
    assert "the Head of Service or Director (one of them)" in texts[1]
    assert "not both" in texts[2]
    assert _alert(room).stage_state == "agreement"

    # Agreed, to be raised with the Head of Service: first shared with Helen, 2 working days.
    shared = one(room.run(london(2026, 12, 10, 14, 5), room.reply(
        agreement, MONA, "#agree Head of Service", at=london(2026, 12, 10, 14))),
        "collective_shared")
    assert people(shared) == ({HOSQA}, {GM})
    assert shared.subject == (f"[{REF}] Collective alert shared with you before it is raised "
                              "on Mon 14 Dec")
    assert "You do not need to reply" in shared.text
    assert "Hannah Osei (head of service)" in shared.text
    assert room.run(london(2026, 12, 11, 16)) == []

    # Monday 14 December, 09:00: raised with the North team's Head of Service only.
    raised = one(room.run(london(2026, 12, 14, 9)), "collective_raised")
    assert people(raised) == ({HOS}, {GM, HOSQA, IRO1})
    assert raised.row.not_before == london(2026, 12, 14, 9)
    # Two weeks is Monday 28 December, a bank holiday: Tuesday 29th. Four weeks: 11 January.
    assert raised.subject == (f"[{REF}] Collective alert from the IRO service: "
                              "acknowledgment by Tue 29 Dec")
    assert "acknowledge it in writing by end of Tuesday 29 December 2026" in raised.text
    assert "by end of\nMonday 11 January 2027" in raised.text
    assert DCS not in raised.to + raised.cc

    # No acknowledgment by the end of the 29th: the Group Manager and Helen are told, once.
    overdue = one(room.run(london(2026, 12, 30, 9)), "ack_overdue")
    assert people(overdue) == ({GM, HOSQA}, {IRO1})
    assert "due by end of Tuesday 29 December 2026" in overdue.text
    assert room.run(london(2026, 12, 30, 9, 30)) == []

    # Hannah acknowledges, then sends the plan: each is passed to those who follow it up.
    ack = one(room.run(london(2026, 12, 30, 14, 5), room.reply(
        raised, HANNAH, "Received, thank you. We will reply in full.\n\nHannah",
        at=london(2026, 12, 30, 14))), "collective_reply")
    assert people(ack) == ({GM, HOSQA}, {IRO1})
    assert ack.subject == f"[{REF}] Collective alert acknowledged by Hannah Osei"
    response = one(room.run(london(2027, 1, 8, 10, 5), room.reply(
        raised, HANNAH, "Our plan: a weekly joint panel with CAMHS from January, and a "
        "review of the waiting list with commissioners.\n\nHannah", at=london(2027, 1, 8, 10))),
        "collective_reply")
    assert people(response) == ({GM, HOSQA}, {IRO1})
    assert "a weekly joint panel with CAMHS" in response.text
    assert "#action" in response.text
    alert = _alert(room)
    assert alert.stage_state == "following_up" and alert.alert.response_overdue_at is None

    # The Group Manager records the plan's actions; Hannah marks the first done.
    assert room.run(london(2027, 1, 8, 15, 5), room.reply(
        response, MONA, "#action Weekly joint panel with CAMHS by 29 January 2027\n"
        "#action Waiting list review with commissioners by 5 February 2027\n",
        at=london(2027, 1, 8, 15))) == []
    assert room.run(london(2027, 1, 29, 10, 5), room.reply(
        raised, HANNAH, "#done 1", at=london(2027, 1, 29, 10))) == []
    assert [(a.number, a.status, str(a.due)) for a in _alert(room).alert.actions] == [
        (1, "done", "2027-01-29"), (2, "open", "2027-02-05")]
    assert room.run(london(2027, 1, 11, 23, 59)) == []  # the response came in time

    # Follow-up 1, four weeks after the response was due: Monday 8 February, 09:00.
    followup = one(room.run(london(2027, 2, 8, 9)), "collective_followup")
    assert people(followup) == ({HOS}, {GM, HOSQA})
    assert followup.subject == f"[{REF}] Collective alert follow-up 1: progress by Mon 22 Feb"
    for words in ("Acknowledged:      Wednesday 30 December 2026",
                  "Latest response (Hannah Osei, Fri 8 Jan):",
                  "1. Weekly joint panel with CAMHS - done Fri 29 Jan",
                  "2. Waiting list review with commissioners - OVERDUE (due by Fri 5 Feb)",
                  "action 2: Waiting list review with commissioners (due by Fri 5 Feb)",
                  "by end of Monday 22 February 2027"):
        assert words in followup.text, words
    assert not BOARDS & set(followup.to + followup.cc)

    # Hannah's reply is passed on, and the update for the boards is made from it.
    sent = room.run(london(2027, 2, 10, 11, 5), room.reply(
        followup, HANNAH, "The waiting list review moved to March: commissioners asked for "
        "more data.\n\nHannah", at=london(2027, 2, 10, 11)))
    assert people(one(sent, "collective_reply")) == ({GM, HOSQA}, {IRO1})
    update = one(sent, "collective_board_update")
    assert people(update) == (BOARDS, {GM, HOSQA})
    assert update.subject == (f"[{REF}] Collective alert: update 1 for CSMT and the Corporate "
                              "Parenting Board")
    for words in ("Reply to follow-up 1 (Hannah Osei, Wed 10 Feb):",
                  "review moved to March", "2. Waiting list review with commissioners - "
                  "OVERDUE", "The next follow-up is due on Monday 8 March 2027."):
        assert words in update.text, words

    # Follow-up 2 on Monday 8 March has no reply by Monday 22nd: the boards are told so.
    assert people(one(room.run(london(2027, 3, 8, 9)), "collective_followup")) == (
        {HOS}, {GM, HOSQA})
    assert room.run(london(2027, 3, 22, 16)) == []
    update = one(room.run(london(2027, 3, 23, 9)), "collective_board_update")
    assert people(update) == (BOARDS, {GM, HOSQA})
    assert "No reply to follow-up 2 was received by end of Monday 22 March 2027." in update.text

    # Resolved by the Group Manager on Good Friday: Hannah is told and the boards have the
    # last update, both sent when working hours come back, after Easter Monday.
    sent = room.run(london(2027, 3, 26, 10, 5), room.reply(
        update, MONA, "#resolved\nOutcome: The waiting list is cleared; the joint panel "
        "continues.\n", at=london(2027, 3, 26, 10)))
    resolved = one(sent, "collective_resolved")
    assert people(resolved) == ({HOS}, {GM, HOSQA, IRO1})
    assert "2. Waiting list review with commissioners - not done (was due by Fri 5 Feb)" \
        in resolved.text
    final = one(sent, "collective_board_update")
    assert people(final) == (BOARDS, {GM, HOSQA})
    assert "final update" in final.subject
    assert "The waiting list is cleared" in final.text
    assert len(sent) == 2
    assert {s.row.not_before for s in sent} == {london(2027, 3, 30, 9)}
    assert _alert(room).status == "resolved"
    assert room.run(london(2027, 3, 30, 9, 5)) == []  # sent now, and checked as delivered
    assert room.servers.envelopes[-1].message()["Subject"] == final.subject
    assert room.run(london(2027, 4, 26, 10)) == []

    # The quarterly report's update for CSMT and the Board, as each quarter ended.
    with Session(room.agent.engine) as session:
        q4, q1 = (build_quarterly(session, room.agent, Quarter.parse(q), room.desk.clock.now())
                  for q in ("2026Q4", "2027Q1"))
    (then,) = q4.alerts
    assert (then.status, then.acknowledged, then.responded, then.actions, then.overdue) == (
        "Acknowledged; detailed response awaited", date(2026, 12, 30), None, (), ())
    assert then.raised_with == "Hannah Osei (head of service)"
    (now,) = q1.alerts
    assert (now.status, now.resolved, now.raised_in_period) == (
        "Resolved", date(2027, 3, 26), False)
    assert now.latest.startswith("Hannah Osei, 10 Feb 2027: The waiting list review moved")
    assert [(a.number, a.status) for a in now.actions] == [
        (1, "done Fri 29 Jan"), (2, "not done (was due by Fri 5 Feb)")]
    assert now.outcome.startswith("The waiting list is cleared")

    # The alert's record shows every step.
    with Session(room.agent.engine) as session:
        export = build_export(session, room.agent, REF, room.desk.clock.now())
    kinds = [e.kind for e in export.events]
    for step in ("drafted", "consultation", "comment", "comments_closed", "revised", "refused",
                 "agreed", "shared", "raised", "ack_overdue", "acknowledgment", "response",
                 "action", "action_done", "followup", "update", "board_update", "resolved"):
        assert step in kinds, step
    summaries = [e.summary for e in export.events]
    assert "Shared with Helen Quayle (hos safeguarding qa) before it is raised with Hannah " \
           "Osei (head of service) on Monday 14 December 2026" in summaries
    assert any(t.title.startswith("Update for CSMT") for t in export.timeline)


def test_a_comment_before_raising_holds_it_for_the_group_manager(room: Mailroom) -> None:
    draft = one(room.run(london(2026, 12, 2, 10, 5), outlook_new(
        IRENE, "[COLLECTIVE] CAMHS waiting times", ALERT, at=london(2026, 12, 2, 10))),
        "collective_draft")
    # Irene need not wait for the time for comments to end.
    agreement = one(room.run(london(2026, 12, 3, 10, 5), room.reply(
        draft, IRENE, "#revised", at=london(2026, 12, 3, 10))), "collective_agreement")
    assert "No comments were received from the IRO team." in agreement.text
    shared = one(room.run(london(2026, 12, 3, 11, 5), room.reply(
        agreement, MONA, "#agree Director", at=london(2026, 12, 3, 11))), "collective_shared")
    assert "raised with Carl Davies (director)" in shared.text
    # Helen comments: raising waits, and the Group Manager is sent what she wrote.
    held = one(room.run(london(2026, 12, 4, 10, 5), room.reply(
        shared, HELEN, "Please add the health commissioners' own figures first.",
        at=london(2026, 12, 4, 10))), "collective_reply")
    assert people(held) == ({GM}, {IRO1})
    assert held.subject == (f"[{REF}] Comment before the collective alert is raised: raising "
                            "waits for you")
    assert "health commissioners' own figures" in held.text and "#raise" in held.text
    assert room.run(london(2026, 12, 8, 9)) == []  # not raised on the day it was due
    assert _alert(room).stage_state == "held"
    # The Group Manager adds the evidence and raises it: to the Director only.
    raised = one(room.run(london(2026, 12, 9, 10, 5), room.reply(
        held, MONA, "#raise\nEvidence: Five children waited over 12 weeks; commissioners "
        "report an average wait of 15 weeks.\n", at=london(2026, 12, 9, 10))),
        "collective_raised")
    assert people(raised) == ({DCS}, {GM, HOSQA, IRO1})
    assert "average wait of 15 weeks" in raised.text


def test_the_group_manager_returns_a_draft(room: Mailroom) -> None:
    draft = one(room.run(london(2026, 12, 2, 10, 5), outlook_new(
        IRENE, "[COLLECTIVE] CAMHS waiting times", ALERT, at=london(2026, 12, 2, 10))),
        "collective_draft")
    returned = one(room.run(london(2026, 12, 2, 15, 5), room.reply(
        draft, MONA, "#return Let us discuss it at the team meeting first.",
        at=london(2026, 12, 2, 15))), "collective_returned")
    assert people(returned) == ({IRO1}, set())
    assert "discuss it at the team meeting" in returned.text
    assert _alert(room).status == "returned"
    assert room.run(london(2026, 12, 10, 9)) == []  # no comments email for a returned draft


def test_escalations_link_to_an_alert_and_themes_are_suggested(room: Mailroom) -> None:
    agent = room.agent
    emails = [outlook_new(IRENE, "[COLLECTIVE] Placements", ALERT, at=london(2026, 12, 2, 9))]
    for n in range(3):
        body = ESCALATION_BODY.replace("123456", f"12345{n}")
        if n == 0:
            body += f"\nThis is one of the children in {REF}.\n"
        emails.append(outlook_new(IRENE, f"[ESCALATE] placement {n}", body,
                                  at=london(2026, 12, 2, 9)))
    room.run(london(2026, 12, 2, 10), *emails)
    with Session(agent.engine) as session:
        (alert,) = themes.open_alerts(session, agent, agent.clock.now())
        assert alert["linked"] == ["ESC-2026-0001"]
        assert alert["state_words"] == "out to the IRO team for comment"
        # Two unlinked open placement escalations in North: below the rule's 3.
        assert themes.suggest_themes(session, agent, agent.clock.now()) == []
    room.run(london(2026, 12, 2, 11), outlook_new(
        IVAN, "[ESCALATE] placement 4", ESCALATION_BODY.replace("123456", "987654"),
        at=london(2026, 12, 2, 10, 55)))
    with Session(agent.engine) as session:
        (theme,) = themes.suggest_themes(session, agent, agent.clock.now())
    assert (theme.team, theme.category) == ("north", "placement")
    assert theme.case_refs == ("ESC-2026-0002", "ESC-2026-0003", "ESC-2026-0004")
