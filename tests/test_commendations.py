"""Good-practice commendations, end to end against the real Dovecot and SMTP servers."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from mailagent.runners.pipeline import run_once
from mailagent.store.models import Case
from tests.support import arrive, email_bytes, headers_of, london, server_agent

pytestmark = pytest.mark.servers

COMMENDATION = """Child: 123456
Team: North
Social worker: Sam Walker
Issue: Sam visited every week through the placement move and made sure the child's
wishes were in the care plan.
Impact on child: The child settled quickly and is back at school full time.
"""


def test_commendation_reaches_everyone_the_rules_name(mailboxes, tmp_path, monkeypatch) -> None:
    agent, _ = server_agent(mailboxes, tmp_path, monkeypatch, london(2026, 12, 2, 10))
    try:
        arrive(mailboxes, agent, email_bytes(
            sender="Irene Reed <iro1@example.test>", subject="[COMMEND] Placement move",
            body=COMMENDATION + "\nThis follows ESC-2026-0007, resolved quickly and well.\n"))
        outcomes = []
        report = run_once(agent, on_outcome=outcomes.append)
        assert report.processed == 1 and [o.case_ref for o in outcomes] == ["GP-2026-0001"]
        (raw,) = mailboxes.wait_for_mail("sw1", 1)
        sent = headers_of(raw)
        assert sent["subject"].startswith("[GP-2026-0001] Good practice recognised")
        assert "Sam" not in sent["subject"]  # no names in subjects
        assert sent["to"] == ["sw1@example.test"]
        # rules/commendation.toml: cc team manager, Learning Academy, Head of Service, Director;
        # and the IRO.
        assert sent["cc"] == sorted([
            "tm1@example.test", "learning.academy@example.test", "hos1@example.test",
            "dcs@example.test", "iro1@example.test",
        ])
        assert "settled quickly" in sent["text"] and "ESC-2026-0007" in sent["text"]
        for user in ("tm1", "hos1"):
            assert len(mailboxes.wait_for_mail(user, 1)) == 1
        acknowledgment = [headers_of(m) for m in mailboxes.wait_for_mail("iro1", 2)]
        ack = next(m for m in acknowledgment if "has been sent" in m["subject"])
        assert ack["message"]["Auto-Submitted"] == "auto-generated"
        assert "Sam Walker" in ack["text"] and "Learning Academy" in ack["text"]
        with Session(agent.engine) as session:
            case = session.exec(select(Case)).one()
        assert (case.kind, case.status, case.linked_ref) == (
            "commendation", "filed", "ESC-2026-0007")
    finally:
        agent.close()


def test_team_praise_goes_to_the_team_manager(mailboxes, tmp_path, monkeypatch) -> None:
    agent, _ = server_agent(mailboxes, tmp_path, monkeypatch, london(2026, 12, 2, 10))
    try:
        arrive(mailboxes, agent, email_bytes(
            sender="iro1@example.test", subject="[COMMEND] whole team",
            body="Team: North\nIssue: The whole team kept every child's review on time.\n"))
        run_once(agent)
        (raw,) = mailboxes.wait_for_mail("tm1", 1)
        assert headers_of(raw)["to"] == ["tm1@example.test"]
    finally:
        agent.close()


def test_commendation_without_a_team_asks_the_iro(mailboxes, tmp_path, monkeypatch) -> None:
    agent, _ = server_agent(mailboxes, tmp_path, monkeypatch, london(2026, 12, 2, 10))
    try:
        arrive(mailboxes, agent, email_bytes(
            sender="iro1@example.test", subject="[COMMEND] thanks",
            body="Issue: Lovely work.\n"))
        run_once(agent)
        (raw,) = mailboxes.wait_for_mail("iro1", 1)
        reply = headers_of(raw)
        assert reply["subject"].startswith("Not opened")
        assert "Team:" in reply["text"]
        with Session(agent.engine) as session:
            assert session.exec(select(Case)).all() == []
    finally:
        agent.close()
