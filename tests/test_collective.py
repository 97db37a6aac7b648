"""Collective alerts through agreement, acknowledgment, response and 4-weekly follow-ups,
against the real Dovecot and SMTP servers, with the clock moved by hand."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from mailagent.cases import themes
from mailagent.runners.pipeline import run_once
from mailagent.runners.sweep import sweep
from mailagent.store.models import Case
from tests.support import ESCALATION_BODY, arrive, email_bytes, headers_of, london, server_agent

pytestmark = pytest.mark.servers

ALERT = """Team: North
Issue: Five children in care in the North team have waited over 12 weeks for a CAMHS
assessment after their reviews asked for one.
Impact on child: Children's emotional needs go unmet while placements come under strain.
Resolution sought: A joint plan with health commissioners to clear the waiting list.
"""


def _subjects(raws: list[bytes]) -> list[str]:
    return [headers_of(r)["subject"] for r in raws]


def _alert(agent) -> Case:
    with Session(agent.engine) as session:
        return session.exec(select(Case).where(Case.kind == "collective_alert")
                            .options(selectinload(Case.alert))).one()  # type: ignore[arg-type]


def test_collective_alert_lifecycle(mailboxes, tmp_path, monkeypatch) -> None:
    agent, clock = server_agent(mailboxes, tmp_path, monkeypatch, london(2026, 12, 2, 10))
    try:
        arrive(mailboxes, agent, email_bytes(
            sender="Irene Reed <iro1@example.test>",
            subject="[COLLECTIVE] CAMHS waiting times", body=ALERT))
        run_once(agent)
        (draft,) = mailboxes.wait_for_mail("manager", 1)
        draft = headers_of(draft)
        assert draft["subject"] == (
            "[CA-2026-0001] Collective alert for agreement: CAMHS waiting times")
        assert "#agree" in draft["text"]

        # An IRO cannot agree it; the IRO Group Manager can, with an edited theme.
        clock.set(london(2026, 12, 3, 11))
        arrive(mailboxes, agent, email_bytes(
            sender="Mona Manning <manager@example.test>", subject="RE: " + draft["subject"],
            body="#agree\nTheme: CAMHS waiting times for children in care\n",
            in_reply_to=draft["message"]["Message-ID"]))
        run_once(agent)
        (raised,) = mailboxes.wait_for_mail("hos1", 1)
        raised = headers_of(raised)
        assert raised["subject"] == ("[CA-2026-0001] Collective alert from the IRO service: "
                                     "CAMHS waiting times for children in care")
        # rules/collective-alert.toml: raised with the team's Head of Service and the
        # Director; shared with the HoS Safeguarding and QA, the Group Manager and the IRO.
        assert raised["to"] == ["dcs@example.test", "hos1@example.test"]
        assert raised["cc"] == ["hosqa@example.test", "iro1@example.test",
                                "manager@example.test"]
        # Two weeks from 3 December is Thursday 17 December; four is Thursday 31 December.
        assert "by end of Thursday 17 December 2026" in raised["text"]
        assert "by end of Thursday 31 December 2026" in raised["text"]

        # No acknowledgment by the end of the 17th: flagged on the 18th, once.
        clock.set(london(2026, 12, 18, 9, 30))
        run_once(agent)
        run_once(agent)
        overdue = _subjects(mailboxes.wait_for_mail("manager", 3))
        assert overdue.count(
            "[CA-2026-0001] Collective alert: written acknowledgment overdue") == 1
        assert _alert(agent).alert.ack_overdue_at is not None

        # The Head of Service acknowledges, then responds in detail.
        clock.set(london(2026, 12, 18, 14))
        arrive(mailboxes, agent, email_bytes(
            sender="hos1@example.test", subject="RE: " + raised["subject"],
            body="Received, thank you. We will reply in full.",
            in_reply_to=raised["message"]["Message-ID"]))
        run_once(agent)
        assert _alert(agent).stage_state == "awaiting_response"
        clock.set(london(2026, 12, 30, 15))
        arrive(mailboxes, agent, email_bytes(
            sender="hos1@example.test", subject="RE: " + raised["subject"],
            body="Plan attached: a weekly joint panel with CAMHS from January.",
            in_reply_to=raised["message"]["Message-ID"]))
        run_once(agent)
        alert = _alert(agent)
        assert alert.stage_state == "following_up"
        assert alert.alert.response_overdue_at is None

        # Follow-ups every 4 weeks after the response was due: 28 January, 25 February.
        clock.set(london(2027, 1, 27, 16))
        assert sweep(agent, clock.now()) == []
        for day in (london(2027, 1, 28, 9, 5), london(2027, 2, 25, 9, 5)):
            clock.set(day)
            run_once(agent)
            run_once(agent)
        followups = [s for s in _subjects(mailboxes.wait_for_mail("hos1", 3))
                     if "follow-up" in s]
        assert followups == [
            "[CA-2026-0001] Collective alert follow-up 1: CAMHS waiting times for children "
            "in care",
            "[CA-2026-0001] Collective alert follow-up 2: CAMHS waiting times for children "
            "in care",
        ]
        last = headers_of(mailboxes.fetch_all("hos1")[-1])
        assert {"csmt@example.test", "corporate.parenting@example.test"} <= set(last["cc"])

        clock.set(london(2027, 3, 1, 10))
        arrive(mailboxes, agent, email_bytes(
            sender="manager@example.test", subject="RE: " + raised["subject"],
            body="#resolved", in_reply_to=raised["message"]["Message-ID"]))
        run_once(agent)
        assert _alert(agent).status == "resolved"
        clock.set(london(2027, 3, 25, 10))
        assert sweep(agent, clock.now()) == []
    finally:
        agent.close()


def test_only_the_group_manager_agrees(mailboxes, tmp_path, monkeypatch) -> None:
    agent, _ = server_agent(mailboxes, tmp_path, monkeypatch, london(2026, 12, 2, 10))
    try:
        arrive(mailboxes, agent, email_bytes(
            sender="iro1@example.test", subject="[COLLECTIVE] Theme", body=ALERT))
        run_once(agent)
        (draft,) = mailboxes.wait_for_mail("manager", 1)
        arrive(mailboxes, agent, email_bytes(
            sender="iro2@example.test", subject="RE: [CA-2026-0001] draft", body="#agree",
            in_reply_to=headers_of(draft)["message"]["Message-ID"]))
        run_once(agent)
        assert _alert(agent).stage_id == "draft"
        assert any("Could not #agree" in s for s in _subjects(mailboxes.wait_for_mail("iro2", 1)))
    finally:
        agent.close()


def test_escalations_link_to_an_alert_and_themes_are_suggested(
    mailboxes, tmp_path, monkeypatch
) -> None:
    agent, _ = server_agent(mailboxes, tmp_path, monkeypatch, london(2026, 12, 2, 10))
    try:
        arrive(mailboxes, agent, email_bytes(
            sender="iro1@example.test", subject="[COLLECTIVE] Placements", body=ALERT))
        for n in range(3):
            body = ESCALATION_BODY.replace("123456", f"12345{n}")
            if n == 0:
                body += "\nThis is one of the children in CA-2026-0001.\n"
            arrive(mailboxes, agent, email_bytes(
                sender="iro1@example.test", subject=f"[ESCALATE] placement {n}", body=body))
        run_once(agent)
        with Session(agent.engine) as session:
            (alert,) = themes.open_alerts(session, agent, agent.clock.now())
            assert alert["linked"] == ["ESC-2026-0001"]
            # Two unlinked open placement escalations in North: below the rule's 3.
            assert themes.suggest_themes(session, agent, agent.clock.now()) == []
        arrive(mailboxes, agent, email_bytes(
            sender="iro2@example.test", subject="[ESCALATE] placement 4",
            body=ESCALATION_BODY.replace("123456", "987654")))
        run_once(agent)
        with Session(agent.engine) as session:
            (theme,) = themes.suggest_themes(session, agent, agent.clock.now())
        assert (theme.team, theme.category) == ("north", "placement")
        assert theme.case_refs == ("ESC-2026-0002", "ESC-2026-0003", "ESC-2026-0004")
    finally:
        agent.close()
